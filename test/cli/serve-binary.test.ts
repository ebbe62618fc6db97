/**
 * `steam-key serve` as people run it: the built binary in a child process,
 * configured by flags and environment variables, refusing foreign pages,
 * shutting down on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import WebSocket from 'ws';
import { TestClient } from '../helpers/app.js';
import { runBinary, startServe } from '../helpers/binary.js';
import { openClient } from '../helpers/raw-client.js';
import { secretPieces } from '../helpers/secrets.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

t.test('--version and --help', async (t) => {
  for (const args of [['--version'], ['serve', '--version'], ['-v']]) {
    const run = await runBinary(args);
    t.same({ code: run.code, stdout: run.stdout }, { code: 0, stdout: `${VERSION}\n` }, args.join(' '));
  }
  const help = await runBinary(['serve', '--help']);
  t.equal(help.code, 0);
  const flags = ['--port', '--host', '--origin', '--demo', '--steam-proxy', '--pause', '--cooldown', '--grace', '--redeem-timeout', '--shutdown-timeout', '--trace', '--help', '--version'];
  const variables = ['STEAM_KEY_PORT', 'STEAM_KEY_HOST', 'STEAM_KEY_ORIGIN', 'STEAM_KEY_DEMO', 'STEAM_HTTP_PROXY', 'STEAM_KEY_PAUSE', 'STEAM_KEY_COOLDOWN', 'STEAM_KEY_GRACE', 'STEAM_KEY_REDEEM_TIMEOUT', 'STEAM_KEY_SHUTDOWN_TIMEOUT', 'STEAM_KEY_TRACE'];
  t.same([...flags, ...variables].filter((name) => !help.stdout.includes(name)), [], 'every flag and variable is in the help');
  t.match(help.stdout, /default 3999/);
  t.match(help.stdout, /default 127\.0\.0\.1/);
  t.match((await runBinary(['--help'])).stdout, /Commands:\n {2}serve/);
});

t.test('bad flags and bad environment values: usage on stderr, exit 2', async (t) => {
  const flag = await runBinary(['serve', '--port', 'eighty']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /^steam-key serve: --port must be a whole number from 0 to 65535, got 'eighty'\n\nUsage: steam-key serve/);
  t.equal(flag.stdout, '');
  const env = await runBinary([], { STEAM_KEY_COOLDOWN: '5' });
  t.equal(env.code, 2);
  t.match(env.stderr, /^steam-key serve: STEAM_KEY_COOLDOWN must be a duration with a unit .* got '5'\n\nUsage: steam-key serve/);
  const demo = await runBinary(['serve', '--port', '0'], { STEAM_KEY_DEMO: 'sure' });
  t.equal(demo.code, 2);
  t.match(demo.stderr, /STEAM_KEY_DEMO must be 1, true, yes or 0, false, no, got 'sure'/);
});

t.test('settings from the environment; a flag beats its variable', async (t) => {
  // Port 1 would fail to bind: the flag must win over the variable.
  const served = await startServe(['--port', '0'], { STEAM_KEY_PORT: '1', STEAM_KEY_DEMO: 'true', STEAM_KEY_HOST: '127.0.0.1', STEAM_KEY_PAUSE: '0' }, t.teardown);
  t.match(served.lines[0], /^\S+Z listening url=http:\/\/127\.0\.0\.1:\d+\/ demo=true$/);
  t.not(served.port, 1);
  served.kill();
  t.same(await served.exit, { code: 0, signal: null });
  t.match(served.stderr(), /demo mode: sign in as "demo"/);
});

t.test('without --demo it serves with the real Steam adapter (nothing reaches Steam until someone signs in)', async (t) => {
  const served = await startServe(['--port', '0'], {}, t.teardown);
  t.match(served.lines[0], / listening url=http:\/\/127\.0\.0\.1:\d+\/ demo=false$/);
  t.same(await (await fetch(`${served.url}healthz`)).json(), { status: 'ok', sessions: 0, connections: 0 });
  const page = await fetch(served.url);
  t.equal(page.status, 200, 'the page at /');
  const client = await TestClient.connect(`${served.url.replace('http', 'ws')}ws`);
  t.match(await client.hello(), { type: 'welcome', version: 2 });
  served.kill('SIGINT');
  t.equal((await client.closed).code, 1001);
  t.same(await served.exit, { code: 0, signal: null });
  t.match(served.lines.join('\n'), / shutdown signal=SIGINT\n.* stopped$/, 'a greeted page holds no session: none to close');
});

/** Opens a WebSocket with this Origin header; resolves with 'open' or the HTTP status of the refusal. */
function tryOrigin(url: string, origin: string | undefined): Promise<'open' | number> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, origin === undefined ? {} : { origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

t.test('a page from another origin is refused with 403, unless --origin lets it in', async (t) => {
  const plain = await startServe(['--demo', '--port', '0'], {}, t.teardown);
  const own = `http://127.0.0.1:${plain.port}`;
  t.equal(await tryOrigin(plain.url, 'https://evil.example'), 403, 'another web site');
  t.equal(await tryOrigin(plain.url, 'https://keys.example.org'), 403, 'not listed');
  t.equal(await tryOrigin(plain.url, 'null'), 403, 'a sandboxed or file:// page');
  t.equal(await tryOrigin(plain.url, own), 'open', 'the page served by this server');
  t.equal(await tryOrigin(plain.url, undefined), 'open', 'a client that is not a browser');
  t.match(await plain.logged(/origin-refused/), / origin-refused origin=https:\/\/evil\.example host=127\.0\.0\.1:\d+ client=127\.0\.0\.1$/, 'the log says what was compared');

  const listed = await startServe(['--demo', '--port', '0', '--origin', 'https://keys.example.org'], { STEAM_KEY_ORIGIN: 'https://ignored.example' }, t.teardown);
  t.equal(await tryOrigin(listed.url, 'https://keys.example.org'), 'open', 'listed');
  t.equal(await tryOrigin(listed.url, 'https://evil.example'), 403, 'still refused');
  t.equal(await tryOrigin(listed.url, 'https://ignored.example'), 403, 'the flag replaced the variable');
  t.equal(await tryOrigin(listed.url, `http://127.0.0.1:${listed.port}`), 'open', 'its own page still');

  const fromEnv = await startServe(['--demo', '--port', '0'], { STEAM_KEY_ORIGIN: 'https://a.example,https://b.example:8443' }, t.teardown);
  t.equal(await tryOrigin(fromEnv.url, 'https://b.example:8443'), 'open', 'from STEAM_KEY_ORIGIN');
  t.equal(await tryOrigin(fromEnv.url, 'https://b.example'), 403, 'the port is part of the origin');
  for (const s of [plain, listed, fromEnv]) s.kill();
});

t.test('SIGTERM with a signed-in session: the page gets 1001, Steam is signed out, exit 0', async (t) => {
  const served = await startServe(['--demo', '--port', '0'], {}, t.teardown);
  const client = await TestClient.connect(`${served.url.replace('http', 'ws')}ws`);
  await client.hello();
  await client.signIn('demo', 'demo');
  const session = /session=(\w+)/.exec(await served.logged(/ login-ok /))![1]!;
  served.kill('SIGTERM');
  t.match(await client.until('bye'), { reason: 'shutdown' }, 'the page is told why');
  t.same(await client.closed, { code: 1001, reason: 'shutdown' });
  t.same(await served.exit, { code: 0, signal: null }, 'exit 0: finished before the deadline');
  const events = served.lines.map((l) => l.split(' ').slice(1).join(' '));
  const from = events.indexOf('shutdown signal=SIGTERM');
  t.ok(from > 0, 'the signal is logged');
  t.same(events.slice(from + 1), [`session-closed session=${session} why=shutdown`, `steam-logged-off session=${session}`, 'stopped']);
});

t.test('a log reader that goes away (a closed stdout pipe) costs the log lines, not the sessions', async (t) => {
  const served = await startServe(['--demo', '--port', '0', '--pause', '0'], {}, t.teardown);
  served.child.stdout!.destroy(); // like `steam-key serve | tee log` when tee ends: every later write fails with EPIPE
  const client = await TestClient.connect(`${served.url.replace('http', 'ws')}ws`);
  await client.hello(); // logs session-opened into the closed pipe
  await client.signIn('demo', 'demo');
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await client.until('key', (m) => m.entry.state === 'done'), { entry: { result: { status: 'activated' } } }, 'the server still redeems');
  served.kill('SIGTERM');
  t.match(await client.until('bye'), { reason: 'shutdown' });
  t.same(await served.exit, { code: 0, signal: null }, 'and shuts down as usual');
  t.notMatch(served.stderr(), /EPIPE|Error/, 'no stack trace');
});

t.test('shutdown deadline: a connection that never finishes closing cannot keep the process', async (t) => {
  const served = await startServe(['--demo', '--port', '0', '--shutdown-timeout', '200ms'], {}, t.teardown);
  const raw = await openClient(served.port, { path: '/ws' }); // never answers the Close frame
  t.teardown(() => raw.destroy());
  served.kill('SIGTERM');
  t.match(await raw.nextClose(), { code: 1001 }, 'told to close');
  t.same(await served.exit, { code: 1, signal: null });
  t.match(served.lines.at(-1), / shutdown-timeout afterMs=200$/);
});

t.test('a second signal exits at once', async (t) => {
  const served = await startServe(['--demo', '--port', '0', '--shutdown-timeout', '10m'], {}, t.teardown);
  const raw = await openClient(served.port, { path: '/ws' });
  t.teardown(() => raw.destroy());
  served.kill('SIGTERM');
  await served.logged(/ shutdown signal=SIGTERM$/);
  served.kill('SIGINT');
  t.same(await served.exit, { code: 1, signal: null });
  t.match(served.lines.at(-1), / shutdown-forced signal=SIGINT$/);
});

// Distinctive values, so that finding a piece of one is not a coincidence.
const PASSWORD = 'Tr0ub4dor&3-secret';
const CODE = 'K9QZ4';

t.test('--trace prints every frame, and no password, guard code, token or key (the log shows keys masked: secrets.test.ts)', async (t) => {
  const served = await startServe(['--demo', '--port', '0', '--pause', '0', '--sign-in-backoff', '0'], { STEAM_KEY_TRACE: '1' }, t.teardown);
  const client = await TestClient.connect(`${served.url.replace('http', 'ws')}ws`);
  await client.hello();
  client.send(`{"type":"login","password":"${PASSWORD}","accountName":"demo"}`);
  await client.until('login', (m) => m.state === 'signed-out');
  client.send({ type: 'login', password: 'demo', accountName: 'demo-mail' });
  await client.until('login', (m) => m.state === 'guard');
  client.send(`{"type":"guard-code","code":"${CODE}"}`);
  await client.until('login', (m) => m.guard?.lastCodeWrong === true);
  // Keys before signing in: they wait in the queue, and their entries go out to the page.
  client.send({ type: 'add-keys', text: 'DEMO4-INVAL-IDKEY' }); // not among the keys the demo hint names
  await client.until('keys-added');
  served.kill();
  await served.exit;

  const traced = served.lines.filter((l) => /^(<-|->) /.test(l));
  t.ok(traced.some((l) => /^<- TEXT +fin=1 mask=1 len=\d+ type=login \(payload hidden\)$/.test(l)), 'frames in');
  t.ok(traced.some((l) => /^-> TEXT +fin=1 mask=0 len=\d+ type=keys-added \(payload hidden\)$/.test(l)), 'frames out');
  t.ok(traced.some((l) => /^-> CLOSE .*code=1001/.test(l)), 'the close');
  const output = [...served.lines, served.stderr()].join('\n');
  const token = client.token!;
  for (const secret of [PASSWORD, CODE, token, 'INVAL-IDKEY']) {
    const leaked = secretPieces(secret).filter((piece) => output.includes(piece));
    t.same(leaked, [], `no part of ${secret === token ? 'the resume token' : secret} in the output`);
  }
  t.match(output, / keys-added session=\w+ added=1 dropped=0/);
});
