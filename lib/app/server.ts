/**
 * The HTTP server of `steam-key serve`: the redeem WebSocket at /ws, a health
 * check at /healthz, and the page (lib/app/page.ts, through the `page` hook).
 * Plain node:http, no framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { httpServerOptions, WebSocketRouter, type Limits, type TraceFn } from '../websocket/index.js';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../steam/clock.js';
import type { SteamPortFactory } from '../steam/port.js';
import { SessionStore, type SessionQuota } from '../steam/session-store.js';
import { RedeemSession, resolveSessionTimers, type SessionTimers } from '../steam/session.js';
import { MAX_MESSAGE_BYTES } from './protocol.js';
import { redeemHandler, type AddressQuota, type SignInGate } from './ws-handler.js';

export const WS_PATH = '/ws';

export interface AppTimers extends SessionTimers {
  /** How long a session outlives its page (docs/sessions.md). */
  graceMs: number;
  /** How long a session that never signed in outlives its page (default: session-store.ts). */
  anonymousGraceMs?: number;
  /** A session that has not signed in this long after it was opened ends (default: session-store.ts). */
  signInDeadlineMs?: number;
  /** A connection has this long to send hello (default: ws-handler.ts). */
  helloTimeoutMs?: number;
}

/** Serves a request for the page (HTML, scripts, styles); returns false to leave it to the app. */
export type PageHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface AppOptions {
  /** Makes the Steam port for each sign-in: steam-user's adapter, or the demo. */
  portFactory: SteamPortFactory;
  timers?: Partial<AppTimers>;
  /** Sessions in all, when no sessionQuota is given. */
  maxSessions?: number;
  /** Sessions per client address and in all (lib/app/quota.ts). */
  sessionQuota?: SessionQuota;
  /** Connections per client address and in all. */
  connectionQuota?: AddressQuota;
  /** Connections holding one session at once. */
  maxConnectionsPerSession?: number;
  /** Sign-in limits per session, address and server, and Steam's cooldowns. */
  signIns?: SignInGate;
  /** The client's address (a trusted proxy's X-Forwarded-For, lib/app/client-address.ts); default the socket's. */
  addressOf?: (req: IncomingMessage) => string;
  maxKeysPerSession?: number;
  log?: Logger;
  clock?: Clock;
  limits?: Partial<Limits>;
  /** The page (lib/app/page.ts's pageHandler); without it `/` says where the WebSocket is. */
  page?: PageHandler;
  /**
   * Whether a page from `origin` may open the WebSocket (RFC 6455 §10.2).
   * Default: clients that send no Origin (not browsers), and pages served by
   * this server (Origin's host equals the Host header), so another web site
   * open in the user's browser cannot drive a session.
   */
  allowOrigin?: (origin: string | undefined, req: IncomingMessage) => boolean;
  /** Told about every frame in and out (`serve --trace`; payloads carry secrets: see app/trace.ts). */
  trace?: TraceFn;
}

export interface App {
  server: Server;
  router: WebSocketRouter;
  store: SessionStore;
  /** Ends every session (signing out of Steam, telling each page why), closes every connection and the server. */
  close(): Promise<void>;
}

export function sameOrigin(origin: string | undefined, req: IncomingMessage): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // "null" (a file:// page, a sandbox) or garbage
  }
}

/**
 * The same origin as the page (sameOrigin), or one of `origins` — for a
 * reverse proxy that changes the Host header, or a page served elsewhere.
 * `origins` are serialised origins such as "https://keys.example.org".
 */
export function allowOrigins(origins: readonly string[]): (origin: string | undefined, req: IncomingMessage) => boolean {
  const allowed = new Set(origins);
  return (origin, req) => sameOrigin(origin, req) || (origin !== undefined && allowed.has(normaliseOrigin(origin)));
}

/** "HTTPS://Keys.Example.org:443" → "https://keys.example.org", as browsers send it; garbage stays as it is. */
export function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

export function createApp(options: AppOptions): App {
  const log = options.log ?? silentLogger;
  const { graceMs, anonymousGraceMs, signInDeadlineMs, helloTimeoutMs, ...sessionTimers } = options.timers ?? {};
  const store = new SessionStore({
    createSession: (claim) =>
      new RedeemSession({
        portFactory: options.portFactory,
        claim,
        timers: sessionTimers,
        log,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.maxKeysPerSession === undefined ? {} : { maxKeys: options.maxKeysPerSession }),
      }),
    log,
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(anonymousGraceMs === undefined ? {} : { anonymousGraceMs }),
    ...(signInDeadlineMs === undefined ? {} : { signInDeadlineMs }),
    ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    ...(options.sessionQuota ? { quota: options.sessionQuota } : {}),
    ...(options.maxConnectionsPerSession === undefined ? {} : { maxHolders: options.maxConnectionsPerSession }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { pauseMs, cooldownMs } = resolveSessionTimers(sessionTimers);
  const allowOrigin = options.allowOrigin ?? sameOrigin;
  const refusals = new RefusalLog(options.clock ?? systemClock);
  const router = new WebSocketRouter({
    allowOrigin: (origin, req) => {
      if (allowOrigin(origin, req)) return true;
      // The usual cause is a reverse proxy that does not pass Host on: say what was compared.
      const host = req.headers.host ?? '';
      const repeated = refusals.due(`${origin ?? ''} ${host}`);
      if (repeated !== null) log({ event: 'origin-refused', origin: origin ?? '', host, ...(repeated > 0 ? { repeated } : {}) });
      return false;
    },
    // The protocol's message limit, whatever the WebSocket layer's default; the page relies on it.
    // A peer that leaves 4 MiB of replies unread does not read at all (docs/sessions.md).
    limits: { maxMessageSize: MAX_MESSAGE_BYTES, maxBufferedAmount: 4 * 1024 * 1024, ...options.limits },
    ...(options.trace ? { trace: options.trace } : {}),
  });
  router.route(
    WS_PATH,
    redeemHandler({
      store,
      settings: { pauseMs, cooldownMs },
      log,
      ...(options.addressOf ? { addressOf: options.addressOf } : {}),
      ...(options.connectionQuota ? { connections: options.connectionQuota } : {}),
      ...(options.signIns ? { signIns: options.signIns } : {}),
      ...(helloTimeoutMs === undefined ? {} : { helloTimeoutMs }),
      ...(options.clock ? { clock: options.clock } : {}),
    }),
  );

  const server = createServer(httpServerOptions(router.limits), (req, res) => {
    if (router.handleRequest(req, res)) return; // /ws without an upgrade: 426
    const path = pathOf(req);
    if (path === '/healthz') return health(req, res, store);
    if (options.page?.(req, res)) return;
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      return text(res, 200, `steam-key is running without its page; the WebSocket is at ${WS_PATH} (docs/protocol.md).\n`);
    }
    text(res, 404, 'not found\n');
  });
  router.attach(server);

  return {
    server,
    router,
    store,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await store.closeAll();
      await router.closeAll();
      server.closeIdleConnections();
      await closed;
    },
  };
}

function health(req: IncomingMessage, res: ServerResponse, store: SessionStore): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return text(res, 405, 'method not allowed\n');
  }
  const body = JSON.stringify({ status: 'ok', sessions: store.size });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/**
 * One log line per origin and host a minute: a hostile page open in the
 * user's browser may try the WebSocket in a loop, and must not fill the log.
 */
class RefusalLog {
  static readonly #INTERVAL_MS = 60_000;
  static readonly #MAX_KEYS = 1_000;
  readonly #clock: Clock;
  readonly #seen = new Map<string, { loggedAt: number; since: number }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** null: stay quiet; else how many refusals went unlogged since the last line. */
  due(key: string): number | null {
    const now = this.#clock.now();
    const entry = this.#seen.get(key);
    if (entry && now - entry.loggedAt < RefusalLog.#INTERVAL_MS) {
      entry.since++;
      return null;
    }
    if (!entry && this.#seen.size >= RefusalLog.#MAX_KEYS) this.#seen.clear(); // bounded memory
    this.#seen.set(key, { loggedAt: now, since: 0 });
    return entry?.since ?? 0;
  }
}
