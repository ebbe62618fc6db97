/**
 * `steam-key redeem --out DIR`: what became of every key, kept in a
 * directory that a later run reads to pick up where an interrupted one
 * stopped.
 *
 *   activated.txt      keys Steam activated
 *   not-activated.txt  keys that were not activated and may still be of use: owned, region,
 *                      needs the base game, wallet code, other refusals, rate-limited, not
 *                      sent — and "unknown" (no answer: may have been activated, check first)
 *   invalid.txt        keys that no one can activate: invalid, already used
 *   results.json       every key with its status, Steam's codes, packages and account
 *
 * Each .txt line is `KEY<TAB>status<TAB>what Steam said`, so a file can be fed back to
 * `steam-key redeem` as it is. Every file is written to a temporary name,
 * flushed to the disk (fsync) and renamed over the old one, and the directory
 * flushed after: an interruption or a power cut leaves the old file or the
 * new one, never half of one. journal.ts decides when they are written.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyEntry } from '../steam/queue.js';
import { FINAL_FOR_ACCOUNT_STATUSES, FINAL_STATUSES, type KeyStatus, type Package } from '../steam/results.js';

/** A key's outcome: Steam's status, or 'not-sent' when it never reached Steam. */
export type RecordStatus = KeyStatus | 'not-sent';

export type ResultFile = 'activated' | 'not-activated' | 'invalid';

export interface KeyRecord {
  key: string;
  status: RecordStatus;
  file: ResultFile;
  /** The account the key was tried on (absent when it was never sent). */
  account?: string;
  eresult: number | null;
  detail: number | null;
  packages: Package[];
  message: string;
  /**
   * When this outcome came (ISO 8601): Steam's answer, or when the run gave up
   * waiting for one; for a key never sent, when the run ended.
   */
  at: string;
  /** When the key was sent to Steam (ISO 8601); absent if never sent. */
  sentAt?: string;
}

export interface ResultsJson {
  version: 1;
  updated: string;
  keys: KeyRecord[];
}

export const RESULT_FILES: Readonly<Record<ResultFile, string>> = Object.freeze({
  activated: 'activated.txt',
  'not-activated': 'not-activated.txt',
  invalid: 'invalid.txt',
});
export const RESULTS_JSON = 'results.json';

/** Which file a status belongs in (module comment). */
export function fileOf(status: RecordStatus): ResultFile {
  if (status === 'activated') return 'activated';
  if (status === 'invalid-key' || status === 'key-used') return 'invalid';
  return 'not-activated';
}

const FINAL: ReadonlySet<RecordStatus> = new Set(FINAL_STATUSES);
const FINAL_FOR_ACCOUNT: ReadonlySet<RecordStatus> = new Set(FINAL_FOR_ACCOUNT_STATUSES);

/**
 * Whether a later run skips this key. Keys are sent again only when the
 * answer could differ: never sent, rate-limited, unknown — or an
 * account-bound refusal (owned, region, base game) tried on another account.
 * Each needless resend counts against Steam's ~10 failed activations an hour.
 */
export function isSettled(record: KeyRecord, account: string): boolean {
  if (FINAL.has(record.status)) return true;
  return FINAL_FOR_ACCOUNT.has(record.status) && record.account?.toLowerCase() === account.toLowerCase();
}

const ABANDONED = 'Stopped while the key was with Steam: it may have been activated — check your library.';

/**
 * The record for a session entry: its answer, 'not-sent' if it has none, or —
 * still 'redeeming', abandoned — 'unknown'. `sentAt`: when it went to Steam.
 */
export function recordOf(entry: KeyEntry, account: string, at: Date, sentAt?: Date): KeyRecord {
  const result = entry.result;
  let status: RecordStatus;
  let message: string;
  if (entry.state === 'redeeming') {
    status = 'unknown'; // abandoned by a second Ctrl-C
    message = ABANDONED;
  } else if (result) {
    status = result.status;
    message = result.message.en;
  } else {
    status = 'not-sent';
    message = 'Not sent to Steam.';
  }
  const sent = status !== 'not-sent';
  return {
    key: entry.key,
    status,
    file: fileOf(status),
    ...(sent ? { account } : {}),
    eresult: entry.state === 'redeeming' ? null : (result?.eresult ?? null),
    detail: entry.state === 'redeeming' ? null : (result?.detail ?? null),
    packages: entry.state === 'redeeming' ? [] : (result?.packages ?? []),
    message,
    at: at.toISOString(),
    ...(sent && sentAt ? { sentAt: sentAt.toISOString() } : {}),
  };
}

/** Reads DIR/results.json; an absent file is an empty record. Throws with a clear message on a damaged one. */
export function loadResults(dir: string): Map<string, KeyRecord> {
  const path = join(dir, RESULTS_JSON);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; move it away to start afresh`);
  }
  if (!isResultsJson(parsed)) throw new Error(`${path} is not a steam-key results file; move it away to start afresh`);
  return new Map(parsed.keys.map((record) => [record.key, { ...record, file: fileOf(record.status) }]));
}

function isResultsJson(value: unknown): value is ResultsJson {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { version?: unknown; keys?: unknown };
  return v.version === 1 && Array.isArray(v.keys) && v.keys.every(isKeyRecord);
}

/** The fields this file reads back (writeResults, isSettled): checked now, so a damaged record cannot fail the run after its keys were sent. */
function isKeyRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<Record<keyof KeyRecord, unknown>>;
  return (
    typeof r.key === 'string' &&
    typeof r.status === 'string' &&
    typeof r.message === 'string' &&
    (r.account === undefined || typeof r.account === 'string') &&
    (r.sentAt === undefined || typeof r.sentAt === 'string') &&
    Array.isArray(r.packages) &&
    r.packages.every((p: unknown) => typeof p === 'object' && p !== null && typeof (p as Package).name === 'string')
  );
}

/**
 * Writes results.json and the three lists, each atomically and durably; returns
 * once all of them are on the disk. results.json first: it is what a later run
 * reads back, the lists are made from it.
 */
export function writeResults(dir: string, records: Iterable<KeyRecord>, now: Date): void {
  mkdirSync(dir, { recursive: true });
  const all = [...records];
  const json: ResultsJson = { version: 1, updated: now.toISOString(), keys: all };
  writeDurably(join(dir, RESULTS_JSON), `${JSON.stringify(json, null, 2)}\n`);
  for (const [file, name] of Object.entries(RESULT_FILES) as [ResultFile, string][]) {
    const lines = all.filter((r) => r.file === file).map((r) => `${r.key}\t${r.status}\t${describe(r)}\n`);
    writeDurably(join(dir, name), lines.join(''));
  }
  syncDirectory(dir);
}

function describe(record: KeyRecord): string {
  const names = record.packages.map((p) => p.name).join(', ');
  return record.status === 'activated' && names ? names : record.message;
}

/**
 * rename(2) replaces the target in one step on the same file system; the
 * fsync before it puts the new bytes on the disk first, so that after a power
 * cut the name cannot point at a file whose data never got there.
 */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeFileSync(fd, text); // given an fd, it writes until every byte is out
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The renames themselves are entries of the directory: on the disk once it is flushed. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
