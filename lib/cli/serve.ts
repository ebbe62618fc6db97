/**
 * `steam-key serve`: the redeem service — the WebSocket protocol at /ws (and
 * later the page) — against the real Steam, or with --demo against a
 * simulated Steam in this process.
 */
import { createApp, type AppTimers } from '../app/server.js';
import { lineLogger } from '../log.js';
import { DEMO_KEYS, DEMO_PASSWORD, demoPortFactory } from '../steam/demo-port.js';
import type { SteamPortFactory } from '../steam/port.js';
import { DEFAULT_GRACE_MS } from '../steam/session-store.js';
import { DEFAULT_SESSION_TIMERS } from '../steam/session.js';
import { durationFlag, formatDuration, intFlag, parseFlags, UsageError } from './args.js';
import { listen, untilSignal } from './listen.js';

const DEFAULTS: AppTimers = { ...DEFAULT_SESSION_TIMERS, graceMs: DEFAULT_GRACE_MS };
/** The demo's pace: quick enough to watch a rate limit come and go. */
export const DEMO_DEFAULTS: AppTimers = { ...DEFAULTS, pauseMs: 1_000, cooldownMs: 20_000 };
const HOUR = 3_600_000;

export const SERVE_USAGE = `Usage: steam-key serve [--port N] [--host H] [--demo] [--steam-proxy URL]
                       [--pause D] [--cooldown D] [--grace D] [--redeem-timeout D]

Serves the redeem page's WebSocket protocol at /ws (docs/protocol.md) and a
health check at /healthz.

  --port N              port to listen on (default 3999; 0 picks a free one)
  --host H              address to listen on (default 127.0.0.1)
  --demo                a simulated Steam in this process, with demo accounts and
                        keys that show every result (README, "Demo mode")
  --steam-proxy URL     HTTP proxy to reach Steam through (default: $STEAM_HTTP_PROXY)
  --pause D             pause between two keys (default ${formatDuration(DEFAULTS.pauseMs)}; demo ${formatDuration(DEMO_DEFAULTS.pauseMs)})
  --cooldown D          send nothing this long after Steam rate-limits activations
                        (default ${formatDuration(DEFAULTS.cooldownMs)}; demo ${formatDuration(DEMO_DEFAULTS.cooldownMs)})
  --grace D             how long a session outlives its page: reconnect within it
                        and nothing is lost (default ${formatDuration(DEFAULTS.graceMs)})
  --redeem-timeout D    stop waiting for Steam's answer to one key; the key is then
                        "unknown" (default ${formatDuration(DEFAULTS.redeemTimeoutMs)})
  -h, --help            show this help

Durations take a unit: 500ms, 5s, 60m, 1h.`;

export interface ServeConfig {
  port: number;
  host: string;
  demo: boolean;
  /** For steam-user's httpProxy option. */
  steamProxy?: string;
  timers: AppTimers;
}

/** Parses serve's flags (and STEAM_HTTP_PROXY). Throws UsageError; returns null for --help. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig | null {
  const { values } = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    demo: { type: 'boolean' },
    'steam-proxy': { type: 'string' },
    pause: { type: 'string' },
    cooldown: { type: 'string' },
    grace: { type: 'string' },
    'redeem-timeout': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const demo = values.demo === true;
  if (demo && values['steam-proxy'] !== undefined) {
    throw new UsageError('--steam-proxy has no effect with --demo: the demo Steam runs in this process');
  }
  const defaults = demo ? DEMO_DEFAULTS : DEFAULTS;
  const config: ServeConfig = {
    port: intFlag('port', values.port, 0, 65535) ?? 3999,
    host: values.host ?? '127.0.0.1',
    demo,
    timers: {
      pauseMs: durationFlag('pause', values.pause, 0, HOUR) ?? defaults.pauseMs,
      // At least a second: a zero cooldown with a zero pause would retry a rate-limited key in a loop.
      cooldownMs: durationFlag('cooldown', values.cooldown, 1_000, 24 * HOUR) ?? defaults.cooldownMs,
      graceMs: durationFlag('grace', values.grace, 0, 24 * HOUR) ?? defaults.graceMs,
      redeemTimeoutMs: durationFlag('redeem-timeout', values['redeem-timeout'], 1_000, HOUR) ?? defaults.redeemTimeoutMs,
    },
  };
  const proxy = demo ? undefined : (values['steam-proxy'] ?? (env.STEAM_HTTP_PROXY || undefined));
  if (proxy !== undefined) config.steamProxy = checkProxy(proxy);
  return config;
}

export function checkProxy(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--steam-proxy must be a URL such as http://127.0.0.1:8080, got '${value}'`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--steam-proxy must be an http:// proxy, got '${value}'`);
  return value;
}

/** Makes the real Steam's port factory (steam-user's adapter) with the proxy option. */
export type RealSteamFactory = (options: { httpProxy?: string; redeemTimeoutMs: number }) => SteamPortFactory;

export interface ServeDeps {
  /** The real Steam (bin/ passes lib/steam/steam-user-port.ts). Without it only --demo runs. */
  realSteam?: RealSteamFactory;
  env?: NodeJS.ProcessEnv;
  /** Stops the server when it settles (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function runServe(argv: string[], deps: ServeDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => console.log(line));
  const err = deps.err ?? ((line: string) => console.error(line));
  const config = parseServeArgs(argv, deps.env);
  if (!config) {
    out(SERVE_USAGE);
    return 0;
  }
  let portFactory: SteamPortFactory;
  if (config.demo) portFactory = demoPortFactory();
  else if (deps.realSteam) {
    const redeemTimeoutMs = config.timers.redeemTimeoutMs;
    portFactory = deps.realSteam(config.steamProxy === undefined ? { redeemTimeoutMs } : { httpProxy: config.steamProxy, redeemTimeoutMs });
  }
  else {
    err('steam-key serve: this build has no real Steam adapter.');
    err('Try the whole flow against a simulated Steam with: steam-key serve --demo');
    return 1;
  }

  const log = lineLogger(out);
  const app = createApp({ portFactory, timers: config.timers, log });
  let address: string;
  try {
    address = await listen(app.server, config.port, config.host);
  } catch (error) {
    err(`steam-key serve: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    return 1;
  }
  const url = `http://${address}/`;
  log({ event: 'listening', url, demo: config.demo });
  if (config.demo) {
    out(`demo mode: sign in as "demo" with password "${DEMO_PASSWORD}"; try keys such as ${DEMO_KEYS.slice(0, 3).map((k) => k.key).join(', ')} (README, "Demo mode").`);
  }
  await (deps.until ?? untilSignal());
  await app.close();
  return 0;
}
