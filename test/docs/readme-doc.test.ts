/**
 * The README says what the code does: the log events it lists are the ones
 * lib/log.ts can write.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');

/** The text between `start` and `end` (exclusive); throws if either is missing. */
function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end, from + start.length);
  if (from < 0 || to < 0) throw new Error(`README: no text between '${start}' and '${end}'`);
  return text.slice(from + start.length, to);
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
