/**
 * The HTTP server of `steam-key serve`: the redeem WebSocket at /ws, a health
 * check at /healthz, and the page (lib/app/page.ts, through the `page` hook).
 * Plain node:http, no framework. Before anything else, every request (page,
 * health check, WebSocket) must name a host this server answers to
 * (host-check.ts: DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { httpServerOptions, WebSocketRouter, type Limits, type Refusal, type TraceFn } from '../websocket/index.js';
import { limitClientWarnings, silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../steam/clock.js';
import { clientAddress, clientLogAddress, fromThisMachine, trustedProxySet } from './client-address.js';
import { hostAllowlist } from './host-check.js';
import { sameOrigin, type OriginCheck } from './origin-check.js';
import { resolvePolicy, type ServerPolicy } from './policy.js';
import { Quota } from './quota.js';
import { AddressRate } from './address-rate.js';
import { ReadBudget } from './read-budget.js';
import { UnfinishedBytes } from './unfinished-bytes.js';
import { SignInLimiter } from './sign-in-limits.js';
import type { SteamPortFactory } from '../steam/port.js';
import { SessionStore, type SessionQuota } from '../steam/session-store.js';
import { RedeemSession, resolveSessionTimers, type SessionTimers } from '../steam/session.js';
import { MAX_MESSAGE_BYTES } from './protocol.js';
import { redeemHandler, type AddressQuota, type PasteGate, type SignInGate } from './ws-handler.js';

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
  /** Text pasted per address (address-rate.ts). */
  pastes?: PasteGate;
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
  allowOrigin?: OriginCheck;
  /** Told about every frame in and out (`serve --trace`; payloads carry secrets: see app/trace.ts). */
  trace?: TraceFn;
  /** Limits on what one client may spend, and who the server answers to (policy.ts; defaults for what is left out). */
  policy?: Partial<ServerPolicy>;
}

export interface App {
  server: Server;
  router: WebSocketRouter;
  store: SessionStore;
  /** The policy in force: the defaults with AppOptions.policy on top, checked (policy.ts). */
  policy: ServerPolicy;
  /** Ends every session (signing out of Steam, telling each page why), closes every connection and the server. */
  close(): Promise<void>;
}

// Which pages may open the WebSocket lives in origin-check.ts; these names stay importable from here.
export { allowOrigins, normaliseOrigin, sameOrigin } from './origin-check.js';

export function createApp(options: AppOptions): App {
  const policy = resolvePolicy(options.policy);
  const clock = options.clock ?? systemClock;
  // Warnings that clients cause share one rate (log.ts), whoever logs them.
  const limited = limitClientWarnings(options.log ?? silentLogger, clock);
  const log = limited.log;
  const trusted = trustedProxySet(policy.trustedProxies);
  const servesHost = hostAllowlist(policy.allowedHosts);
  /** undefined when the request names a host this server answers to; else the refusal, logged. */
  const misdirected = (req: IncomingMessage): { status: number; reason: string } | undefined => {
    if (servesHost(req.headers.host)) return undefined;
    log({ event: 'host-refused', host: req.headers.host ?? '', client: clientLogAddress(req, trusted) });
    return { status: 421, reason: MISDIRECTED };
  };
  // The policy's limits, unless a caller (a test) hands in its own.
  const addressOf = options.addressOf ?? ((req: IncomingMessage) => clientAddress(req, trusted));
  const connectionQuota = options.connectionQuota ?? new Quota({ perAddress: policy.maxConnectionsPerAddress, total: policy.maxConnections });
  const maxSessions = options.maxSessions ?? policy.maxSessions;
  const sessionQuota = options.sessionQuota ?? new Quota({ perAddress: policy.maxSessionsPerAddress, total: maxSessions });
  const signIns = options.signIns ?? new SignInLimiter(policy, clock);
  const pastes = options.pastes ?? new AddressRate(policy.pasteCharsPerAddress, clock);
  const newConnections = new AddressRate(policy.newConnectionsPerAddress, clock);
  /**
   * A new connection past its address's rate is refused before the upgrade, with 429: a client
   * that opens again each one the server closes would otherwise cost an upgrade and whatever it
   * sends at once (a 1 MB paste) each time. The page cannot read an HTTP refusal of a WebSocket:
   * it says it cannot reach the server and tries again later.
   */
  const tooManyNew = (req: IncomingMessage): Refusal | undefined => {
    const address = addressOf(req);
    const retryAt = newConnections.take(address);
    if (retryAt === null) return undefined;
    log({ event: 'connection-refused', client: address, scope: 'rate' });
    const seconds = Math.max(1, Math.ceil((retryAt - clock.now()) / 1000));
    return { status: 429, reason: 'too many new connections from this address; try again later', headers: { 'Retry-After': String(seconds) } };
  };
  const reads = new ReadBudget(policy.readBytesPerAddress, clock);
  const unfinished = new UnfinishedBytes({ perAddress: policy.maxUnfinishedBytesPerAddress, total: policy.maxUnfinishedBytes });
  const {
    graceMs,
    anonymousGraceMs = policy.anonymousGraceMs,
    signInDeadlineMs = policy.signInDeadlineMs,
    helloTimeoutMs = policy.firstMessageTimeoutMs,
    ...sessionTimers
  } = options.timers ?? {};
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
    anonymousGraceMs,
    signInDeadlineMs,
    quota: sessionQuota,
    maxHolders: options.maxConnectionsPerSession ?? policy.connectionsPerSession,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { pauseMs, cooldownMs } = resolveSessionTimers(sessionTimers);
  const allowOrigin = options.allowOrigin ?? sameOrigin;
  const router = new WebSocketRouter({
    refuse: (req) => misdirected(req) ?? tooManyNew(req),
    allowOrigin: (origin, req) => {
      if (allowOrigin(origin, req)) return true;
      // The usual cause is a reverse proxy that does not pass Host on: say what was compared.
      log({ event: 'origin-refused', origin: origin ?? '', host: req.headers.host ?? '', client: clientLogAddress(req, trusted) });
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
      addressOf,
      connections: connectionQuota,
      signIns,
      pastes,
      reads,
      unfinished,
      helloTimeoutMs,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
  );

  const server = createServer(httpServerOptions(router.limits), (req, res) => {
    const refusal = misdirected(req);
    if (refusal) return text(res, refusal.status, `${refusal.reason}\n`);
    if (router.handleRequest(req, res)) return; // /ws without an upgrade: 426
    const path = pathOf(req);
    if (path === '/healthz') return health(req, res, { sessions: store.size, connections: router.channels.size });
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
    policy,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await store.closeAll();
      await router.closeAll();
      server.closeIdleConnections();
      await closed;
      limited.flush();
    },
  };
}

const MISDIRECTED = 'steam-key does not answer to this host name (its operator can add it with --allow-host)';

/**
 * `{"status":"ok"}` for anyone's probe; the counts only for the machine
 * itself (client-address.ts's fromThisMachine): they tell an outsider how
 * busy the server is, and when to try filling it.
 */
function health(req: IncomingMessage, res: ServerResponse, counts: { sessions: number; connections: number }): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return text(res, 405, 'method not allowed\n');
  }
  const body = JSON.stringify(fromThisMachine(req) ? { status: 'ok', ...counts } : { status: 'ok' });
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
