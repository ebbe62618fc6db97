/**
 * Sessions by resume token, so that nothing is lost when the page reconnects:
 * while a connection holds a session it lives; when the connection goes, its
 * keys go on being redeemed, and once the queue has nothing left to do by
 * itself a grace timer starts. A connection that comes back with the token in
 * time gets the same session (its keys, results and live Steam sign-in).
 * When the timer runs out the session signs out of Steam and is forgotten.
 * (A grace period that ran from the moment the page left would end a long
 * batch half-way: the keys not yet sent would never be, and their results,
 * and those of the keys sent, would be gone.)
 *
 * The token is a bearer secret (whoever has it drives the session): 256
 * random bits, never logged — log lines use the session's logId.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from './clock.js';
import type { CloseReason, RedeemSession } from './session.js';

export const DEFAULT_GRACE_MS = 10 * 60_000;
export const DEFAULT_MAX_SESSIONS = 100;

export type EvictReason = 'replaced' | CloseReason;

/** Whoever holds a session now (a WebSocket connection): told when it loses it. */
export interface Holder {
  evict(reason: EvictReason): void;
}

export interface StoreOptions {
  createSession: () => RedeemSession;
  /** How long a session outlives its connection. */
  graceMs?: number;
  /** Sessions held or in their grace period, at most. */
  maxSessions?: number;
  clock?: Clock;
  log?: Logger;
}

interface Entry {
  session: RedeemSession;
  holder: Holder | null;
  cancelGrace: (() => void) | null;
}

export interface Held {
  token: string;
  session: RedeemSession;
}

export class SessionStore {
  readonly graceMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #createSession: () => RedeemSession;
  readonly #maxSessions: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** closeAll() has begun: a session opened now would outlive it. */
  #closing = false;

  constructor(options: StoreOptions) {
    this.#createSession = options.createSession;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
  }

  /** A new session held by `holder`, or null when the store is full or closing. */
  open(holder: Holder): Held | null {
    if (this.#closing) return null;
    if (this.#entries.size >= this.#maxSessions) {
      this.#log({ event: 'sessions-full', limit: this.#maxSessions });
      return null;
    }
    const token = randomBytes(32).toString('base64url');
    const session = this.#createSession();
    const entry: Entry = { session, holder, cancelGrace: null };
    this.#entries.set(token, entry);
    // The queue's turns start or stop the grace period of a session nobody holds.
    session.subscribe((event) => {
      if (event.type === 'queue' && entry.holder === null && this.#entries.get(token) === entry) this.#graceFollowsQueue(token, entry);
    });
    this.#log({ event: 'session-opened', session: session.logId });
    return { token, session };
  }

  /**
   * The session for `token`, now held by `holder`; null if the token is
   * unknown or its grace period is over. A connection that still holds it is
   * evicted with 'replaced' first: the newest connection wins.
   */
  resume(token: string, holder: Holder): Held | null {
    const entry = this.#entries.get(token);
    if (!entry) return null;
    entry.cancelGrace?.();
    entry.cancelGrace = null;
    const previous = entry.holder;
    entry.holder = holder;
    if (previous && previous !== holder) {
      this.#log({ event: 'session-replaced', session: entry.session.logId });
      previous.evict('replaced');
    }
    this.#log({ event: 'session-resumed', session: entry.session.logId });
    return { token, session: entry.session };
  }

  /**
   * `holder` let go (its connection closed), unless someone else holds it
   * now: the grace period starts, or once the queue stops working.
   */
  detach(token: string, holder: Holder): void {
    const entry = this.#entries.get(token);
    if (!entry || entry.holder !== holder) return;
    entry.holder = null;
    const waitsForQueue = entry.session.working;
    this.#log({ event: 'session-detached', session: entry.session.logId, graceMs: this.graceMs, ...(waitsForQueue ? { waitsForQueue } : {}) });
    this.#graceFollowsQueue(token, entry);
  }

  /** For a session nobody holds: the grace timer runs while its queue is not working, and starts afresh each time it stops. */
  #graceFollowsQueue(token: string, entry: Entry): void {
    if (entry.session.working) {
      entry.cancelGrace?.();
      entry.cancelGrace = null;
    } else {
      entry.cancelGrace ??= this.#clock.setTimeout(() => void this.end(token, 'expired'), this.graceMs);
    }
  }

  /** Ends a session now: evicts its holder, signs out of Steam, forgets it. */
  async end(token: string, reason: CloseReason): Promise<void> {
    const entry = this.#entries.get(token);
    if (!entry) return;
    this.#entries.delete(token);
    entry.cancelGrace?.();
    this.#log({ event: 'session-closed', session: entry.session.logId, why: reason });
    // Closing first: its last events (a key left unknown) reach the holder before it is evicted.
    const closing = entry.session.close(reason);
    entry.holder?.evict(reason);
    await closing;
  }

  /** Ends every session (server shutdown). */
  async closeAll(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#entries.keys()].map((token) => this.end(token, 'shutdown')));
  }

  /** Sessions held or in their grace period. */
  get size(): number {
    return this.#entries.size;
  }
}
