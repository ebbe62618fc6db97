/**
 * A set of members and one interval timer that ticks them all (a router's
 * open channels and their heartbeat). A timer per connection costs each idle
 * connection a Timeout object (about 150 bytes); a Set entry costs a few
 * dozen, and the router needs that set anyway. Members join at any phase, so
 * a member's first tick comes anywhere from 0 to one period after it joined.
 * A period of 0 never ticks: the set alone.
 */
export class Sweep<T> {
  readonly #members = new Set<T>();
  readonly #period: number;
  readonly #tick: (member: T) => void;
  #timer: NodeJS.Timeout | null = null;

  get members(): ReadonlySet<T> {
    return this.#members;
  }

  /** Whether the shared timer runs (it stops with the last member). */
  get running(): boolean {
    return this.#timer !== null;
  }

  constructor(period: number, tick: (member: T) => void) {
    this.#period = period;
    this.#tick = tick;
  }

  add(member: T): void {
    this.#members.add(member);
    // unref: a heartbeat alone must not keep the process alive.
    if (this.#period > 0) this.#timer ??= setInterval(() => this.#run(), this.#period).unref();
  }

  delete(member: T): void {
    this.#members.delete(member);
    if (this.#members.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #run(): void {
    // A Set may lose members while it is iterated (a tick that drops a peer).
    for (const member of this.#members) this.#tick(member);
  }
}
