/**
 * The README says what the code does: the log events it lists are the ones
 * lib/log.ts can write, its WebSocket-layer example compiles against
 * lib/websocket/, and its table of that layer's files is a reading order in
 * which each file uses only the ones above it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');

/** The text between `start` and `end` (exclusive); throws if either is missing. */
function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end, from + start.length);
  if (from < 0 || to < 0) throw new Error(`README: no text between '${start}' and '${end}'`);
  return text.slice(from + start.length, to);
}

/** The relative modules a file imports: `from './close.js'` → 'close'. */
function localImports(path: URL): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => m[1]!);
}

t.test('the events the README lists are exactly the ones lib/log.ts writes', async (t) => {
  const source = readFileSync(new URL('lib/log.ts', ROOT), 'utf8');
  const union = between(source, 'export type LogEvent =', ';\n');
  const logged = new Set([...union.matchAll(/event: '([a-z-]+)'/g)].map((m) => m[1]!));
  t.ok(logged.size > 10, 'found the LogEvent union');

  // "`session-opened`, `-resumed`": a name starting with "-" shares the previous name's first word.
  const paragraph = between(README, 'The events (`lib/log.ts`):', 'A session is named');
  const listed = new Set<string>();
  let prefix = '';
  for (const [, name] of paragraph.matchAll(/`(-?[a-z]+(?:-[a-z]+)*)`/g)) {
    if (name!.startsWith('-')) listed.add(prefix + name);
    else {
      prefix = name!.split('-')[0]!;
      listed.add(name!);
    }
  }
  t.same([...logged].filter((event) => !listed.has(event)), [], 'every event of lib/log.ts is listed');
  // Field names such as `reason` are mentioned too; any name with a dash must be an event.
  t.same([...listed].filter((name) => name.includes('-') && !logged.has(name)), [], 'every name listed is an event');
});

/** Type-checks `source` as if it were a file at the repository's root, with the project's tsconfig. */
function typecheck(source: string): string[] {
  const root = fileURLToPath(ROOT);
  const config = ts.readConfigFile(`${root}tsconfig.json`, (path) => ts.sys.readFile(path));
  const options = { ...ts.parseJsonConfigFileContent(config.config, ts.sys, root).options, noEmit: true };
  const file = `${root}readme-example.ts`; // never written: the host serves it from memory
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (path) => path === file || fileExists.call(host, path);
  host.readFile = (path) => (path === file ? source : readFile.call(host, path));
  host.getSourceFile = (path, language, ...rest) =>
    path === file ? ts.createSourceFile(path, source, language) : getSourceFile.call(host, path, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

t.test("the WebSocket layer's example compiles against lib/websocket/", async (t) => {
  const section = between(README, '## The WebSocket layer', '\n## ');
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!t.ok(example, 'the section has a ts example')) return;
  t.same(typecheck(example!), [], 'no type errors');
});

t.test('the table of lib/websocket/ is a reading order: each file uses only the ones above it', async (t) => {
  const section = between(README, '## The WebSocket layer', '\n## ');
  const order = [...section.matchAll(/^\| `lib\/websocket\/([\w-]+)\.ts` \|/gm)].map((m) => m[1]!);
  t.ok(order.length >= 8, 'found the table');
  order.forEach((name, i) => {
    const above = order.slice(0, i);
    // Files the table leaves out (errors, limits, trace) are the small shared pieces the text names.
    const uses = localImports(new URL(`lib/websocket/${name}.ts`, ROOT)).filter((m) => order.includes(m));
    for (const used of uses) t.ok(above.includes(used), `${name}.ts uses ${used}.ts, which is above it`);
  });
  for (const shared of ['errors', 'limits', 'trace']) t.match(section, `\`${shared}.ts\``, `the text names ${shared}.ts`);
});
