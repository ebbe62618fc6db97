/** A Clock that moves only when a test says so. */
import { systemClock, type Clock } from '../../lib/steam/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Lets pending promise callbacks (and the I/O they start) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<Timer>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing each due timer in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = [...this.#timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers.delete(next);
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = end;
  }
}

/**
 * A ManualClock for the demo Steam in tests of whole flows: its latency (a
 * few milliseconds, which no test times) runs on real time, while anything
 * of a second or more — a sign-in's 5 minutes to be approved, Steam changing
 * a QR code — waits until the test moves the clock.
 */
export class MinutesClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number): () => void {
    return ms < 1_000 ? systemClock.setTimeout(fn, ms) : super.setTimeout(fn, ms);
  }
}
