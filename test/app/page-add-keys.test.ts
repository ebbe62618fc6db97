/**
 * The page's add-keys message (lib/app/page/add-keys.js): the text as it is
 * when one message can carry it, else only its keys, which the server must
 * read exactly as it would have read the whole text.
 */
import t from 'tap';
import { PAGE_DIR } from '../../lib/app/page.js';
import { MAX_ADD_KEYS_TEXT, MAX_MESSAGE_BYTES } from '../../lib/app/protocol.js';
import { extractKeys, KEY } from '../../lib/steam/keys.js';

interface Limits {
  maxMessageBytes: number;
  maxTextLength: number;
}
interface AddKeys {
  type: 'add-keys';
  id: string;
  text: string;
}

// A plain browser module: imported by URL, as TypeScript has no types for it.
const { addKeysMessage } = (await import(new URL('add-keys.js', PAGE_DIR).href)) as {
  addKeysMessage: (id: string, text: string, pattern: RegExp, limits: Limits) => AddKeys | null;
};

const PROTOCOL: Limits = { maxMessageBytes: MAX_MESSAGE_BYTES, maxTextLength: MAX_ADD_KEYS_TEXT };
const bytes = (message: unknown): number => Buffer.byteLength(JSON.stringify(message));

/** Keys, repeats, a mask, look-alikes the server must not take, in any case, among Chinese. */
const TRICKY = [
  '订单：DEMO1-ACTIV-ATED1，demo2-activ-ated3；再一次 DEMO1-ACTIV-ATED1',
  '格式如 XXXXX-XXXXX-XXXXX。六组 aaaaa-bbbbb-ccccc-ddddd-eeeee-fffff，粘连 XAAAAA-BBBBB-CCCCC',
  'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE, 11111-22222-33333-44444. end AB12C-DE34F-GH56I-; “QQQQQ-WWWWW-EEEEE”',
  '破折号 GAMEZ–ABCDE–ZZZZZ，全角 ＡＢＣＤＥ－１２３４５－ＦＧＨＩＪ，again gamez-abcde-zzzzz',
].join('\n');

t.test('a text that fits goes as it is', async (t) => {
  const message = addKeysMessage('add-1', TRICKY, KEY, PROTOCOL);
  t.same(message, { type: 'add-keys', id: 'add-1', text: TRICKY });
});

t.test('a text over the byte limit goes as its keys, which the server reads as it would the whole', async (t) => {
  const limits = { maxMessageBytes: bytes({ type: 'add-keys', id: 'add-1', text: TRICKY }) - 1, maxTextLength: 1_000_000 };
  const message = addKeysMessage('add-1', TRICKY, KEY, limits);
  t.ok(message, 'a message');
  t.not(message!.text, TRICKY, 'not the text itself');
  t.match(message, { type: 'add-keys', id: 'add-1' });
  t.ok(bytes(message) <= limits.maxMessageBytes, 'within the limit');
  t.same(extractKeys(message!.text), extractKeys(TRICKY), 'the same keys, in order; the same repeats and masks dropped');
  t.same(
    extractKeys(TRICKY).dropped.map((d) => d.reason),
    ['repeated-in-paste', 'placeholder', 'digits-only', 'repeated-in-paste'],
    '(repeats, a mask and digits only among them)',
  );
  t.ok(extractKeys(TRICKY).keys.includes('GAMEZ-ABCDE-ZZZZZ') && extractKeys(TRICKY).keys.includes('ABCDE-12345-FGHIJ'), '(and keys with en dashes, in fullwidth)');
});

t.test('bytes are counted as sent: UTF-8 after JSON escaping', async (t) => {
  const key = 'DEMO1-ACTIV-ATED1';
  const text = `${'\u0001'.repeat(100)}${key}`; // 117 characters; each \u0001 is 6 bytes in JSON
  const overhead = bytes({ type: 'add-keys', id: 'a', text: '' });
  const roomy = { maxMessageBytes: overhead + 117, maxTextLength: 1_000 };
  t.same(addKeysMessage('a', text, KEY, roomy), { type: 'add-keys', id: 'a', text: key }, 'escapes count');
  const chinese = `${'中'.repeat(40)} ${key}`; // 58 characters, 138 bytes
  t.same(addKeysMessage('a', chinese, KEY, { maxMessageBytes: overhead + 137, maxTextLength: 1_000 })!.text, key, '3 bytes a character');
  t.same(addKeysMessage('a', chinese, KEY, { maxMessageBytes: overhead + 138, maxTextLength: 1_000 })!.text, chinese, 'exactly at the limit: as it is');
});

t.test('a text over the length limit goes as its keys, if they fit', async (t) => {
  const text = `${'x'.repeat(200)} DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY`;
  t.same(addKeysMessage('a', text, KEY, { maxMessageBytes: 10_000, maxTextLength: 100 }), {
    type: 'add-keys',
    id: 'a',
    text: 'DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY',
  });
});

t.test('the keys of any text the protocol allows fit in one message', async (t) => {
  // The most keys a text of 1,000,000 characters can hold: the shortest, one character apart.
  // As it is, it is 1.1 MB (each separator is 3 bytes); as keys, a space apart, at most as long as the text.
  const unit = 'ABCDE-FGHIJ-KLMNO中';
  const text = unit.repeat(Math.floor(MAX_ADD_KEYS_TEXT / unit.length));
  t.ok(bytes({ type: 'add-keys', id: 'add-1', text }) > MAX_MESSAGE_BYTES, 'too large as it is');
  const message = addKeysMessage('add-999999', text, KEY, PROTOCOL);
  t.ok(message, 'sent as keys');
  t.ok(bytes(message) <= MAX_MESSAGE_BYTES, `within 1 MiB (${bytes(message)} bytes)`);
  const server = extractKeys(message!.text);
  t.same(server.keys, ['ABCDE-FGHIJ-KLMNO'], 'one key');
  t.equal(server.dropped.length, extractKeys(text).dropped.length, 'and every repeat counted');
});

t.test('null when not even the keys fit: the page sends nothing', async (t) => {
  const text = Array.from({ length: 100 }, (_, i) => `K${String(i).padStart(4, '0')}-BBBBB-CCCCC`).join('\n');
  t.equal(addKeysMessage('a', text, KEY, { maxMessageBytes: 1_000, maxTextLength: 1_000_000 }), null);
});
