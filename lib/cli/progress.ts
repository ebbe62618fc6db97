/**
 * What `steam-key redeem` shows while it runs: on a terminal, a progress bar
 * on the last line (done / total, the key with Steam, elapsed, ETA, the
 * cooldown countdown) with each finished key printed above it; otherwise one
 * plain line per key, for logs and pipes. The formatting is pure; the two
 * views only decide where the text goes.
 */
import type { KeyRecord, RecordStatus } from './results-dir.js';

export interface ProgressState {
  /** Keys Steam has answered (a key taken back before it was sent is not one). */
  done: number;
  total: number;
  /** The key with Steam, or next in line. */
  current?: string;
  startedAt: number;
  now: number;
  /** When the current rate-limit cooldown began and when sending resumes (epoch ms). */
  cooldownSince?: number;
  cooldownUntil?: number;
  /** Time spent in earlier cooldowns, left out of the per-key average. */
  cooldownSpentMs: number;
  /** Ctrl-C was pressed (or the terminal closed): finishing the key with Steam. */
  stopping?: boolean;
  /** While stopping: how many keys will not be sent. */
  notSent?: number;
}

/**
 * 65_000 → "1m05s", 3_600_000 → "1h00m00s", 4_000 → "4s". Rounded up (a
 * countdown must not reach 0 early), or down for time already spent.
 */
export function formatClock(ms: number, roundDown = false): string {
  const s = Math.max(0, (roundDown ? Math.floor : Math.ceil)(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(sec)}s`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}

/** Time left: the average time per key so far (cooldowns aside) times the keys left, plus any cooldown left. */
export function etaMs(state: ProgressState): number | undefined {
  if (state.done === 0) return undefined;
  const cooldownLeft = state.cooldownUntil === undefined ? 0 : Math.max(0, state.cooldownUntil - state.now);
  const inCooldown = state.cooldownSince === undefined ? 0 : Math.max(0, state.now - state.cooldownSince);
  const working = Math.max(0, state.now - state.startedAt - state.cooldownSpentMs - inCooldown);
  return (working / state.done) * (state.total - state.done) + cooldownLeft;
}

/** `[#######-------]  7/20  ABCDE-FGHIJ-KLMNO  elapsed 1m05s  ETA 2m10s`, cut to `width` columns. */
export function formatBar(state: ProgressState, width: number): string {
  const parts = [`${state.done}/${state.total}`];
  if (state.cooldownUntil !== undefined && state.cooldownUntil > state.now) {
    parts.push(`rate-limited by Steam: next key in ${formatClock(state.cooldownUntil - state.now)}`);
  } else if (state.current) parts.push(state.current);
  parts.push(`elapsed ${formatClock(state.now - state.startedAt, true)}`);
  const eta = state.stopping ? undefined : etaMs(state);
  if (eta !== undefined) parts.push(`ETA ${formatClock(eta)}`);
  if (state.stopping) {
    const notSent = state.notSent ? `, ${state.notSent} not to be sent` : '';
    parts.push(`stopping${notSent} (Ctrl-C again to abandon)`);
  }
  // The bar takes what the words leave (10 to 30 columns), so a long key does not push the ETA off the line.
  const words = parts.join('  ');
  const barWidth = Math.max(10, Math.min(30, width - 1 - words.length - 4));
  const filled = state.total === 0 ? barWidth : Math.round((state.done / state.total) * barWidth);
  const line = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]  ${words}`;
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) : line;
}

/** `[3/40] AAAAA-BBBBB-CCCCC  activated        Activated: Some Game` */
export function formatKeyLine(record: KeyRecord, n: number, total: number): string {
  const names = record.packages.map((p) => p.name).join(', ');
  const what = record.status === 'activated' && names ? `Activated: ${names}` : record.message;
  return `[${n}/${total}] ${record.key}  ${record.status.padEnd(15)}  ${what}`;
}

/** The order statuses are listed in: good news first, then what may still be of use, then the dead. */
const ORDER: readonly RecordStatus[] = [
  'activated',
  'already-owned',
  'region-locked',
  'needs-base-game',
  'wallet-code',
  'rate-limited',
  'failed',
  'unknown',
  'not-sent',
  'invalid-key',
  'key-used',
];

/**
 * A table of how many keys ended with each status. `earlier` counts keys
 * settled by an earlier run, `unknownBefore` keys an earlier run got no answer
 * for, held back (both not sent again).
 */
export function formatSummary(records: readonly KeyRecord[], earlier: number, unknownBefore = 0): string {
  const counts = new Map<RecordStatus, number>();
  for (const r of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const rows = ORDER.filter((s) => counts.has(s)).map((s) => [s, counts.get(s)!] as const);
  const lines = ['', 'status            keys', ...rows.map(([s, n]) => `${s.padEnd(16)} ${String(n).padStart(5)}`)];
  lines.push(`${'total'.padEnd(16)} ${String(records.length).padStart(5)}`);
  if (earlier > 0) lines.push(`(${earlier} of them settled by an earlier run and not sent again)`);
  if (unknownBefore > 0) {
    const them = unknownBefore === 1 ? '1 of them' : `${unknownBefore} of them`;
    lines.push(`(${them} unknown since an earlier run: check your library; --retry-unknown sends ${unknownBefore === 1 ? 'it' : 'them'} again)`);
  }
  return lines.join('\n');
}

/**
 * The keys a run never sent, for running again on just them: with no --out
 * this is the only record of which they are, and sending the others again
 * would count against Steam's limit of failed activations.
 */
export function formatNotSent(keys: readonly string[], out: string | undefined, unsaved = 'no --out'): string {
  const were = keys.length === 1 ? '1 key was' : `${keys.length} keys were`;
  if (out !== undefined) return `\n${were} not sent: run the same command again to send them (the keys settled in ${out} are not sent again).`;
  return `\n${were} not sent, and nothing was saved (${unsaved}). To send just them, run again on these lines:\n${keys.join('\n')}`;
}

export interface ProgressView {
  /** The bar's state changed. */
  update(state: ProgressState): void;
  /** A key has its outcome. */
  keyDone(line: string): void;
  /** A message worth a line of its own (cooldown started, stopping, ...). */
  note(line: string): void;
  /** Clears the bar for good. */
  stop(): void;
}

/** The bar, redrawn in place on the last line (and every second, for the clocks). */
export function ttyView(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressView {
  let state: ProgressState | null = null;
  const draw = (): void => {
    if (!state) return;
    stream.write(`\r\x1b[2K${formatBar({ ...state, now: now() }, stream.columns || 80)}`);
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  const above = (line: string): void => {
    stream.write(`\r\x1b[2K${line}\n`);
    draw();
  };
  return {
    update(next) {
      state = next;
      draw();
    },
    keyDone: above,
    note: above,
    stop() {
      clearInterval(timer);
      if (state) stream.write('\r\x1b[2K');
      state = null;
    },
  };
}

/** One line per key and per note; nothing redrawn. */
export function plainView(write: (line: string) => void): ProgressView {
  return {
    update() {},
    keyDone: write,
    note: write,
    stop() {},
  };
}
