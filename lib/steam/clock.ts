/**
 * Time, injected: the queue's pacing and cooldown, the session's redeem
 * timeout and the store's grace period all run on a Clock, so tests drive
 * an hour-long cooldown in microseconds and never wait on wall time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it (safe to call more than once). */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
