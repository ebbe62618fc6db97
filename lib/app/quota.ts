/**
 * How many of something (connections, sessions) each client address holds,
 * under a cap per address and a cap for the whole server, so that one
 * address cannot take what the others need (docs/sessions.md, "What one
 * client may spend").
 *
 * Memory is bounded by the server-wide cap: an address is in the map only
 * while it holds at least one, so there are never more entries than `total`.
 */

export interface QuotaLimits {
  /** At most this many for one address. */
  perAddress: number;
  /** At most this many for the whole server. */
  total: number;
}

/** 'address-full': this address holds its share already; 'server-full': the server has none left. */
export type QuotaResult = 'ok' | 'address-full' | 'server-full';

export class Quota {
  readonly limits: Readonly<QuotaLimits>;
  readonly #counts = new Map<string, number>();
  #total = 0;

  constructor(limits: QuotaLimits) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Quota ${name} must be a whole number of at least 1, got ${value}`);
    }
    this.limits = { ...limits };
  }

  /**
   * Takes one for `address` when both caps allow it. A full address is
   * named first: it is the asker's own doing, and waiting helps only when
   * the server is the one that is full.
   */
  take(address: string): QuotaResult {
    const held = this.#counts.get(address) ?? 0;
    if (held >= this.limits.perAddress) return 'address-full';
    if (this.#total >= this.limits.total) return 'server-full';
    this.#counts.set(address, held + 1);
    this.#total++;
    return 'ok';
  }

  /** Gives one back. Returns false (and changes nothing) when `address` held none: a release without a take. */
  release(address: string): boolean {
    const held = this.#counts.get(address);
    if (held === undefined) return false;
    if (held === 1) this.#counts.delete(address);
    else this.#counts.set(address, held - 1);
    this.#total--;
    return true;
  }

  /** How many `address` holds. */
  count(address: string): number {
    return this.#counts.get(address) ?? 0;
  }

  /** How many are held in all. */
  get total(): number {
    return this.#total;
  }

  /** How many addresses hold at least one (the map's size). */
  get addresses(): number {
    return this.#counts.size;
  }
}
