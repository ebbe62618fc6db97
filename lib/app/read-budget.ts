/**
 * How many bytes one client address may make the server read and parse
 * (docs/sessions.md, "What one client may spend"). Every other limit counts
 * things (connections, sessions, sign-ins, pastes); this one counts the work
 * beneath them: a client that streams messages the server then refuses (1 MB
 * pastes past the paste rate, a text in 1-byte fragments) still costs the
 * server's one thread its parsing. Each address has a budget of `count`
 * bytes at once, `count` more every `perMs`; a connection whose read goes
 * past it stops reading (ReadGate, lib/websocket/connection.ts) until the
 * budget has come back, so the peer waits in TCP and nothing is refused.
 *
 * Each message is charged MESSAGE_BYTES on top of its bytes: answering a
 * message (parsing its JSON, refusing it, sending the refusal) costs the
 * server more than reading a kilobyte, so a flood of tiny messages — a wrong
 * password again as soon as the last was refused — is held to a thousand at once and
 * 64 a second per address (the default budget), where its bytes alone would
 * allow tens of thousands.
 *
 * The budget is a GCRA (the "virtual scheduling" form of a token bucket): per
 * address only the time at which its debt is paid off, which may lie in the
 * future. Memory: an address is in the map while it owes time; sweeps drop it.
 */
import type { ReadGate } from '../websocket/index.js';
import type { NowClock } from './sign-in-limits.js';
import { checkRate, type Rate } from './token-bucket.js';

const SWEEP_INTERVAL_MS = 60_000;
/** What a message costs beyond its bytes (see above); a page sends a few messages a minute. */
export const MESSAGE_BYTES = 4096;

export class ReadBudget {
  readonly rate: Readonly<Rate>;
  readonly #clock: NowClock;
  /** Address → when everything it has read is paid for (ms since the epoch). */
  readonly #paidAt = new Map<string, number>();
  #sweptAt: number;

  constructor(rate: Rate, clock: NowClock) {
    checkRate('a read budget', rate);
    this.rate = { ...rate };
    this.#clock = clock;
    this.#sweptAt = clock.now();
  }

  /** Charges `bytes` read for `address`; returns how long (ms) to stop reading for it, 0 to read on. */
  take(address: string, bytes: number): number {
    const now = this.#clock.now();
    this.#sweep(now);
    const cost = (bytes * this.rate.perMs) / this.rate.count;
    const paidAt = Math.max(this.#paidAt.get(address) ?? now, now) + cost;
    this.#paidAt.set(address, paidAt);
    // The burst: up to perMs of debt (count bytes) is read at once.
    return Math.max(0, Math.ceil(paidAt - now - this.rate.perMs));
  }

  /** The gate of one connection from `address`; `message()` charges a message's MESSAGE_BYTES. */
  gate(address: string): ReadGate & { message(): void } {
    return { take: (bytes) => this.take(address, bytes), message: () => void this.take(address, MESSAGE_BYTES) };
  }

  /** Addresses that owe time (for tests of the memory bound). */
  get size(): number {
    return this.#paidAt.size;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_INTERVAL_MS) return;
    this.#sweptAt = now;
    for (const [address, paidAt] of this.#paidAt) if (paidAt <= now) this.#paidAt.delete(address);
  }
}
