/**
 * The server's sessions (docs/sessions.md): by resume token, and by the Steam
 * account each signed in to — one session per account, however many tabs,
 * browsers or sign-ins reach it.
 *
 * - A session is opened by the first request that needs one (a sign-in, a
 *   paste), for one owner (a client address): the owner's quota says whether
 *   it may have another.
 * - Several holders (WebSocket connections) may hold a session; each hears
 *   every event. Past `maxHolders` the oldest is evicted ('replaced').
 * - When Steam accepts a sign-in for an account that already has a session
 *   here, the signing-in session joins it: its keys that were never sent, its
 *   holders and its new Steam sign-in (unless the account's session has one)
 *   move there, and it ends ('joined').
 * - A session nobody holds lives on while its queue works; then a grace timer
 *   runs (long once it has signed in, short if it never did), and a session
 *   that does not sign in by its deadline ends however held.
 *
 * The token is a bearer secret (whoever has it drives the session): 256
 * random bits, never logged — log lines use the session's logId.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from './clock.js';
import type { AccountInfo, SteamPort } from './port.js';
import type { AddKeysResult, ClaimSignIn, CloseReason, RedeemSession } from './session.js';

export const DEFAULT_GRACE_MS = 10 * 60_000;
/** A session that never signed in outlives its last connection this long. */
export const DEFAULT_ANONYMOUS_GRACE_MS = 30_000;
/** A session that has not signed in this long after it was opened ends. */
export const DEFAULT_SIGN_IN_DEADLINE_MS = 15 * 60_000;
export const DEFAULT_MAX_SESSIONS = 100;
/** Connections (tabs) holding one session at once. */
export const DEFAULT_MAX_HOLDERS = 8;

export type EvictReason = 'replaced' | Exclude<CloseReason, 'joined'>;

/** Whoever holds a session now (a WebSocket connection). */
export interface Holder {
  /** It no longer holds the session, for `reason`. */
  evict(reason: EvictReason): void;
  /** Its session joined the account's session `held`, which it holds now; `merged` is what became of its keys. */
  moved(held: Held, merged: AddKeysResult): void;
}

/** Counts sessions per owner (lib/app/quota.ts's Quota fits). */
export interface SessionQuota {
  take(owner: string): 'ok' | 'address-full' | 'server-full';
  release(owner: string): void;
}

export interface StoreOptions {
  /** Makes a session whose sign-ins are claimed with `claim` (pass it to RedeemSession's options). */
  createSession: (claim: ClaimSignIn) => RedeemSession;
  /** How long a session that signed in outlives its connections once its queue stops. */
  graceMs?: number;
  anonymousGraceMs?: number;
  signInDeadlineMs?: number;
  /** Sessions at most, when no quota is given. */
  maxSessions?: number;
  /** Sessions per owner and in all; default: maxSessions in all. */
  quota?: SessionQuota;
  maxHolders?: number;
  clock?: Clock;
  log?: Logger;
}

interface Entry {
  token: string;
  session: RedeemSession;
  owner: string;
  /** Oldest first. */
  holders: Holder[];
  /** The account's SteamID once it signed in. */
  steamId: string | null;
  cancelGrace: (() => void) | null;
  cancelDeadline: (() => void) | null;
}

export interface Held {
  token: string;
  session: RedeemSession;
}

export type OpenRefusal = 'server-busy' | 'too-many-sessions';

export class SessionStore {
  readonly graceMs: number;
  readonly anonymousGraceMs: number;
  readonly signInDeadlineMs: number;
  readonly #entries = new Map<string, Entry>();
  /** SteamID → the account's session's token. */
  readonly #byAccount = new Map<string, string>();
  readonly #createSession: (claim: ClaimSignIn) => RedeemSession;
  readonly #quota: SessionQuota;
  readonly #maxHolders: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** closeAll() has begun: a session opened now would outlive it. */
  #closing = false;

  constructor(options: StoreOptions) {
    this.#createSession = options.createSession;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.anonymousGraceMs = options.anonymousGraceMs ?? DEFAULT_ANONYMOUS_GRACE_MS;
    this.signInDeadlineMs = options.signInDeadlineMs ?? DEFAULT_SIGN_IN_DEADLINE_MS;
    this.#quota = options.quota ?? totalOnly(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.#maxHolders = Math.max(1, options.maxHolders ?? DEFAULT_MAX_HOLDERS);
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
  }

  /** A new session held by `holder` for `owner`, or why there is none. */
  open(holder: Holder, owner: string): Held | { refused: OpenRefusal } {
    if (this.#closing) return { refused: 'server-busy' };
    const taken = this.#quota.take(owner);
    if (taken !== 'ok') {
      this.#log({ event: 'sessions-full', client: owner, scope: taken === 'server-full' ? 'server' : 'address' });
      return { refused: taken === 'server-full' ? 'server-busy' : 'too-many-sessions' };
    }
    const token = randomBytes(32).toString('base64url');
    let entry: Entry | null = null;
    const session = this.#createSession((account, port) => this.#claim(entry!, account, port));
    entry = { token, session, owner, holders: [holder], steamId: null, cancelGrace: null, cancelDeadline: null };
    this.#entries.set(token, entry);
    const opened = entry;
    opened.cancelDeadline = this.#clock.setTimeout(() => void this.end(token, 'not-signed-in'), this.signInDeadlineMs);
    // The queue's turns start or stop the grace period of a session nobody holds.
    session.subscribe((event) => {
      if (event.type === 'queue' && opened.holders.length === 0 && this.#entries.get(token) === opened) this.#startGrace(opened);
    });
    this.#log({ event: 'session-opened', session: session.logId, client: owner });
    return { token, session };
  }

  /**
   * The session for `token`, now held by `holder` too; null if the token is
   * unknown or its session has ended.
   */
  resume(token: string, holder: Holder): Held | null {
    const entry = this.#entries.get(token);
    if (!entry) return null;
    entry.cancelGrace?.();
    entry.cancelGrace = null;
    this.#hold(entry, holder);
    this.#log({ event: 'session-resumed', session: entry.session.logId, holders: entry.holders.length });
    return { token, session: entry.session };
  }

  /** `holder` let go (its connection closed): when it was the last, the grace period starts, or once the queue stops working. */
  detach(token: string, holder: Holder): void {
    const entry = this.#entries.get(token);
    const at = entry?.holders.indexOf(holder) ?? -1;
    if (!entry || at < 0) return;
    entry.holders.splice(at, 1);
    if (entry.holders.length > 0) return;
    const waitsForQueue = entry.session.working;
    this.#log({ event: 'session-detached', session: entry.session.logId, graceMs: this.#graceOf(entry), ...(waitsForQueue ? { waitsForQueue } : {}) });
    this.#startGrace(entry);
  }

  /** Ends a session now: evicts its holders, signs out of Steam, forgets it. */
  async end(token: string, reason: Exclude<CloseReason, 'joined'>): Promise<void> {
    const entry = this.#forget(token);
    if (!entry) return;
    this.#log({ event: 'session-closed', session: entry.session.logId, why: reason });
    // Closing first: its last events (a key left unknown) reach the holders before they are evicted.
    const closing = entry.session.close(reason);
    for (const holder of entry.holders.splice(0)) holder.evict(reason);
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

  /**
   * Steam accepted a sign-in of `entry`'s session. If the account has another
   * session here, that one takes the sign-in, `entry`'s unsent keys and its
   * holders, and `entry` ends (true). Else `entry` becomes the account's (false).
   */
  #claim(entry: Entry, account: AccountInfo, port: SteamPort): boolean {
    const token = this.#byAccount.get(account.steamId);
    const own = token === undefined ? undefined : this.#entries.get(token);
    if (!own || own === entry || own.session.closed || !this.#entries.has(entry.token)) {
      this.#byAccount.set(account.steamId, entry.token);
      entry.steamId = account.steamId;
      entry.cancelDeadline?.();
      entry.cancelDeadline = null;
      if (entry.holders.length === 0) {
        // The page left while Steam was asked: the short grace of a session that never signed in gives way to the long one.
        entry.cancelGrace?.();
        entry.cancelGrace = null;
        this.#startGrace(entry);
      }
      return false;
    }
    this.#forget(entry.token);
    own.cancelGrace?.();
    own.cancelGrace = null;
    own.session.adopt(port, account);
    const merged = own.session.mergeKeys(entry.session.unsentKeys());
    this.#log({ event: 'session-joined', session: entry.session.logId, into: own.session.logId, keys: merged.added.length });
    void entry.session.close('joined');
    const held: Held = { token: own.token, session: own.session };
    for (const holder of entry.holders.splice(0)) {
      this.#hold(own, holder);
      holder.moved(held, merged);
    }
    if (own.holders.length === 0) this.#startGrace(own);
    return true;
  }

  /** Adds `holder` to `entry`'s holders; past the limit the oldest goes. */
  #hold(entry: Entry, holder: Holder): void {
    if (entry.holders.includes(holder)) return;
    entry.holders.push(holder);
    while (entry.holders.length > this.#maxHolders) {
      const oldest = entry.holders.shift()!;
      this.#log({ event: 'session-replaced', session: entry.session.logId });
      oldest.evict('replaced');
    }
  }

  /** Removes `token`'s entry from every index and gives its owner's quota back; returns it. */
  #forget(token: string): Entry | null {
    const entry = this.#entries.get(token);
    if (!entry) return null;
    this.#entries.delete(token);
    if (entry.steamId !== null && this.#byAccount.get(entry.steamId) === token) this.#byAccount.delete(entry.steamId);
    entry.cancelGrace?.();
    entry.cancelGrace = null;
    entry.cancelDeadline?.();
    entry.cancelDeadline = null;
    this.#quota.release(entry.owner);
    return entry;
  }

  #graceOf(entry: Entry): number {
    return entry.steamId === null ? this.anonymousGraceMs : this.graceMs;
  }

  /**
   * For a session nobody holds: the grace timer runs while its queue is not
   * working, and starts afresh each time it stops. A session that never signed
   * in cannot send, so its shorter timer just runs.
   */
  #startGrace(entry: Entry): void {
    if (entry.steamId !== null && entry.session.working) {
      entry.cancelGrace?.();
      entry.cancelGrace = null;
      return;
    }
    entry.cancelGrace ??= this.#clock.setTimeout(() => void this.end(entry.token, 'expired'), this.#graceOf(entry));
  }
}

/** A quota with only a server-wide total. */
function totalOnly(max: number): SessionQuota {
  let count = 0;
  return {
    take: () => (count >= max ? 'server-full' : (count++, 'ok')),
    release: () => void count--,
  };
}
