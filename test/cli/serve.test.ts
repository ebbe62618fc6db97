import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { durationFlag, UsageError } from '../../lib/cli/args.js';
import { LIMIT_FLAGS, parseServeArgs, runServe, SERVE_USAGE, type ServeConfig } from '../../lib/cli/serve.js';
import { DEFAULT_POLICY } from '../../lib/app/policy.js';
import { DEFAULT_SESSION_TIMERS } from '../../lib/steam/session.js';
import { TestClient } from '../helpers/app.js';
import { fakePorts, type FakePort } from '../helpers/fake-port.js';

const config = (argv: string[], env: NodeJS.ProcessEnv = {}): ServeConfig => {
  const parsed = parseServeArgs(argv, env);
  if (typeof parsed === 'string') throw new Error(`expected a config, got ${parsed}`);
  return parsed;
};

t.test('defaults', async (t) => {
  t.same(config([]), {
    port: 3999,
    host: '127.0.0.1',
    origins: [],
    demo: false,
    timers: { pauseMs: 5_000, cooldownMs: 3_600_000, redeemTimeoutMs: 100_000, graceMs: 600_000 },
    shutdownTimeoutMs: 5_000,
    trace: false,
    policy: DEFAULT_POLICY,
  });
  t.match(config(['--demo']), { demo: true, timers: { pauseMs: 1_000, cooldownMs: 20_000 } }, 'the demo is quicker');
  t.equal(parseServeArgs(['--help'], {}), 'help');
  t.equal(parseServeArgs(['-v'], {}), 'version');
});

t.test('every flag', async (t) => {
  t.same(
    config(['--port', '0', '--host', '::1', '--pause', '2s', '--cooldown', '90m', '--grace', '1h', '--redeem-timeout', '95s', '--steam-proxy', 'http://127.0.0.1:8080',
      '--origin', 'https://keys.example.org', '--origin', 'http://a.test:8080,HTTPS://B.test:443', '--shutdown-timeout', '2s', '--trace']),
    {
      port: 0,
      host: '::1',
      origins: ['https://keys.example.org', 'http://a.test:8080', 'https://b.test'],
      demo: false,
      steamProxy: 'http://127.0.0.1:8080',
      timers: { pauseMs: 2_000, cooldownMs: 5_400_000, graceMs: 3_600_000, redeemTimeoutMs: 95_000 },
      shutdownTimeoutMs: 2_000,
      trace: true,
      policy: { ...DEFAULT_POLICY, allowedHosts: ['keys.example.org', 'a.test', 'b.test'] },
    },
  );
  t.match(config(['--demo', '--cooldown', '5s']), { timers: { cooldownMs: 5_000 } }, 'flags beat the demo defaults');
});

const FULL_ENV = {
  STEAM_KEY_PORT: '4000',
  STEAM_KEY_HOST: '0.0.0.0',
  STEAM_KEY_ORIGIN: 'https://keys.example.org, https://other.example',
  STEAM_KEY_PAUSE: '3s',
  STEAM_KEY_COOLDOWN: '2h',
  STEAM_KEY_GRACE: '5m',
  STEAM_KEY_REDEEM_TIMEOUT: '60s',
  STEAM_KEY_SHUTDOWN_TIMEOUT: '10s',
  STEAM_KEY_TRACE: 'yes',
  STEAM_HTTP_PROXY: 'http://proxy:3128',
};

t.test('every flag as an environment variable', async (t) => {
  t.same(config([], FULL_ENV), {
    port: 4000,
    host: '0.0.0.0',
    origins: ['https://keys.example.org', 'https://other.example'],
    demo: false,
    steamProxy: 'http://proxy:3128',
    timers: { pauseMs: 3_000, cooldownMs: 7_200_000, graceMs: 300_000, redeemTimeoutMs: 60_000 },
    shutdownTimeoutMs: 10_000,
    trace: true,
    policy: { ...DEFAULT_POLICY, allowedHosts: ['keys.example.org', 'other.example'] },
  });
  t.match(config([], { STEAM_KEY_DEMO: '1' }), { demo: true, timers: { pauseMs: 1_000 } });
  t.match(config([], { STEAM_KEY_DEMO: 'False', STEAM_KEY_TRACE: '0' }), { demo: false, trace: false });
  t.match(config([], { STEAM_KEY_PORT: '' }), { port: 3999 }, 'an empty variable is unset');
});

t.test('flags beat environment variables', async (t) => {
  t.same(
    config(['--port', '1', '--host', '::', '--origin', 'http://x.test', '--pause', '1s', '--cooldown', '1m', '--grace', '1s', '--redeem-timeout', '2s', '--shutdown-timeout', '1s', '--steam-proxy', 'http://a:1'], FULL_ENV),
    {
      port: 1,
      host: '::',
      origins: ['http://x.test'],
      demo: false,
      steamProxy: 'http://a:1',
      timers: { pauseMs: 1_000, cooldownMs: 60_000, graceMs: 1_000, redeemTimeoutMs: 2_000 },
      shutdownTimeoutMs: 1_000,
      trace: true,
      policy: { ...DEFAULT_POLICY, allowedHosts: ['x.test'] },
    },
  );
  t.match(config(['--demo'], { STEAM_KEY_DEMO: '0' }), { demo: true });
  t.match(config(['--trace'], { STEAM_KEY_TRACE: 'no' }), { trace: true });
});

const LIMIT_ARGS = [
  '--max-connections', '500', '--max-connections-per-address', '20', '--max-sessions', '40', '--max-sessions-per-address', '4',
  '--connections-per-session', '3', '--first-message-timeout', '5s', '--anonymous-grace', '1m', '--sign-in-deadline', '30m',
  '--sign-ins-per-session', '3/5m', '--sign-ins-per-address', '6/1h', '--sign-ins-per-server', '100/10m',
  '--sign-in-backoff', '1s', '--sign-in-backoff-max', '1h', '--sign-in-cooldown', '2h', '--pastes-per-address', '5000000/1h', '--bytes-per-address', '1048576/4s',
  '--unfinished-bytes-per-address', '2097152', '--unfinished-bytes', '33554432', '--new-connections-per-address', '30/1m',
];
const LIMIT_POLICY = {
  maxConnections: 500,
  maxConnectionsPerAddress: 20,
  maxSessions: 40,
  maxSessionsPerAddress: 4,
  connectionsPerSession: 3,
  firstMessageTimeoutMs: 5_000,
  anonymousGraceMs: 60_000,
  signInDeadlineMs: 1_800_000,
  signInsPerSession: { count: 3, perMs: 300_000 },
  signInsPerAddress: { count: 6, perMs: 3_600_000 },
  signInsPerServer: { count: 100, perMs: 600_000 },
  signInBackoffMs: 1_000,
  signInBackoffMaxMs: 3_600_000,
  steamCooldownMs: 7_200_000,
  pasteCharsPerAddress: { count: 5_000_000, perMs: 3_600_000 },
  readBytesPerAddress: { count: 1_048_576, perMs: 4_000 },
  maxUnfinishedBytesPerAddress: 2_097_152,
  maxUnfinishedBytes: 33_554_432,
  newConnectionsPerAddress: { count: 30, perMs: 60_000 },
};

t.test('the limits on clients, the trusted proxies and the allowed hosts: flags', async (t) => {
  t.same(
    config([...LIMIT_ARGS, '--trust-proxy', '127.0.0.1', '--trust-proxy', '::FFFF:10.0.0.2, ::1', '--allow-host', 'Keys.Example.org,nas.lan', '--origin', 'https://keys.example.org:8443', '--host', 'box.lan']).policy,
    { ...LIMIT_POLICY, trustedProxies: ['127.0.0.1', '10.0.0.2', '::1'], allowedHosts: ['keys.example.org', 'nas.lan', 'box.lan'] },
    'the --origin hosts and a --host name are allowed too',
  );
});

t.test('the limits on clients: environment variables, beaten by flags', async (t) => {
  const env: NodeJS.ProcessEnv = {};
  for (let i = 0; i < LIMIT_ARGS.length; i += 2) {
    const row = LIMIT_FLAGS.find((r) => `--${r.flag}` === LIMIT_ARGS[i]);
    if (!row) throw new Error(`no row for ${LIMIT_ARGS[i]}`);
    t.equal(row.env, `STEAM_KEY_${row.flag.toUpperCase().replaceAll('-', '_')}`, 'the variable is the flag in capitals, as the usage says');
    env[row.env] = LIMIT_ARGS[i + 1];
  }
  t.equal(Object.keys(env).length, LIMIT_FLAGS.length, 'every limit flag is in the test');
  t.same(config([], { ...env, STEAM_KEY_TRUST_PROXY: '127.0.0.1', STEAM_KEY_ALLOW_HOST: 'a.example, b.example' }).policy, {
    ...LIMIT_POLICY,
    trustedProxies: ['127.0.0.1'],
    allowedHosts: ['a.example', 'b.example'],
  });
  t.match(config(['--max-sessions', '7', '--trust-proxy', '::1'], { ...env, STEAM_KEY_TRUST_PROXY: '127.0.0.1' }).policy, { maxSessions: 7, maxConnections: 500, trustedProxies: ['::1'] });
});

t.test('every limit has a row in the usage text and in the README', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const row of LIMIT_FLAGS) {
    t.match(SERVE_USAGE, `--${row.flag} `, `usage: --${row.flag}`);
    t.match(readme, new RegExp(`^\\| \`--${row.flag} [^|]*\` \\| \`${row.env}\` \\|`, 'm'), `README: --${row.flag}`);
  }
  for (const flag of ['trust-proxy', 'allow-host']) t.match(readme, new RegExp(`^\\| \`--${flag} `, 'm'), `README: --${flag}`);
});

t.test('bad limits, proxies and hosts are usage errors that name the flag or variable', async (t) => {
  const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--max-connections', '0'], {}, /^--max-connections must be a whole number from 1/],
    [['--max-sessions-per-address', 'ten'], {}, /^--max-sessions-per-address/],
    [[], { STEAM_KEY_CONNECTIONS_PER_SESSION: '-1' }, /^STEAM_KEY_CONNECTIONS_PER_SESSION/],
    [['--first-message-timeout', '10'], {}, /^--first-message-timeout must be a duration with a unit/],
    [['--first-message-timeout', '0'], {}, /^--first-message-timeout/],
    [['--sign-in-deadline', '10s'], {}, /^--sign-in-deadline .*from 1m/],
    [['--sign-ins-per-session', '5'], {}, /^--sign-ins-per-session must be a count per duration such as 10\/10m/],
    [['--sign-ins-per-address', '0/1m'], {}, /^--sign-ins-per-address/],
    [['--sign-ins-per-server', '5/1'], {}, /^--sign-ins-per-server/],
    [[], { STEAM_KEY_SIGN_INS_PER_SERVER: '5/forever' }, /^STEAM_KEY_SIGN_INS_PER_SERVER .*'5\/forever'/],
    [['--sign-in-cooldown', '0'], {}, /^--sign-in-cooldown/],
    [['--sign-in-backoff', '1m', '--sign-in-backoff-max', '30s'], {}, /^--sign-in-backoff-max \(30s\) must not be shorter than --sign-in-backoff \(1m\)/],
    [['--trust-proxy', 'localhost'], {}, /^--trust-proxy takes IP addresses .*'localhost'/],
    [['--trust-proxy', '10.0.0.0/8'], {}, /^--trust-proxy/],
    [[], { STEAM_KEY_TRUST_PROXY: '127.0.0.1,nginx' }, /^STEAM_KEY_TRUST_PROXY .*'nginx'/],
    [['--allow-host', 'https://keys.example.org'], {}, /^--allow-host takes host names .*'https:\/\/keys\.example\.org'/],
    [['--allow-host', 'keys.example.org:443'], {}, /^--allow-host/],
    [[], { STEAM_KEY_ALLOW_HOST: '*.example.org' }, /^STEAM_KEY_ALLOW_HOST/],
  ];
  for (const [argv, env, message] of bad) t.throws(() => parseServeArgs(argv, env), { name: 'UsageError', message }, [...argv, ...Object.entries(env).flat()].join(' '));
});

t.test('STEAM_HTTP_PROXY is not used with --demo; --steam-proxy with --demo is a mistake', async (t) => {
  t.equal(config(['--demo'], { STEAM_HTTP_PROXY: 'http://proxy:3128' }).steamProxy, undefined);
  t.throws(() => parseServeArgs(['--demo', '--steam-proxy', 'http://a:1'], {}), UsageError);
  t.throws(() => parseServeArgs(['--steam-proxy', 'http://a:1'], { STEAM_KEY_DEMO: 'true' }), UsageError);
});

t.test('a bad environment value is a usage error that names the variable', async (t) => {
  const bad: [string, string][] = [
    ['STEAM_KEY_PORT', '70000'],
    ['STEAM_KEY_HOST', 'a host'],
    ['STEAM_KEY_ORIGIN', 'keys.example.org'],
    ['STEAM_KEY_DEMO', 'maybe'],
    ['STEAM_KEY_PAUSE', '5'],
    ['STEAM_KEY_COOLDOWN', '0'],
    ['STEAM_KEY_GRACE', '2d'],
    ['STEAM_KEY_REDEEM_TIMEOUT', 'soon'],
    ['STEAM_KEY_SHUTDOWN_TIMEOUT', '-1s'],
    ['STEAM_KEY_TRACE', 'on please'],
    ['STEAM_HTTP_PROXY', 'socks5://127.0.0.1:1080'],
  ];
  for (const [name, value] of bad) {
    t.throws(() => parseServeArgs([], { [name]: value }), { name: 'UsageError', message: new RegExp(`^${name} .*'${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`) }, name);
  }
  t.throws(() => parseServeArgs(['--port', 'x'], {}), { message: /^--port must be/ }, 'a flag is named as a flag');
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
    ['--origin', 'https://keys.example.org/app'],
    ['--origin', 'ftp://keys.example.org'],
    ['--origin', '*'],
    ['--host', ''],
    ['--shutdown-timeout', '11m'],
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
  const notes: string[] = [];
  let stop!: (why: string) => void;
  const until = new Promise<string>((resolve) => (stop = resolve));
  let announce!: (url: string) => void;
  const listening = new Promise<string>((resolve) => (announce = resolve));
  const done = runServe(['--demo', '--port', '0', '--pause', '0'], {
    until,
    again: new Promise(() => {}),
    env: {},
    err: (line) => notes.push(line),
    out: (line) => {
      lines.push(line);
      const url = /listening url=(\S+)/.exec(line)?.[1];
      if (url) announce(url);
    },
  });
  const url = await listening;
  t.same(await (await fetch(`${url}healthz`)).json(), { status: 'ok', sessions: 0, connections: 0 });
  const ws = new WebSocket(`${url.replace('http', 'ws')}ws`);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello', version: 2 }));
  const welcome = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  t.match(JSON.parse(welcome), { type: 'welcome', version: 2 });
  ws.send(JSON.stringify({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' }));
  await new Promise((resolve) => ws.once('message', resolve)); // the session it made
  stop('test');
  t.equal(await done, 0);
  t.ok(notes.some((l) => /demo mode: sign in as "demo"/.test(l)), 'a hint for the person at the terminal, on stderr');
  const events = lines.map((l) => l.split(' ')[1]);
  t.same(events, ['listening', 'session-opened', 'keys-added', 'queue-stalled', 'shutdown', 'session-closed', 'stopped'], 'stdout has log lines only');
  t.match(lines[5], /session-closed .*why=shutdown/, 'sessions end on the way out');
  t.match(lines[4], / shutdown signal=test$/);
});

/** runServe with a Steam whose sign-out never finishes, a session signed in over /ws, and a hand on the stop signals. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function stuckLogOff(t: Tap, argv: string[]) {
  const lines: string[] = [];
  let first!: (signal: string) => void;
  let second!: (signal: string) => void;
  let announce!: (url: string) => void;
  const listening = new Promise<string>((resolve) => (announce = resolve));
  const steam = fakePorts();
  const done = runServe(['--port', '0', ...argv], {
    env: {},
    until: new Promise((resolve) => (first = resolve)),
    again: new Promise((resolve) => (second = resolve)),
    out: (line) => {
      lines.push(line);
      const url = /listening url=(\S+)/.exec(line)?.[1];
      if (url) announce(url);
    },
    realSteam: () => () => {
      const port = steam.factory();
      (port as FakePort).logOff = () => new Promise(() => {}); // Steam never confirms
      return port;
    },
  });
  const url = await listening;
  const client = await TestClient.connect(`${url.replace('http', 'ws')}ws`);
  t.teardown(() => client.socket.terminate());
  await client.hello();
  client.send({ type: 'login', accountName: 'alice', password: 'pw' });
  while (steam.ports.length === 0) await new Promise((resolve) => setImmediate(resolve));
  steam.last().succeed();
  await client.until('login', (m) => m.state === 'signed-in');
  return { lines, first, second, done, client };
}

t.test('shutdown gives up at the deadline with a log line, and says so in the exit code', async (t) => {
  const run = await stuckLogOff(t, ['--shutdown-timeout', '50ms']);
  run.first('SIGTERM');
  t.equal(await run.done, 1);
  t.same(await run.client.closed, { code: 1001, reason: 'shutdown' }, 'the page was told at once');
  t.match(run.lines.at(-1), / shutdown-timeout afterMs=50$/);
  t.notOk(run.lines.some((l) => / stopped$/.test(l)));
});

t.test('a second signal ends the shutdown at once', async (t) => {
  const run = await stuckLogOff(t, ['--shutdown-timeout', '10m']);
  run.first('SIGINT');
  await run.client.closed;
  run.second('SIGINT');
  t.equal(await run.done, 1);
  t.match(run.lines.at(-1), / shutdown-forced signal=SIGINT$/);
});

t.test('the real-Steam factory gets the proxy option', async (t) => {
  const steam = fakePorts();
  const seen: unknown[] = [];
  const done = runServe(['--port', '0'], {
    env: { STEAM_HTTP_PROXY: 'http://127.0.0.1:3128' },
    until: Promise.resolve('test'),
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

t.test("README's Running it table lists exactly serve's flags and variables", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Running it'), readme.indexOf('\n## ', readme.indexOf('## Running it') + 1));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  const documented = rows.flatMap((row) => [...row.matchAll(/`(--[a-z-]+)|`(STEAM_[A-Z_]+)/g)].map((m) => m[1] ?? m[2]!));
  const usage = [...new Set([...SERVE_USAGE.matchAll(/(--[a-z-]+)|(STEAM_[A-Z_]+)/g)].map((m) => m[0]))];
  t.same([...new Set(documented)].sort(), usage.sort());
});
