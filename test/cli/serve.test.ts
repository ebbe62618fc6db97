import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { durationFlag, UsageError } from '../../lib/cli/args.js';
import { parseServeArgs, runServe } from '../../lib/cli/serve.js';
import { DEFAULT_SESSION_TIMERS } from '../../lib/steam/session.js';
import { fakePorts } from '../helpers/fake-port.js';

t.test('defaults', async (t) => {
  t.same(parseServeArgs([], {}), {
    port: 3999,
    host: '127.0.0.1',
    demo: false,
    timers: { pauseMs: 5_000, cooldownMs: 3_600_000, redeemTimeoutMs: 100_000, graceMs: 600_000 },
  });
  t.match(parseServeArgs(['--demo'], {}), { demo: true, timers: { pauseMs: 1_000, cooldownMs: 20_000 } }, 'the demo is quicker');
  t.equal(parseServeArgs(['--help'], {}), null);
});

t.test('every flag', async (t) => {
  const config = parseServeArgs(
    ['--port', '0', '--host', '::1', '--pause', '2s', '--cooldown', '90m', '--grace', '1h', '--redeem-timeout', '95s', '--steam-proxy', 'http://127.0.0.1:8080'],
    {},
  );
  t.same(config, {
    port: 0,
    host: '::1',
    demo: false,
    steamProxy: 'http://127.0.0.1:8080',
    timers: { pauseMs: 2_000, cooldownMs: 5_400_000, graceMs: 3_600_000, redeemTimeoutMs: 95_000 },
  });
  t.match(parseServeArgs(['--demo', '--cooldown', '5s'], {}), { timers: { cooldownMs: 5_000 } }, 'flags beat the demo defaults');
});

t.test('STEAM_HTTP_PROXY, unless the flag says otherwise; never with --demo', async (t) => {
  t.equal(parseServeArgs([], { STEAM_HTTP_PROXY: 'http://proxy:3128' })?.steamProxy, 'http://proxy:3128');
  t.equal(parseServeArgs(['--steam-proxy', 'http://a:1'], { STEAM_HTTP_PROXY: 'http://b:2' })?.steamProxy, 'http://a:1');
  t.equal(parseServeArgs(['--demo'], { STEAM_HTTP_PROXY: 'http://proxy:3128' })?.steamProxy, undefined);
  t.throws(() => parseServeArgs(['--demo', '--steam-proxy', 'http://a:1'], {}), UsageError);
});

t.test('bad flags are usage errors', async (t) => {
  const bad = [
    ['--bogus'],
    ['--port', '70000'],
    ['--port', 'http'],
    ['--pause', '5'], // no unit
    ['--pause', '-1s'],
    ['--cooldown', '0'], // would make a retry loop
    ['--cooldown', '500ms'],
    ['--grace', '2d'],
    ['--redeem-timeout', 'soon'],
    ['--steam-proxy', 'not a url'],
    ['--steam-proxy', 'socks5://127.0.0.1:1080'],
    ['stray'],
  ];
  for (const argv of bad) t.throws(() => parseServeArgs(argv, {}), UsageError, argv.join(' '));
});

t.test('durations', async (t) => {
  t.equal(durationFlag('d', '250ms', 0, 10_000), 250);
  t.equal(durationFlag('d', '0', 0, 10), 0);
  t.equal(durationFlag('d', ' 2h ', 0, 10 * 3_600_000), 7_200_000);
  t.throws(() => durationFlag('d', '1.5s', 0, 10_000), /must be a duration with a unit/);
});

t.test('without the adapter, only --demo runs: a clear message, exit 1', async (t) => {
  const errors: string[] = [];
  t.equal(await runServe([], { err: (l) => errors.push(l), env: {} }), 1);
  t.match(errors.join('\n'), /no real Steam adapter.*\n.*steam-key serve --demo/);
});

t.test('--demo serves /healthz and the protocol until told to stop', async (t) => {
  const lines: string[] = [];
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  let announce!: (url: string) => void;
  const listening = new Promise<string>((resolve) => (announce = resolve));
  const done = runServe(['--demo', '--port', '0', '--pause', '0'], {
    until,
    env: {},
    out: (line) => {
      lines.push(line);
      const url = /listening url=(\S+)/.exec(line)?.[1];
      if (url) announce(url);
    },
  });
  const url = await listening;
  t.same(await (await fetch(`${url}healthz`)).json(), { status: 'ok', sessions: 0 });
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello', version: 1 }));
  const welcome = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  t.match(JSON.parse(welcome), { type: 'welcome', version: 1 });
  stop();
  t.equal(await done, 0);
  t.ok(lines.some((l) => /demo mode: sign in as "demo"/.test(l)));
  t.ok(lines.some((l) => /session-closed .*why=shutdown/.test(l)), 'sessions end on the way out');
});

t.test('the real-Steam factory gets the proxy option', async (t) => {
  const steam = fakePorts();
  const seen: unknown[] = [];
  const done = runServe(['--port', '0'], {
    env: { STEAM_HTTP_PROXY: 'http://127.0.0.1:3128' },
    until: Promise.resolve(),
    out: () => {},
    realSteam: (options) => {
      seen.push(options);
      return steam.factory;
    },
  });
  t.equal(await done, 0);
  t.same(seen, [{ httpProxy: 'http://127.0.0.1:3128', redeemTimeoutMs: DEFAULT_SESSION_TIMERS.redeemTimeoutMs }]);
});

t.test('the binary: serve is the default command; a bad flag prints usage and exits 2', async (t) => {
  const bin = fileURLToPath(new URL('../../bin/steam-key.ts', import.meta.url));
  // Run the TypeScript source with the loader this test runs under.
  const child = spawn(process.execPath, [...process.execArgv, bin, '--no-such-flag'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 2);
  t.match(stderr, /steam-key serve: Unknown option '--no-such-flag'/);
  t.match(stderr, /Usage: steam-key serve/);
});
