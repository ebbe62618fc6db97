// The downloads: the record's rows as CSV (one line per key) and as JSON
// (each key with its history). No DOM and no imports, so Node's tests run it.

/**
 * A spreadsheet reads a cell that starts with one of these as a formula
 * (OWASP, "CSV Injection"): =, +, -, @, tab, carriage return. Package names
 * come from publishers, so a cell could be made to run one.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field: a cell that a spreadsheet would read as a formula gets a
 * leading ' (which spreadsheets take as "text", OWASP's advice) and quotes;
 * a field with a quote, a comma, a semicolon (the separator of some locales)
 * or a line break is quoted, its quotes doubled (RFC 4180 §2.6, §2.7).
 */
export function csvField(value) {
  let s = String(value ?? '');
  const formula = FORMULA_START.test(s);
  if (formula) s = `'${s}`;
  return formula || /[",;\r\n\t]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '');

export const CSV_HEADER = ['number', 'key', 'account', 'state', 'status', 'message', 'packages', 'eresult', 'detail', 'first_seen', 'updated'];

/**
 * The CSV of `rows` (in the order shown), one line per key. `message(row)`
 * gives the words in the page's language. A byte-order mark lets spreadsheet
 * programs read the UTF-8 (Chinese, ™); lines end in CRLF (RFC 4180 §2.1).
 */
export function toCsv(rows, message) {
  const lines = [CSV_HEADER.join(',')];
  rows.forEach((row, i) => {
    const r = row.result;
    const packages = (r?.packages ?? []).map((p) => `${p.id} ${p.name}`).join('; ');
    const cells = [i + 1, row.key, row.account ?? '', row.state, r?.status ?? '', message(row), packages, r?.eresult ?? '', r?.detail ?? '', iso(row.first), iso(row.at)];
    lines.push(cells.map(csvField).join(','));
  });
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** The JSON of `rows`: every key with its result and the time of each change. */
export function toJson(rows, exportedAt) {
  const keys = rows.map((row) => ({
    key: row.key,
    account: row.account ?? null,
    state: row.state,
    status: row.result?.status ?? null,
    result: row.result ?? null,
    firstSeen: iso(row.first),
    updated: iso(row.at),
    history: row.history.map((h) => ({ at: iso(h.at), state: h.state, ...(h.status ? { status: h.status } : {}) })),
  }));
  return `${JSON.stringify({ exportedAt: iso(exportedAt), keys }, null, 2)}\n`;
}

/** Hands `content` to the browser as a file to save (steam-key-results-<time>.<extension>). */
export function download(extension, content, type) {
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `steam-key-results-${stamp}.${extension}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
