/** Starts the app on an ephemeral port with the demo Steam and millisecond timers, and a WebSocket test client. */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createApp, type App, type AppOptions } from '../../lib/app/server.js';
import type { ServerPolicy } from '../../lib/app/policy.js';
import type { ServerMessage, ServerType } from '../../lib/app/protocol.js';
import { lineLogger } from '../../lib/log.js';
import { demoPortFactory, type DemoPortOptions } from '../../lib/steam/demo-port.js';

export const FAST_TIMERS = { pauseMs: 1, cooldownMs: 100, redeemTimeoutMs: 5_000, graceMs: 60_000 };

/** The protocol version the test clients speak. */
export const VERSION = 2;

/**
 * The sign-in limits of a test app: these tests type wrong passwords and
 * codes on purpose and retry at once, and play Steam's refusals, which a
 * shared instance's backoff and cooldown (lib/app/sign-in-limits.ts) would
 * slow down. The limits' own tests pass
 * their own policy.
 */
export const ROOMY_SIGN_INS: Partial<ServerPolicy> = {
  signInsPerSession: { count: 1_000, perMs: 1_000 },
  signInsPerAddress: { count: 1_000, perMs: 1_000 },
  signInsPerServer: { count: 1_000, perMs: 1_000 },
  signInBackoffMs: 0,
  steamCooldownMs: 0,
};

export interface Running {
  app: App;
  /** http://127.0.0.1:PORT */
  url: string;
  wsUrl: string;
  /** Every log line written so far. */
  logs: string[];
  /** Resolves with the `count`th log line that matches (the first by default). */
  logged(pattern: RegExp, count?: number): Promise<string>;
  connect(options?: WebSocket.ClientOptions): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startApp(
  options: Partial<AppOptions> = {},
  demo: DemoPortOptions = {},
  /** 0 for an ephemeral port; a port given back by an app that stopped listening, to "restart" it. */
  port = 0,
): Promise<Running> {
  const logs: string[] = [];
  const watchers: { pattern: RegExp; count: number; resolve: (line: string) => void }[] = [];
  const matching = (pattern: RegExp) => logs.filter((line) => pattern.test(line));
  const log = lineLogger((line) => {
    logs.push(line);
    for (const w of watchers.filter((w) => matching(w.pattern).length >= w.count)) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const app = createApp({
    portFactory: demoPortFactory({ latencyMs: 1, timeoutMs: 20, ...demo }),
    timers: FAST_TIMERS,
    log,
    ...options,
    policy: { ...ROOMY_SIGN_INS, ...options.policy },
  });
  await new Promise<void>((resolve) => app.server.listen(port, '127.0.0.1', resolve));
  const address = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  const clients: TestClient[] = [];
  return {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    logs,
    logged(pattern, count = 1) {
      const found = matching(pattern);
      if (found.length >= count) return Promise.resolve(found[count - 1]!);
      return new Promise((resolve) => watchers.push({ pattern, count, resolve }));
    },
    async connect(clientOptions) {
      const client = await TestClient.connect(`ws://127.0.0.1:${address.port}/ws`, clientOptions);
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.socket.terminate();
      await app.close();
    },
  };
}

/** A WebSocket client that reads server messages in order. */
export class TestClient {
  /** Every text frame received, as sent. */
  readonly frames: string[] = [];
  /** The session token this connection holds, from the last welcome or session message received (null: none). */
  token: string | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #unread: ServerMessage[] = [];
  #waiter: (() => void) | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const text = data.toString();
      if (isBinary) throw new Error('the server sent a binary frame');
      this.frames.push(text);
      const message = JSON.parse(text) as ServerMessage; // the server's own encode()
      if (message.type === 'welcome' || message.type === 'session') this.token = message.session;
      this.#unread.push(message);
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#waiter?.();
      });
    });
  }

  static connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const socket = new WebSocket(url, options);
    const client = new TestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** Sends an object as JSON, or a string / Buffer as it is. */
  send(value: unknown): void {
    this.socket.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
  }

  /** How long next() waits for a message before it fails: a hang guard, longer for a server under attack (test/abuse/). */
  patienceMs = 10_000;

  /** The next message, whatever it is. Fails after patienceMs without one (a hang guard, not a timing test). */
  async next(): Promise<ServerMessage> {
    while (this.#unread.length === 0) {
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error('closed while waiting for a message');
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        this.#waiter = resolve;
        timer = setTimeout(() => reject(new Error(`no message within ${this.patienceMs / 1000} s; last: ${this.frames.at(-1)}`)), this.patienceMs);
      }).finally(() => clearTimeout(timer));
      this.#waiter = null;
    }
    return this.#unread.shift()!;
  }

  /** Skips messages up to the first of `type` that satisfies `match`, and returns it. */
  async until<T extends ServerType>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    for (;;) {
      const message = await this.next();
      if (message.type === type && match(message as Extract<ServerMessage, { type: T }>)) {
        return message as Extract<ServerMessage, { type: T }>;
      }
    }
  }

  /** hello → welcome. */
  async hello(resume?: string): Promise<Extract<ServerMessage, { type: 'welcome' }>> {
    this.send(resume === undefined ? { type: 'hello', version: VERSION } : { type: 'hello', version: VERSION, resume });
    return this.until('welcome');
  }

  /** Signs in to a demo account without a guard prompt; resolves with the session token. */
  async signIn(accountName = 'demo', password = 'demo'): Promise<string> {
    this.send({ type: 'login', accountName, password });
    await this.until('login', (m) => m.state === 'signed-in');
    return this.token!;
  }

  close(): void {
    this.socket.close();
  }
}
