/**
 * Robustness: thousands of random and damaged frame streams (and broken
 * upgrade requests) against the real `steam-key echo` binary, over raw TCP,
 * in random-sized writes, many connections at a time. Meanwhile ws clients
 * exchange messages without pause. The server must never throw, must end
 * every bad connection with a valid Close code or a TCP close, and must not
 * let any of it touch the good connections.
 *
 * Every run draws a new seed and prints it; replay a run with
 *   FUZZ_SEED=<seed> npx tap test/websocket/robustness.test.ts
 * and one case of it with FUZZ_CASE=<index> added. FUZZ_CASES sets the count.
 */
import { randomInt } from 'node:crypto';
import t from 'tap';
import { startEcho } from '../interop/helpers.js';
import { openClient, type WsClient } from '../interop/ws-client.js';
import { makeCase, type Category, type FuzzCase } from './fuzz/cases.js';
import { judge, runCase, type Outcome } from './fuzz/client.js';
import { Prng } from './fuzz/prng.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(0, 2 ** 32);
const ONLY = process.env.FUZZ_CASE === undefined ? null : Number(process.env.FUZZ_CASE);
const CASES = Number(process.env.FUZZ_CASES ?? 4000);
const CONCURRENCY = 16;
const GOOD_CLIENTS = 3;
/** A hang detector, not a speed check: the server closes a bad connection at once, or on the client's FIN. */
const DEADLINE_MS = 15_000;

function hex(bytes: Buffer, max = 160): string {
  return bytes.subarray(0, max).toString('hex') + (bytes.length > max ? `… (${bytes.length} bytes)` : '');
}

function describe(c: FuzzCase, o: Outcome, wrong: string[]): Record<string, unknown> {
  return {
    case: c.index,
    category: c.category,
    what: c.what,
    wrong,
    request: hex(c.request),
    body: hex(c.body),
    tail: hex(c.tail),
    server: { status: o.statusLine, echoes: o.messages.length, pongs: o.pongs.length, close: o.close, ending: o.ending },
  };
}

/** A ws client that sends random messages and checks every echo until told to stop. */
async function goodClient(url: string, seed: number, stop: () => boolean): Promise<{ client: WsClient; sent: number; bad: string[] }> {
  const prng = new Prng(seed);
  const client = await openClient(url);
  const bad: string[] = [];
  let sent = 0;
  while (!stop() && bad.length === 0) {
    const size = prng.chance(0.9) ? prng.int(200) : prng.int(70_000);
    const binary = prng.chance(0.5);
    const data = binary ? prng.bytes(size) : 'é€😀x'.repeat(Math.ceil(size / 10));
    client.ws.send(data);
    sent++;
    const got = await client.next();
    const expected = typeof data === 'string' ? Buffer.from(data) : data;
    if (got.isBinary !== binary || !got.data.equals(expected)) bad.push(`echo ${sent} differs`);
  }
  return { client, sent, bad };
}

t.test('random and damaged frames against steam-key echo', async (t) => {
  t.comment(`seed ${SEED}: replay with FUZZ_SEED=${SEED}${ONLY === null ? '' : ` FUZZ_CASE=${ONLY}`}`);
  const server = await startEcho();
  t.teardown(() => server.stop());

  let fuzzing = true;
  const good = Array.from({ length: GOOD_CLIENTS }, (_, i) => goodClient(server.url, SEED + i + 1, () => !fuzzing));

  const indexes = ONLY === null ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
  const failures: Record<string, unknown>[] = [];
  const perCategory = new Map<Category, number>();
  const closeCodes = new Map<string, number>();
  let next = 0;
  const started = process.hrtime.bigint();
  async function worker(): Promise<void> {
    while (next < indexes.length) {
      const c = makeCase(SEED, indexes[next++]!);
      const outcome = await runCase(server.port, c, DEADLINE_MS);
      const wrong = judge(c, outcome);
      perCategory.set(c.category, (perCategory.get(c.category) ?? 0) + 1);
      const code = outcome.close?.code;
      const end = outcome.close
        ? `close ${code === null ? 'empty' : code! >= 3000 ? '3000-4999' : code}`
        : outcome.status === 101
          ? `TCP ${outcome.ending} without a Close`
          : `HTTP ${outcome.status ?? 'nothing'}`;
      closeCodes.set(end, (closeCodes.get(end) ?? 0) + 1);
      if (wrong.length > 0) failures.push(describe(c, outcome, wrong));
      if (ONLY !== null) t.comment(JSON.stringify(describe(c, outcome, wrong), null, 2));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, indexes.length) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fuzzing = false;

  t.comment(`${indexes.length} cases in ${seconds.toFixed(1)} s: ${[...perCategory].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  t.comment(`endings: ${[...closeCodes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  t.equal(failures.length, 0, 'every case: valid response, well-formed frames, a valid close or TCP close, expected echoes and codes', {
    seed: SEED,
    failures: failures.slice(0, 5),
  });

  const results = await Promise.all(good);
  for (const [i, r] of results.entries()) {
    t.same(r.bad, [], `good client ${i + 1}: all ${r.sent} echoes right`);
    r.client.ws.close(1000);
    t.equal((await r.client.closed).code, 1000, `good client ${i + 1}: clean close`);
  }

  t.test('afterwards, a fresh client is served', async (t) => {
    const client = await openClient(server.url);
    client.ws.send('still here ✓');
    const got = await client.next();
    t.equal(got.data.toString(), 'still here ✓');
    client.ws.close(1000);
    t.equal((await client.closed).code, 1000);
  });

  t.test('the server never printed an error and exits cleanly', async (t) => {
    t.notOk(server.exited(), 'the process is still running');
    const { code } = await server.stop();
    t.equal(code, 0, 'exit code 0 on SIGTERM');
    t.equal(server.stderr(), '', 'nothing on stderr (no uncaught exception, no handler error)');
  });
});
