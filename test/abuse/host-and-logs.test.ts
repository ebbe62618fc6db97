/**
 * Issue 13, attacks 6 "DNS rebinding" and 7 "Log flooding", against the real
 * `steam-key serve --demo` over real sockets.
 *
 * Rebinding: only Origin-host = Host was checked, so a page on evil.example
 * rebound to 127.0.0.1 (it sends `Host: evil.example` and a matching Origin)
 * got a 101 and drove a home instance. Now a Host the server does not answer
 * to gets 421 on the page and on the /ws upgrade, unless --allow-host names it.
 *
 * Log flooding: origin-refused was rate-limited per Origin, which the
 * attacker chooses (2000 distinct 8 KB Origins made 16 MB of log in 1.5 s),
 * and every bad message logged a line (50,000 lines from 350 KB). Now the
 * warnings any client can cause share one rate for the whole server
 * (lib/log.ts DEFAULT_WARNING_RATE: a burst of 30, then 30 a minute), what is
 * left out is counted in `log-suppressed` lines, and a value is cut at
 * MAX_VALUE_CHARS. The test floods a server with both, stops it (its last
 * `log-suppressed` line is written at shutdown), and checks that its stdout
 * holds at most the rate's lines for the time the flood took, that the
 * suppressed counts add up to the flood exactly, and that no line is long.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import { get, httpExchange, openClient, requestText, upgradeHeaders, clientFrame, OP, type RawClient } from '../helpers/raw-client.js';
import { DEFAULT_WARNING_RATE, MAX_VALUE_CHARS } from '../../lib/log.js';
import { VERSION } from '../helpers/app.js';

/** The status of a /ws upgrade with these headers (101 when it opened). */
async function upgrade(port: number, headers: Record<string, string>): Promise<number> {
  try {
    const client = await openClient(port, { path: '/ws', headers });
    client.destroy();
    return client.response.status;
  } catch (error) {
    const status = /handshake answered (\d+)/.exec((error as Error).message)?.[1];
    if (status === undefined) throw error;
    return Number(status);
  }
}

t.test('a rebinding Host is refused on the page and the WebSocket; --allow-host adds a name', async (t) => {
  const serving = await startServe(['--port', '0', '--demo'], {}, t.teardown);
  const { port, url } = serving;
  const rebound = { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` };
  const page = await get(url, rebound);
  t.equal(page.status, 421, 'the page: 421 Misdirected Request (RFC 9110 §15.5.20)');
  t.match(page.body, /does not answer to this host name/);
  t.equal(await upgrade(port, rebound), 421, 'the WebSocket upgrade too, with the Origin a rebound page sends');
  t.ok(await serving.logged(new RegExp(`host-refused host=evil\\.example:${port} client=127\\.0\\.0\\.1$`)), 'logged');
  t.equal((await get(url, { Host: `localhost:${port}` })).status, 200, 'localhost is this machine');
  t.equal(await upgrade(port, { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` }), 101, 'its own page by IP address opens the WebSocket');

  const allowing = await startServe(['--port', '0', '--demo', '--allow-host', 'keys.example.org'], {}, t.teardown);
  const named = { Host: `keys.example.org:${allowing.port}`, Origin: `http://keys.example.org:${allowing.port}` };
  t.equal((await get(allowing.url, named)).status, 200, '--allow-host: the page');
  t.equal(await upgrade(allowing.port, named), 101, '--allow-host: the WebSocket');
  t.equal(await upgrade(allowing.port, { Host: `evil.example:${allowing.port}`, Origin: `http://evil.example:${allowing.port}` }), 421, 'other names still refused');
});

const ORIGINS = 2_000;
const ORIGIN_BYTES = 8 * 1024;
const BAD_CONNECTIONS = 3;
const BAD_MESSAGES = 2_000;
/** Upgrades in flight at once. */
const PARALLEL = 50;

t.test('a log flood from refused origins and bad messages: the log stays bounded and says how much it left out', async (t) => {
  // The rate of new connections per address (connections.test.ts) would answer most of these 429; lifted,
  // each reaches the origin check and its log line.
  const serving = await startServe(['--port', '0', '--demo', '--new-connections-per-address', '1000000/1s'], {}, t.teardown);
  const started = Date.now();

  // 2000 upgrades, each with its own 8 KB Origin.
  const origin = (i: number) => `http://${String(i).padStart(6, '0')}${'x'.repeat(ORIGIN_BYTES - 30)}.example`;
  const statuses: number[] = [];
  for (let from = 0; from < ORIGINS; from += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, ORIGINS - from) }, (_, k) =>
      httpExchange(serving.port, requestText('/ws', upgradeHeaders({ Host: `127.0.0.1:${serving.port}`, Origin: origin(from + k) }))).then((r) => r.status),
    );
    statuses.push(...(await Promise.all(batch)));
  }
  t.same([...new Set(statuses)], [403], `each of the ${ORIGINS} foreign origins was refused`);

  // Thousands of bad messages on a few connections, each answered with an error.
  const bad: RawClient[] = [];
  for (let c = 0; c < BAD_CONNECTIONS; c++) {
    const client = await openClient(serving.port, { path: '/ws' });
    t.teardown(() => client.destroy());
    bad.push(client);
    await client.sendText(JSON.stringify({ type: 'hello', version: VERSION }));
    const frames = Array.from({ length: BAD_MESSAGES }, (_, i) => clientFrame(OP.TEXT, i % 2 === 0 ? 'not json' : '{"type":"no-such-type"}'));
    void client.write(Buffer.concat(frames));
  }
  for (const client of bad) {
    let errors = 0;
    while (errors < BAD_MESSAGES) {
      const frame = await client.nextFrame('the error replies', 60_000);
      if (frame === null) break;
      if (/"type":"error"/.test(frame.payload.toString('utf8'))) errors++;
    }
    t.equal(errors, BAD_MESSAGES, 'every bad message was answered (and so processed)');
    await client.sendClose(1000);
    await client.closedTcp;
  }
  const elapsedMs = Date.now() - started;

  // Stop the server: it writes the last log-suppressed line as it goes.
  serving.kill('SIGTERM');
  t.same(await serving.exit, { code: 0, signal: null });
  const lines = serving.lines;
  const warnings = lines.filter((line) => / (origin-refused|protocol-error|websocket-failed|host-refused|connection-refused|sessions-full|sign-in-refused) /.test(line));
  const suppressed = lines.flatMap((line) => {
    const found = / log-suppressed count=(\d+)$/.exec(line);
    return found ? [Number(found[1])] : [];
  });
  const flood = ORIGINS + BAD_CONNECTIONS * BAD_MESSAGES;
  const { count, perMs } = DEFAULT_WARNING_RATE;
  // A burst of `count`, then `count` more every `perMs`, over the time the flood took (measured, not asserted).
  const allowed = count + Math.ceil((elapsedMs * count) / perMs);
  t.comment(`${flood} warnings in ${(elapsedMs / 1000).toFixed(1)} s: ${warnings.length} lines written, ${suppressed.length} log-suppressed lines, ${lines.length} lines and ${Buffer.byteLength(lines.join('\n'))} bytes in all`);
  t.ok(warnings.length <= allowed, `${warnings.length} warning lines, at most the rate's ${allowed}`);
  t.ok(suppressed.length >= 1 && suppressed.length <= 1 + Math.ceil(elapsedMs / perMs), `${suppressed.length} log-suppressed lines: one a minute, and one at shutdown`);
  t.equal(warnings.length + suppressed.reduce((sum, n) => sum + n, 0), flood, 'what was written and what was counted add up to the flood');
  const others = lines.length - warnings.length - suppressed.length;
  t.ok(others <= 4, `the other lines are the server's own (listening, shutdown, stopped): ${others}`);
  const longest = Math.max(...lines.map((line) => line.length));
  t.ok(longest < 2 * MAX_VALUE_CHARS + 200, `the longest line has ${longest} characters: an 8 KB Origin is cut to ${MAX_VALUE_CHARS}`);
  t.match(warnings.find((line) => / origin-refused /.test(line)), /origin="?http:\/\/\d{6}x+…\(\d+ chars\)/, 'and says how long it was');
  t.ok(Buffer.byteLength(lines.join('\n')) < 64 * 1024, 'the whole log is under 64 KB (main at ea39999: 16 MB from the origins alone)');
});
