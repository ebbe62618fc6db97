/**
 * Finding Steam keys in whatever the user pasted: a bundle page, an e-mail,
 * a spreadsheet column. A key is 3 to 5 groups of 5 characters [0-9A-Z]
 * joined by '-' (the format the original steam-key accepted), matched
 * case-insensitively and upper-cased — also as people's software writes it:
 * with en or em dashes (word processors, mail clients) or other hyphens in
 * place of '-', and in fullwidth letters and digits (Chinese and Japanese
 * input methods). README, "Which keys are found", lists the forms.
 */

/** A key character: ASCII or fullwidth (U+FF10–FF19, U+FF21–FF3A, U+FF41–FF5A) letter or digit. */
const CHAR = '[0-9A-Za-z\\uFF10-\\uFF19\\uFF21-\\uFF3A\\uFF41-\\uFF5A]';

/**
 * What may stand between groups: '-' and its look-alikes — hyphen and
 * non-breaking hyphen, figure dash, en dash, em dash, horizontal bar
 * (U+2010–2015), hyphen bullet (U+2043), minus sign (U+2212), two- and
 * three-em dash (U+2E3A, U+2E3B), small em dash and small hyphen-minus
 * (U+FE58, U+FE63), fullwidth hyphen-minus (U+FF0D).
 */
const DASH = '[\\-\\u2010-\\u2015\\u2043\\u2212\\u2E3A\\u2E3B\\uFE58\\uFE63\\uFF0D]';

/**
 * A key that stands on its own: not glued to more letters, digits or groups,
 * so "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF" (six groups) and the tail of
 * "XAAAAA-BBBBB-CCCCC" are look-alikes, not keys. A trailing '-' that is not
 * followed by another group (end of a sentence, "KEY -- note") is allowed.
 * One key uses one separator throughout (group 1, then `\1`), so an em dash
 * that joins a key to the next word in a sentence ("…-CCCCC—great game") is
 * not read as a fourth group, nor does it hide the key.
 */
export const KEY = new RegExp(
  `(?<!${CHAR})${CHAR}{5}(${DASH})(?<!${CHAR}\\1${CHAR}{5}\\1)${CHAR}{5}(?:\\1${CHAR}{5}){1,3}(?!${CHAR})(?!\\1${CHAR})`,
  'g',
);

/** Why a key found in a paste was not queued. */
export type DropReason =
  /** The same key appears earlier in this paste. */
  | 'repeated-in-paste'
  /** The key is already queued, being redeemed or done in this session. */
  | 'already-in-session'
  /** A mask such as XXXXX-XXXXX-XXXXX that e-mails print to show the format. */
  | 'placeholder'
  /**
   * Every group is digits only (48213-99120-55871): far more often an order or
   * phone number than a key, so it is held back until the user says to send
   * it (`includeDigitsOnly`). A wrong key costs one of Steam's ~10 failed
   * activations an hour.
   */
  | 'digits-only'
  /** This session sent the key and got no answer: it may have been activated. Sent again only on request. */
  | 'unknown-result'
  /** The session holds as many keys as it may. */
  | 'session-full';

export interface DroppedKey {
  key: string;
  reason: DropReason;
}

export interface Extracted {
  /** New keys in paste order, upper-cased, each once. */
  keys: string[];
  dropped: DroppedKey[];
}

/**
 * A key as Steam wants it, from a match of KEY: fullwidth letters and digits
 * as ASCII, every separator as '-', upper-cased (keys are case-insensitive;
 * Steam shows them upper-case). Only for text KEY matched: after the
 * fullwidth letters and digits, anything not a letter or digit is a separator.
 */
export function normaliseKey(key: string): string {
  // Most keys are written as Steam writes them: keep those as they are (a 1 MB paste holds ~55,000).
  if (PLAIN_KEY.test(key)) return key;
  return key
    .replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[^0-9A-Za-z]/g, '-')
    .toUpperCase();
}

/** A key as normaliseKey returns it. */
const PLAIN_KEY = /^[0-9A-Z]{5}(?:-[0-9A-Z]{5}){2,4}$/;

/** Whether `text` is exactly one key (any case, any of the separators KEY takes). */
export function isKey(text: string): boolean {
  const matches = [...text.matchAll(KEY)];
  return matches.length === 1 && matches[0]![0] === text;
}

/**
 * A format mask, not a key: every character the same ("XXXXX-XXXXX-XXXXX",
 * "00000-00000-00000"). Sending one to Steam would only count as a failed
 * activation, and about ten of those an hour lock the account out of
 * activating (steam-notes.md, "Activation limits").
 */
export function isPlaceholder(key: string): boolean {
  const first = key.charCodeAt(0);
  for (let i = 1; i < key.length; i++) if (key[i] !== '-' && key.charCodeAt(i) !== first) return false;
  return true;
}

/** Whether every group of a (normalised) key is digits only: an order or phone number, most likely. */
export function isDigitsOnly(key: string): boolean {
  return /^[0-9-]+$/.test(key);
}

export interface ExtractOptions {
  /** Take keys whose groups are all digits too (the user said they are keys); default false. */
  includeDigitsOnly?: boolean;
}

/**
 * Every key in `text`, in order, normalised; placeholders, repeats and
 * (unless asked for) digits-only keys reported in `dropped`, in that order
 * of checks.
 */
export function extractKeys(text: string, options: ExtractOptions = {}): Extracted {
  const keys: string[] = [];
  const dropped: DroppedKey[] = [];
  // Key → the first copy of it: repeats are reported with that one, so their own strings die young.
  const seen = new Map<string, string>();
  for (const match of text.matchAll(KEY)) {
    const key = normaliseKey(match[0]);
    const first = seen.get(key);
    if (first !== undefined) {
      dropped.push({ key: first, reason: isPlaceholder(first) ? 'placeholder' : 'repeated-in-paste' });
      continue;
    }
    seen.set(key, key);
    if (isPlaceholder(key)) dropped.push({ key, reason: 'placeholder' });
    else if (!options.includeDigitsOnly && isDigitsOnly(key)) dropped.push({ key, reason: 'digits-only' });
    else keys.push(key);
  }
  return { keys, dropped };
}

/**
 * The first group of a key, the rest masked (ABCDE-*****-*****): enough to
 * tell keys apart in a log, not enough to use one.
 */
export function keyHint(key: string): string {
  return key.slice(0, 5) + key.slice(5).replace(/[^-]/g, '*');
}
