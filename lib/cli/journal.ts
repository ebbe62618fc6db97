/**
 * `redeem --out DIR` keeps its files as it goes: every change to a key is in
 * DIR (results-dir.ts: written, flushed to the disk, renamed into place)
 * before the run goes on, so a closed terminal, `kill -9` or a power cut
 * loses nothing Steam had answered. A key is written as "unknown" the moment
 * it is handed to Steam, and its answer replaces that: if the run dies while
 * the key is with Steam, the next run knows the key may have been activated
 * and does not send it again unless asked (--retry-unknown).
 *
 * The listener that calls sent()/settle() runs inside the queue's own step
 * (lib/steam/queue.ts emits the key's event before it sends the key, and
 * after its answer before it sends the next), and the writes are synchronous:
 * nothing reaches Steam before the record that says so is on the disk.
 *
 * Each change rewrites the whole directory: simple, and every file is always
 * whole and current. It costs time in proportion to the keys DIR holds —
 * about 2 ms for 40 keys and 20 ms for 5,000 on an ext4 SSD, twice per key
 * (sent, answered) — small against the seconds between two keys.
 *
 * Which earlier answers are final is lib/steam/results.ts's rule, through
 * results-dir.ts's isSettled — the same one the page uses.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { isSettled, loadResults, recordOf, writeResults, type KeyRecord } from './results-dir.js';

/** The message of a key sent and not answered yet: what a run that died then leaves on the disk. */
export const SENT_NO_ANSWER = 'Sent to Steam, and the run ended before Steam answered: it may have been activated — check your library.';

export class Journal {
  readonly dir: string | undefined;
  readonly #records: Map<string, KeyRecord>;
  /** What was known of a key before sent() marked it, for withdraw(). */
  readonly #beforeSent = new Map<string, KeyRecord | undefined>();

  private constructor(dir: string | undefined, records: Map<string, KeyRecord>) {
    this.dir = dir;
    this.#records = records;
  }

  /**
   * DIR's records (none yet if it has no results.json); without a DIR a
   * journal in memory only. Throws with a clear message on a damaged file.
   */
  static open(dir: string | undefined): Journal {
    return new Journal(dir, dir === undefined ? new Map() : loadResults(dir));
  }

  /** Makes DIR and checks it can be written, before anything is sent. Throws if not. */
  prepare(): void {
    if (this.dir === undefined) return;
    mkdirSync(this.dir, { recursive: true });
    accessSync(this.dir, constants.W_OK);
  }

  get(key: string): KeyRecord | undefined {
    return this.#records.get(key);
  }

  /** Every key ever recorded in DIR, in the order first seen. */
  records(): KeyRecord[] {
    return [...this.#records.values()];
  }

  /** `key` goes to Steam now: until its answer is settled, it may have been activated. */
  sent(key: string, account: string, at: Date): void {
    this.#beforeSent.set(key, this.#records.get(key));
    const record = recordOf({ n: 0, key, state: 'redeeming' }, account, at, at);
    this.#records.set(key, { ...record, message: SENT_NO_ANSWER });
    this.save();
  }

  /** The key did not reach Steam after all (the session found itself signed out): back to what was known before. */
  withdraw(key: string): void {
    if (!this.#beforeSent.has(key)) return;
    const before = this.#beforeSent.get(key);
    this.#beforeSent.delete(key);
    if (before) this.#records.set(key, before);
    else this.#records.delete(key);
    this.save();
  }

  /** What came of a key (an answer, no answer, abandoned): written before this returns. */
  settle(record: KeyRecord): void {
    this.#beforeSent.delete(record.key);
    this.#records.set(record.key, record);
    this.save();
  }

  /**
   * Keys this run took on and never sent. A key DIR knew already keeps its
   * record: not sending it taught nothing new (an "unknown" must stay unknown).
   */
  notSent(keys: readonly string[], at: Date): void {
    let changed = false;
    for (const key of keys) {
      if (this.#records.has(key)) continue;
      this.#records.set(key, recordOf({ n: 0, key, state: 'cancelled' }, '', at));
      changed = true;
    }
    if (changed) this.save();
  }

  /** Writes every file now (nothing without DIR). Throws if the disk refuses. */
  save(): void {
    if (this.dir !== undefined) writeResults(this.dir, this.#records.values(), new Date());
  }
}

/** What a run does with each key of its input, given what DIR knows of them. */
export interface Resume {
  /** To send now, in input order. */
  toSend: string[];
  /** Settled by an earlier run: Steam would answer the same (results.ts's rule). */
  settled: string[];
  /** Sent by an earlier run with no answer known: may have been activated. Not sent unless retryUnknown. */
  unknown: KeyRecord[];
}

export function planResume(keys: readonly string[], journal: Journal, account: string, retryUnknown: boolean): Resume {
  const plan: Resume = { toSend: [], settled: [], unknown: [] };
  for (const key of keys) {
    const record = journal.get(key);
    if (record && isSettled(record, account)) plan.settled.push(key);
    else if (record?.status === 'unknown' && !retryUnknown) plan.unknown.push(record);
    else plan.toSend.push(key);
  }
  return plan;
}
