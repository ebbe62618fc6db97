/**
 * `steam-key echo` as a user runs it: the built binary (npm test builds
 * first), listening on port 0, with and without --trace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { clientFrame, httpExchange, OP, openClient, requestText, waitFor } from '../helpers/raw-client.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** A child process may take seconds to start or exit on a loaded machine: a hang guard, not a timing. */
const PROCESS = 30_000;

const BIN = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Starts the echo server and resolves with its port, read from the line it prints. */
async function startEcho(t: Tap, args: string[]): Promise<Run & { port: number }> {
  const r = run(['echo', '--port', '0', ...args]);
  t.teardown(() => void r.child.kill('SIGKILL'));
  const port = await waitFor(
    new Promise<number>((resolve, reject) => {
      const check = (): void => {
        const m = /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(r.stdout());
        if (m) resolve(Number(m[1]));
      };
      r.child.stdout!.on('data', check);
      void r.exit.then(({ code }) => reject(new Error(`exited with ${code}: ${r.stderr()}`)));
    }),
    'the listening line',
    PROCESS,
  );
  return { ...r, port };
}

/** Waits until stdout has at least `n` lines matching `pattern`. */
async function linesMatching(r: Run, pattern: RegExp, n: number): Promise<string[]> {
  const get = (): string[] => r.stdout().split('\n').filter((l) => pattern.test(l));
  await waitFor(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (get().length >= n) resolve();
      };
      check();
      r.child.stdout!.on('data', check);
    }),
    `${n} lines like ${pattern}`,
    PROCESS,
  );
  return get();
}

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('echo --port 0 --trace: prints its address, echoes on any path, traces every frame', async (t) => {
  const echo = await startEcho(t, ['--trace']);
  const c = await openClient(echo.port, { path: '/any/path?at=all' });
  t.teardown(() => c.destroy());
  await c.sendText('Hello');
  t.equal(await c.nextText(), 'Hello');
  await c.sendBinary(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  t.match(await c.nextFrame(), { opcode: OP.BINARY, payload: Buffer.from([0xde, 0xad, 0xbe, 0xef]) });
  await c.sendFrame(OP.PING, 'hi');
  t.match(await c.nextFrame(), { opcode: OP.PONG, payload: Buffer.from('hi') });
  await c.sendClose(1000, 'bye');
  t.equal((await c.nextClose())?.code, 1000);
  await waitFor(c.closedTcp, 'TCP close');

  const lines = await linesMatching(echo, /^(<-|->) /, 8);
  t.same(lines.filter((l) => l.startsWith('<-')), [
    '<- TEXT   fin=1 mask=1 len=5 "Hello"',
    '<- BINARY fin=1 mask=1 len=4 de ad be ef',
    '<- PING   fin=1 mask=1 len=2 "hi"',
    '<- CLOSE  fin=1 mask=1 len=5 code=1000 reason="bye"',
  ]);
  t.same(lines.filter((l) => l.startsWith('->')), [
    '-> TEXT   fin=1 mask=0 len=5 "Hello"',
    '-> BINARY fin=1 mask=0 len=4 de ad be ef',
    '-> PONG   fin=1 mask=0 len=2 "hi"',
    '-> CLOSE  fin=1 mask=0 len=2 code=1000 reason=""',
  ]);
});

t.test('echo --deflate --trace: accepts permessage-deflate, echoes compressed, traces RSV1 and both lengths', async (t) => {
  const echo = await startEcho(t, ['--deflate', '--trace']);
  const c = await openClient(echo.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover; client_max_window_bits' } });
  t.teardown(() => c.destroy());
  t.equal(c.response.headers['sec-websocket-extensions'], 'permessage-deflate; server_no_context_takeover');
  const text = 'Hello '.repeat(300);
  const compressed = deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
  await c.write(clientFrame(OP.TEXT, compressed, { rsv: 4 }));
  const reply = (await c.nextFrame())!;
  t.match(reply, { opcode: OP.TEXT, rsv: 4 }, 'echoed compressed');
  t.equal(inflateRawSync(Buffer.concat([reply.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(), text);
  const lines = await linesMatching(echo, /^(<-|->) TEXT/, 3);
  t.same(lines, [
    `<- TEXT   fin=1 rsv1=1 mask=1 len=${compressed.length} (compressed)`,
    `<- TEXT   fin=1 rsv1=1 mask=1 len=${compressed.length} inflated=1800 "${'Hello '.repeat(7).slice(0, 40)}"…`,
    `-> TEXT   fin=1 rsv1=1 mask=0 len=${reply.payload.length} inflated=1800 "${'Hello '.repeat(7).slice(0, 40)}"…`,
  ]);
  const plain = await openClient(echo.port);
  t.teardown(() => plain.destroy());
  t.notOk('sec-websocket-extensions' in plain.response.headers, 'a client that offers nothing gets nothing');
});

t.test('echo without --trace prints no frames; a plain HTTP request gets 426', async (t) => {
  const echo = await startEcho(t, ['--host', '127.0.0.1']);
  const c = await openClient(echo.port);
  t.teardown(() => c.destroy());
  await c.sendText('quiet');
  t.equal(await c.nextText(), 'quiet');
  const plain = await httpExchange(echo.port, requestText('/', { Host: 'x', Connection: 'close' }));
  t.equal(plain.status, 426);
  t.equal(plain.headers['upgrade'], 'websocket');
  t.notMatch(echo.stdout(), /^(<-|->) /m, 'no trace lines');
});

t.test('--host ::1 prints an IPv6 address in brackets', async (t) => {
  const ipv6 = await new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!ipv6) {
    t.comment('skipped: no IPv6 loopback on this machine');
    return;
  }
  const r = run(['echo', '--port', '0', '--host', '::1']);
  t.teardown(() => void r.child.kill('SIGKILL'));
  await linesMatching(r, /^echo server listening on ws:\/\/\[::1\]:\d+\/$/, 1);
  t.pass('listening on ws://[::1]:PORT/');
});

t.test('SIGTERM closes open connections with 1001 and exits 0', async (t) => {
  const echo = await startEcho(t, []);
  const c = await openClient(echo.port);
  t.teardown(() => c.destroy());
  echo.child.kill('SIGTERM');
  t.equal((await c.nextClose())?.code, 1001, 'going away');
  await c.sendClose(1001);
  t.same(await waitFor(echo.exit, 'exit', PROCESS), { code: 0, signal: null });
});

t.test('flag mistakes: usage on stderr and exit 2', async (t) => {
  const mistakes = [['echo', '--nope'], ['echo', '--port', 'abc'], ['echo', '--port', '70000'], ['echo', '--port', '-1'], ['echo', 'extra']];
  const runs = mistakes.map((args) => ({ args, r: run(args) }));
  for (const { args, r } of runs) {
    const { code } = await waitFor(r.exit, 'exit', PROCESS);
    t.equal(code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr(), /Usage: steam-key echo/, `${args.join(' ')}: usage`);
    t.equal(r.stdout(), '', 'nothing on stdout');
  }
  const port = run(['echo', '--port', 'abc']);
  await port.exit;
  t.match(port.stderr(), /--port must be a whole number from 0 to 65535, got 'abc'/, 'says what was wrong');
  const unknown = run(['nonsense']);
  t.equal((await unknown.exit).code, 2, 'unknown command: exit 2');
  t.match(unknown.stderr(), /unknown command 'nonsense'/);
});

t.test('echo --help prints the usage and exits 0', async (t) => {
  const r = run(['echo', '--help']);
  t.equal((await waitFor(r.exit, 'exit', PROCESS)).code, 0);
  t.match(r.stdout(), /^Usage: steam-key echo \[--port N\] \[--host H\] \[--deflate\] \[--trace\]/);
  t.match(r.stdout(), /--deflate   accept permessage-deflate \(RFC 7692\)/);
});
