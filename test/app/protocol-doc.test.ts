/**
 * docs/protocol.md must say what the server does: its example exchanges are
 * replayed against a real server here, message by message (with the demo's
 * Steam app playing the phone, and a clock for the minutes that pass), and its
 * catalogue must list exactly the message types, fields, error codes and
 * statuses that the code has.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CLIENT_TYPES, ERROR_CODES, MAX_ADD_KEYS_TEXT, MAX_MESSAGE_BYTES, SCHEMAS, SERVER_TYPES } from '../../lib/app/protocol.js';
import { demoAppHandler } from '../../lib/app/demo-app.js';
import { DemoSteamApp } from '../../lib/steam/demo-app.js';
import { KEY_STATUSES } from '../../lib/steam/results.js';
import { startApp, type TestClient } from '../helpers/app.js';
import { MinutesClock } from '../helpers/manual-clock.js';

const DOC = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

type Step =
  | { from: 'client'; text: string }
  | { from: 'server'; text: string }
  | { from: 'server'; close: number }
  /** What happens meanwhile on the phone (the demo's Steam app page) or on the clock. */
  | { from: 'elsewhere'; text: string };

/** The ```exchange blocks: each is one connection; `→`/`←`/`⋯` start a step, other lines continue it. */
function exchanges(doc: string): Step[][] {
  const blocks = [...doc.matchAll(/```exchange\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((block) => {
    const steps: { arrow: string; text: string }[] = [];
    for (const line of block.split('\n')) {
      const start = /^([→←⋯]) (.*)$/.exec(line);
      if (start) steps.push({ arrow: start[1]!, text: start[2]! });
      else if (line.trim() !== '') steps.at(-1)!.text += '\n' + line;
    }
    return steps.map(({ arrow, text }): Step => {
      if (arrow === '→') return { from: 'client', text };
      if (arrow === '⋯') return { from: 'elsewhere', text };
      const close = /^close (\d+)$/.exec(text);
      return close ? { from: 'server', close: Number(close[1]) } : { from: 'server', text };
    });
  });
}

/** Deep equality, except that a string "<name>" matches any value, the same value each time it appears. */
function matches(expected: unknown, actual: unknown, vars: Map<string, unknown>, path: string): string | null {
  if (typeof expected === 'string') {
    const name = /^<(\w+)>$/.exec(expected)?.[1];
    if (name !== undefined) {
      if (!vars.has(name)) vars.set(name, actual);
      return JSON.stringify(vars.get(name)) === JSON.stringify(actual) ? null : `${path}: <${name}> changed`;
    }
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${expected.length} items`;
    for (let i = 0; i < expected.length; i++) {
      const problem = matches(expected[i], actual[i], vars, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object`;
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    for (const key of keys) {
      if (!(key in expected)) return `${path}.${key}: sent by the server, missing from the doc`;
      if (!(key in actual)) return `${path}.${key}: in the doc, not sent by the server`;
      const problem = matches((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], vars, `${path}.${key}`);
      if (problem) return problem;
    }
    return null;
  }
  return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** Client text with "<name>" values filled in; text that is not JSON is sent as it is. */
function fill(text: string, vars: Map<string, unknown>): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  return JSON.stringify(value, (_key, v: unknown) => {
    const name = typeof v === 'string' ? /^<(\w+)>$/.exec(v)?.[1] : undefined;
    return name !== undefined && vars.has(name) ? vars.get(name) : v;
  });
}

/**
 * Does what a `⋯` line says: "… GET <url>" opens a link of the demo's Steam
 * app (scanning the QR code), "… POST <url>/approve" presses its button, "N
 * minutes pass" moves the demo Steam's clock.
 */
async function elsewhere(text: string, vars: Map<string, unknown>, clock: MinutesClock): Promise<string | null> {
  const request = /\b(GET|POST) <(\w+)>(\/[a-z]+)?$/.exec(text);
  if (request) {
    const [, method, name, path] = request;
    const url = vars.get(name!);
    if (typeof url !== 'string') return `<${name}> is not a URL the server sent`;
    const res = await fetch(`${url}${path ?? ''}`, { method, redirect: 'manual' });
    await res.arrayBuffer();
    return res.status === (method === 'GET' ? 200 : 303) ? null : `${method} answered ${res.status}`;
  }
  const minutes = /^(\d+) minutes pass$/.exec(text);
  if (minutes) {
    await clock.advance(Number(minutes[1]) * 60_000);
    return null;
  }
  return `the test does not know how to "${text}"`;
}

t.test('the example exchanges are what the server says', async (t) => {
  const blocks = exchanges(DOC);
  t.ok(blocks.length >= 2, 'the doc has example exchanges');
  // The demo's Steam app answers at this server: a QR code's URL is a page of it.
  const phone = new DemoSteamApp();
  const clock = new MinutesClock();
  const run = await startApp({ page: demoAppHandler(phone) }, { app: phone, clock });
  phone.baseUrl = run.url;
  t.teardown(run.close);
  const vars = new Map<string, unknown>();
  let previous: TestClient | null = null;
  /** How many blocks ended with the connection open: each leaves a session behind when it drops. */
  let leftOpen = 0;
  for (const [b, steps] of blocks.entries()) {
    if (previous) {
      // Each block is a new connection after the previous one dropped.
      previous.close();
      await previous.closed;
      if (leftOpen > 0) await run.logged(/session-detached/, leftOpen);
    }
    const client = await run.connect();
    previous = client;
    let closed = false;
    for (const [i, step] of steps.entries()) {
      const where = `block ${b + 1}, step ${i + 1}`;
      if (step.from === 'client') {
        client.send(fill(step.text, vars));
      } else if (step.from === 'elsewhere') {
        t.equal(await elsewhere(step.text, vars, clock), null, `${where}: ${step.text}`);
      } else if ('close' in step) {
        t.equal((await client.closed).code, step.close, `${where}: closed with ${step.close}`);
        closed = true;
      } else {
        const expected: unknown = JSON.parse(step.text);
        const actual = await client.next();
        const problem = matches(expected, actual, vars, (expected as { type: string }).type);
        t.equal(problem, null, `${where}: ${(expected as { type: string }).type}`);
        if (problem) t.comment(`got ${JSON.stringify(actual)}`);
      }
    }
    if (!closed) {
      leftOpen++;
      // A barrier: if the server sent anything the doc leaves out, it arrives before this reply.
      client.send({ type: 'no-such-type', id: 'barrier' });
      t.match(await client.next(), { type: 'error', id: 'barrier' }, `block ${b + 1}: nothing left unshown`);
    }
  }
  t.ok(vars.has('token'), 'the token came back as the resume value');
});

/** The `### name` headings under a `## title` section. */
function headings(title: string): string[] {
  const section = DOC.split(/\n## /).find((s) => s.startsWith(title + '\n'));
  return [...(section ?? '').matchAll(/\n### (\S+)/g)].map((m) => m[1]!);
}

/** The text of the `### name` subsection under `## title`. */
function subsection(title: string, name: string): string {
  const section = DOC.split(/\n## /).find((s) => s.startsWith(title + '\n')) ?? '';
  return section.split(/\n### /).find((s) => s.startsWith(name + '\n')) ?? '';
}

t.test('the catalogue lists exactly the message types the code has', async (t) => {
  t.same(headings('Client messages').sort(), [...CLIENT_TYPES].sort());
  t.same(headings('Server messages').sort(), [...SERVER_TYPES].sort());
});

t.test('every field of every client message is documented', async (t) => {
  for (const type of CLIENT_TYPES) {
    const text = subsection('Client messages', type);
    for (const field of Object.keys(SCHEMAS[type])) t.match(text, `| \`${field}\` |`, `${type}.${field}`);
  }
});

t.test('every error code and every key status is documented', async (t) => {
  for (const code of ERROR_CODES) t.match(DOC, `| \`${code}\` |`, code);
  for (const status of KEY_STATUSES) t.match(DOC, `| \`${status}\` |`, status);
});

t.test('the Limits are what the server does: 1 MiB a message, 1,000,000 characters of add-keys text', async (t) => {
  const limits = DOC.split(/\n## /).find((s) => s.startsWith('Limits\n')) ?? '';
  t.match(limits, `1 MiB: ${MAX_MESSAGE_BYTES.toLocaleString('en-US')} bytes of UTF-8`);
  t.match(limits, `at most ${MAX_ADD_KEYS_TEXT.toLocaleString('en-US')} characters`);
  t.match(subsection('Client messages', 'add-keys'), `up to ${MAX_ADD_KEYS_TEXT.toLocaleString('en-US')} characters, in a message of at most 1 MiB`);

  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  const keys = ' DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY';
  const longest = 'x'.repeat(MAX_ADD_KEYS_TEXT - keys.length) + keys;
  const message = JSON.stringify({ type: 'add-keys', id: 'longest', text: longest });
  t.ok(Buffer.byteLength(message) <= MAX_MESSAGE_BYTES, 'the longest ASCII text fits in one message');
  client.send(message);
  const added = await client.until('keys-added');
  t.same(added.added.map((e) => e.key), ['DEMO1-ACTIV-ATED1', 'DEMO4-INVAL-IDKEY'], 'and is taken');
  client.send({ type: 'add-keys', id: 'longer', text: `x${longest}` });
  t.match(await client.until('error'), { id: 'longer', code: 'bad-message', message: '"text" must be at most 1000000 characters' }, 'one character more is refused');

  // Chinese: 3 bytes a character, so 1 MiB comes first. One byte over closes the connection.
  const overhead = Buffer.byteLength(JSON.stringify({ type: 'add-keys', text: keys }));
  const over = JSON.stringify({ type: 'add-keys', text: '中'.repeat((MAX_MESSAGE_BYTES - overhead) / 3) + 'x'.repeat(((MAX_MESSAGE_BYTES - overhead) % 3) + 1) + keys });
  t.equal(Buffer.byteLength(over), MAX_MESSAGE_BYTES + 1, 'a message of 1 MiB and one byte');
  client.send(over);
  t.equal((await client.closed).code, 1009, 'closes the connection with 1009');
});
