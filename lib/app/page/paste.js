// The paste box's rules and words: which keys of a paste go to the server,
// which the page leaves out (already in the session, settled before — Steam
// would answer the same, and every failed activation counts against its
// limit of about 10 an hour) and which it holds back until the user says so
// (digits only: order or phone numbers, most likely; keys that got no answer
// before: they may have been activated).
import { say } from './i18n.js';
import { scanKeys } from './keys-scan.js';

/** The reasons the page counts itself, in the order it names them. */
const LEFT_OUT = ['repeated-in-paste', 'placeholder', 'already-in-session', 'settled-before'];

/**
 * What a paste of `value` sends and what not. `inSession(key)`: queued, with
 * Steam or done in the session; `leftOut(key)`: the record's 'settled',
 * 'unknown' or null (record.js).
 */
export function scanPaste(value, inSession, leftOut) {
  const scan = scanKeys(value, inSession, (key) => leftOut(key) === 'settled', { includeDigitsOnly: false });
  // keys-scan.js lists keys of digits only apart (the server's rule, lib/steam/keys.ts); a scanner
  // that does not, leaves them among the keys: they are held back all the same.
  const digits = scan.digitsOnly ?? scan.keys.filter((key) => /^[0-9-]+$/.test(key));
  const unknown = scan.keys.filter((key) => leftOut(key) === 'unknown');
  const keys = scan.keys.filter((key) => !unknown.includes(key) && !digits.includes(key));
  const left = {};
  for (const reason of LEFT_OUT) if (scan.dropped[reason]) left[reason] = scan.dropped[reason];
  return { keys, left, held: { digits, unknown } };
}

const joined = (lang, parts) => parts.join(lang === 'zh' ? '，' : ', ');

/** "left out: 1 repeated in the text, 2 settled before…" for counts by reason; '' for none. */
function leftOutWords(lang, left) {
  const parts = [];
  if (left['repeated-in-paste']) parts.push(say(lang, 'droppedRepeated', left['repeated-in-paste']));
  if (left.placeholder) parts.push(say(lang, 'droppedPlaceholder', left.placeholder));
  if (left['already-in-session']) parts.push(say(lang, 'droppedInSession', left['already-in-session']));
  if (left['settled-before']) parts.push(say(lang, 'droppedSettled', left['settled-before']));
  return parts.length ? `${say(lang, 'droppedLabel')}${joined(lang, parts)}` : '';
}

function heldWords(lang, held) {
  const parts = [];
  if (held.digits.length) parts.push(say(lang, 'heldDigits', held.digits.length));
  if (held.unknown.length) parts.push(say(lang, 'heldUnknown', held.unknown.length));
  return parts.length ? `${say(lang, 'heldLabel')}${joined(lang, parts)}` : '';
}

/** The live line under the box while it holds text: keys found, left out, held back. */
export function foundLine(lang, scan) {
  const out = leftOutWords(lang, scan.left);
  const held = heldWords(lang, scan.held);
  const any = scan.keys.length || out || held;
  return [any ? say(lang, 'found', scan.keys.length) : say(lang, 'noKeysFound'), out, held].filter(Boolean).join(' · ');
}

/**
 * The line after a paste went: how many keys were added, what was left out
 * (`left`: counts by reason, the page's and the server's) and what is held
 * back (`held`, the keys shown below the box); `waiting`: keys of it still
 * wait for a sign-in.
 */
export function addedLine(lang, { added, left }, held, waiting) {
  const zh = lang === 'zh';
  const rest = [leftOutWords(lang, left), heldWords(lang, held)].filter(Boolean);
  const first = added || rest.length === 0 ? say(lang, 'added', added) : say(lang, 'nothingAdded');
  let line = `${[first, ...rest].join(zh ? '；' : '; ')}${zh ? '。' : '.'}`;
  if (waiting && added > 0) line += `${zh ? '' : ' '}${say(lang, 'notSignedInYet', added)}`;
  return line;
}
