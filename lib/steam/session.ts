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

/** The third wrong Steam Guard code in one sign-in ends it (README, "Signing in"). */
export const MAX_WRONG_CODES = 3;

/** Most keys one session holds (bounds memory; a paste that would pass it is refused whole). */
export const DEFAULT_MAX_KEYS = 5_000;

/**
 * Called when Steam has accepted a sign-in, before the session uses it: returns
 * true when the sign-in was handed to another session (the account's own,
 * session-store.ts), which then holds `port`. This session is ended by the
 * caller; it must not touch `port` again.
 */
export type ClaimSignIn = (account: AccountInfo, port: SteamPort) => boolean;

/** What addKeys() may queue that it otherwise holds back. */
export interface AddKeysAllow {
  /** Keys whose groups are all digits (order or phone numbers, usually). */
  digitsOnly?: boolean;
  /** Keys this session sent and got no answer for: the user has checked their library. */
  unknown?: boolean;
}

export interface SessionOptions {
  portFactory: SteamPortFactory;
  claim?: ClaimSignIn;
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

/** Why a session ended: signed out, its grace period or sign-in deadline ran out, the server stops, or it joined its account's session. */
export type CloseReason = 'logged-out' | 'expired' | 'not-signed-in' | 'shutdown' | 'joined';

export type SessionEvent =
  | ({ type: 'login' } & LoginStatus)
  | ({ type: 'queue' } & QueueInfo)
  | { type: 'key'; entry: KeyEntry }
  /** Keys were queued (by addKeys or mergeKeys): every holder of the session hears it, not only who added them. */
  | { type: 'added'; entries: KeyEntry[] }
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
  readonly #claim: ClaimSignIn | undefined;
  #port: SteamPort | null = null;
  /** Wrong Steam Guard codes in the current sign-in: the third ends it. */
  #wrongCodes = 0;
  #login: LoginStatus = { state: 'signed-out' };
  #account: AccountInfo | null = null;
  #guard: { resolve: (code: string) => void; reject: (error: Error) => void } | null = null;
  #closed = false;
  #loggedQueueState: QueueStatus['state'] = 'idle';
  /** Ends the wait for the key with Steam (on close). */
  #stopWaiting: (() => void) | null = null;

  constructor(options: SessionOptions) {
    this.#factory = options.portFactory;
    this.#claim = options.claim;
    this.#timers = resolveSessionTimers(options.timers);
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

  /** The account this session signed in to (it stays the account's after Steam drops it), or null. */
  get account(): AccountInfo | null {
    return this.#account;
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
    this.#wrongCodes = 0;
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
  addKeys(text: string, allow: AddKeysAllow = {}): AddKeysResult {
    this.#assertOpen();
    const found = extractKeys(text, { includeDigitsOnly: allow.digitsOnly === true });
    const fresh = found.keys.filter((key) => !this.#queue.knows(key)).length;
    if (this.#queue.size + fresh > this.#maxKeys) {
      throw new SessionError(
        'too-many-keys',
        `a session holds at most ${this.#maxKeys} keys; this paste would make ${this.#queue.size + fresh}`,
      );
    }
    const { added, dropped } = this.#queue.add(found.keys, { retryUnknown: allow.unknown === true });
    const result = { added, dropped: dropped.length === 0 ? found.dropped : found.dropped.concat(dropped) };
    this.#log({ event: 'keys-added', session: this.logId, added: added.length, dropped: result.dropped.length });
    if (added.length > 0) this.#emit({ type: 'added', entries: added });
    return result;
  }

  /** Keys pasted here and never sent (queued or waiting), in order: what a joining session brings along. */
  unsentKeys(): string[] {
    return this.#queue.entries.filter((e) => e.state === 'queued' || e.state === 'waiting').map((e) => e.key);
  }

  /**
   * Queues keys another session of this account had waiting (it joined this
   * one): those already here are dropped as such, and keys past the session's
   * limit as 'session-full' — never an error, since the other session is gone.
   */
  mergeKeys(keys: readonly string[]): AddKeysResult {
    this.#assertOpen();
    const room = Math.max(0, this.#maxKeys - this.#queue.size);
    const fits: string[] = [];
    const dropped: DroppedKey[] = [];
    let fresh = 0;
    for (const key of keys) {
      if (this.#queue.knows(key)) {
        fits.push(key); // the queue reports it as already here
      } else if (fresh < room) {
        fits.push(key);
        fresh++;
      } else {
        dropped.push({ key, reason: 'session-full' });
      }
    }
    const result = this.#queue.add(fits);
    result.dropped.push(...dropped);
    this.#log({ event: 'keys-added', session: this.logId, added: result.added.length, dropped: result.dropped.length });
    if (result.added.length > 0) this.#emit({ type: 'added', entries: result.added });
    return result;
  }

  /**
   * Takes over a sign-in to this session's account that another session of
   * it got from Steam (it joined this one). When this session is signed in
   * already the extra Steam client signs out again: one per account.
   */
  adopt(port: SteamPort, account: AccountInfo): void {
    this.#assertOpen();
    if (this.#login.state === 'signed-in' && this.#port?.loggedOn) {
      void port.logOff().catch(() => {});
      return;
    }
    // Signed out, or signing in again itself: the sign-in Steam has accepted wins.
    const own = this.#port;
    this.#port = null;
    this.#rejectGuard();
    if (own) void own.logOff().catch(() => {});
    this.#accept(port, account);
  }

  /** Gives up on the sign-in in progress (a guard prompt, a QR code, an approval awaited). */
  cancelLogin(): void {
    this.#assertOpen();
    const state = this.#login.state;
    if (state !== 'signing-in' && state !== 'guard' && state !== 'qr') {
      throw new SessionError('wrong-state', `no sign-in to cancel while ${state}`);
    }
    this.#abandonSignIn('cancelled');
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
    if (this.#account && this.#account.steamId !== account.steamId) {
      // A QR code names no account beforehand: it may prove another one than this session's.
      this.#port = null;
      void port.logOff().catch(() => {});
      this.#setLogin({ state: 'signed-out', reason: 'other-account', message: signedOutText('other-account'), ...this.#accountField() });
      this.#log({ event: 'login-failed', session: this.logId, reason: 'other-account' });
      return false;
    }
    // While the store decides whose sign-in this is, this session holds no port.
    this.#port = null;
    if (this.#claim?.(account, port)) return true; // the account's own session took it; this one has ended
    this.#accept(port, account);
    return true;
  }

  /** Signed in with `port`: the queue may send. */
  #accept(port: SteamPort, account: AccountInfo): void {
    if (this.#port !== port) {
      this.#port = port;
      port.onDisconnected((info) => {
        if (this.#port === port && this.#login.state === 'signed-in') this.#lostSteam(info.eresult);
      });
    }
    this.#account = account;
    this.#setLogin({ state: 'signed-in', account });
    this.#log({ event: 'login-ok', session: this.logId });
    this.#queue.open();
  }

  /** Ends the sign-in in progress: its port signs out, and the session is signed out with `reason`. */
  #abandonSignIn(reason: 'cancelled' | 'guard-failed'): void {
    const port = this.#port;
    this.#port = null;
    this.#rejectGuard();
    if (port) void port.logOff().catch(() => {});
    this.#setLogin({ state: 'signed-out', reason, message: signedOutText(reason), ...this.#accountField() });
    this.#log({ event: 'login-failed', session: this.logId, reason });
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
    // Steam lets a wrong code be typed again and again; each try counts towards its limits.
    if (request.lastCodeWrong && ++this.#wrongCodes >= MAX_WRONG_CODES) {
      this.#abandonSignIn('guard-failed');
      return Promise.reject(new Error('too many wrong Steam Guard codes'));
    }
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

/** The timers a session runs with: the defaults, overridden by those given. */
export function resolveSessionTimers(timers: Partial<SessionTimers> | undefined): SessionTimers {
  return { ...DEFAULT_SESSION_TIMERS, ...definedOnly(timers) };
}

function definedOnly<T extends object>(values: Partial<T> | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
