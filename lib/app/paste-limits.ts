/**
 * How much text one client address may paste (docs/sessions.md, "What one
 * client may spend"). Finding the keys in 1 MB of text costs the server a
 * few hundred milliseconds of its one thread, so an address that pastes
 * without pause would starve every other page. Each address has a token
 * bucket of characters: a household's pastes fit in its burst; a flood gets
 * `paste-limited` with the time it may paste again.
 *
 * Memory: an address is in the map only while its bucket is not full, and
 * one gets there only by pasting on a connection the connection quota let in.
 */
import type { NowClock } from './sign-in-limits.js';
import { checkRate, TokenBucket, type Rate } from './token-bucket.js';

/** Full buckets are dropped at most this often (each look goes over all of them). */
const SWEEP_INTERVAL_MS = 60_000;

export class PasteLimiter {
  readonly rate: Readonly<Rate>;
  readonly #clock: NowClock;
  readonly #addresses = new Map<string, TokenBucket>();
  #sweptAt: number;

  constructor(rate: Rate, clock: NowClock) {
    checkRate('a paste rate', rate);
    this.rate = { ...rate };
    this.#clock = clock;
    this.#sweptAt = clock.now();
  }

  /**
   * Takes `chars` from `address`'s bucket and returns null, or takes nothing
   * and returns when the paste would fit. A paste larger than the whole
   * bucket costs the whole bucket, so a full bucket always lets one through.
   */
  take(address: string, chars: number): number | null {
    const now = this.#clock.now();
    this.#sweep(now);
    const amount = Math.min(chars, this.rate.count);
    const bucket = this.#addresses.get(address);
    const readyAt = bucket?.readyAt(now, amount) ?? now;
    if (readyAt > now) return readyAt;
    if (bucket) bucket.take(now, amount);
    else if (amount > 0) {
      const fresh = new TokenBucket(this.rate, now);
      fresh.take(now, amount);
      this.#addresses.set(address, fresh);
    }
    return null;
  }

  /** Addresses whose bucket is not full (for tests of the memory bound). */
  get size(): number {
    return this.#addresses.size;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_INTERVAL_MS) return;
    this.#sweptAt = now;
    for (const [address, bucket] of this.#addresses) if (bucket.full(now)) this.#addresses.delete(address);
  }
}
