/**
 * docs/rfc6455.md maps each RFC 6455 rule to code and tests, and
 * docs/rfc7692.md each permessage-deflate rule. This keeps both maps true:
 * every linked file exists, every function they name is in its file, every
 * test they name is a t.test title in its test file, every MUST or SHOULD
 * row names a test, and rfc6455.md's reading guide covers every module,
 * each after the ones it imports.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const DOCS = new URL('../../docs/', import.meta.url);
const DOC = readFileSync(new URL('rfc6455.md', DOCS), 'utf8');
const DEFLATE_DOC = readFileSync(new URL('rfc7692.md', DOCS), 'utf8');

interface Cell {
  /** Path relative to docs/, e.g. ../lib/websocket/frame.ts */
  target: string;
  /** The `backticked` spans after the link, up to the next link. */
  spans: string[];
}

/** Splits a table cell into its links, each with the backticked spans that follow it. */
function parseCell(cell: string): Cell[] {
  const out: Cell[] = [];
  const parts = cell.split(/\[[^\]]*\]\(([^)]+)\)/);
  // split() with a capture group: [before, target1, after1, target2, after2, ...]
  for (let i = 1; i < parts.length; i += 2) {
    const spans = [...parts[i + 1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    out.push({ target: parts[i]!, spans });
  }
  return out;
}

interface Row {
  line: number;
  section: string;
  rule: string;
  level: string;
  code: Cell[];
  tests: Cell[];
}

function rows(doc: string): Row[] {
  const out: Row[] = [];
  doc.split('\n').forEach((text, i) => {
    if (!text.startsWith('| §') || text.startsWith('| § |')) return; // a row, not a header
    const cells = text.slice(1, -1).split(' | ').map((c) => c.trim());
    if (cells.length !== 5) throw new Error(`line ${i + 1}: ${cells.length} cells, want 5`);
    const [section, rule, level, code, tests] = cells as [string, string, string, string, string];
    out.push({ line: i + 1, section, rule, level, code: parseCell(code), tests: parseCell(tests) });
  });
  return out;
}

const read = (target: string): string => readFileSync(new URL(target, DOCS), 'utf8');

/** Whether `source` has a t.test call with exactly this title, in any quoting. */
function hasTestTitle(source: string, title: string): boolean {
  const quoted = [`'${title.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`, `"${title}"`, `\`${title}\``];
  return quoted.some((q) => source.includes(`t.test(${q}`));
}

const ROWS = rows(DOC);
const DEFLATE_ROWS = rows(DEFLATE_DOC);
/** Both pages, for the checks that apply to each. */
const PAGES: [name: string, doc: string, rows: Row[]][] = [
  ['rfc6455.md', DOC, ROWS],
  ['rfc7692.md', DEFLATE_DOC, DEFLATE_ROWS],
];

/** Whether some row's section list names `section` (or a part of it, "§4.2.1 item 9"). */
const hasSection = (rows: Row[], section: string): boolean => rows.some((row) => row.section.split(/,\s*/).some((s) => s === section || s.startsWith(section + ' ')));

t.test('rfc7692.md has a row for each rule of permessage-deflate, and rfc6455.md links to it', async (t) => {
  t.ok(DEFLATE_ROWS.length >= 15, `${DEFLATE_ROWS.length} rows`);
  for (const section of ['§5', '§6', '§6.2', '§7', '§7.1.1.1', '§7.1.1.2', '§7.1.2.1', '§7.1.2.2', '§7.2.1', '§7.2.2']) t.ok(hasSection(DEFLATE_ROWS, section), `${section} has a row`);
  t.match(DOC, '](rfc7692.md)');
});

t.test('the table has a row for each requirement', async (t) => {
  t.ok(ROWS.length >= 60, `${ROWS.length} rows`);
  for (const row of ROWS) t.match(row.section, /^§\d+(\.\d+)*/, `line ${row.line}: starts with a section`);
  for (const section of ['§1.3', '§4.2.1', '§4.2.2', '§5.1', '§5.2', '§5.3', '§5.4', '§5.5', '§5.5.1', '§5.5.2', '§5.5.3', '§5.6', '§5.8', '§6.1', '§6.2', '§7.1.1', '§7.1.2', '§7.1.3', '§7.1.4', '§7.1.5', '§7.1.7', '§7.2.2', '§7.3', '§7.4.1', '§8.1', '§9', '§10.2', '§10.4', '§10.6', '§10.7', '§11.3.1']) {
    t.ok(ROWS.some((row) => row.section.split(/,\s*/).some((s) => s === section || s.startsWith(section + ' '))), `${section} has a row`);
  }
});

t.test('every link points at a file that exists', async (t) => {
  for (const [name, doc] of PAGES) {
    for (const m of doc.matchAll(/\]\(([^)]+)\)/g)) {
      const target = m[1]!;
      if (/^https?:/.test(target)) continue;
      t.ok(existsSync(new URL(target, DOCS)), `${name}: ${target}`);
    }
  }
});

t.test('every function named in the Code column is in its file', async (t) => {
  for (const row of [...ROWS, ...DEFLATE_ROWS]) {
    for (const { target, spans } of row.code) {
      t.match(target, /^\.\.\/lib\//, `line ${row.line}: code lives in lib/`);
      const source = read(target);
      for (const span of spans) {
        if (!/^[\w.#]+$/.test(span)) continue; // prose in backticks, not a name
        const name = span.split('.').at(-1)!;
        t.ok(new RegExp(`(^|[^\\w#])${name.replace(/[#$]/g, '\\$&')}\\b`).test(source), `line ${row.line}: ${span} in ${target}`);
      }
    }
  }
});

t.test('every test named in the Test column exists with that exact title', async (t) => {
  let count = 0;
  for (const row of [...ROWS, ...DEFLATE_ROWS]) {
    for (const { target, spans } of row.tests) {
      t.match(target, /^\.\.\/test\/.*\.test\.ts$/, `line ${row.line}: a test file`);
      const source = read(target);
      t.ok(spans.length > 0, `line ${row.line}: ${target} names a test`);
      for (const title of spans) {
        count++;
        if (!hasTestTitle(source, title)) t.fail(`line ${row.line}: no t.test('${title}') in ${target}`);
      }
    }
  }
  t.ok(count > 0, `${count} test references checked`);
});

t.test('every MUST and SHOULD row has code and at least one test', async (t) => {
  for (const row of [...ROWS, ...DEFLATE_ROWS]) {
    if (!/MUST|SHOULD/.test(row.level)) continue;
    t.ok(row.code.length > 0, `line ${row.line} (${row.section}): code`);
    t.ok(row.tests.length > 0, `line ${row.line} (${row.section}): a test`);
  }
});

t.test('the reading guide names every module of lib/websocket/', async (t) => {
  const guide = DOC.slice(DOC.indexOf('## Reading lib/websocket/'), DOC.indexOf('\n## ', DOC.indexOf('## Reading lib/websocket/') + 1));
  const modules = readdirSync(new URL('../lib/websocket/', DOCS)).filter((f) => f.endsWith('.ts'));
  for (const file of modules) t.match(guide, `(../lib/websocket/${file})`, file);
});

t.test('the reading guide is an order: each module uses only the ones in its own item or above', async (t) => {
  const guide = DOC.slice(DOC.indexOf('## Reading lib/websocket/'), DOC.indexOf('\n## ', DOC.indexOf('## Reading lib/websocket/') + 1));
  const items = guide.split(/\n(?=\d+\. )/).slice(1);
  /** Module name → the number of the item that first links it. */
  const item = new Map<string, number>();
  items.forEach((text, i) => {
    for (const [, name] of text.matchAll(/\(\.\.\/lib\/websocket\/([\w-]+)\.ts\)/g)) if (!item.has(name!)) item.set(name!, i + 1);
  });
  t.ok(item.size >= 10, 'found the numbered items');
  for (const [name, n] of item) {
    const imports = [...read(`../lib/websocket/${name}.ts`).matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => m[1]!);
    for (const used of imports) t.ok((item.get(used) ?? Infinity) <= n, `${name}.ts (item ${n}) uses ${used}.ts (item ${item.get(used)})`);
  }
});

t.test('the README links to this page', async (t) => {
  t.match(readFileSync(new URL('../README.md', DOCS), 'utf8'), '](docs/rfc6455.md)');
});
