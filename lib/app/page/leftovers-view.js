// "Keys not activated", by what they are good for (record.js, leftovers()):
// each group a list to copy on its own, shown only when it has keys.
import { both, pick } from './i18n.js';

/** leftovers()'s groups → the ids of their boxes in index.html. */
const GROUPS = { notSent: 'not-sent', usable: 'usable', check: 'check', refused: 'refused', dead: 'dead' };

export class LeftoversView {
  #section;
  #boxes = new Map();
  /** group → Text of its copy status. */
  #copied = new Map();

  /** `onChange()`: redraw the page (a copy's status changed). */
  constructor(section, onChange) {
    this.#section = section;
    for (const [group, id] of Object.entries(GROUPS)) {
      const box = section.querySelector(`#group-${id}`);
      this.#boxes.set(group, box);
      box.querySelector('button.copy').addEventListener('click', async () => {
        const area = box.querySelector('textarea');
        try {
          await navigator.clipboard.writeText(area.value);
          this.#copied.set(group, both('copied'));
        } catch {
          area.select();
          this.#copied.set(group, both(document.execCommand('copy') ? 'copied' : 'copyFailed'));
        }
        onChange();
      });
    }
  }

  /** Shows `groups` (leftovers() of the rows shown) in `lang`. */
  draw(groups, lang) {
    let any = false;
    for (const [group, box] of this.#boxes) {
      const keys = groups[group];
      any ||= keys.length > 0;
      box.hidden = keys.length === 0;
      box.querySelector('.count').textContent = `(${keys.length})`;
      const area = box.querySelector('textarea');
      const value = keys.join('\n');
      if (area.value !== value) {
        area.value = value;
        area.rows = Math.min(6, Math.max(2, keys.length));
        this.#copied.delete(group); // "Copied." spoke of another list
      }
      const status = pick(lang, this.#copied.get(group));
      const copied = box.querySelector('.copied');
      if (copied.textContent !== status) copied.textContent = status;
    }
    this.#section.hidden = !any;
  }
}
