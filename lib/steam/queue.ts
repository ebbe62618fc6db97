/**
 * The redemption queue: one key at a time, a pause between keys, a cooldown
 * when Steam rate-limits, cancel after the current key. It knows nothing of
 * Steam or sign-in: it calls `redeem(key)` and a gate (open/close) says
 * whether sending is allowed at all.
 *
 *  queue state   meaning
 *  idle          nothing to send
 *  running       a key is with Steam, or the next one waits out the pause
 *  cooldown      Steam said RateLimited: nothing is sent until resumesAt
 *  stalled       keys wait for the session: 'signed-out' (gate closed) or
 *                'unknown-result' (the last key got no answer; resume() goes on)
 */
import type { Clock } from './clock.js';
import type { DroppedKey } from './keys.js';
import type { KeyResult } from './results.js';

export type EntryState =
  /** Will be sent in turn. */
  | 'queued'
  /** Held back by a rate-limit cooldown; sent once it ends. */
  | 'waiting'
  /** With Steam now. */
  | 'redeeming'
  /** Has its result. */
  | 'done'
  /** Taken out by cancel() before it was sent (or after Steam rate-limited it); never consumed. */
  | 'cancelled';

export interface KeyEntry {
  /** 1-based position in the order the keys were added. */
  n: number;
  key: string;
  state: EntryState;
  /** The result when done; the rate-limit result while waiting (or cancelled) after Steam rate-limited this key. */
  result?: KeyResult;
}

export type StallReason = 'signed-out' | 'unknown-result';

export interface QueueStatus {
  state: 'idle' | 'running' | 'cooldown' | 'stalled';
  /** When sending resumes (epoch ms), in cooldown. */
  resumesAt?: number;
  stalledBy?: StallReason;
}

/** What came of handing a key to Steam. */
export type Attempt =
  | { sent: true; result: KeyResult }
  /** Nothing reached Steam (not signed in): the key stays queued and the gate closes. */
  | { sent: false };

export type QueueEvent = { type: 'key'; entry: KeyEntry } | ({ type: 'queue' } & QueueStatus);

export interface QueueOptions {
  redeem: (key: string) => Promise<Attempt>;
  /** Pause after each answer before the next key is sent. */
  pauseMs: number;
  /** How long to send nothing after Steam says RateLimited. */
  cooldownMs: number;
  clock: Clock;
  onEvent: (event: QueueEvent) => void;
}

const PENDING: ReadonlySet<EntryState> = new Set(['queued', 'waiting']);

export class RedeemQueue {
  readonly #options: QueueOptions;
  readonly #entries: KeyEntry[] = [];
  readonly #byKey = new Map<string, KeyEntry>();
  #open = false;
  #stall: StallReason | null = null;
  #inFlight: KeyEntry | null = null;
  #cancelInFlight = false;
  #lastAnswerAt = -Infinity;
  #cancelPause: (() => void) | null = null;
  #cancelCooldown: (() => void) | null = null;
  #resumesAt: number | null = null;
  #pumpScheduled = false;
  #disposed = false;
  #published = '';

  constructor(options: QueueOptions) {
    this.#options = options;
    this.#published = JSON.stringify(this.status); // only changes are events
  }

  /**
   * Appends keys (already normalised and free of repeats within themselves).
   * A key already queued, with Steam or done is dropped; a cancelled key is
   * queued again in its old place, and so is a key that got no answer when
   * `retryUnknown` is set (the user checked their library). Sending starts on the next microtask, so
   * the caller can report what was added before the first key goes out.
   */
  add(keys: readonly string[], options: { retryUnknown?: boolean } = {}): { added: KeyEntry[]; dropped: DroppedKey[] } {
    const added: KeyEntry[] = [];
    const dropped: DroppedKey[] = [];
    const state = this.#resumesAt === null ? 'queued' : 'waiting';
    for (const key of keys) {
      const known = this.#byKey.get(key);
      // A key that got no answer may have been activated: it goes again only when the user says so.
      const unknown = known?.state === 'done' && known.result?.status === 'unknown';
      if (unknown && !options.retryUnknown) {
        dropped.push({ key, reason: 'unknown-result' });
        continue;
      }
      if (known && known.state !== 'cancelled' && !unknown) {
        dropped.push({ key, reason: 'already-in-session' });
        continue;
      }
      const entry = known ?? { n: this.#entries.length + 1, key, state };
      if (known) {
        known.state = state;
        delete known.result;
      } else {
        this.#entries.push(entry);
        this.#byKey.set(key, entry);
      }
      added.push({ ...entry });
    }
    if (added.length > 0) this.#schedulePump();
    return { added, dropped };
  }

  /** Whether `key` has an entry, in any state (a cancelled key added again reuses it). */
  knows(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Sending may proceed (the session is signed in). Clears an 'unknown-result' stall: the session is back. */
  open(): void {
    this.#open = true;
    this.#stall = null;
    this.#schedulePump();
  }

  /** Nothing more is sent until open() (a key already with Steam still gets its answer). */
  close(): void {
    this.#open = false;
    this.#clearPause();
    this.#publish();
  }

  /** Goes on after a stall on an unknown result. */
  resume(): void {
    this.#stall = null;
    this.#schedulePump();
  }

  /**
   * Cancels every key not yet sent; the key with Steam finishes. A running
   * cooldown keeps running (Steam's limit does not care), so keys added
   * during it wait for it.
   */
  cancel(): void {
    for (const entry of this.#entries) {
      if (PENDING.has(entry.state)) this.#set(entry, 'cancelled', entry.result);
    }
    if (this.#inFlight) this.#cancelInFlight = true;
    this.#stall = null;
    this.#clearPause();
    this.#publish();
  }

  /**
   * Stops every timer; the queue does nothing afterwards. A key still with
   * Steam ends with `abandoned`: nobody will wait for its answer.
   */
  dispose(abandoned?: KeyResult): void {
    this.#disposed = true;
    this.#open = false;
    this.#clearPause();
    this.#cancelCooldown?.();
    this.#cancelCooldown = null;
    if (this.#inFlight && abandoned) this.#set(this.#inFlight, 'done', abandoned);
  }

  get entries(): KeyEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  get size(): number {
    return this.#entries.length;
  }

  get status(): QueueStatus {
    if (this.#resumesAt !== null) return { state: 'cooldown', resumesAt: this.#resumesAt };
    const pending = this.#entries.some((e) => PENDING.has(e.state));
    if (this.#inFlight || (pending && this.#open && !this.#stall)) return { state: 'running' };
    if (pending) return { state: 'stalled', stalledBy: this.#open ? this.#stall! : 'signed-out' };
    return { state: 'idle' };
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Sends the next key if everything allows it, else waits for whatever holds it back. */
  #pump(): void {
    if (this.#disposed) return;
    const next = this.#entries.find((e) => e.state === 'queued');
    if (this.#inFlight || this.#resumesAt !== null || !next || !this.#open || this.#stall) {
      if (!this.#open || this.#stall || !next) this.#clearPause();
      this.#publish();
      return;
    }
    const wait = this.#lastAnswerAt + this.#options.pauseMs - this.#options.clock.now();
    if (wait > 0) {
      this.#cancelPause ??= this.#options.clock.setTimeout(() => {
        this.#cancelPause = null;
        this.#pump();
      }, wait);
      this.#publish();
      return;
    }
    void this.#send(next);
  }

  async #send(entry: KeyEntry): Promise<void> {
    this.#inFlight = entry;
    this.#set(entry, 'redeeming');
    this.#publish();
    let attempt: Attempt;
    try {
      attempt = await this.#options.redeem(entry.key);
    } catch {
      // redeem() maps every failure itself; this is a bug guard, not a path.
      attempt = { sent: false };
    }
    this.#inFlight = null;
    const cancelled = this.#cancelInFlight;
    this.#cancelInFlight = false;
    if (this.#disposed) return;
    this.#lastAnswerAt = this.#options.clock.now();
    if (!attempt.sent) {
      // Never loop on a session that cannot send: wait for open().
      this.#open = false;
      this.#set(entry, cancelled ? 'cancelled' : 'queued');
    } else if (attempt.result.status === 'rate-limited') {
      // The key was not consumed: it waits at the front (every earlier key is done).
      this.#set(entry, cancelled ? 'cancelled' : 'waiting', attempt.result);
      this.#startCooldown();
    } else {
      this.#set(entry, 'done', attempt.result);
      if (attempt.result.status === 'unknown') this.#stall = 'unknown-result';
    }
    this.#pump();
  }

  #startCooldown(): void {
    const { clock, cooldownMs } = this.#options;
    this.#resumesAt = clock.now() + cooldownMs;
    for (const entry of this.#entries) if (entry.state === 'queued') this.#set(entry, 'waiting');
    this.#cancelCooldown = clock.setTimeout(() => this.#endCooldown(), cooldownMs);
  }

  #endCooldown(): void {
    this.#cancelCooldown = null;
    this.#resumesAt = null;
    for (const entry of this.#entries) if (entry.state === 'waiting') this.#set(entry, 'queued');
    this.#pump();
  }

  #clearPause(): void {
    this.#cancelPause?.();
    this.#cancelPause = null;
  }

  #set(entry: KeyEntry, state: EntryState, result?: KeyResult): void {
    entry.state = state;
    if (result) entry.result = result;
    else delete entry.result;
    this.#options.onEvent({ type: 'key', entry: { ...entry } });
  }

  /** Emits the queue's status when it differs from the last one emitted. */
  #publish(): void {
    const status = this.status;
    const text = JSON.stringify(status);
    if (text === this.#published) return;
    this.#published = text;
    this.#options.onEvent({ type: 'queue', ...status });
  }
}
