import t from 'tap';
import { extractKeys, isKey, isPlaceholder, keyHint } from '../../lib/steam/keys.js';

t.test('a bundle page copied from the browser: keys among titles, buttons and prices', async (t) => {
  const paste = `Your Bundle — 8 items
Hollow Knight
Steam Key: F3KQ7-9XZ2B-MHT4P
Reveal   Redeem on Steam
Celeste
Steam Key: 2JD8W-LR6YC-Q0VKE
Total: $12.00 — Order #A1B2C-D3E4F (see receipt)
Into the Breach    NB4XR-7TQ2M-ZK8PD-3WCH9-YL6FS   Copy`;
  const { keys, dropped } = extractKeys(paste);
  // "A1B2C-D3E4F" has only two groups: an order number, not a key.
  t.same(keys, ['F3KQ7-9XZ2B-MHT4P', '2JD8W-LR6YC-Q0VKE', 'NB4XR-7TQ2M-ZK8PD-3WCH9-YL6FS']);
  t.same(dropped, []);
});

t.test('an e-mail from a store, in English and in Chinese, keys glued to CJK text', async (t) => {
  const paste = `Hi there,

Thanks for your purchase! Here is your key:
    gm4rt-k8x2q-bv7wn
Redeem it at https://store.steampowered.com/account/registerkey?key=GM4RT-K8X2Q-BV7WN

您的激活码：7HQZP-2MXKA-9RL4C，请在 Steam 客户端中激活。
激活码2:Y8V3D-WQ6TN-J5FKE。`;
  const { keys, dropped } = extractKeys(paste);
  t.same(keys, ['GM4RT-K8X2Q-BV7WN', '7HQZP-2MXKA-9RL4C', 'Y8V3D-WQ6TN-J5FKE'], 'lower case is upper-cased; CJK neighbours do not hide a key');
  t.same(dropped, [{ key: 'GM4RT-K8X2Q-BV7WN', reason: 'repeated-in-paste' }], 'the link repeats the key in a different case');
});

t.test('keeps paste order and reports every repeat', async (t) => {
  const paste = 'CCCCC-33333-AAAAA\nAAAAA-11111-BBBBB\ncccCC-33333-aaaaa\nBBBBB-22222-CCCCC\nAAAAA-11111-BBBBB';
  const { keys, dropped } = extractKeys(paste);
  t.same(keys, ['CCCCC-33333-AAAAA', 'AAAAA-11111-BBBBB', 'BBBBB-22222-CCCCC']);
  t.same(dropped, [
    { key: 'CCCCC-33333-AAAAA', reason: 'repeated-in-paste' },
    { key: 'AAAAA-11111-BBBBB', reason: 'repeated-in-paste' },
  ]);
});

t.test('look-alikes that are not keys', async (t) => {
  const lookAlikes = [
    '123e4567-e89b-12d3-a456-426614174000', // UUID
    'AB12C-DE34F', // two groups
    'ABCD-EFGH-IJKL-MNOP', // groups of 4 (other stores)
    'ABCDEF-GHIJK-LMNOP', // first group of 6
    'ABCDE-FGHIJ-KLMNOP', // last group of 6
    'ABCDE-FGHIJ-KLMNO-PQRST-UVWXY-Z1234', // six groups
    'ABCDE-FGHIJ-KLMNO-PQR', // a trailing short group: one 18-character code
    'AB_DE-FGHIJ-KLMNO', // '_' is not a key character
    'ABCDE_FGHIJ_KLMNO', // wrong separator
    'ABCDE FGHIJ KLMNO', // spaces
    '2024-01-15', // a date
    'x-ABCDE-FGHIJ-KLMNO', // part of a longer dashed token
  ];
  for (const text of lookAlikes) {
    t.same(extractKeys(`before ${text} after`).keys, [], text);
    t.notOk(isKey(text), text);
  }
});

t.test('keys next to punctuation and at the edges of the text', async (t) => {
  const paste = '(ABCDE-12345-FGHIJ), "KLMNO-67890-PQRST"; UVWXY-13579-ZABCD. last:EFGHI-24680-JKLMN-';
  t.same(extractKeys(paste).keys, ['ABCDE-12345-FGHIJ', 'KLMNO-67890-PQRST', 'UVWXY-13579-ZABCD', 'EFGHI-24680-JKLMN']);
  t.same(extractKeys('ABCDE-12345-FGHIJ').keys, ['ABCDE-12345-FGHIJ'], 'the whole text');
});

t.test('3, 4 and 5 groups are keys', async (t) => {
  t.ok(isKey('ABCDE-12345-FGHIJ'));
  t.ok(isKey('ABCDE-12345-FGHIJ-KLMNO'));
  t.ok(isKey('abcde-12345-fghij-klmno-pqrst'));
  t.notOk(isKey(' ABCDE-12345-FGHIJ'), 'surrounding text is not part of a key');
});

t.test('format masks are dropped as placeholders, not sent to Steam', async (t) => {
  const paste = 'Your key looks like XXXXX-XXXXX-XXXXX. Here it is: Q7W8E-R9T0Y-U1I2O';
  t.same(extractKeys(paste), {
    keys: ['Q7W8E-R9T0Y-U1I2O'],
    dropped: [{ key: 'XXXXX-XXXXX-XXXXX', reason: 'placeholder' }],
  });
  t.ok(isPlaceholder('00000-00000-00000-00000-00000'));
  t.notOk(isPlaceholder('AAAAA-AAAAA-AAAAB'));
});

t.test('no keys at all', async (t) => {
  t.same(extractKeys(''), { keys: [], dropped: [] });
  t.same(extractKeys('just some words, no codes here'), { keys: [], dropped: [] });
});

t.test('keyHint keeps only the first group', async (t) => {
  t.equal(keyHint('ABCDE-12345-FGHIJ'), 'ABCDE-*****-*****');
  t.equal(keyHint('AAAAA-BBBBB-CCCCC-DDDDD-EEEEE'), 'AAAAA-*****-*****-*****-*****');
  t.notMatch(keyHint('ABCDE-12345-FGHIJ'), /12345|FGHIJ/);
});
