import { readFileSync } from 'node:fs';
import t from 'tap';
import { extractKeys, isDigitsOnly, isKey, isPlaceholder, keyHint, normaliseKey } from '../../lib/steam/keys.js';

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

t.test('a mask written twice is a placeholder twice; a key written twice is sent once, its repeat reported as first written', async (t) => {
  const paste = 'XXXXX-XXXXX-XXXXX q7w8e-r9t0y-u1i2o xxxxx-xxxxx-xxxxx Q7W8E–R9T0Y–U1I2O';
  t.same(extractKeys(paste), {
    keys: ['Q7W8E-R9T0Y-U1I2O'],
    dropped: [
      { key: 'XXXXX-XXXXX-XXXXX', reason: 'placeholder' },
      { key: 'XXXXX-XXXXX-XXXXX', reason: 'placeholder' },
      { key: 'Q7W8E-R9T0Y-U1I2O', reason: 'repeated-in-paste' },
    ],
  });
});

/** Every character KEY reads as the '-' between groups. */
const DASHES = ['-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2043', '\u2212', '\u2E3A', '\u2E3B', '\uFE58', '\uFE63', '\uFF0D'];

t.test('keys as word processors and mail clients write them: look-alike dashes are hyphens', async (t) => {
  for (const dash of DASHES) {
    const name = `U+${dash.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    const written = ['GAMEZ', 'ABCDE', 'ZZZZZ'].join(dash);
    t.same(extractKeys(`your key: ${written}.`), { keys: ['GAMEZ-ABCDE-ZZZZZ'], dropped: [] }, name);
    t.ok(isKey(written), `${name}: a key`);
    t.ok(isKey(['ab12c', 'de34f', 'gh56i', 'jk78l', 'mn90p'].join(dash)), `${name}: five groups`);
    t.same(extractKeys(['AAAAA', 'BBBBB', 'CCCCC', 'DDDDD', 'EEEEE', 'FFFFF'].join(dash)).keys, [], `${name}: six groups are no key`);
    t.same(extractKeys(`x${dash}${written}`).keys, [], `${name}: nor the tail of a longer dashed token`);
  }
  t.same(extractKeys('GAMEZ–ABCDE–ZZZZZ and gamez-abcde-zzzzz').dropped, [{ key: 'GAMEZ-ABCDE-ZZZZZ', reason: 'repeated-in-paste' }], 'the same key, however written');
  t.same(extractKeys('ABCDE–FGHIJ-KLMNO').keys, [], 'two kinds of dash in one key: not a key (no guessing)');
  // An em dash that joins a key to the words around it, as English typesetting does.
  t.same(extractKeys('your key—AAAAA-BBBBB-CCCCC—great game').keys, ['AAAAA-BBBBB-CCCCC'], 'not a fourth group "GREAT"');
  t.same(extractKeys('codes—AAAAA-BBBBB-CCCCC').keys, ['AAAAA-BBBBB-CCCCC'], 'not the tail of "CODES-…"');
  t.same(extractKeys('AAAAA—BBBBB—CCCCC, DDDDD-EEEEE-FFFFF').keys, ['AAAAA-BBBBB-CCCCC', 'DDDDD-EEEEE-FFFFF']);
});

t.test('fullwidth letters and digits (Chinese and Japanese input) are read as ASCII', async (t) => {
  t.same(extractKeys('激活码：ＡＢＣＤＥ－１２３４５－ｆｇｈｉｊ。').keys, ['ABCDE-12345-FGHIJ']);
  t.same(extractKeys('ＡＢＣＤＥ-FGHIJ-ＫＬＭＮＯ').keys, ['ABCDE-FGHIJ-KLMNO'], 'mixed with ASCII');
  t.same(extractKeys('ＡＢＣＤＥ－ＦＧＨＩＪ ABCDE-FGHIJ-KLMNO ＡＢＣＤＥ－ＦＧＨＩＪ－ＫＬＭＮＯ').dropped, [{ key: 'ABCDE-FGHIJ-KLMNO', reason: 'repeated-in-paste' }]);
  t.same(extractKeys('ＸＡＢＣＤＥ-FGHIJ-KLMNO').keys, [], 'a fullwidth letter glued on counts as one');
  t.equal(normaliseKey('ａｂｃｄｅ—１２３４５—fghij'), 'ABCDE-12345-FGHIJ');
});

t.test('digits only: an order or phone number is held back unless asked for', async (t) => {
  const mail = 'Order 48213-99120-55871 — your key: F3KQ7-9XZ2B-MHT4P. Ticket 12345-67890-13579-24680; call 555-123-4567.';
  t.same(extractKeys(mail), {
    keys: ['F3KQ7-9XZ2B-MHT4P'],
    dropped: [
      { key: '48213-99120-55871', reason: 'digits-only' },
      { key: '12345-67890-13579-24680', reason: 'digits-only' },
    ],
  });
  t.same(
    extractKeys(mail, { includeDigitsOnly: true }),
    { keys: ['48213-99120-55871', 'F3KQ7-9XZ2B-MHT4P', '12345-67890-13579-24680'], dropped: [] },
    'in paste order when asked for',
  );
  t.same(extractKeys('48213–99120–55871 and 48213-99120-55871').dropped, [
    { key: '48213-99120-55871', reason: 'digits-only' },
    { key: '48213-99120-55871', reason: 'repeated-in-paste' },
  ], 'held back once; the repeat is a repeat');
  t.same(extractKeys('00000-00000-00000').dropped, [{ key: '00000-00000-00000', reason: 'placeholder' }], 'a mask stays a mask');
  t.same(extractKeys('48213-99120-5587A').keys, ['48213-99120-5587A'], 'one letter makes it a key');
  t.ok(isDigitsOnly('12345-67890-12345-67890-12345'));
  t.notOk(isDigitsOnly('12345-67890-1234O'), 'a letter O is a letter');
});

/** The README's table of the forms a key is found in: every example is checked as written there. */
t.test("every form README's \"Which keys are found\" lists reads as it says", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const from = readme.indexOf('**Which keys are found.**');
  t.ok(from >= 0, 'README has the section');
  const table = readme.slice(from).split('\n\n')[1]!;
  const rows = table.split('\n').slice(2).map((line) => line.split(' | '));
  t.ok(rows.length >= 8, `the table has its rows (${rows.length})`);
  const codes = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  for (const [written, readAs] of rows) {
    const examples = codes(written!);
    t.ok(examples.length > 0, `examples in ${written}`);
    for (const example of examples) {
      const found = extractKeys(example);
      const [key] = codes(readAs!);
      if (key) t.same(found, { keys: [key], dropped: [] }, `${example} reads as ${key}`);
      else if (/held back/.test(readAs!)) {
        t.same(found, { keys: [], dropped: [{ key: example, reason: 'digits-only' }] }, `${example} is held back`);
        t.same(extractKeys(example, { includeDigitsOnly: true }).keys, [example], `${example} is sent when asked for`);
      } else if (/left out/.test(readAs!)) t.same(found, { keys: [], dropped: [{ key: example, reason: 'placeholder' }] }, `${example} is left out`);
      else if (/not a key/.test(readAs!)) t.same(found, { keys: [], dropped: [] }, `${example} is not a key`);
      else t.fail(`what does "${readAs}" mean?`);
    }
  }
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
