/**
 * A local fake Steam that the real, unmodified steam-user signs in to and
 * redeems keys against, for tests.
 *
 *   const steam = await startFakeSteam({
 *     accounts: [{ accountName: 'alice', password: 'pw', guard: { type: 'email', domain: 'example.com', codes: ['ABCDE'] } }],
 *     keys: {
 *       'AAAAA-BBBBB-CCCCC': { packages: [{ id: 1, name: 'Game' }] },   // activated
 *       'DDDDD-EEEEE-FFFFF': { detail: 9, packages: [{ id: 1, name: 'Game' }] }, // AlreadyPurchased
 *       'GGGGG-HHHHH-IIIII': 'no-answer',                             // steam-user waits in vain
 *       'JJJJJ-KKKKK-LLLLL': 'drop',                                  // the connection drops on receipt
 *       'MMMMM-NNNNN-OOOOO': [{ detail: 53 }, { packages: [...] }],   // RateLimited once, then activated
 *       'PPPPP-QQQQQ-RRRRR': { delayMs: 500, packages: [...] },        // answers late
 *       'SSSSS-TTTTT-UUUUU': 'hold',                                  // answers on steam.answerHeld(key, answer)
 *     },
 *   });
 *   // In a process started with NODE_EXTRA_CA_CERTS=<steam.caPath>:
 *   new SteamUser({ httpProxy: steam.proxyUrl, protocol: SteamUser.EConnectionProtocol.WebSocket, ... });
 *   ...
 *   steam.keysReceived;  steam.tally;  steam.repeatedKeys();  steam.log;  await steam.close();
 *
 * How it works. steam-user's `httpProxy` option sends every connection
 * through an HTTP CONNECT proxy (`proxyUrl`, on 127.0.0.1 with an ephemeral
 * port). The proxy lets through only `api.steampowered.com:443` and the fake
 * CM host, and hands both to one in-process HTTPS server whose test
 * certificate (fixtures/) carries those two names. steam-user then checks that
 * certificate against the CAs Node trusts, and Node reads NODE_EXTRA_CA_CERTS
 * only at start-up: run steam-user in a process started with
 * NODE_EXTRA_CA_CERTS=caPath (see run-with-test-ca.ts).
 * The HTTPS server answers ISteamDirectory/GetCMListForConnect with one
 * WebSocket CM, and serves `/cmsocket/` with this project's own WebSocket
 * layer (WebSocketRouter); cm.ts speaks Steam's protocol on it.
 * Unknown keys answer 14 BadActivationCode; unknown accounts and wrong
 * passwords 5 InvalidPassword. Nothing leaves the machine: every other host
 * gets 403 from the proxy.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketRouter } from '../../lib/websocket/index.js';
import { FakeWorld, type FakeAccount, type FakeEvent, type KeyAnswer, type KeyScript, type TallyEntry } from './cm.js';
import type { FakeSteamApp } from './steam-app.js';

export type { FakeAccount, FakeEvent, FakeGuard, KeyAnswer, KeyScript, KeyStep, TallyEntry } from './cm.js';
export type { FakePackage } from './receipt.js';
export type { FakeSteamApp } from './steam-app.js';

export const API_HOST = 'api.steampowered.com';
export const CM_HOST = 'cm.fake-steam.test';
/** The test CA that signed the fake's certificate. */
export const CA_PATH = fileURLToPath(new URL('./fixtures/ca.pem', import.meta.url));

export interface FakeSteamOptions {
  accounts?: FakeAccount[];
  /** Scripted answers by key (exactly as steam-user sends it). */
  keys?: Record<string, KeyScript>;
  /** The answer to any other key. Default { detail: 14 } (BadActivationCode). */
  unknownKey?: KeyScript;
  /** Whether the CM closes the connection on ClientLogOff, as Steam does (default true). False: signing out takes steam-user's 4 s. */
  closeOnLogOff?: boolean;
}

export interface FakeSteam {
  /** Give this to steam-user as `httpProxy`. */
  readonly proxyUrl: string;
  /** Start processes that run steam-user with NODE_EXTRA_CA_CERTS set to this. */
  readonly caPath: string;
  /** Which hosts the proxy lets through; set one false to make that part of Steam unreachable. */
  readonly reachable: { api: boolean; cm: boolean };
  /** Everything the fake saw, in order (never a password or code). */
  readonly log: readonly FakeEvent[];
  /** The keys that reached the fake, in order. */
  readonly keysReceived: string[];
  /** Every key that reached the fake from a signed-in client: account, key and time, in order. */
  readonly tally: readonly TallyEntry[];
  /** The keys that reached the fake more than once, from any accounts (each named once, in order of their second arrival). */
  repeatedKeys(): string[];
  /** Answers a key scripted 'hold' with `answer`; false if it is not waiting. */
  answerHeld(key: string, answer: KeyAnswer): boolean;
  /** Resolves once `key` has reached the fake: a page sees "redeeming" before the request is on the wire. */
  keyReceived(key: string): Promise<void>;
  /** Open CM connections. */
  readonly connectionCount: number;
  /** Open CM connections signed on to an account (not those that only sign in: a QR code, a password, a poll). */
  readonly signedInCount: number;
  /** The Steam mobile app, driven by the test: scans QR codes, approves and denies sign-ins (steam-app.ts). */
  readonly app: FakeSteamApp;
  /** Every refresh and access token the fake has issued (to look for where they must not be). */
  readonly issuedTokens: readonly string[];
  addAccount(account: FakeAccount): void;
  setKey(key: string, script: KeyScript): void;
  /** Drops every CM connection at once, without a closing handshake. */
  dropConnections(): void;
  /** Ends every signed-in session from Steam's side with this EResult (ClientLoggedOff). */
  logOffEveryone(eresult: number): void;
  close(): Promise<void>;
}

const FIXTURES = new URL('./fixtures/', import.meta.url);

/** GetCMListForConnect's answer: one WebSocket CM, in Valve's text KeyValues (VDF). */
function serverListVdf(): string {
  return [
    '"response"',
    '{',
    '\t"serverlist"',
    '\t{',
    '\t\t"0"',
    '\t\t{',
    `\t\t\t"endpoint"\t"${CM_HOST}:443"`,
    `\t\t\t"legacy_endpoint"\t"${CM_HOST}:27017"`,
    '\t\t\t"type"\t"websockets"',
    '\t\t\t"dc"\t"fake"',
    '\t\t\t"realm"\t"steamglobal"',
    '\t\t\t"load"\t"0"',
    '\t\t\t"wtd_load"\t"0"',
    '\t\t}',
    '\t}',
    '\t"success"\t"1"',
    '\t"message"\t""',
    '}',
    '',
  ].join('\n');
}

export async function startFakeSteam(options: FakeSteamOptions = {}): Promise<FakeSteam> {
  const world = new FakeWorld();
  for (const account of options.accounts ?? []) world.addAccount(account);
  for (const [key, script] of Object.entries(options.keys ?? {})) world.keys.set(key, script);
  if (options.unknownKey) world.unknownKey = options.unknownKey;
  if (options.closeOnLogOff === false) world.closeOnLogOff = false;

  const router = new WebSocketRouter({ onHandlerError: (error) => console.error('fake CM failed:', error) });
  router.route('/cmsocket/', (channel, request) => world.serve(channel, request));

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'https://fake').pathname;
    world.record({ type: 'http', method: req.method ?? '', path });
    if (router.handleRequest(req, res)) return;
    if (req.method === 'GET' && path === '/ISteamDirectory/GetCMListForConnect/v0001/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(serverListVdf());
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not faked\n');
  };
  // Never listens: the proxy hands it the sockets it lets through.
  const https = createHttpsServer(
    { key: readFileSync(new URL('server.key', FIXTURES)), cert: readFileSync(new URL('server.pem', FIXTURES)) },
    onRequest,
  );
  router.attach(https);

  const reachable = { api: true, cm: true };
  const sockets = new Set<Duplex>();
  const proxy = createHttpServer((_req, res) => {
    res.writeHead(405, { 'Content-Type': 'text/plain' });
    res.end('only CONNECT\n');
  });
  proxy.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = req.url ?? '';
    const allowed = (target === `${API_HOST}:443` && reachable.api) || (target === `${CM_HOST}:443` && reachable.cm);
    world.record({ type: 'proxy-connect', target, allowed });
    socket.on('error', () => {}); // a client reset must not crash the fake
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    https.emit('connection', socket as Socket);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as AddressInfo;

  return {
    proxyUrl: `http://127.0.0.1:${port}`,
    caPath: CA_PATH,
    reachable,
    get log() {
      return world.log;
    },
    get keysReceived() {
      return world.keysReceived;
    },
    get tally() {
      return world.tally;
    },
    repeatedKeys: () => {
      const seen = new Set<string>();
      const repeated = new Set<string>();
      for (const { key } of world.tally) (seen.has(key) ? repeated : seen).add(key);
      return [...repeated];
    },
    answerHeld: (key, answer) => world.answerHeld(key, answer),
    get connectionCount() {
      return world.connections.size;
    },
    get signedInCount() {
      return [...world.connections].filter((c) => c.account !== null).length;
    },
    app: world.app,
    get issuedTokens() {
      return world.issuedTokens;
    },
    keyReceived: (key) => world.keyReceived(key),
    addAccount: (account) => world.addAccount(account),
    setKey: (key, script) => void world.keys.set(key, script),
    dropConnections: () => world.dropConnections(),
    logOffEveryone: (eresult) => world.logOffEveryone(eresult),
    async close() {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      proxy.closeAllConnections();
      await closed;
    },
  };
}
