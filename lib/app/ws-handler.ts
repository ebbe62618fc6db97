/**
 * One WebSocket connection ⇄ one redeem session: validated client messages
 * become session calls, session events become server messages. The
 * connection holds its session only while open; when it closes the session
 * store's grace period starts, and a new connection can take the session
 * back with its resume token (docs/protocol.md).
 */
import type { Channel, ChannelHandler, Message } from '../websocket/index.js';
import { CloseCode } from '../websocket/index.js';
import { silentLogger, type Logger } from '../log.js';
import type { Text } from '../steam/results.js';
import type { EvictReason, Holder, SessionStore } from '../steam/session-store.js';
import { SessionError, type RedeemSession, type SessionEvent } from '../steam/session.js';
import {
  encode,
  parseClientMessage,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type ClientMessage,
  type ErrorCode,
  type RequestId,
  type ServerMessage,
} from './protocol.js';

/** Application close codes (RFC 6455 §7.4.2: 4000–4999 are ours). */
export const AppCloseCode = {
  /** A newer connection resumed this session. */
  REPLACED: 4001,
  /** The session's grace period ran out. */
  EXPIRED: 4002,
} as const;

const BYE: Record<EvictReason, { code: number; message: Text }> = {
  replaced: {
    code: AppCloseCode.REPLACED,
    message: {
      en: 'This session was opened in another window or tab, so this one has stopped.',
      zh: '该会话已在其他窗口或标签页中打开，此页面已停止。',
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
  shutdown: {
    code: CloseCode.GOING_AWAY, // §7.4.1: the server is going down
    message: { en: 'The server is shutting down.', zh: '服务器正在关闭。' },
  },
};

export interface RedeemHandlerOptions {
  store: SessionStore;
  log?: Logger;
}

/** The close codes the WebSocket layer fails a connection with (a ProtocolError's code). */
const FAILURE_CODES: ReadonlySet<number> = new Set([CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_PAYLOAD, CloseCode.MESSAGE_TOO_BIG]);

/** The `/ws` route's handler. */
export function redeemHandler(options: RedeemHandlerOptions): ChannelHandler {
  return async (channel) => {
    const log = options.log ?? silentLogger;
    const client = new Client(channel, options.store, log);
    // RFC 6455 §7.1.7: a server that fails a connection SHOULD log the problem.
    void channel.closed.then(({ code, wasClean }) => {
      if (!wasClean && FAILURE_CODES.has(code)) log({ event: 'websocket-failed', code });
    });
    try {
      for await (const data of channel) client.receive(data);
    } finally {
      client.gone();
    }
  };
}

class Client implements Holder {
  readonly #channel: Channel;
  readonly #store: SessionStore;
  readonly #log: Logger;
  #token: string | null = null;
  #session: RedeemSession | null = null;
  #unsubscribe: (() => void) | null = null;
  #evicted = false;

  constructor(channel: Channel, store: SessionStore, log: Logger) {
    this.#channel = channel;
    this.#store = store;
    this.#log = log;
  }

  receive(data: Message): void {
    if (this.#evicted) return; // closing: the session is no longer ours
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      this.#log({ event: 'protocol-error', ...this.#logSession(), code: parsed.error.code });
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
    const bye = BYE[reason];
    this.#send({ type: 'bye', reason, message: bye.message });
    this.#channel.close(bye.code, reason);
  }

  /** The connection has closed: the session's grace period starts. */
  gone(): void {
    const token = this.#token;
    this.#release();
    if (token !== null && !this.#evicted) this.#store.detach(token, this);
  }

  #dispatch(message: ClientMessage): void {
    if (message.type === 'hello') return this.#hello(message);
    const session = this.#session;
    if (!session) return this.#error('hello-first', 'send hello first', message.id);
    switch (message.type) {
      case 'login':
        void session.login({ accountName: message.accountName, password: message.password });
        return;
      case 'guard-code':
        return session.answerGuard(message.code);
      case 'add-keys': {
        const { added, dropped } = session.addKeys(message.text);
        return this.#send({ type: 'keys-added', ...withId(message.id), added, dropped });
      }
      case 'cancel':
        return session.cancel();
      case 'resume':
        return session.resume();
      case 'logout':
        void this.#store.end(this.#token!, 'logged-out');
        return;
    }
  }

  #hello(message: Extract<ClientMessage, { type: 'hello' }>): void {
    if (this.#session) return this.#error('already-greeted', 'hello was already received', message.id);
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
    const held = (message.resume !== undefined && this.#store.resume(message.resume, this)) || this.#store.open(this);
    if (!held) return this.#error('server-busy', 'the server has no room for another session now; try again later', message.id);
    this.#token = held.token;
    this.#session = held.session;
    this.#send({
      type: 'welcome',
      ...withId(message.id),
      version: PROTOCOL_VERSION,
      session: held.token,
      resumed: held.token === message.resume,
      snapshot: held.session.snapshot(),
    });
    this.#unsubscribe = held.session.subscribe((event) => this.#onSessionEvent(event));
  }

  #onSessionEvent(event: SessionEvent): void {
    if (event.type === 'closed') return; // the store evicts us with the reason
    this.#send(event);
  }

  #release(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#session = null;
    this.#token = null;
  }

  #error(code: ErrorCode, text: string, id: RequestId | undefined): void {
    this.#log({ event: 'protocol-error', ...this.#logSession(), code });
    this.#send({ type: 'error', ...withId(id), code, message: text });
  }

  #logSession(): { session?: string } {
    return this.#session ? { session: this.#session.logId } : {};
  }

  #send(message: ServerMessage): void {
    void this.#channel.send(encode(message));
  }
}

function withId(id: RequestId | undefined): { id?: RequestId } {
  return id === undefined ? {} : { id };
}
