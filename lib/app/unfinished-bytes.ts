/**
 * Memory that clients make the server hold in messages they have begun and
 * not finished (docs/sessions.md, "What one client may spend"). A connection
 * may hold up to a whole message (1 MiB) while it arrives, and the byte
 * budget (read-budget.ts) slows how fast that fills, not how many
 * connections hold one: 250 slow connections held ~70 MiB. So the bytes held
 * are counted per client address and for the whole server, and a connection
 * whose message would take either past its cap is closed with 1013 (Try
 * Again Later, lib/websocket/connection.ts, ReadGate.hold): the memory is
 * freed at once, and the page says to send the paste again.
 */

export interface UnfinishedLimits {
  perAddress: number;
  total: number;
}

export class UnfinishedBytes {
  readonly limits: Readonly<UnfinishedLimits>;
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(limits: UnfinishedLimits) {
    for (const name of ['perAddress', 'total'] as const) {
      if (!Number.isSafeInteger(limits[name]) || limits[name] < 1) throw new RangeError(`unfinished bytes ${name} must be at least 1, got ${limits[name]}`);
    }
    this.limits = { ...limits };
  }

  /** The hold() of one connection from `address` (ReadGate): told what it holds now, false to refuse more. */
  holder(address: string): (bytes: number) => boolean {
    let mine = 0;
    return (bytes) => {
      const grow = bytes - mine;
      const had = this.#byAddress.get(address) ?? 0;
      // Shrinking is always allowed; growing only within both caps. A refusal fails the connection,
      // which drops what it held.
      const ok = grow <= 0 || (had + grow <= this.limits.perAddress && this.#total + grow <= this.limits.total);
      const now = ok ? bytes : 0;
      this.#set(address, had - mine + now);
      this.#total += now - mine;
      mine = now;
      return ok;
    };
  }

  /** Bytes held for `address`, or for everyone. */
  held(address?: string): number {
    return address === undefined ? this.#total : (this.#byAddress.get(address) ?? 0);
  }

  /** Addresses holding any (for tests of the memory bound). */
  get size(): number {
    return this.#byAddress.size;
  }

  #set(address: string, bytes: number): void {
    if (bytes > 0) this.#byAddress.set(address, bytes);
    else this.#byAddress.delete(address);
  }
}
