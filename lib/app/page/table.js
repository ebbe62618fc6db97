// The results table: one row per key of the record, drawn from its latest
// state. Rows are redrawn only when their key changed, so a batch of
// thousands of keys costs one row's drawing per event.

/** An https link in a message from the server (the wallet page); stops before closing punctuation. */
const URL_IN_TEXT = /https:\/\/[^\s，。；、（）()"<>]+[^\s，。；、（）()"<>.,;:!?]/g;

function cell(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

/** `text` with its https links as links, each breaking only after a '/' on a narrow screen. */
export function linkified(text) {
  const out = document.createElement('span');
  let last = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    out.append(text.slice(last, match.index));
    const link = document.createElement('a');
    link.href = match[0];
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    link.className = 'url';
    const parts = match[0].split(/(?<=\/)/);
    parts.forEach((part, i) => {
      link.append(part);
      if (i < parts.length - 1) link.append(document.createElement('wbr'));
    });
    out.append(link);
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

export class ResultsTable {
  #tbody;
  #words;
  /** key → { tr, drawn: what it shows } */
  #rows = new Map();

  /**
   * `words`: { lang(), t(name, ...args), pick(Text), status(row), note(row) }
   * — the page's words in its current language.
   */
  constructor(tbody, words) {
    this.#tbody = tbody;
    this.#words = words;
  }

  /** Shows `rows` in this order; returns the table row of each key. */
  draw(rows) {
    const keep = new Set();
    const lang = this.#words.lang();
    rows.forEach((row, i) => {
      keep.add(row.key);
      let known = this.#rows.get(row.key);
      if (!known) {
        known = { tr: document.createElement('tr'), drawn: '' };
        this.#rows.set(row.key, known);
      }
      const drawn = `${lang} ${i} ${row.at} ${row.state} ${row.account ?? ''}`;
      if (known.drawn !== drawn) {
        this.#drawRow(known.tr, row, i + 1);
        known.drawn = drawn;
      }
      if (this.#tbody.children[i] !== known.tr) this.#tbody.insertBefore(known.tr, this.#tbody.children[i] ?? null);
    });
    for (const [key, known] of this.#rows) {
      if (keep.has(key)) continue;
      known.tr.remove();
      this.#rows.delete(key);
    }
  }

  /** The number a key has in the table (from 1), or 0. */
  numberOf(key) {
    const known = this.#rows.get(key);
    return known ? [...this.#tbody.children].indexOf(known.tr) + 1 : 0;
  }

  // The roles keep the table a table for screen readers where a phone's CSS lays rows out as cards.
  #drawRow(tr, row, n) {
    const w = this.#words;
    tr.setAttribute('role', 'row');
    tr.className = row.state;
    tr.dataset.key = row.key;
    tr.dataset.status = statusClass(row);
    const status = document.createElement('td');
    status.append(cell('span', w.status(row), `badge ${statusClass(row)}`));
    const cells = [cell('td', String(n)), cell('td', row.key, 'key'), status, this.#details(row)];
    for (const td of cells) td.setAttribute('role', 'cell');
    tr.replaceChildren(...cells);
  }

  #details(row) {
    const w = this.#words;
    const td = document.createElement('td');
    td.className = 'details';
    const note = w.note(row);
    if (note) td.append(cell('span', note));
    const result = row.result;
    if (!result) return td;
    const packages = result.packages ?? [];
    // "Activated: A, B" would repeat the list below it; a cancelled key's rate-limit note no longer holds.
    if (!(result.status === 'activated' && packages.length > 0) && row.state !== 'cancelled') td.append(linkified(w.pick(result.message)));
    if (packages.length > 0) {
      const list = document.createElement('ul');
      for (const p of packages) {
        const item = document.createElement('li');
        const link = document.createElement('a');
        link.href = `https://steamdb.info/sub/${encodeURIComponent(p.id)}/`;
        link.textContent = p.name;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        item.append(link, w.t('sub', p.id));
        list.append(item);
      }
      td.append(list);
    }
    return td;
  }
}

/** The badge's class: the result's status when done, else the key's state. */
export function statusClass(row) {
  return row.state === 'done' && row.result ? row.result.status : row.state;
}
