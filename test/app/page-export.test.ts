/**
 * The page's downloads (lib/app/page/export.js), run in Node: CSV fields
 * quoted as RFC 4180 says, and cells a spreadsheet would run as a formula
 * neutralised as OWASP's "CSV Injection" advises; one line per key, with its
 * account and times; JSON with each key's history.
 */
import t from 'tap';
import { PAGE_DIR } from '../../lib/app/page.js';

interface Row {
  key: string;
  account: string | null;
  state: string;
  result?: { status: string; eresult: number | null; detail: number | null; packages: { id: number; name: string }[]; message: { en: string; zh: string } };
  first: number;
  at: number;
  history: { at: number; state: string; status?: string }[];
}

// A plain browser module: imported by URL, as TypeScript has no types for it.
const { csvField, toCsv, toJson, CSV_HEADER } = (await import(new URL('export.js', PAGE_DIR).href)) as {
  csvField: (value: unknown) => string;
  toCsv: (rows: Row[], message: (row: Row) => string) => string;
  toJson: (rows: Row[], exportedAt: number) => string;
  CSV_HEADER: string[];
};

/** Reads one CSV line back as RFC 4180 says (quoted fields, doubled quotes). */
function parseLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      fields.push(value);
      i++; // the comma
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return fields;
}

t.test('a field a spreadsheet would read as a formula starts with a quote, in quotes', async (t) => {
  const cases: [input: string, output: string][] = [
    ['=HYPERLINK("http://evil.example","click")', `"'=HYPERLINK(""http://evil.example"",""click"")"`],
    ['+1+2', `"'+1+2"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1:A2)', `"'@SUM(A1:A2)"`],
    ['\t=1+2', `"'\t=1+2"`],
    ['\r=1+2', `"'\r=1+2"`],
    ['=cmd|\' /C calc\'!A0', `"'=cmd|' /C calc'!A0"`],
  ];
  for (const [input, output] of cases) t.equal(csvField(input), output, JSON.stringify(input));
});

t.test('other fields: as they are, or quoted when they hold a separator, a quote or a line break', async (t) => {
  t.equal(csvField('DEMO1-ACTIV-ATED1'), 'DEMO1-ACTIV-ATED1', 'a key (its dashes are inside)');
  t.equal(csvField('Game – Deluxe'), 'Game – Deluxe');
  t.equal(csvField('A, B'), '"A, B"');
  t.equal(csvField('A; =1+2'), '"A; =1+2"', 'a semicolon: some spreadsheets split on it, so the formula after it stays in the quotes');
  t.equal(csvField('say "hi"'), '"say ""hi"""');
  t.equal(csvField('two\nlines'), '"two\nlines"');
  t.equal(csvField(2), '2');
  t.equal(csvField(null), '');
  t.equal(csvField(''), '');
});

const ROWS: Row[] = [
  {
    key: 'AAAAA-BBBBB-CCCCC',
    account: 'alice',
    state: 'done',
    result: { status: 'activated', eresult: 1, detail: 0, packages: [{ id: 1, name: '=1+1 Deluxe' }, { id: 2, name: '@Soundtrack' }], message: { en: 'Activated: =1+1 Deluxe, @Soundtrack', zh: '激活成功' } },
    first: Date.UTC(2026, 0, 2, 3, 4, 5),
    at: Date.UTC(2026, 0, 2, 3, 4, 9),
    history: [
      { at: Date.UTC(2026, 0, 2, 3, 4, 5), state: 'queued' },
      { at: Date.UTC(2026, 0, 2, 3, 4, 9), state: 'done', status: 'activated' },
    ],
  },
  { key: 'DDDDD-EEEEE-FFFFF', account: null, state: 'not-sent', first: Date.UTC(2026, 0, 2, 3, 4, 6), at: Date.UTC(2026, 0, 2, 3, 5, 0), history: [] },
];

t.test('the CSV: a header, one line per key with its account and times, CRLF, a byte-order mark', async (t) => {
  const csv = toCsv(ROWS, (row) => row.result?.message.en ?? 'never sent');
  t.ok(csv.startsWith('\uFEFF'));
  const lines = csv.slice(1).split('\r\n');
  t.equal(lines.length, 4, 'header, two keys, the final line end');
  t.equal(lines[0], CSV_HEADER.join(','));
  t.equal(lines[0], 'number,key,account,state,status,message,packages,eresult,detail,first_seen,updated');
  t.same(parseLine(lines[1]!), [
    '1', 'AAAAA-BBBBB-CCCCC', 'alice', 'done', 'activated',
    'Activated: =1+1 Deluxe, @Soundtrack', "1 =1+1 Deluxe; 2 @Soundtrack", '1', '0',
    '2026-01-02T03:04:05.000Z', '2026-01-02T03:04:09.000Z',
  ]);
  t.same(parseLine(lines[2]!), ['2', 'DDDDD-EEEEE-FFFFF', '', 'not-sent', '', 'never sent', '', '', '', '2026-01-02T03:04:06.000Z', '2026-01-02T03:05:00.000Z']);
  t.equal(lines[3], '');
  // No cell of the file begins with a formula character.
  for (const line of lines.slice(1, 3)) for (const field of parseLine(line)) t.notMatch(field, /^[=+\-@\t\r]/, `no formula: ${field}`);
  // A package name made to be a formula.
  const evil = toCsv([{ ...ROWS[0]!, result: { ...ROWS[0]!.result!, packages: [{ id: 3, name: 'x' }], message: { en: '=HYPERLINK("https://evil.example")', zh: '' } } }], (row) => row.result!.message.en);
  t.equal(parseLine(evil.slice(1).split('\r\n')[1]!)[5], `'=HYPERLINK("https://evil.example")`);
});

t.test('the JSON: every key with its result, its account and the time of each change', async (t) => {
  const json = JSON.parse(toJson(ROWS, Date.UTC(2026, 0, 3))) as { exportedAt: string; keys: Record<string, unknown>[] };
  t.equal(json.exportedAt, '2026-01-03T00:00:00.000Z');
  t.equal(json.keys.length, 2);
  t.match(json.keys[0], {
    key: 'AAAAA-BBBBB-CCCCC',
    account: 'alice',
    state: 'done',
    status: 'activated',
    result: { eresult: 1, packages: [{ id: 1, name: '=1+1 Deluxe' }] },
    firstSeen: '2026-01-02T03:04:05.000Z',
    updated: '2026-01-02T03:04:09.000Z',
    history: [
      { at: '2026-01-02T03:04:05.000Z', state: 'queued' },
      { at: '2026-01-02T03:04:09.000Z', state: 'done', status: 'activated' },
    ],
  });
  t.same(json.keys[1], { key: 'DDDDD-EEEEE-FFFFF', account: null, state: 'not-sent', status: null, result: null, firstSeen: '2026-01-02T03:04:06.000Z', updated: '2026-01-02T03:05:00.000Z', history: [] });
});
