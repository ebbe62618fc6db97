/**
 * A token bucket: at most `count` tokens at once, refilled at `count` every
 * `perMs` by the time that passed (never by a timer), fractional in between.
 * The sign-in limits (sign-in-limits.ts) take one token per sign-in, the
 * paste limits (address-rate.ts) one per character pasted.
 */

/** At most `count` at once; they come back one by one, `count` every `perMs`. */
export interface Rate {
  count: number;
  perMs: number;
}

/** Throws a RangeError naming `what` unless `rate` is whole numbers of at least 1 per 1 ms. */
export function checkRate(what: string, rate: Rate): void {
  if (!Number.isSafeInteger(rate.count) || rate.count < 1 || !Number.isSafeInteger(rate.perMs) || rate.perMs < 1) {
    throw new RangeError(`${what} must be at least 1 per 1 ms, got ${rate.count} per ${rate.perMs} ms`);
  }
}

export class TokenBucket {
  readonly #rate: Rate;
  #tokens: number;
  #at: number;

  constructor(rate: Rate, now: number) {
    this.#rate = rate;
    this.#tokens = rate.count;
    this.#at = now;
  }

  #level(now: number): number {
    return Math.min(this.#rate.count, this.#tokens + ((now - this.#at) * this.#rate.count) / this.#rate.perMs);
  }

  /** When `amount` tokens are there (now, if they are); never more than the bucket holds. */
  readyAt(now: number, amount = 1): number {
    const want = Math.min(amount, this.#rate.count);
    const level = this.#level(now);
    return level >= want ? now : now + Math.ceil(((want - level) * this.#rate.perMs) / this.#rate.count);
  }

  take(now: number, amount = 1): void {
    // Never below zero: a caller that skipped readyAt() must not push everyone's wait out without end.
    this.#tokens = Math.max(0, this.#level(now) - amount);
    this.#at = now;
  }

  full(now: number): boolean {
    return this.#level(now) >= this.#rate.count;
  }
}
