/**
 * `steam-key redeem [FILE|-]`: the redemption session of the page, driven
 * from a shell. The same RedeemSession does the work — sign-in, Steam Guard,
 * one key at a time, pause, rate-limit cooldown, "unknown" on no answer —
 * and this file only asks questions on the terminal, shows progress, and
 * keeps the results in --out DIR so a later run can pick up where this one
 * stopped.
 *
 * Ctrl-C: the first stops sending and waits (a short while) for the key
 * already with Steam; the second abandons it (its result is then unknown).
 * Either way what is known is written and the session signs out of Steam.
 */
import { readFileSync } from 'node:fs';
import { DEMO_PASSWORD } from '../steam/demo-port.js';
import { extractKeys } from '../steam/keys.js';
import type { SteamPortFactory } from '../steam/port.js';
import type { KeyEntry } from '../steam/queue.js';
import { DEFAULT_MAX_KEYS, DEFAULT_SESSION_TIMERS, RedeemSession, type SessionEvent, type SessionTimers } from '../steam/session.js';
import { durationFlag, formatDuration, parseFlags, UsageError } from './args.js';
import { ignoreClosedPipe } from './pipe.js';
import { formatClock, formatKeyLine, formatNotSent, formatSummary, plainView, ttyView, type ProgressState, type ProgressView } from './progress.js';
import { isSettled, loadResults, RESULT_FILES, RESULTS_JSON, recordOf, writeResults, type KeyRecord } from './results-dir.js';
import { checkProxy, DEMO_DEFAULTS, type RealSteamFactory } from './serve.js';
import { startDemoSteam } from './demo-steam.js';
import { SignInFailed, signInOnTerminal, type TerminalSignIn } from './sign-in.js';
import { openTerminal, PromptInterrupted, type Terminal } from './terminal.js';

const HOUR = 3_600_000;
/** How long the first Ctrl-C waits for the key with Steam (at most the redeem timeout). */
const STOP_WAIT_MS = 10_000;

export const EXIT = { ok: 0, notAllActivated: 1, usage: 2, loginFailed: 3, interrupted: 130 } as const;

export const REDEEM_USAGE = `Usage: steam-key redeem [FILE|-] [--account NAME | --qr] [--out DIR] [--demo]
                        [--steam-proxy URL] [--pause D] [--cooldown D] [--redeem-timeout D]

Redeems the Steam keys found in FILE — any text: an e-mail, a bundle page, a
list — or in standard input when FILE is '-' or absent. Asks for the password
and the Steam Guard code on the terminal (/dev/tty), without echo; when Steam
offers it, an approval in the Steam app does instead of the code.

  --account NAME        the Steam account name to sign in with (asked when absent)
  --qr                  sign in with a QR code drawn in the terminal, scanned and
                        approved in the Steam app: no password (with --account,
                        only that account's approval is accepted)
  --out DIR             write activated.txt, not-activated.txt, invalid.txt and
                        results.json to DIR; a later run with the same DIR skips
                        the keys already settled there (resume)
  --demo                a simulated Steam in this process (README, "Demo mode")
  --steam-proxy URL     HTTP proxy to reach Steam through (default: $STEAM_HTTP_PROXY)
  --pause D             pause between two keys (default ${formatDuration(DEFAULT_SESSION_TIMERS.pauseMs)}; demo ${formatDuration(DEMO_DEFAULTS.pauseMs)})
  --cooldown D          send nothing this long after Steam rate-limits activations
                        (default ${formatDuration(DEFAULT_SESSION_TIMERS.cooldownMs)}; demo ${formatDuration(DEMO_DEFAULTS.cooldownMs)})
  --redeem-timeout D    stop waiting for Steam's answer to one key; the key is then
                        "unknown" (default ${formatDuration(DEFAULT_SESSION_TIMERS.redeemTimeoutMs)})
  -h, --help            show this help

Durations take a unit: 500ms, 5s, 60m, 1h. The password is read from
$STEAM_PASSWORD when it is set, else asked on the terminal (README, "Terminal
mode"); never from a flag.
Ctrl-C once: stop after the key with Steam; twice: abandon that key too.
Exit status: 0 every key activated or already owned, 1 some key not,
2 usage error, 3 sign-in failed, 130 interrupted before signing in.`;

export interface RedeemConfig {
  /** A path, or '-' for standard input. */
  file: string;
  account?: string;
  out?: string;
  demo: boolean;
  /** Sign in with a QR code (sign-in.ts) instead of the password. */
  qr: boolean;
  steamProxy?: string;
  timers: SessionTimers;
}

/** Parses redeem's flags (and STEAM_HTTP_PROXY). Throws UsageError; returns null for --help. */
export function parseRedeemArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): RedeemConfig | null {
  const { values, positionals } = parseFlags(
    argv,
    {
      account: { type: 'string' },
      out: { type: 'string' },
      demo: { type: 'boolean' },
      qr: { type: 'boolean' },
      'steam-proxy': { type: 'string' },
      pause: { type: 'string' },
      cooldown: { type: 'string' },
      'redeem-timeout': { type: 'string' },
      password: { type: 'string' }, // only to refuse it with a reason
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return null;
  if (values.password !== undefined) {
    throw new UsageError('there is no --password flag: a password in the command line shows in `ps`. Type it when asked, or set STEAM_PASSWORD');
  }
  if (positionals.length > 1) throw new UsageError(`one FILE at most, got ${positionals.length}: ${positionals.join(' ')}`);
  const demo = values.demo === true;
  if (demo && values['steam-proxy'] !== undefined) {
    throw new UsageError('--steam-proxy has no effect with --demo: the demo Steam runs in this process');
  }
  const account = values.account?.trim();
  if (values.account !== undefined && !account) throw new UsageError('--account must not be empty');
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out must name a directory');
  const defaults = demo ? DEMO_DEFAULTS : DEFAULT_SESSION_TIMERS;
  const config: RedeemConfig = {
    file: positionals[0] ?? '-',
    demo,
    qr: values.qr === true,
    timers: {
      pauseMs: durationFlag('pause', values.pause, 0, HOUR) ?? defaults.pauseMs,
      // At least a second: a zero cooldown with a zero pause would retry a rate-limited key in a loop.
      cooldownMs: durationFlag('cooldown', values.cooldown, 1_000, 24 * HOUR) ?? defaults.cooldownMs,
      redeemTimeoutMs: durationFlag('redeem-timeout', values['redeem-timeout'], 1_000, HOUR) ?? defaults.redeemTimeoutMs,
    },
  };
  if (account) config.account = account;
  if (values.out !== undefined) config.out = values.out;
  if (!demo && values['steam-proxy'] !== undefined) config.steamProxy = checkProxy('steam-proxy', values['steam-proxy']);
  else if (!demo && env.STEAM_HTTP_PROXY) config.steamProxy = checkProxy({ env: 'STEAM_HTTP_PROXY' }, env.STEAM_HTTP_PROXY);
  return config;
}

export interface RedeemDeps {
  /**
   * Loads the real Steam (bin/ passes lib/steam/steam-user-port.ts), only once
   * there is something to send. Without it only --demo runs.
   */
  realSteam?: () => Promise<RealSteamFactory>;
  env?: NodeJS.ProcessEnv;
}

/** A message for stderr, with the exit status it ends the run with. */
class Failure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export async function runRedeem(argv: string[], deps: RedeemDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const config = parseRedeemArgs(argv, env);
  if (!config) {
    process.stdout.write(`${REDEEM_USAGE}\n`);
    return EXIT.ok;
  }
  ignoreClosedPipe(process.stdout); // the key with Steam and the --out files still matter
  const terminal = openTerminal();
  try {
    return await redeem(config, deps, env, terminal);
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    if (error.message) process.stderr.write(`steam-key redeem: ${error.message}\n`);
    return error.code;
  } finally {
    terminal?.close();
  }
}

async function redeem(config: RedeemConfig, deps: RedeemDeps, env: NodeJS.ProcessEnv, terminal: Terminal | null): Promise<number> {
  const text = await readInput(config.file);
  const found = extractKeys(text);
  const source = config.file === '-' ? 'standard input' : config.file;
  if (found.keys.length === 0) throw new Failure(`no Steam keys found in ${source}`, EXIT.usage);

  let earlier = new Map<string, KeyRecord>();
  if (config.out !== undefined) {
    try {
      earlier = loadResults(config.out);
    } catch (error) {
      throw new Failure((error as Error).message, EXIT.usage);
    }
  }
  // A QR code signs in whichever account approves it: known only then (records and resume use '' until).
  const account = config.qr ? (config.account ?? '') : (config.account ?? (await askAccount(terminal)));
  const toSend = found.keys.filter((key) => {
    const record = earlier.get(key);
    return !(record && isSettled(record, account));
  });
  if (toSend.length > DEFAULT_MAX_KEYS) throw new Failure(`at most ${DEFAULT_MAX_KEYS} keys per run; ${source} has ${toSend.length}`, EXIT.usage);

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const ignored = found.dropped.length;
  out(
    `${found.keys.length} key${plural(found.keys.length)} found in ${source}` +
      (ignored > 0 ? ` (${ignored} ignored: repeated or placeholders such as XXXXX-XXXXX-XXXXX)` : '') +
      (toSend.length < found.keys.length ? `; ${found.keys.length - toSend.length} already settled in ${config.out}, not sent again` : '') +
      '.',
  );

  let results = new Map<string, KeyRecord>();
  if (toSend.length > 0) {
    const signIn: TerminalSignIn = config.qr ? { method: 'qr' } : { method: 'password', accountName: account, password: await askPassword(config, env, terminal) };
    results = await runSession(config, deps, terminal, signIn, toSend, out);
  }

  // Everything known: this run's outcomes over the earlier ones, earlier keys not in this input kept.
  // A key this run did not send learnt nothing new: an earlier "unknown" (may have been activated) must stay.
  for (const [key, record] of results) if (record.status !== 'not-sent' || !earlier.has(key)) earlier.set(key, record);
  const mine = found.keys.map((key) => earlier.get(key)!);
  if (config.out !== undefined) writeResults(config.out, earlier.values(), new Date());
  out(formatSummary(mine, found.keys.length - toSend.length));
  if (config.out !== undefined) {
    out(`Written to ${config.out}: ${Object.values(RESULT_FILES).join(', ')}, ${RESULTS_JSON}`);
  }
  const notSent = mine.filter((r) => r.status === 'not-sent').map((r) => r.key);
  if (notSent.length > 0) out(formatNotSent(notSent, config.out));
  const allGood = mine.every((r) => r.status === 'activated' || r.status === 'already-owned');
  return allGood ? EXIT.ok : EXIT.notAllActivated;
}

/**
 * The text of a keys file or of stdin: UTF-8, or UTF-16 when it starts with
 * that byte-order mark — what Windows Notepad saves as "Unicode" and what
 * Windows PowerShell 5's `>` writes; read as UTF-8 it has no keys at all.
 */
export function decodeInput(bytes: Buffer): string {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  return new TextDecoder(encoding).decode(bytes); // each drops its byte-order mark
}

async function readInput(file: string): Promise<string> {
  try {
    if (file !== '-') return decodeInput(readFileSync(file));
    if (process.stdin.isTTY) process.stderr.write('Paste the text with the keys, then press Ctrl-D on an empty line:\n');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return decodeInput(Buffer.concat(chunks));
  } catch (error) {
    throw new Failure(`cannot read ${file === '-' ? 'standard input' : file}: ${(error as Error).message}`, EXIT.usage);
  }
}

async function askAccount(terminal: Terminal | null): Promise<string> {
  if (!terminal) throw new Failure('--account NAME is needed when there is no terminal to ask on', EXIT.usage);
  const name = (await prompt(terminal, 'Steam account name: ', true)).trim();
  if (!name) throw new Failure('no account name given', EXIT.usage);
  return name;
}

/**
 * The password: typed on the terminal, or from STEAM_PASSWORD for scripts
 * (seen by processes of the same user, never by `ps` like a flag would be).
 */
async function askPassword(config: RedeemConfig, env: NodeJS.ProcessEnv, terminal: Terminal | null): Promise<string> {
  const fromEnv = env.STEAM_PASSWORD;
  if (fromEnv) {
    delete env.STEAM_PASSWORD; // nothing started later inherits it
    return fromEnv;
  }
  if (!terminal) {
    throw new Failure('no terminal to ask for the password on: run it in a terminal, or set STEAM_PASSWORD (README, "Terminal mode")', EXIT.usage);
  }
  const hint = config.demo ? ` (demo: ${DEMO_PASSWORD})` : '';
  const password = await prompt(terminal, `Password${hint}: `, false);
  if (!password) throw new Failure('no password given', EXIT.usage);
  return password;
}

async function prompt(terminal: Terminal, question: string, echo: boolean): Promise<string> {
  try {
    return await terminal.prompt(question, { echo });
  } catch (error) {
    if (error instanceof PromptInterrupted) throw new Failure('interrupted', EXIT.interrupted);
    throw error;
  }
}

/** The Steam to sign in to: the real one, or the demo's (with its Steam app page, demo-steam.ts). */
async function steamFor(config: RedeemConfig, deps: RedeemDeps): Promise<{ factory: SteamPortFactory; demoAppUrl?: string; close(): Promise<void> }> {
  if (config.demo) return startDemoSteam().then(({ factory, appUrl, close }) => ({ factory, demoAppUrl: appUrl, close }));
  if (!deps.realSteam) throw new Failure('this build has no real Steam adapter; try --demo', 1);
  const realSteam = await deps.realSteam();
  const { redeemTimeoutMs } = config.timers;
  const factory = await realSteam(config.steamProxy === undefined ? { redeemTimeoutMs } : { httpProxy: config.steamProxy, redeemTimeoutMs });
  return { factory, close: async () => {} };
}

/** Signs in, redeems `keys`, signs out. Resolves with every key's record. */
async function runSession(
  config: RedeemConfig,
  deps: RedeemDeps,
  terminal: Terminal | null,
  signIn: TerminalSignIn,
  keys: string[],
  out: (line: string) => void,
): Promise<Map<string, KeyRecord>> {
  const steam = await steamFor(config, deps);
  const session = new RedeemSession({ portFactory: steam.factory, timers: config.timers });
  const interrupts = new Interrupts();
  try {
    const account = await signInOrFail(config, session, terminal, signIn, interrupts, steam.demoAppUrl);
    const view: ProgressView = process.stdout.isTTY ? ttyView(process.stdout) : plainView(out);
    const run = new Run(session, keys, view, config.timers);
    interrupts.onInterrupt = (count) => run.interrupt(count);
    const entries = await run.done;
    view.stop();
    const now = new Date();
    return new Map(entries.map((entry) => [entry.key, recordOf(entry, account, now)]));
  } finally {
    // Signs out of Steam; bounded, so a Steam that never answers cannot hold the exit. Ctrl-C meanwhile
    // ends this wait, not the process: the results are written after it.
    const interrupted = new Promise<void>((resolve) => (interrupts.onInterrupt = () => resolve()));
    await Promise.race([session.close('logged-out'), interrupted, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    interrupts.dispose();
    await steam.close();
    // steam-session (under steam-user) keeps a 2 s timer after signing out. Nothing is left to do
    // by the time this fires (after the results are written and bin has set process.exitCode;
    // stdout and files are written synchronously): do not make the user wait for it.
    setImmediate(() => process.exit()).unref();
  }
}

/** SIGINT and SIGTERM while the session lives: counted, handed to whoever listens. */
class Interrupts {
  count = 0;
  onInterrupt: (count: number) => void = () => {};
  readonly #onSigint = (): void => this.#fire(1);
  readonly #onSigterm = (): void => this.#fire(2); // a SIGTERM does not wait for the key with Steam

  constructor() {
    process.on('SIGINT', this.#onSigint);
    process.on('SIGTERM', this.#onSigterm);
  }

  #fire(weight: number): void {
    this.count += weight;
    this.onInterrupt(this.count);
  }

  dispose(): void {
    process.off('SIGINT', this.#onSigint);
    process.off('SIGTERM', this.#onSigterm);
  }
}

/**
 * Signs in on the terminal (sign-in.ts); resolves with the account name the
 * results are recorded under. With --qr and --account, another account's
 * approval is refused: --out's resume chose the keys for that account.
 */
async function signInOrFail(
  config: RedeemConfig,
  session: RedeemSession,
  terminal: Terminal | null,
  signIn: TerminalSignIn,
  interrupts: Interrupts,
  demoAppUrl: string | undefined,
): Promise<string> {
  let accountName: string;
  try {
    accountName = (await signInOnTerminal(session, terminal, signIn, interrupts, demoAppUrl === undefined ? {} : { demoAppUrl })).accountName;
  } catch (error) {
    if (error instanceof SignInFailed) throw new Failure(error.message, error.interrupted ? EXIT.interrupted : EXIT.loginFailed);
    throw error;
  }
  if (signIn.method === 'qr') {
    process.stderr.write(`Signed in as ${accountName}.\n`);
    if (config.account !== undefined && config.account.toLowerCase() !== accountName.toLowerCase()) {
      throw new Failure(`the QR code was approved for ${accountName}, not ${config.account} (--account): signed out again`, EXIT.loginFailed);
    }
    return accountName;
  }
  return signIn.accountName;
}

/** One batch through the signed-in session, watched until every key is settled. */
class Run {
  readonly done: Promise<KeyEntry[]>;
  readonly #session: RedeemSession;
  readonly #keys: readonly string[];
  readonly #view: ProgressView;
  readonly #timers: SessionTimers;
  readonly #entries = new Map<string, KeyEntry>();
  readonly #state: ProgressState;
  #finish!: () => void;
  #stopping = false;
  #ended = false;
  /** The key Steam rate-limited, named in the cooldown note. */
  #limited: string | null = null;
  #unsubscribe: () => void;

  constructor(session: RedeemSession, keys: readonly string[], view: ProgressView, timers: SessionTimers) {
    this.#session = session;
    this.#keys = keys;
    this.#view = view;
    this.#timers = timers;
    this.#state = { done: 0, total: keys.length, startedAt: Date.now(), now: Date.now(), cooldownSpentMs: 0 };
    this.done = new Promise<void>((resolve) => (this.#finish = resolve)).then(() => this.#keys.map((key) => this.#entries.get(key)!));
    this.#unsubscribe = session.subscribe((event) => this.#onEvent(event));
    view.note(`Signed in. Sending ${keys.length} key${plural(keys.length)}, one at a time, ${formatDuration(timers.pauseMs)} apart.`);
    const { added } = session.addKeys(keys.join('\n'));
    for (const entry of added) this.#entries.set(entry.key, entry);
    this.#redraw();
  }

  /** Ctrl-C: the first stops sending and waits a little for the key with Steam; the next abandons it. */
  interrupt(count: number): void {
    if (this.#ended) return;
    if (count >= 2) return this.#abandon();
    if (this.#stopping) return;
    this.#stopping = true;
    const inFlight = [...this.#entries.values()].find((e) => e.state === 'redeeming');
    const wait = Math.min(STOP_WAIT_MS, this.#timers.redeemTimeoutMs);
    this.#view.note(
      inFlight
        ? `Stopping: no more keys are sent. Waiting up to ${formatClock(wait)} for ${inFlight.key} (Ctrl-C again to abandon it).`
        : 'Stopping: no more keys are sent.',
    );
    this.#session.cancel();
    setTimeout(() => this.#abandon(), wait).unref();
    this.#check();
  }

  #abandon(): void {
    if (this.#ended) return;
    const inFlight = [...this.#entries.values()].find((e) => e.state === 'redeeming');
    if (inFlight) this.#view.note(`Abandoned ${inFlight.key}: it may have been activated — check your library.`);
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unsubscribe();
    this.#finish();
  }

  #onEvent(event: SessionEvent): void {
    if (event.type === 'closed') return this.#end();
    if (event.type === 'key') this.#onKey(event.entry);
    else if (event.type === 'queue') this.#onQueue(event);
    this.#redraw();
    this.#check();
  }

  #onKey(entry: KeyEntry): void {
    const before = this.#entries.get(entry.key);
    this.#entries.set(entry.key, entry);
    if (entry.state === 'redeeming') this.#state.current = entry.key;
    if (entry.state === 'waiting' && entry.result?.status === 'rate-limited') this.#limited = entry.key;
    const settled = entry.state === 'done' || entry.state === 'cancelled';
    const wasSettled = before !== undefined && (before.state === 'done' || before.state === 'cancelled');
    if (!settled || wasSettled) return;
    this.#state.done += 1;
    // Keys cancelled before they reached Steam are counted, not listed one by one: the summary has them.
    if (entry.state === 'done' || entry.result) {
      this.#view.keyDone(formatKeyLine(recordOf(entry, '', new Date()), entry.n, this.#state.total));
    }
  }

  #onQueue(event: Extract<SessionEvent, { type: 'queue' }>): void {
    const now = Date.now();
    if (event.state === 'cooldown' && event.resumesAt !== undefined) {
      if (this.#state.cooldownSince === undefined) {
        this.#state.cooldownSince = now;
        this.#state.cooldownUntil = event.resumesAt;
        const at = new Date(event.resumesAt).toLocaleTimeString();
        const who = this.#limited ? `${this.#limited} rate-limited. ` : '';
        this.#view.note(`${who}Steam is limiting activations: the waiting keys were not used. Sending resumes in ${formatClock(event.resumesAt - now)} (at ${at}).`);
      }
      return;
    }
    if (this.#state.cooldownSince !== undefined) {
      this.#state.cooldownSpentMs += now - this.#state.cooldownSince;
      delete this.#state.cooldownSince;
      delete this.#state.cooldownUntil;
    }
    if (event.state === 'stalled' && !this.#stopping) {
      this.#stopping = true;
      this.#view.note(
        event.stalledBy === 'unknown-result'
          ? 'The last key got no answer: check your library. The remaining keys are not sent; run again to send them.'
          : 'Steam closed the connection. The remaining keys are not sent; run again to send them.',
      );
      // Not from inside the session's own event: cancel() emits events of its own.
      queueMicrotask(() => {
        if (!this.#session.closed) this.#session.cancel();
        this.#check();
      });
    }
  }

  #redraw(): void {
    const state: ProgressState = { ...this.#state, now: Date.now() };
    if (this.#stopping) state.stopping = true;
    this.#view.update(state);
  }

  /** Ends the run once no key waits and none is with Steam. */
  #check(): void {
    if (this.#ended) return;
    const open = [...this.#entries.values()].some((e) => e.state === 'queued' || e.state === 'waiting' || e.state === 'redeeming');
    if (!open) this.#end();
  }
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
