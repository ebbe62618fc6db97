/**
 * Finding Steam keys in whatever the user pasted: a bundle page, an e-mail,
 * a spreadsheet column. A key is 3 to 5 groups of 5 characters [0-9A-Z]
 * joined by '-' (the format the original steam-key accepted), matched
 * case-insensitively and upper-cased.
 */

/**
 * A key that stands on its own: not glued to more letters, digits or groups,
 * so "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF" (six groups) and the tail of
 * "XAAAAA-BBBBB-CCCCC" are look-alikes, not keys. A trailing '-' that is not
 * followed by another group (end of a sentence, "KEY -- note") is allowed.
 */
export const KEY = /(?<![0-9A-Za-z])(?<![0-9A-Za-z]-)[0-9A-Za-z]{5}(?:-[0-9A-Za-z]{5}){2,4}(?![0-9A-Za-z])(?!-[0-9A-Za-z])/g;

/** Why a key found in a paste was not queued. */
export type DropReason =
  /** The same key appears earlier in this paste. */
  | 'repeated-in-paste'
  /** The key is already queued, being redeemed or done in this session. */
  | 'already-in-session'
  /** A mask such as XXXXX-XXXXX-XXXXX that e-mails print to show the format. */
  | 'placeholder'
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

/** Upper-cases a key (Steam keys are case-insensitive; Steam shows them upper-case). */
export function normaliseKey(key: string): string {
  return key.toUpperCase();
}

/** Whether `text` is exactly one key (any case). */
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
  const chars = key.replaceAll('-', '');
  return chars.split('').every((c) => c === chars[0]);
}

/** Every key in `text`, in order, duplicates and placeholders reported in `dropped`. */
export function extractKeys(text: string): Extracted {
  const keys: string[] = [];
  const dropped: DroppedKey[] = [];
  const seen = new Set<string>();
  for (const match of text.matchAll(KEY)) {
    const key = normaliseKey(match[0]);
    if (isPlaceholder(key)) dropped.push({ key, reason: 'placeholder' });
    else if (seen.has(key)) dropped.push({ key, reason: 'repeated-in-paste' });
    else {
      seen.add(key);
      keys.push(key);
    }
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
