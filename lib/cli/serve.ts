/**
 * `steam-key serve`: the redeem service — the page, the WebSocket protocol at
 * /ws and a health check — against the real Steam, or with --demo against a
 * simulated Steam in this process. Every flag has an environment variable
 * (flags win); on SIGINT/SIGTERM it shuts down within a deadline.
 */
import { allowOrigins, createApp, normaliseOrigin, type App, type AppTimers } from '../app/server.js';
import { canonicalIp } from '../app/ip-address.js';
import { checkHostName } from '../app/host-check.js';
import { DEFAULT_POLICY, resolvePolicy, type ServerPolicy } from '../app/policy.js';
import { formatRedactedTrace } from '../app/trace.js';
import { pageHandler } from '../app/page.js';
import { lineLogger, type Logger } from '../log.js';
import { demoAppBaseUrl, demoAppHandler, firstOf } from '../app/demo-app.js';
import { DemoSteamApp } from '../steam/demo-app.js';
import { DEMO_KEYS, DEMO_PASSWORD, demoPortFactory } from '../steam/demo-port.js';
import type { SteamPortFactory } from '../steam/port.js';
import { DEFAULT_GRACE_MS } from '../steam/session-store.js';
import { DEFAULT_SESSION_TIMERS } from '../steam/session.js';
import {
  durationFlag,
  envBoolean,
  flagOrEnv,
  formatDuration,
  intFlag,
  listFlagOrEnv,
  parseFlags,
  rateFlag,
  sourceName,
  UsageError,
  type Source,
} from './args.js';
import { listen, watchSignals } from './listen.js';
import { ignoreClosedPipe } from './pipe.js';
import { version } from './version.js';

const DEFAULTS: AppTimers = { ...DEFAULT_SESSION_TIMERS, graceMs: DEFAULT_GRACE_MS };
/** The demo's pace: quick enough to watch a rate limit come and go. */
export const DEMO_DEFAULTS: AppTimers = { ...DEFAULTS, pauseMs: 1_000, cooldownMs: 20_000 };
export const DEFAULT_PORT = 3999;
export const DEFAULT_HOST = '127.0.0.1';
/** After a stop signal, exit by then even if some Steam session has not signed out yet. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

type CountField =
  | 'maxConnections'
  | 'maxConnectionsPerAddress'
  | 'maxSessions'
  | 'maxSessionsPerAddress'
  | 'connectionsPerSession'
  | 'maxUnfinishedBytesPerAddress'
  | 'maxUnfinishedBytes';
type DurationField = 'firstMessageTimeoutMs' | 'anonymousGraceMs' | 'signInDeadlineMs' | 'signInBackoffMs' | 'signInBackoffMaxMs' | 'steamCooldownMs';
type RateField = 'newConnectionsPerAddress' | 'signInsPerSession' | 'signInsPerAddress' | 'signInsPerServer' | 'pasteCharsPerAddress' | 'readBytesPerAddress';

/** serve's flags for the limits of ServerPolicy (lib/app/policy.ts): one row each, which also makes the usage text. */
type LimitFlag = { flag: string; env: string; help: string } & (
  | { kind: 'count'; field: CountField; max: number }
  | { kind: 'duration'; field: DurationField; minMs: number; maxMs: number }
  | { kind: 'rate'; field: RateField; maxCount?: number }
);

export const LIMIT_FLAGS: readonly LimitFlag[] = [
  { flag: 'max-connections', env: 'STEAM_KEY_MAX_CONNECTIONS', kind: 'count', field: 'maxConnections', max: 1_000_000, help: 'open WebSocket connections, for the whole server' },
  { flag: 'max-connections-per-address', env: 'STEAM_KEY_MAX_CONNECTIONS_PER_ADDRESS', kind: 'count', field: 'maxConnectionsPerAddress', max: 1_000_000, help: 'open WebSocket connections of one client address' },
  { flag: 'new-connections-per-address', env: 'STEAM_KEY_NEW_CONNECTIONS_PER_ADDRESS', kind: 'rate', field: 'newConnectionsPerAddress', maxCount: 1_000_000, help: 'new WebSocket connections from one client address' },
  { flag: 'max-sessions', env: 'STEAM_KEY_MAX_SESSIONS', kind: 'count', field: 'maxSessions', max: 100_000, help: 'sessions, signed in or not, for the whole server' },
  { flag: 'max-sessions-per-address', env: 'STEAM_KEY_MAX_SESSIONS_PER_ADDRESS', kind: 'count', field: 'maxSessionsPerAddress', max: 100_000, help: 'sessions made from one client address' },
  { flag: 'connections-per-session', env: 'STEAM_KEY_CONNECTIONS_PER_SESSION', kind: 'count', field: 'connectionsPerSession', max: 1_000, help: 'pages holding one session; one more replaces the oldest' },
  { flag: 'first-message-timeout', env: 'STEAM_KEY_FIRST_MESSAGE_TIMEOUT', kind: 'duration', field: 'firstMessageTimeoutMs', minMs: 1_000, maxMs: 10 * MINUTE, help: 'close a connection that has not said hello by then' },
  { flag: 'anonymous-grace', env: 'STEAM_KEY_ANONYMOUS_GRACE', kind: 'duration', field: 'anonymousGraceMs', minMs: 0, maxMs: 24 * HOUR, help: 'how long a session that never signed in outlives its page' },
  { flag: 'sign-in-deadline', env: 'STEAM_KEY_SIGN_IN_DEADLINE', kind: 'duration', field: 'signInDeadlineMs', minMs: MINUTE, maxMs: 24 * HOUR, help: 'end a session that has not signed in by then' },
  { flag: 'pastes-per-address', env: 'STEAM_KEY_PASTES_PER_ADDRESS', kind: 'rate', field: 'pasteCharsPerAddress', maxCount: 100_000_000, help: 'characters of pasted text from one client address' },
  { flag: 'bytes-per-address', env: 'STEAM_KEY_BYTES_PER_ADDRESS', kind: 'rate', field: 'readBytesPerAddress', maxCount: 1_000_000_000_000, help: 'bytes read from one client address\'s connections; past it they wait, unread' },
  { flag: 'unfinished-bytes-per-address', env: 'STEAM_KEY_UNFINISHED_BYTES_PER_ADDRESS', kind: 'count', field: 'maxUnfinishedBytesPerAddress', max: 1_000_000_000_000, help: 'bytes one client address\'s connections may hold in messages not yet complete' },
  { flag: 'unfinished-bytes', env: 'STEAM_KEY_UNFINISHED_BYTES', kind: 'count', field: 'maxUnfinishedBytes', max: 1_000_000_000_000, help: 'the same, for the whole server; past either, that connection closes (1013)' },
  { flag: 'sign-ins-per-session', env: 'STEAM_KEY_SIGN_INS_PER_SESSION', kind: 'rate', field: 'signInsPerSession', help: 'Steam sign-ins of one session: N at once, N back every D' },
  { flag: 'sign-ins-per-address', env: 'STEAM_KEY_SIGN_INS_PER_ADDRESS', kind: 'rate', field: 'signInsPerAddress', help: 'Steam sign-ins from one client address' },
  { flag: 'sign-ins-per-server', env: 'STEAM_KEY_SIGN_INS_PER_SERVER', kind: 'rate', field: 'signInsPerServer', help: 'Steam sign-ins of the whole server' },
  { flag: 'sign-in-backoff', env: 'STEAM_KEY_SIGN_IN_BACKOFF', kind: 'duration', field: 'signInBackoffMs', minMs: 0, maxMs: HOUR, help: 'wait after a failed sign-in from an address, doubled after each further one' },
  { flag: 'sign-in-backoff-max', env: 'STEAM_KEY_SIGN_IN_BACKOFF_MAX', kind: 'duration', field: 'signInBackoffMaxMs', minMs: 0, maxMs: 24 * HOUR, help: '…up to this' },
  { flag: 'sign-in-cooldown', env: 'STEAM_KEY_SIGN_IN_COOLDOWN', kind: 'duration', field: 'steamCooldownMs', minMs: MINUTE, maxMs: 24 * HOUR, help: 'no sign-in this long after Steam refuses one (EResult 84: for anyone; 87: for that account)' },
];

/** The limits' variables, a few to a line. */
const LIMITS_ENV = LIMIT_FLAGS.reduce<string[]>((lines, row) => {
  const last = lines.length - 1;
  if (last >= 0 && lines[last]!.length + 2 + row.env.length <= 80) lines[last] += `  ${row.env}`;
  else lines.push(`  ${row.env}`);
  return lines;
}, []).join('\n');

function formatDefault(row: LimitFlag): string {
  const value = DEFAULT_POLICY[row.field];
  if (row.kind === 'count') return String(value);
  if (row.kind === 'duration') return formatDuration(value as number);
  const rate = value as { count: number; perMs: number };
  return `${rate.count}/${formatDuration(rate.perMs)}`;
}

/** The limit flags for the usage text: name, then the help and default wrapped at 80 columns. */
const LIMITS_USAGE = LIMIT_FLAGS.map((row) => {
  const name = `  --${row.flag} ${row.kind === 'count' ? 'N' : row.kind === 'duration' ? 'D' : 'N/D'}`;
  const indent = 38;
  const lines = [name.padEnd(indent)];
  for (const word of `${row.help} (default ${formatDefault(row)})`.split(' ')) {
    const last = lines.length - 1;
    if (lines[last]!.length > indent && lines[last]!.length + 1 + word.length > 80) lines.push(' '.repeat(indent) + word);
    else lines[last] += (lines[last]!.length > indent ? ' ' : '') + word;
  }
  return lines.join('\n');
}).join('\n');

export const SERVE_USAGE = `Usage: steam-key serve [--port N] [--host H] [--origin URL]... [--demo]
                       [--steam-proxy URL] [--pause D] [--cooldown D] [--grace D]
                       [--redeem-timeout D] [--shutdown-timeout D] [--trace]
                       [--trust-proxy ADDR]... [--allow-host NAME]... [limits]

Serves the redeem page at /, its WebSocket protocol at /ws (docs/protocol.md)
and a health check at /healthz. Logs one line per event on stdout.

  --port N               port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H               address to listen on (default ${DEFAULT_HOST})
  --origin URL           also let pages from this origin open the WebSocket, e.g.
                         https://keys.example.org (repeat it, or a comma list); pages
                         served by this server itself are always let in
  --demo                 a simulated Steam in this process, with demo accounts and
                         keys that show every result (README, "Demo mode")
  --steam-proxy URL      HTTP proxy to reach Steam through
  --pause D              pause between two keys (default ${formatDuration(DEFAULTS.pauseMs)}; demo ${formatDuration(DEMO_DEFAULTS.pauseMs)})
  --cooldown D           send nothing this long after Steam rate-limits activations
                         (default ${formatDuration(DEFAULTS.cooldownMs)}; demo ${formatDuration(DEMO_DEFAULTS.cooldownMs)})
  --grace D              how long a session outlives its page: reconnect within it
                         and nothing is lost (default ${formatDuration(DEFAULTS.graceMs)})
  --redeem-timeout D     stop waiting for Steam's answer to one key; the key is
                         then "unknown" (default ${formatDuration(DEFAULTS.redeemTimeoutMs)})
  --shutdown-timeout D   on SIGINT/SIGTERM, exit by then even if a Steam session has
                         not signed out (default ${formatDuration(DEFAULT_SHUTDOWN_TIMEOUT_MS)}); a second signal exits at once
  --trace                print every WebSocket frame, one line each (message types
                         only: the payloads carry passwords, codes and keys)
  --trust-proxy ADDR     a reverse proxy's IP address (e.g. 127.0.0.1 for nginx on
                         this machine): the last X-Forwarded-For entry of its
                         requests is the client's address (repeat it, or a comma list)
  --allow-host NAME      also answer to this host name (besides IP addresses,
                         localhost, this machine's name and the --origin hosts);
                         other names get 421 (repeat it, or a comma list)
  -h, --help             show this help
  -v, --version          print the version

What one client may spend (README, "Running an instance for other people"):
${LIMITS_USAGE}

Durations take a unit: 500ms, 5s, 60m, 1h.

Each flag can be set in the environment instead; a flag beats its variable:
  STEAM_KEY_PORT  STEAM_KEY_HOST  STEAM_KEY_ORIGIN  STEAM_KEY_DEMO=1
  STEAM_HTTP_PROXY (--steam-proxy)  STEAM_KEY_PAUSE  STEAM_KEY_COOLDOWN
  STEAM_KEY_GRACE  STEAM_KEY_REDEEM_TIMEOUT  STEAM_KEY_SHUTDOWN_TIMEOUT
  STEAM_KEY_TRACE=1  STEAM_KEY_TRUST_PROXY  STEAM_KEY_ALLOW_HOST
and for the limits, each flag's name in capitals:
${LIMITS_ENV}`;

export interface ServeConfig {
  port: number;
  host: string;
  /** Extra origins whose pages may open the WebSocket (serialised: scheme://host[:port]). */
  origins: string[];
  demo: boolean;
  /** For steam-user's httpProxy option. */
  steamProxy?: string;
  timers: AppTimers;
  shutdownTimeoutMs: number;
  trace: boolean;
  /** The limits on clients, who the server answers to, and the proxies it trusts (resolved: every field set). */
  policy: ServerPolicy;
}

/** Parses serve's flags and environment variables. Throws UsageError. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | 'help' | 'version' {
  const { values } = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    origin: { type: 'string', multiple: true },
    demo: { type: 'boolean' },
    'steam-proxy': { type: 'string' },
    pause: { type: 'string' },
    cooldown: { type: 'string' },
    grace: { type: 'string' },
    'redeem-timeout': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    trace: { type: 'boolean' },
    'trust-proxy': { type: 'string', multiple: true },
    'allow-host': { type: 'string', multiple: true },
    ...Object.fromEntries(LIMIT_FLAGS.map((row) => [row.flag, { type: 'string' as const }])),
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  });
  if (values.help) return 'help';
  if (values.version) return 'version';
  const setting = (flag: keyof typeof values & string, variable: string) => flagOrEnv(flag, values[flag] as string | undefined, env, variable);
  const duration = (flag: keyof typeof values & string, variable: string, minMs: number, maxMs: number) => {
    const { source, value } = setting(flag, variable);
    return durationFlag(source, value, minMs, maxMs);
  };

  const demo = values.demo ?? envBoolean(env, 'STEAM_KEY_DEMO') ?? false;
  if (demo && values['steam-proxy'] !== undefined) {
    throw new UsageError('--steam-proxy has no effect with --demo: the demo Steam runs in this process');
  }
  const defaults = demo ? DEMO_DEFAULTS : DEFAULTS;
  const port = setting('port', 'STEAM_KEY_PORT');
  const host = setting('host', 'STEAM_KEY_HOST');
  const origins = values.origin !== undefined ? { source: 'origin', value: values.origin.join(',') } : flagOrEnv('origin', undefined, env, 'STEAM_KEY_ORIGIN');
  const config: ServeConfig = {
    port: intFlag(port.source, port.value, 0, 65535) ?? DEFAULT_PORT,
    host: checkHost(host.source, host.value) ?? DEFAULT_HOST,
    origins: parseOrigins(origins.source, origins.value),
    demo,
    timers: {
      pauseMs: duration('pause', 'STEAM_KEY_PAUSE', 0, HOUR) ?? defaults.pauseMs,
      // At least a second: a zero cooldown with a zero pause would retry a rate-limited key in a loop.
      cooldownMs: duration('cooldown', 'STEAM_KEY_COOLDOWN', 1_000, 24 * HOUR) ?? defaults.cooldownMs,
      graceMs: duration('grace', 'STEAM_KEY_GRACE', 0, 24 * HOUR) ?? defaults.graceMs,
      redeemTimeoutMs: duration('redeem-timeout', 'STEAM_KEY_REDEEM_TIMEOUT', 1_000, HOUR) ?? defaults.redeemTimeoutMs,
    },
    shutdownTimeoutMs: duration('shutdown-timeout', 'STEAM_KEY_SHUTDOWN_TIMEOUT', 0, 10 * 60_000) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    trace: values.trace ?? envBoolean(env, 'STEAM_KEY_TRACE') ?? false,
    policy: DEFAULT_POLICY, // set below
  };
  // The limit flags come from LIMIT_FLAGS, so their names are not in the type parseArgs infers.
  const limits = (flag: string) => (values as Record<string, unknown>)[flag] as string | undefined;
  config.policy = parsePolicy(config, limits, values['trust-proxy'], values['allow-host'], env);
  // The demo never reaches Steam, so a proxy in the environment is simply not used.
  const proxy = demo ? undefined : setting('steam-proxy', 'STEAM_HTTP_PROXY');
  if (proxy?.value !== undefined) config.steamProxy = checkProxy(proxy.source, proxy.value);
  return config;
}

/** ServerPolicy from the limit flags, --trust-proxy, --allow-host, and the names --origin and --host imply. */
function parsePolicy(
  config: ServeConfig,
  flag: (name: string) => string | undefined,
  trustProxy: string[] | undefined,
  allowHost: string[] | undefined,
  env: NodeJS.ProcessEnv,
): ServerPolicy {
  const policy: Partial<Record<keyof ServerPolicy, unknown>> = {};
  for (const row of LIMIT_FLAGS) {
    const { source, value } = flagOrEnv(row.flag, flag(row.flag), env, row.env);
    if (row.kind === 'count') policy[row.field] = intFlag(source, value, 1, row.max);
    else if (row.kind === 'duration') policy[row.field] = durationFlag(source, value, row.minMs, row.maxMs);
    else policy[row.field] = rateFlag(source, value, row.maxCount ?? 100_000, 1_000, 24 * HOUR);
  }
  const backoff = (policy.signInBackoffMs as number | undefined) ?? DEFAULT_POLICY.signInBackoffMs;
  const backoffMax = (policy.signInBackoffMaxMs as number | undefined) ?? DEFAULT_POLICY.signInBackoffMaxMs;
  if (backoffMax < backoff) {
    throw new UsageError(`--sign-in-backoff-max (${formatDuration(backoffMax)}) must not be shorter than --sign-in-backoff (${formatDuration(backoff)})`);
  }

  const proxies = listFlagOrEnv('trust-proxy', trustProxy, env, 'STEAM_KEY_TRUST_PROXY');
  policy.trustedProxies = proxies.items.map((item) => {
    const address = canonicalIp(item);
    if (address === null) throw new UsageError(`${sourceName(proxies.source)} takes IP addresses such as 127.0.0.1 or ::1 (name each proxy), got '${item}'`);
    return address;
  });
  const hosts = listFlagOrEnv('allow-host', allowHost, env, 'STEAM_KEY_ALLOW_HOST');
  const names = hosts.items.map((item) => {
    const name = checkHostName(item);
    if (name === null) throw new UsageError(`${sourceName(hosts.source)} takes host names such as keys.example.org (no scheme, port or path), got '${item}'`);
    return name;
  });
  // The names the operator already gave: the --origin hosts, and --host when it is a name.
  for (const origin of config.origins) names.push(new URL(origin).hostname);
  const listen = canonicalIp(config.host) === null ? checkHostName(config.host) : null; // IP addresses are always served
  if (listen !== null) names.push(listen);
  policy.allowedHosts = [...new Set(names)];
  return resolvePolicy(policy as Partial<ServerPolicy>);
}

function checkHost(source: Source, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '' || /\s|\//.test(value)) throw new UsageError(`${sourceName(source)} must be an address such as 127.0.0.1, ::1 or 0.0.0.0, got '${value}'`);
  return value;
}

/** "https://a.example, http://localhost:8080" → serialised origins; anything else is a usage error. */
function parseOrigins(source: Source, value: string | undefined): string[] {
  if (value === undefined) return [];
  const origins: string[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      // reported below
    }
    // An origin is scheme, host and port only (RFC 6454 §6.2): a path here is a mistake worth naming.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
      throw new UsageError(`${sourceName(source)} takes origins such as https://keys.example.org (scheme, host, optional port), got '${item}'`);
    }
    origins.push(normaliseOrigin(item));
  }
  return origins;
}

export function checkProxy(source: Source, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${sourceName(source)} must be a URL such as http://127.0.0.1:8080, got '${value}'`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`${sourceName(source)} must be an http:// proxy, got '${value}'`);
  return value;
}

/** Makes the real Steam's port factory (steam-user's adapter) with the proxy option. */
export type RealSteamFactory = (options: { httpProxy?: string; redeemTimeoutMs: number }) => SteamPortFactory | Promise<SteamPortFactory>;

export interface ServeDeps {
  /** The real Steam (bin/ passes lib/steam/steam-user-port.ts). Without it only --demo runs. */
  realSteam?: RealSteamFactory;
  env?: NodeJS.ProcessEnv;
  /** Starts the shutdown when it settles with a name for the log (default: the first SIGINT or SIGTERM). */
  until?: Promise<string>;
  /** Gives up on a graceful shutdown at once when it settles (default: a second SIGINT or SIGTERM). */
  again?: Promise<string>;
  /** Log lines (default: stdout). */
  out?: (line: string) => void;
  /** Messages for the person at the terminal (default: stderr). */
  err?: (line: string) => void;
}

/**
 * Runs the server until a stop signal, then shuts down. Resolves with the
 * exit code: 0 after a clean shutdown, 1 when the deadline passed or a
 * second signal came first (the caller should then exit the process: some
 * connection may still hold it open).
 */
export async function runServe(argv: string[], deps: ServeDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => console.log(line));
  const err = deps.err ?? ((line: string) => console.error(line));
  // Sessions and the keys with Steam outlive a log reader that goes away.
  if (!deps.out) ignoreClosedPipe(process.stdout);
  if (!deps.err) ignoreClosedPipe(process.stderr);
  const config = parseServeArgs(argv, deps.env);
  if (config === 'help' || config === 'version') {
    out(config === 'help' ? SERVE_USAGE : version());
    return 0;
  }
  let portFactory: SteamPortFactory;
  // The demo's Steam app: its QR codes link to a page of this server that approves them.
  const demoApp = config.demo ? new DemoSteamApp() : null;
  if (demoApp) portFactory = demoPortFactory({ app: demoApp });
  else if (deps.realSteam) {
    const redeemTimeoutMs = config.timers.redeemTimeoutMs;
    portFactory = await deps.realSteam(config.steamProxy === undefined ? { redeemTimeoutMs } : { httpProxy: config.steamProxy, redeemTimeoutMs });
  } else {
    err('steam-key serve: this build has no real Steam adapter.');
    err('Try the whole flow against a simulated Steam with: steam-key serve --demo');
    return 1;
  }

  const log = lineLogger(out);
  const app = createApp({
    portFactory,
    timers: config.timers,
    log,
    page: demoApp ? firstOf(demoAppHandler(demoApp), pageHandler()) : pageHandler(),
    allowOrigin: allowOrigins(config.origins),
    policy: config.policy,
    ...(config.trace ? { trace: (frame) => out(formatRedactedTrace(frame)) } : {}),
  });
  const signals = deps.until && deps.again ? null : watchSignals();
  try {
    let address: string;
    try {
      address = await listen(app.server, config.port, config.host);
    } catch (error) {
      err(`steam-key serve: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
      return 1;
    }
    log({ event: 'listening', url: `http://${address}/`, demo: config.demo });
    if (demoApp) {
      demoApp.baseUrl = demoAppBaseUrl(address);
      err(`demo mode: sign in as "demo" with password "${DEMO_PASSWORD}"; try keys such as ${DEMO_KEYS.slice(0, 3).map((k) => k.key).join(', ')} (README, "Demo mode").`);
      err(`demo mode: the demo's Steam app, which approves QR codes and demo-approve's sign-in, is at ${demoApp.homeUrl}`);
    }
    const signal = await (deps.until ?? signals!.nth(1));
    log({ event: 'shutdown', signal });
    return await shutdown(app, config.shutdownTimeoutMs, deps.again ?? signals!.nth(2), log);
  } finally {
    signals?.dispose();
  }
}

/**
 * Stops accepting, tells every page the server is going away (close 1001),
 * signs every session out of Steam — or gives up at the deadline or on a
 * second signal, with a log line saying which.
 */
async function shutdown(app: App, timeoutMs: number, again: Promise<string>, log: Logger): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    app.close().then(() => ({ kind: 'done' as const })),
    new Promise<{ kind: 'timeout' }>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs))),
    again.then((signal) => ({ kind: 'forced' as const, signal })),
  ]);
  clearTimeout(timer);
  switch (outcome.kind) {
    case 'done':
      log({ event: 'stopped' });
      return 0;
    case 'timeout':
      log({ event: 'shutdown-timeout', afterMs: timeoutMs });
      return 1;
    case 'forced':
      log({ event: 'shutdown-forced', signal: outcome.signal });
      return 1;
  }
}
