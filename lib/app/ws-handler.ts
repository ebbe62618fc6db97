/**
 * One WebSocket connection ⇄ at most one redeem session: validated client
 * messages become session calls, session events become server messages
 * (docs/protocol.md, version 2).
 *
 * A connection starts without a session. The first request that needs one
 * (a sign-in, a paste) opens it, within its address's quota; a `hello` with a
 * resume token takes an existing one back. Several connections may hold one
 * session; when a sign-in proves an account that has a session here already,
 * the store moves this connection to it (`moved`). When a connection closes,
 * the store's grace period for its session starts once no one holds it.
 */
import type { IncomingMessage } from 'node:http';
import type { Channel, ChannelHandler, Message, ReadGate } from '../websocket/index.js';
import { CloseCode } from '../websocket/index.js';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../steam/clock.js';
import type { LoginFailure } from '../steam/port.js';
import type { Text } from '../steam/results.js';
import type { EvictReason, Held, Holder, SessionStore } from '../steam/session-store.js';
import { SessionError, type AddKeysResult, type RedeemSession, type SessionEvent, type SessionSnapshot } from '../steam/session.js';
import {
  encode,
  MAX_DROPPED_LISTED,
  parseClientMessage,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type ByeReason,
  type ClientMessage,
  type ErrorCode,
  type RequestId,
  type ServerMessage,
} from './protocol.js';

/** Application close codes (RFC 6455 §7.4.2: 4000–4999 are ours). */
export const AppCloseCode = {
  /** Too many connections held the session: this, the oldest, let go. */
  REPLACED: 4001,
  /** The session's grace period ran out. */
  EXPIRED: 4002,
  /** The session did not sign in by its deadline. */
  NOT_SIGNED_IN: 4003,
} as const;

/** A connection has this long to send `hello` (docs/sessions.md). */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

const BYE: Record<ByeReason, { code: number; message: Text }> = {
  replaced: {
    code: AppCloseCode.REPLACED,
    message: {
      en: 'This session is open in too many windows or tabs, so this one — the oldest — has stopped. Reload to take it back.',
      zh: '该会话在太多窗口或标签页中打开，因此最早的这个页面已停止。重新加载即可继续使用。',
    },
  },
  'logged-out': {
    code: CloseCode.NORMAL,
    message: { en: 'Signed out. The session has ended.', zh: '已退出登录，会话已结束。' },
  },
  expired: {
    code: AppCloseCode.EXPIRED,
    message: { en: 'The session expired.', zh: '会话已过期。' },
  },
  'not-signed-in': {
    code: AppCloseCode.NOT_SIGNED_IN,
    message: {
      en: 'The session ended because nobody signed in to Steam in time. Keys that were not sent were never used.',
      zh: '由于未及时登录 Steam，会话已结束。未发送的激活码没有被使用。',
    },
  },
  shutdown: {
    code: CloseCode.GOING_AWAY, // §7.4.1: the server is going down
    message: { en: 'The server is shutting down.', zh: '服务器正在关闭。' },
  },
  'too-many-connections': {
    code: CloseCode.TRY_AGAIN_LATER,
    message: {
      en: 'Too many connections to this server from your address (or in all) right now. Close some tabs, or try again in a minute.',
      zh: '你的地址（或所有用户）与此服务器的连接过多。请关闭一些标签页，或稍后再试。',
    },
  },
};

/** Who signs in, for the sign-in limits (lib/app/sign-in-limits.ts). */
export interface SignInWho {
  address: string;
  /** The session's log id. */
  session: string;
  accountName?: string;
}

/** Decides whether a sign-in may go to Steam now, and learns how each ended. */
export interface SignInGate {
  check(who: SignInWho): { code: 'sign-in-limited' | 'steam-cooldown'; retryAt: number } | null;
  start(who: SignInWho): void;
  finish(who: SignInWho, outcome: { ok: true } | { ok: false; reason: LoginFailure }): void;
}

/** How much text an address may paste: null, or when it may paste `chars` (lib/app/address-rate.ts). */
export interface PasteGate {
  take(address: string, chars: number): number | null;
}

/** Counts something per client address with a total (lib/app/quota.ts). */
export interface AddressQuota {
  take(address: string): 'ok' | 'address-full' | 'server-full';
  release(address: string): void;
}

export interface RedeemHandlerOptions {
  store: SessionStore;
  /** The pause between keys and the rate-limit cooldown, for the snapshot of a connection without a session. */
  settings: SessionSnapshot['settings'];
  log?: Logger;
  /** The client's address (lib/app/client-address.ts); default: the socket's. */
  addressOf?: (request: IncomingMessage) => string;
  /** Connections per address and in all; default: no limit here. */
  connections?: AddressQuota;
  /** Sign-in limits; default: none. */
  signIns?: SignInGate;
  /** Paste limits; default: none. */
  pastes?: PasteGate;
  /** The inbound bytes of each address's connections (lib/app/read-budget.ts); default: none. */
  reads?: { gate(address: string): ReadGate & { message(): void } };
  /** The bytes of unfinished messages each address's connections hold (lib/app/unfinished-bytes.ts); default: no cap here. */
  unfinished?: { holder(address: string): (bytes: number) => boolean };
  helloTimeoutMs?: number;
  clock?: Clock;
}

/** The close codes the WebSocket layer fails a connection with (a ProtocolError's code). */
const FAILURE_CODES: ReadonlySet<number> = new Set([CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_PAYLOAD, CloseCode.MESSAGE_TOO_BIG, CloseCode.TRY_AGAIN_LATER]);

/** The `/ws` route's handler. */
export function redeemHandler(options: RedeemHandlerOptions): ChannelHandler {
  const log = options.log ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const helloTimeoutMs = options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
  return async (channel, request) => {
    const address = options.addressOf?.(request) ?? request.socket.remoteAddress ?? 'unknown';
    // RFC 6455 §7.1.7: a server that fails a connection SHOULD log the problem.
    void channel.closed.then(({ code, wasClean }) => {
      if (!wasClean && FAILURE_CODES.has(code)) log({ event: 'websocket-failed', code, client: address });
    });
    const admitted = options.connections?.take(address) ?? 'ok';
    if (admitted !== 'ok') {
      log({ event: 'connection-refused', client: address, scope: admitted === 'server-full' ? 'server' : 'address' });
      bye(channel, 'too-many-connections');
      return;
    }
    const reads = options.reads?.gate(address);
    const hold = options.unfinished?.holder(address);
    if (reads || hold) channel.limitReading({ take: reads?.take ?? (() => 0), ...(hold ? { hold } : {}) });
    const client = new Client(channel, address, options, log);
    let ended = false;
    const cancelHelloTimer = clock.setTimeout(() => {
      // A server kept busy past the deadline runs its due timers before the reads that waited
      // meanwhile: look again after a full turn of the event loop, whose poll phase reads them
      // (the first setImmediate may run in the turn whose poll has passed), so that a hello
      // which arrived in time is not refused.
      setImmediate(() =>
        setImmediate(() => {
          if (client.greeted || ended) return;
          log({ event: 'protocol-error', client: address, code: 'no-hello' });
          channel.close(CloseCode.POLICY_VIOLATION, 'hello expected');
        }),
      );
    }, helloTimeoutMs);
    try {
      for (;;) {
        // Not `for await (const data of channel)`: a suspended async function keeps its variables, so
        // every connection would hold its last message (a 1 MB paste) while it waits for the next.
        let next: IteratorResult<Message, undefined> | null = await channel.next();
        if (next.done) break;
        // Its cost beyond its bytes (read-budget.ts): the next read of this address waits for it.
        reads?.message();
        client.receive(next.value);
        next = null;
      }
    } finally {
      ended = true;
      cancelHelloTimer();
      client.gone();
      options.connections?.release(address);
    }
  };
}

function bye(channel: Channel, reason: ByeReason): void {
  const { code, message } = BYE[reason];
  void channel.send(encode({ type: 'bye', reason, message }));
  channel.close(code, reason);
}

class Client implements Holder {
  readonly #channel: Channel;
  readonly #address: string;
  readonly #options: RedeemHandlerOptions;
  readonly #log: Logger;
  greeted = false;
  #token: string | null = null;
  #session: RedeemSession | null = null;
  #unsubscribe: (() => void) | null = null;
  #evicted = false;
  /** This connection is adding keys: its reply, not the session's 'added' event, tells it which. */
  #adding = false;

  constructor(channel: Channel, address: string, options: RedeemHandlerOptions, log: Logger) {
    this.#channel = channel;
    this.#address = address;
    this.#options = options;
    this.#log = log;
  }

  receive(data: Message): void {
    if (this.#evicted) return; // closing: the session is no longer ours
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      this.#log({ event: 'protocol-error', client: this.#address, ...this.#logSession(), code: parsed.error.code });
      this.#send(parsed.error);
      return;
    }
    const message = parsed.message;
    try {
      this.#dispatch(message);
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      this.#error(error.code, error.message, message.id);
    }
  }

  /** The session store takes the session away (Holder). */
  evict(reason: EvictReason): void {
    if (this.#evicted) return;
    this.#evicted = true;
    this.#release();
    bye(this.#channel, reason);
  }

  /** This connection's session joined its account's session (Holder). */
  moved(held: Held, merged: AddKeysResult): void {
    this.#hold(held, 'joined');
    if (merged.added.length > 0 || merged.dropped.length > 0) this.#send(keysAdded(merged, undefined));
  }

  /** The connection has closed: the session's grace period may start. */
  gone(): void {
    const token = this.#token;
    this.#release();
    if (token !== null && !this.#evicted) this.#options.store.detach(token, this);
  }

  #dispatch(message: ClientMessage): void {
    if (message.type === 'hello') return this.#hello(message);
    if (!this.greeted) return this.#error('hello-first', 'send hello first', message.id);
    switch (message.type) {
      case 'login':
        return this.#signIn({ accountName: message.accountName, password: message.password }, message.id);
      case 'login-qr':
        return this.#signIn({ method: 'qr' }, message.id);
      case 'add-keys': {
        const retryAt = this.#options.pastes?.take(this.#address, message.text.length) ?? null;
        if (retryAt !== null) {
          this.#log({ event: 'paste-refused', client: this.#address, ...this.#logSession(), chars: message.text.length });
          const text = 'this address pasted as much text as it may for now; nothing was added; try again at retryAt';
          return this.#send({ type: 'error', ...withId(message.id), code: 'paste-limited', message: text, retryAt });
        }
        const session = this.#sessionOrOpen(message.id);
        if (!session) return;
        this.#adding = true;
        let result: AddKeysResult;
        try {
          result = session.addKeys(message.text, message.allow ?? {});
        } finally {
          this.#adding = false;
        }
        return this.#send(keysAdded(result, message.id));
      }
    }
    const session = this.#session;
    if (!session) return this.#error('no-session', 'there is no session yet: sign in or add keys first', message.id);
    switch (message.type) {
      case 'cancel-login':
        return session.cancelLogin();
      case 'guard-code':
        return session.answerGuard(message.code);
      case 'cancel':
        return session.cancel();
      case 'resume':
        return session.resume();
      case 'logout':
        void this.#options.store.end(this.#token!, 'logged-out');
        return;
    }
  }

  #hello(message: Extract<ClientMessage, { type: 'hello' }>): void {
    if (this.greeted) return this.#error('already-greeted', 'hello was already received', message.id);
    if (!SUPPORTED_VERSIONS.includes(message.version)) {
      this.#send({
        type: 'error',
        ...withId(message.id),
        code: 'unsupported-version',
        message: `this server speaks protocol version ${SUPPORTED_VERSIONS.join(', ')}`,
        versions: SUPPORTED_VERSIONS,
      });
      return;
    }
    this.greeted = true;
    const held = message.resume === undefined ? null : this.#options.store.resume(message.resume, this);
    this.#send({
      type: 'welcome',
      ...withId(message.id),
      version: PROTOCOL_VERSION,
      session: held?.token ?? null,
      resumed: held !== null,
      snapshot: held?.session.snapshot() ?? this.#emptySnapshot(),
    });
    if (held) this.#subscribe(held);
  }

  /** This connection's session, or a new one (announced with a `session` message); null after an error reply. */
  #sessionOrOpen(id: RequestId | undefined): RedeemSession | null {
    if (this.#session) return this.#session;
    const opened = this.#options.store.open(this, this.#address);
    if ('refused' in opened) {
      const text =
        opened.refused === 'server-busy'
          ? 'the server has no room for another session now; try again later'
          : 'this address holds as many sessions as it may; sign out of one, or wait for it to end';
      this.#error(opened.refused, text, id);
      return null;
    }
    this.#hold(opened, 'opened');
    return opened.session;
  }

  #signIn(signIn: Parameters<RedeemSession['login']>[0], id: RequestId | undefined): void {
    const session = this.#sessionOrOpen(id);
    if (!session) return;
    const gate = this.#options.signIns;
    const who: SignInWho = {
      address: this.#address,
      session: session.logId,
      ...(signIn.method === 'qr' ? {} : { accountName: signIn.accountName }),
    };
    const refused = gate?.check(who);
    if (refused) {
      this.#log({ event: 'sign-in-refused', client: this.#address, session: session.logId, code: refused.code });
      const text =
        refused.code === 'steam-cooldown'
          ? 'Steam refused sign-ins lately; none is sent to it until retryAt'
          : 'too many sign-ins for now; try again at retryAt';
      this.#send({ type: 'error', ...withId(id), code: refused.code, message: text, retryAt: refused.retryAt });
      return;
    }
    const signingIn = session.login(signIn); // throws SessionError before anything reaches Steam
    gate?.start(who);
    void signingIn.then((ok) => {
      const reason = session.snapshot().login.reason;
      gate?.finish(who, ok ? { ok: true } : { ok: false, reason: isLoginFailure(reason) ? reason : 'other' });
    });
  }

  /** Holds `held` from now on, and says so to the client. */
  #hold(held: Held, how: 'opened' | 'joined'): void {
    this.#release();
    this.#send({ type: 'session', session: held.token, joined: how === 'joined', snapshot: held.session.snapshot() });
    this.#subscribe(held);
  }

  #subscribe(held: Held): void {
    this.#token = held.token;
    this.#session = held.session;
    this.#unsubscribe = held.session.subscribe((event) => this.#onSessionEvent(event));
  }

  #onSessionEvent(event: SessionEvent): void {
    if (event.type === 'closed') return; // the store evicts us (or moves us) with the reason
    if (event.type === 'added') {
      // Keys another connection of the session (or a session that joined it) added.
      if (!this.#adding) this.#send(keysAdded({ added: event.entries, dropped: [] }, undefined));
      return;
    }
    this.#send(event);
  }

  #release(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#session = null;
    this.#token = null;
  }

  #emptySnapshot(): SessionSnapshot {
    return { login: { state: 'signed-out' }, queue: { state: 'idle' }, keys: [], settings: { ...this.#options.settings } };
  }

  #error(code: ErrorCode, text: string, id: RequestId | undefined): void {
    this.#log({ event: 'protocol-error', client: this.#address, ...this.#logSession(), code });
    this.#send({ type: 'error', ...withId(id), code, message: text });
  }

  #logSession(): { session?: string } {
    return this.#session ? { session: this.#session.logId } : {};
  }

  #send(message: ServerMessage): void {
    void this.#channel.send(encode(message));
  }
}

/** The reply to add-keys (or to a join): every key added, the first few dropped, and how many were dropped for each reason. */
function keysAdded(result: AddKeysResult, id: RequestId | undefined): ServerMessage {
  const droppedCounts: Partial<Record<string, number>> = {};
  for (const { reason } of result.dropped) droppedCounts[reason] = (droppedCounts[reason] ?? 0) + 1;
  return { type: 'keys-added', ...withId(id), added: result.added, dropped: result.dropped.slice(0, MAX_DROPPED_LISTED), droppedCounts };
}

const LOGIN_FAILURES: ReadonlySet<string> = new Set<LoginFailure>([
  'invalid-password',
  'rate-limited',
  'throttled',
  'guard-failed',
  'unreachable',
  'cancelled',
  'denied',
  'expired',
  'other',
]);

function isLoginFailure(reason: string | undefined): reason is LoginFailure {
  return reason !== undefined && LOGIN_FAILURES.has(reason);
}

function withId(id: RequestId | undefined): { id?: RequestId } {
  return id === undefined ? {} : { id };
}
