/**
 * A rate per client address (docs/sessions.md, "What one client may spend"):
 * a token bucket each, a household's use within its burst, a flood told
 * when it may go again. Two of them:
 *
 * - characters pasted: finding the keys in 1 MB of text costs the server a
 *   few hundred milliseconds of its one thread, so an address that pastes
 *   without pause would starve every other page (`paste-limited`);
 * - new connections: each costs an upgrade, and a client whose connections
 *   the server closes (1013, too much unfinished) would open them again at
 *   once (`bye` `too-many-connections`).
 *
 * Memory: an address is in the map only while its bucket is not full, and
 * one gets there only through a connection the connection quota let in.
 */
import type { NowClock } from './sign-in-limits.js';
import { checkRate, TokenBucket, type Rate } from './token-bucket.js';

/** Full buckets are dropped at most this often (each look goes over all of them). */
const SWEEP_INTERVAL_MS = 60_000;

export class AddressRate {
  readonly rate: Readonly<Rate>;
  readonly #clock: NowClock;
  readonly #addresses = new Map<string, TokenBucket>();
  #sweptAt: number;

  constructor(rate: Rate, clock: NowClock) {
    checkRate('a rate per address', rate);
    this.rate = { ...rate };
    this.#clock = clock;
    this.#sweptAt = clock.now();
  }

  /**
   * Takes `amount` from `address`'s bucket and returns null, or takes nothing
   * and returns when it would fit. More than the whole bucket costs the whole
   * bucket, so a full bucket always lets one through.
   */
  take(address: string, amount = 1): number | null {
    const now = this.#clock.now();
    this.#sweep(now);
    amount = Math.min(amount, this.rate.count);
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
