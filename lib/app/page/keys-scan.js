// The page's live key count: the same rules as lib/steam/keys.ts (extractKeys)
// and lib/steam/queue.ts (keys already in the session), on the same pattern,
// which the server generates into /keys.js from keys.ts.
import { KEY_FLAGS, KEY_SOURCE } from './keys.js';

export const KEY = new RegExp(KEY_SOURCE, KEY_FLAGS);

/**
 * A match of KEY as the server reads it (keys.ts, normaliseKey): fullwidth
 * letters and digits as ASCII, every dash as '-', upper case.
 */
export function normaliseKey(match) {
  return match
    .replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[^0-9A-Za-z]/g, '-')
    .toUpperCase();
}

/** A format mask such as XXXXX-XXXXX-XXXXX: every character the same. */
function isPlaceholder(key) {
  const chars = key.replaceAll('-', '');
  return [...chars].every((c) => c === chars[0]);
}

/** Every group digits only: an order or phone number more likely than a key (held back). */
function isDigitsOnly(key) {
  return /^[0-9-]+$/.test(key);
}

/**
 * The keys the server would queue from `text`, and what it would drop.
 * `inSession(key)` says whether a key is queued, with Steam or done already
 * (a cancelled key may be added again); `settledBefore(key)` whether a session
 * the server lost got an answer for it that Steam would give again (the page
 * leaves those out of what it sends). Keys of digits only are held back, as
 * the server holds them back, and listed in `digitsOnly` for the user to
 * confirm — unless `options.includeDigitsOnly` (the user confirmed them).
 */
export function scanKeys(text, inSession, settledBefore = () => false, options = {}) {
  const keys = [];
  const digitsOnly = [];
  const dropped = { 'repeated-in-paste': 0, 'already-in-session': 0, placeholder: 0, 'digits-only': 0, 'settled-before': 0 };
  const seen = new Set();
  for (const match of text.matchAll(KEY)) {
    const key = normaliseKey(match[0]);
    if (isPlaceholder(key)) dropped.placeholder++;
    else if (seen.has(key)) dropped['repeated-in-paste']++;
    else {
      seen.add(key);
      if (!options.includeDigitsOnly && isDigitsOnly(key)) {
        dropped['digits-only']++;
        digitsOnly.push(key);
      } else if (inSession(key)) dropped['already-in-session']++;
      else if (settledBefore(key)) dropped['settled-before']++;
      else keys.push(key);
    }
  }
  return { keys, dropped, digitsOnly };
}
