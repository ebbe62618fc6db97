// The page's live key count: the same rules as lib/steam/keys.ts (extractKeys)
// and lib/steam/queue.ts (keys already in the session), on the same pattern,
// which the server generates into /keys.js from keys.ts.
import { KEY_FLAGS, KEY_SOURCE } from './keys.js';

export const KEY = new RegExp(KEY_SOURCE, KEY_FLAGS);

/** A format mask such as XXXXX-XXXXX-XXXXX: every character the same. */
function isPlaceholder(key) {
  const chars = key.replaceAll('-', '');
  return [...chars].every((c) => c === chars[0]);
}

/**
 * The keys the server would queue from `text`, and what it would drop.
 * `inSession(key)` says whether a key is queued, with Steam or done already
 * (a cancelled key may be added again); `settledBefore(key)` whether a session
 * the server lost got an answer for it that Steam would give again (the page
 * leaves those out of what it sends).
 */
export function scanKeys(text, inSession, settledBefore = () => false) {
  const keys = [];
  const dropped = { 'repeated-in-paste': 0, 'already-in-session': 0, placeholder: 0, 'settled-before': 0 };
  const seen = new Set();
  for (const match of text.matchAll(KEY)) {
    const key = match[0].toUpperCase();
    if (isPlaceholder(key)) dropped.placeholder++;
    else if (seen.has(key)) dropped['repeated-in-paste']++;
    else {
      seen.add(key);
      if (inSession(key)) dropped['already-in-session']++;
      else if (settledBefore(key)) dropped['settled-before']++;
      else keys.push(key);
    }
  }
  return { keys, dropped };
}
