/**
 * One user's redemption session: a Steam sign-in (through a SteamPort) and a
 * queue of keys. Transport-agnostic: the page's WebSocket protocol and a
 * terminal command drive it with the same calls and read the same events.
 *
 * Two state machines run side by side, because keys may be pasted before
 * signing in and must survive a lost Steam connection:
 *
 *   sign-in:  signed-out → signing-in ⇄ guard|qr → signed-in → (Steam drops) signed-out
 *   queue:    idle → running ⇄ cooldown; stalled (signed out, or a key got no answer)
 *
 * and `closed` ends both (logged out, grace period over, server shutdown).
 * Credentials and guard codes pass straight through to the port: the
 * session keeps neither.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { systemClock, type Clock } from './clock.js';
import { extractKeys, keyHint, type DroppedKey } from './keys.js';
import {
  LoginError,
  RedeemError,
  type AccountInfo,
  type GuardRequest,
  type SignIn,
  type SignInPrompts,
  type SteamPort,
  type SteamPortFactory,
} from './port.js';
import { RedeemQueue, type Attempt, type KeyEntry, type QueueEvent, type QueueStatus } from './queue.js';
import {
  guardText,
  qrText,
  queueText,
  resultFromReply,
  signedOutText,
  unknownResult,
  type KeyResult,
  type SignedOutReason,
  type Text,
} from './results.js';

export interface SessionTimers {
  /** Pause after each answer before the next key. */
  pauseMs: number;
  /** Nothing is sent for this long after Steam says RateLimited. */
  cooldownMs: number;
  /** Give up waiting for one key's answer (steam-user gives up at 90 s itself). */
  redeemTimeoutMs: number;
}

export const DEFAULT_SESSION_TIMERS: Readonly<SessionTimers> = Object.freeze({
  pauseMs: 5_000,
  cooldownMs: 60 * 60_000,
  redeemTimeoutMs: 100_000,
});

/** Most keys one session holds (bounds memory; a paste that would pass it is refused whole). */
export const DEFAULT_MAX_KEYS = 5_000;

export interface SessionOptions {
  portFactory: SteamPortFactory;
  timers?: Partial<SessionTimers>;
  clock?: Clock;
  log?: Logger;
  maxKeys?: number;
}

export type LoginState = 'signed-out' | 'signing-in' | 'guard' | 'qr' | 'signed-in';

export interface LoginStatus {
  state: LoginState;
  /** Who is signed in (signed-in), or who was (signed-out after Steam dropped). */
  account?: AccountInfo;
  /** What Steam asks for (guard). */
  guard?: GuardRequest;
  /** QR sign-in (qr): the challenge URL to show as a QR code, and whether it was scanned in the Steam app. */
  qr?: { url: string; scanned: boolean };
  /** Why the session is signed out, after a failed sign-in or a lost connection. */
  reason?: SignedOutReason;
  /** The guard prompt or the reason, in words. */
  message?: Text;
}

export type QueueInfo = QueueStatus & { message?: Text };

export type CloseReason = 'logged-out' | 'expired' | 'shutdown';

export type SessionEvent =
  | ({ type: 'login' } & LoginStatus)
  | ({ type: 'queue' } & QueueInfo)
  | { type: 'key'; entry: KeyEntry }
  | { type: 'closed'; reason: CloseReason };

export interface SessionSnapshot {
  login: LoginStatus;
  queue: QueueInfo;
  keys: KeyEntry[];
  settings: { pauseMs: number; cooldownMs: number };
}

export interface AddKeysResult {
  added: KeyEntry[];
  dropped: DroppedKey[];
}

/** Keys a paste holds back unless the user said to send them. */
export interface AllowKeys {
  /** Keys whose groups are all digits (keys.ts, 'digits-only'). */
  digitsOnly?: boolean;
  /** Keys that got no answer before (may have been activated). Not acted on here yet. */
  unknown?: boolean;
}

export type SessionErrorCode = 'wrong-state' | 'other-account' | 'too-many-keys' | 'closed';

/** A call the session cannot take in its current state (not a Steam failure). */
export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class RedeemSession {
  /** A short random id for log lines; not the resume token. */
  readonly logId = randomBytes(4).toString('hex');
  readonly #factory: SteamPortFactory;
  readonly #timers: SessionTimers;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #maxKeys: number;
  readonly #queue: RedeemQueue;
  readonly #listeners = new Set<(event: SessionEvent) => void>();
  #port: SteamPort | null = null;
  #login: LoginStatus = { state: 'signed-out' };
  #account: AccountInfo | null = null;
  #guard: { resolve: (code: string) => void; reject: (error: Error) => void } | null = null;
  #closed = false;
  #loggedQueueState: QueueStatus['state'] = 'idle';
  /** Ends the wait for the key with Steam (on close). */
  #stopWaiting: (() => void) | null = null;

  constructor(options: SessionOptions) {
    this.#factory = options.portFactory;
    this.#timers = { ...DEFAULT_SESSION_TIMERS, ...definedOnly(options.timers) };
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.#queue = new RedeemQueue({
      pauseMs: this.#timers.pauseMs,
      cooldownMs: this.#timers.cooldownMs,
      clock: this.#clock,
      redeem: (key) => this.#redeem(key),
      onEvent: (event) => this.#onQueueEvent(event),
    });
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Everything a page needs to draw itself, e.g. after reconnecting. */
  snapshot(): SessionSnapshot {
    return {
      login: { ...this.#login },
      queue: this.#queueInfo(this.#queue.status),
      keys: this.#queue.entries,
      settings: { pauseMs: this.#timers.pauseMs, cooldownMs: this.#timers.cooldownMs },
    };
  }

  get loginState(): LoginState {
    return this.#login.state;
  }

  /**
   * Whether the queue will go on by itself: a key is with Steam or waiting
   * its turn, or a rate-limit cooldown is to be waited out. Not when it is
   * idle or stalled (only the user can move it on then).
   */
  get working(): boolean {
    const { state } = this.#queue.status;
    return state === 'running' || state === 'cooldown';
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Signs in to Steam. Resolves true once signed in, false when Steam said
   * no (the reason comes as a 'login' event). Throws SessionError at once
   * when the session cannot sign in now. A session signs in to one account:
   * after a lost connection only the same account may sign in again.
   */
  login(credentials: SignIn): Promise<boolean> {
    this.#assertOpen();
    if (this.#login.state !== 'signed-out') {
      throw new SessionError('wrong-state', `cannot sign in while ${this.#login.state}`);
    }
    const previous = this.#account?.accountName;
    if (previous !== undefined && credentials.method !== 'qr' && previous.toLowerCase() !== credentials.accountName.toLowerCase()) {
      throw new SessionError('other-account', 'this session belongs to another account; log out to use a new one');
    }
    let port: SteamPort;
    try {
      port = this.#factory();
    } catch {
      // The adapter could not even start (e.g. a bad proxy option): a failed sign-in, not a crash.
      this.#setLogin({ state: 'signed-out', reason: 'other', message: signedOutText('other'), ...this.#accountField() });
      this.#log({ event: 'login-failed', session: this.logId, reason: 'other' });
      return Promise.resolve(false);
    }
    this.#port = port;
    port.onDisconnected((info) => {
      if (this.#port === port && this.#login.state === 'signed-in') this.#lostSteam(info.eresult);
    });
    this.#setLogin({ state: 'signing-in' });
    this.#log({ event: 'login-started', session: this.logId });
    return this.#signIn(port, credentials);
  }

  /** Answers the pending Steam Guard prompt. */
  answerGuard(code: string): void {
    this.#assertOpen();
    const guard = this.#guard;
    if (!guard) throw new SessionError('wrong-state', 'Steam has not asked for a guard code');
    this.#guard = null;
    this.#setLogin({ state: 'signing-in' });
    guard.resolve(code);
  }

  /**
   * Finds keys in `text` and queues the new ones; they are sent while signed
   * in. Keys of digits only are held back (dropped as 'digits-only') unless
   * `allow.digitsOnly`.
   */
  addKeys(text: string, allow: AllowKeys = {}): AddKeysResult {
    this.#assertOpen();
    const found = extractKeys(text, { includeDigitsOnly: allow.digitsOnly === true });
    const fresh = found.keys.filter((key) => !this.#queue.knows(key)).length;
    if (this.#queue.size + fresh > this.#maxKeys) {
      throw new SessionError(
        'too-many-keys',
        `a session holds at most ${this.#maxKeys} keys; this paste would make ${this.#queue.size + fresh}`,
      );
    }
    const { added, dropped } = this.#queue.add(found.keys);
    const result = { added, dropped: [...found.dropped, ...dropped] };
    this.#log({ event: 'keys-added', session: this.logId, added: added.length, dropped: result.dropped.length });
    return result;
  }

  /** Cancels every key not yet sent; the one with Steam finishes. */
  cancel(): void {
    this.#assertOpen();
    this.#queue.cancel();
    this.#log({ event: 'queue-cancelled', session: this.logId });
  }

  /** Goes on after a key got no answer (once the user has checked their library). */
  resume(): void {
    this.#assertOpen();
    this.#queue.resume();
  }

  /** Stops everything, signs out of Steam, and ends the session for good. */
  async close(reason: CloseReason): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The key with Steam, if any, gets its final word now, while listeners still hear it.
    this.#queue.dispose(unknownResult('stopped'));
    this.#stopWaiting?.();
    this.#rejectGuard();
    const port = this.#port;
    this.#port = null;
    this.#emit({ type: 'closed', reason });
    this.#listeners.clear();
    if (!port) return;
    try {
      await port.logOff();
      this.#log({ event: 'steam-logged-off', session: this.logId });
    } catch {
      this.#log({ event: 'steam-logoff-failed', session: this.logId });
    }
  }

  async #signIn(port: SteamPort, credentials: SignIn): Promise<boolean> {
    let account: AccountInfo;
    try {
      account = await port.logOn(credentials, this.#prompts(port));
    } catch (error) {
      if (this.#port !== port) return false; // closed meanwhile
      this.#port = null;
      this.#rejectGuard();
      void port.logOff().catch(() => {});
      const reason = error instanceof LoginError ? error.reason : 'other';
      const eresult = error instanceof LoginError ? error.eresult : undefined;
      // After Steam dropped the session, only its account may sign in again: keep saying which.
      this.#setLogin({ state: 'signed-out', reason, message: signedOutText(reason, eresult), ...this.#accountField() });
      this.#log({ event: 'login-failed', session: this.logId, reason, ...(eresult === undefined ? {} : { eresult }) });
      return false;
    }
    if (this.#port !== port) {
      void port.logOff().catch(() => {});
      return false;
    }
    // Approved in the Steam app while a code was still awaited: nobody needs the code now.
    this.#guard = null;
    this.#account = account;
    this.#setLogin({ state: 'signed-in', account });
    this.#log({ event: 'login-ok', session: this.logId });
    this.#queue.open();
    return true;
  }

  /** What the port may ask of the person signing in, each answered only while `port` is still this session's. */
  #prompts(port: SteamPort): SignInPrompts {
    return {
      guard: (request) => this.#askGuard(port, request),
      qrChallenge: (url) => {
        if (this.#port !== port || this.#closed) return;
        this.#setLogin({ state: 'qr', qr: { url, scanned: false }, message: qrText(false) });
      },
      remoteInteraction: () => {
        if (this.#port !== port || this.#closed) return;
        const login = this.#login;
        if (login.state === 'qr' && login.qr) this.#setLogin({ state: 'qr', qr: { url: login.qr.url, scanned: true }, message: qrText(true) });
        else if (login.state === 'guard' && login.guard) this.#setLogin({ ...login, guard: { ...login.guard, scanned: true } });
      },
    };
  }

  #askGuard(port: SteamPort, request: GuardRequest): Promise<string> {
    if (this.#port !== port) return Promise.reject(new Error('the session no longer waits for this sign-in'));
    this.#rejectGuard();
    const guard: GuardRequest = {
      kind: request.kind,
      ...(request.domain === undefined ? {} : { domain: request.domain }),
      lastCodeWrong: request.lastCodeWrong,
      ...(request.approvable ? { approvable: true } : {}),
    };
    return new Promise((resolve, reject) => {
      this.#guard = { resolve, reject };
      this.#setLogin({ state: 'guard', guard, message: guardText(guard) });
      this.#log({ event: 'guard-requested', session: this.logId, kind: guard.kind, lastCodeWrong: guard.lastCodeWrong });
    });
  }

  #rejectGuard(): void {
    const guard = this.#guard;
    this.#guard = null;
    guard?.reject(new Error('sign-in abandoned'));
  }

  #lostSteam(eresult?: number): void {
    const port = this.#port;
    this.#port = null;
    this.#queue.close();
    if (port) void port.logOff().catch(() => {});
    const status: LoginStatus = { state: 'signed-out', reason: 'steam-disconnected', message: signedOutText('steam-disconnected', eresult) };
    if (this.#account) status.account = this.#account;
    this.#setLogin(status);
    this.#log({ event: 'steam-disconnected', session: this.logId, ...(eresult === undefined ? {} : { eresult }) });
  }

  /** Hands one key to Steam, with a timeout of our own as a backstop to steam-user's. */
  async #redeem(key: string): Promise<Attempt> {
    const port = this.#port;
    if (!port || this.#login.state !== 'signed-in') return { sent: false };
    // steam-user drops a request silently when logged off (steam-notes.md): check first.
    if (!port.loggedOn) {
      this.#lostSteam();
      return { sent: false };
    }
    let result: KeyResult;
    let cancelTimer = (): void => {};
    try {
      const answer = port.redeemKey(key);
      answer.catch(() => {}); // if the timeout wins the race, a later rejection must not go unhandled
      const gaveUp = new Promise<'timeout' | 'closed'>((resolve) => {
        cancelTimer = this.#clock.setTimeout(() => resolve('timeout'), this.#timers.redeemTimeoutMs);
        this.#stopWaiting = () => resolve('closed');
      });
      const reply = await Promise.race([answer, gaveUp]);
      if (reply === 'timeout') result = unknownResult('timeout');
      else if (reply === 'closed') result = unknownResult('stopped'); // closed with the key out
      else result = resultFromReply(reply);
    } catch (error) {
      if (error instanceof RedeemError && error.reason === 'not-logged-on') {
        if (this.#port === port) this.#lostSteam();
        return { sent: false };
      }
      const sent = error instanceof RedeemError && error.reason !== 'not-logged-on';
      result = unknownResult(sent ? (error.reason as 'timeout' | 'disconnected') : 'error');
    } finally {
      cancelTimer();
      this.#stopWaiting = null;
    }
    this.#log({
      event: 'key-result',
      session: this.logId,
      key: keyHint(key),
      status: result.status,
      ...(result.eresult === null ? {} : { eresult: result.eresult, detail: result.detail ?? 0 }),
    });
    if (result.status === 'unknown' && this.#port === port && !port.loggedOn) this.#lostSteam();
    return { sent: true, result };
  }

  #onQueueEvent(event: QueueEvent): void {
    if (event.type === 'key') this.#emit(event);
    else {
      const { type: _type, ...status } = event;
      this.#logQueue(status);
      this.#emit({ type: 'queue', ...this.#queueInfo(status) });
    }
  }

  /** The queue's turns worth a log line: rate-limited, stalled, and going again after either. */
  #logQueue(status: QueueStatus): void {
    const previous = this.#loggedQueueState;
    this.#loggedQueueState = status.state;
    if (status.state === previous) return;
    if (status.state === 'cooldown' && status.resumesAt !== undefined) {
      this.#log({ event: 'queue-rate-limited', session: this.logId, until: new Date(status.resumesAt).toISOString() });
    } else if (status.state === 'stalled' && status.stalledBy !== undefined) {
      this.#log({ event: 'queue-stalled', session: this.logId, by: status.stalledBy });
    } else if (status.state === 'running' && (previous === 'cooldown' || previous === 'stalled')) {
      this.#log({ event: 'queue-resumed', session: this.logId });
    }
  }

  /** The account this session belongs to, once it has signed in. */
  #accountField(): { account?: AccountInfo } {
    return this.#account ? { account: this.#account } : {};
  }

  #queueInfo(status: QueueStatus): QueueInfo {
    const message = queueText(status, this.#clock.now());
    return message ? { ...status, message } : { ...status };
  }

  #setLogin(status: LoginStatus): void {
    this.#login = status;
    this.#emit({ type: 'login', ...status });
  }

  #emit(event: SessionEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A consumer's bug must not leave the session half-way through a transition.
        console.error('session listener failed:', error);
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionError('closed', 'this session has ended');
  }
}

function definedOnly<T extends object>(values: Partial<T> | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
