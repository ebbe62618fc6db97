/**
 * How often the server signs in to Steam for whom (docs/sessions.md, "What
 * one client may spend"). Every sign-in is a real request to Steam from the
 * server's address: Steam answers too many with EResult 84 for every user of
 * the server, and an unlimited sign-in endpoint tests stolen passwords for
 * whoever asks. So:
 *
 * - attempts are counted per session, per client address and for the whole
 *   server, each a token bucket (a burst, then one more every so often);
 * - the last third of the server-wide bucket is kept for newcomers, addresses
 *   that have not tried lately (their own bucket is full): a few addresses
 *   testing passwords on many connections at once cannot use up every
 *   sign-in, so a person's first try still goes;
 * - after a failure an address waits before its next attempt, twice as long
 *   after each further failure (a success ends the streak; a sign-in the
 *   person cancelled is no failure);
 * - after Steam answers 84 (RateLimitExceeded: this server's address) no
 *   sign-in at all goes to Steam for a cooldown, and after 87
 *   (AccountLoginDeniedThrottle) none for that account.
 *
 * Use: `check` before a sign-in (a refusal says until when), `start` as it
 * goes to Steam, `finish` with Steam's answer. Memory: entries are made only
 * by `start` and `finish`, and dropped once they say nothing any more (a full
 * bucket, a forgotten streak, a cooldown over), so their number is bounded by
 * the server-wide rate times the longest they can matter.
 */
import type { LoginFailure } from '../steam/port.js';
import { checkRate, TokenBucket, type Rate } from './token-bucket.js';

export type { Rate } from './token-bucket.js';

export interface SignInLimits {
  signInsPerSession: Rate;
  signInsPerAddress: Rate;
  signInsPerServer: Rate;
  /** An address waits this long after a failed sign-in, twice as long after each further one… */
  signInBackoffMs: number;
  /** …but never longer than this. */
  signInBackoffMaxMs: number;
  /** No sign-in for this long after Steam's 84 (for anyone) or 87 (for that account). */
  steamCooldownMs: number;
}

const MINUTE = 60_000;

/** A household never meets these: a few people, each a few tries, a typo or two. */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  signInsPerSession: { count: 5, perMs: 10 * MINUTE },
  signInsPerAddress: { count: 10, perMs: 10 * MINUTE },
  signInsPerServer: { count: 30, perMs: 5 * MINUTE },
  signInBackoffMs: 2_000,
  signInBackoffMaxMs: 15 * MINUTE,
  // After an 84 Steam wants 30 minutes or more without an attempt.
  steamCooldownMs: 30 * MINUTE,
};

/** Who is signing in: the client address (client-address.ts), the session, and the account when known. */
export interface SignInAttempt {
  address: string;
  session: string;
  accountName?: string;
}

/** 'sign-in-limited': this server's own limits; 'steam-cooldown': Steam refused, and asking again would make it worse. */
export interface SignInRefusal {
  code: 'sign-in-limited' | 'steam-cooldown';
  /** When a sign-in would be let through (ms since the epoch), if nothing else happens meanwhile. */
  retryAt: number;
}

export type SignInOutcome = { ok: true } | { ok: false; reason: LoginFailure };

/** Only `now` is needed: nothing here runs on a timer. */
export interface NowClock {
  now(): number;
}

/** Expired entries are looked for at most this often (each look goes over all of them). */
const SWEEP_INTERVAL_MS = MINUTE;

export class SignInLimiter {
  readonly limits: Readonly<SignInLimits>;
  readonly #clock: NowClock;
  readonly #sessions = new Map<string, TokenBucket>();
  readonly #addresses = new Map<string, AddressEntry>();
  /** Account names (lower case: Steam's are case-insensitive) → end of their cooldown after an 87. */
  readonly #accounts = new Map<string, number>();
  readonly #server: TokenBucket;
  /** Server-wide sign-ins only newcomers may use. */
  readonly #reserve: number;
  #steamCooldownUntil = 0;
  #sweptAt: number;

  constructor(limits: SignInLimits, clock: NowClock) {
    checkLimits(limits);
    this.limits = { ...limits };
    this.#clock = clock;
    this.#sweptAt = clock.now();
    this.#server = new TokenBucket(limits.signInsPerServer, clock.now());
    this.#reserve = Math.floor(limits.signInsPerServer.count / 3);
  }

  /** Null when a sign-in may go to Steam now; else why not and until when. */
  check(who: SignInAttempt): SignInRefusal | null {
    const now = this.#clock.now();
    let steam = 0;
    let own = 0;
    if (this.#steamCooldownUntil > now) steam = this.#steamCooldownUntil;
    const account = who.accountName === undefined ? undefined : this.#accounts.get(accountKey(who.accountName));
    if (account !== undefined && account > now) steam = Math.max(steam, account);
    const address = this.#addresses.get(who.address);
    own = Math.max(
      own,
      this.#sessions.get(who.session)?.readyAt(now) ?? now,
      address?.readyAt(now, this.limits) ?? now,
      // Only a newcomer may take from the reserve (see the top).
      this.#server.readyAt(now, address === undefined || address.bucket.full(now) ? 1 : this.#reserve + 1),
    );
    if (steam <= now && own <= now) return null;
    return { code: steam > now ? 'steam-cooldown' : 'sign-in-limited', retryAt: Math.max(steam, own) };
  }

  /** A sign-in goes to Steam: it takes one attempt from the session, the address and the server. */
  start(who: SignInAttempt): void {
    const now = this.#clock.now();
    this.#sweep(now);
    let session = this.#sessions.get(who.session);
    if (!session) this.#sessions.set(who.session, (session = new TokenBucket(this.limits.signInsPerSession, now)));
    session.take(now);
    this.#address(who.address, now).bucket.take(now);
    this.#server.take(now);
  }

  /** Steam answered (or the person gave up: 'cancelled' changes nothing). */
  finish(who: SignInAttempt, outcome: SignInOutcome): void {
    const now = this.#clock.now();
    if (outcome.ok) {
      const entry = this.#addresses.get(who.address);
      if (entry) entry.failures = 0;
      return;
    }
    if (outcome.reason === 'cancelled') return;
    if (outcome.reason === 'rate-limited') this.#steamCooldownUntil = now + this.limits.steamCooldownMs;
    if (outcome.reason === 'throttled' && who.accountName !== undefined) {
      this.#accounts.set(accountKey(who.accountName), now + this.limits.steamCooldownMs);
    }
    const entry = this.#address(who.address, now);
    entry.failures++;
    entry.lastFailureAt = now;
  }

  /** How many entries are held (for tests of the memory bound). */
  get size(): { sessions: number; addresses: number; accounts: number } {
    return { sessions: this.#sessions.size, addresses: this.#addresses.size, accounts: this.#accounts.size };
  }

  #address(address: string, now: number): AddressEntry {
    let entry = this.#addresses.get(address);
    if (!entry) this.#addresses.set(address, (entry = new AddressEntry(this.limits.signInsPerAddress, now)));
    return entry;
  }

  /** Drops the entries that no longer say anything (as if never made). */
  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_INTERVAL_MS) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#sessions) if (bucket.full(now)) this.#sessions.delete(key);
    for (const [key, entry] of this.#addresses) if (entry.atRest(now, this.limits)) this.#addresses.delete(key);
    for (const [key, until] of this.#accounts) if (until <= now) this.#accounts.delete(key);
  }
}

class AddressEntry {
  readonly bucket: TokenBucket;
  /** Failed sign-ins in a row. */
  failures = 0;
  lastFailureAt = 0;

  constructor(rate: Rate, now: number) {
    this.bucket = new TokenBucket(rate, now);
  }

  /** The end of the backoff after the last failure (now if there is none). */
  readyAt(now: number, limits: SignInLimits): number {
    return Math.max(this.bucket.readyAt(now), this.failures === 0 ? now : this.lastFailureAt + backoff(this.failures, limits));
  }

  /**
   * A full bucket and no streak worth remembering: a streak of failures is
   * forgotten four longest backoffs after the last one (an hour by default),
   * so an address that comes back much later starts over.
   */
  atRest(now: number, limits: SignInLimits): boolean {
    return this.bucket.full(now) && (this.failures === 0 || now - this.lastFailureAt >= 4 * limits.signInBackoffMaxMs);
  }
}

/** The wait after `failures` failures in a row: base, 2×base, 4×base… up to the maximum. */
export function backoff(failures: number, limits: Pick<SignInLimits, 'signInBackoffMs' | 'signInBackoffMaxMs'>): number {
  if (failures <= 0) return 0;
  // 2^(failures−1) without overflowing to Infinity for a long streak.
  return Math.min(limits.signInBackoffMaxMs, limits.signInBackoffMs * 2 ** Math.min(failures - 1, 40));
}

function accountKey(accountName: string): string {
  return accountName.toLowerCase();
}

function checkLimits(limits: SignInLimits): void {
  for (const name of ['signInsPerSession', 'signInsPerAddress', 'signInsPerServer'] as const) checkRate(name, limits[name]);
  for (const name of ['signInBackoffMs', 'signInBackoffMaxMs', 'steamCooldownMs'] as const) {
    if (!Number.isSafeInteger(limits[name]) || limits[name] < 0) throw new RangeError(`${name} must be a whole number of ms, got ${limits[name]}`);
  }
}
