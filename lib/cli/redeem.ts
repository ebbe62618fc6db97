/**
 * `steam-key redeem [FILE|-]`: the redemption session of the page, driven
 * from a shell. The same RedeemSession does the work — sign-in, Steam Guard,
 * one key at a time, pause, rate-limit cooldown, "unknown" on no answer —
 * and this file only asks questions on the terminal, shows progress, and
 * keeps the results in --out DIR so a later run can pick up where this one
 * stopped.
 *
 * Ctrl-C (or SIGHUP: the terminal was closed): the first stops sending and
 * waits (a short while) for the key already with Steam; the second abandons
 * it (its result is then unknown). Either way what is known is written and
 * the session signs out of Steam. With --out every answer is on the disk
 * before the next key is sent (journal.ts), so even a kill -9 loses nothing.
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
import { Journal, planResume } from './journal.js';
import { RESULT_FILES, RESULTS_JSON, recordOf, type KeyRecord } from './results-dir.js';
import { checkProxy, DEMO_DEFAULTS, type RealSteamFactory } from './serve.js';
import { startDemoSteam } from './demo-steam.js';
import { SignInFailed, signInOnTerminal, type TerminalSignIn } from './sign-in.js';
import { openTerminal, PromptInterrupted, releaseClosedTerminal, stdioOnTerminal, type Terminal } from './terminal.js';

const HOUR = 3_600_000;
/** How long the first Ctrl-C waits for the key with Steam (at most the redeem timeout). */
const STOP_WAIT_MS = 10_000;

export const EXIT = { ok: 0, notAllActivated: 1, usage: 2, loginFailed: 3, interrupted: 130 } as const;

export const REDEEM_USAGE = `Usage: steam-key redeem [FILE|-] [--account NAME | --qr] [--out DIR] [--demo]
                        [--retry-unknown] [--include-digits-only]
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
                        results.json to DIR, each answer before the next key is
                        sent; a later run with the same DIR skips the keys
                        already settled there (resume)
  --retry-unknown       send again the keys in DIR that got no answer (they may
                        have been activated: check your library first)
  --include-digits-only send keys whose groups are all digits too (held back
                        as order or phone numbers unless confirmed)
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
Ctrl-C once (or closing the terminal): stop after the key with Steam;
twice: abandon that key too.
Exit status: 0 every key activated or already owned, 1 some key not,
2 usage error, 3 sign-in failed, 130 interrupted before signing in.`;

export interface RedeemConfig {
  /** A path, or '-' for standard input. */
  file: string;
  account?: string;
  out?: string;
  demo: boolean;
  /** Send the keys an earlier run got no answer for. */
  retryUnknown: boolean;
  /** Send keys of digits only without asking. */
  includeDigitsOnly: boolean;
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
      'retry-unknown': { type: 'boolean' },
      'include-digits-only': { type: 'boolean' },
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
    retryUnknown: values['retry-unknown'] === true,
    includeDigitsOnly: values['include-digits-only'] === true,
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
  // The key with Steam and the --out files still matter when the reader or the terminal goes away.
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  const onTerminal = stdioOnTerminal();
  let hungUp = false;
  const onHangUp = (): void => void (hungUp = true); // and, while the session lives, Interrupts stops the run
  process.on('SIGHUP', onHangUp);
  const terminal = openTerminal();
  try {
    return await redeem(config, deps, env, terminal);
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    if (error.message) process.stderr.write(`steam-key redeem: ${error.message}\n`);
    return error.code;
  } finally {
    terminal?.close();
    process.off('SIGHUP', onHangUp);
    if (hungUp) releaseClosedTerminal(onTerminal);
  }
}

async function redeem(config: RedeemConfig, deps: RedeemDeps, env: NodeJS.ProcessEnv, terminal: Terminal | null): Promise<number> {
  const text = await readInput(config.file);
  const source = config.file === '-' ? 'standard input' : config.file;
  const found = extractKeys(text);
  const everyKey = extractKeys(text, { includeDigitsOnly: true }).keys;
  if (everyKey.length === 0) throw new Failure(`no Steam keys found in ${source}`, EXIT.usage);

  let journal: Journal;
  try {
    journal = Journal.open(config.out);
  } catch (error) {
    throw new Failure((error as Error).message, EXIT.usage);
  }
  // A QR code signs in whichever account approves it: known only then (resume plans with --account, or '').
  const account = config.qr ? (config.account ?? '') : (config.account ?? (await askAccount(terminal)));
  // Keys of digits only are held back unless asked for — or sent by an earlier run into this DIR (confirmed then).
  const digitsOnly = found.dropped.filter((d) => d.reason === 'digits-only').map((d) => d.key);
  const held = new Set(config.includeDigitsOnly ? [] : digitsOnly.filter((key) => !wasSent(journal.get(key))));
  let keys = everyKey.filter((key) => !held.has(key));
  const plan = planResume(keys, journal, account, config.retryUnknown);

  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const ignored = found.dropped.filter((d) => d.reason !== 'digits-only').length;
  const notAgain = plan.settled.length + plan.unknown.length;
  out(
    `${keys.length} key${plural(keys.length)} found in ${source}` +
      (ignored > 0 ? ` (${ignored} ignored: repeated or placeholders such as XXXXX-XXXXX-XXXXX)` : '') +
      (notAgain > 0 ? `; ${notAgain} already in ${config.out}, not sent again` : '') +
      '.',
  );
  if (plan.unknown.length > 0) out(formatUnknownBefore(plan.unknown));
  let toSend = plan.toSend;
  let heldBack: string[] = [];
  if (held.size > 0 && (await confirmDigitsOnly([...held], terminal, out))) {
    const chosen = new Set([...toSend, ...held]);
    keys = everyKey;
    toSend = everyKey.filter((key) => chosen.has(key));
  } else heldBack = [...held];
  if (keys.length === 0) throw new Failure(`no keys to send from ${source}: the ones of digits only above were held back`, EXIT.usage);
  if (toSend.length > DEFAULT_MAX_KEYS) throw new Failure(`at most ${DEFAULT_MAX_KEYS} keys per run; ${source} has ${toSend.length}`, EXIT.usage);

  let journalError: Error | null = null;
  if (toSend.length > 0) {
    try {
      journal.prepare();
    } catch (error) {
      throw new Failure(`cannot write to ${config.out}: ${(error as Error).message}`, EXIT.usage);
    }
    const signIn: TerminalSignIn = config.qr ? { method: 'qr' } : { method: 'password', accountName: account, password: await askPassword(config, env, terminal) };
    journalError = await runSession(config, deps, terminal, signIn, toSend, journal, out);
  }

  const mine = keys.map((key) => journal.get(key)!); // every key this run took on has a record by now
  out(formatSummary(mine, plan.settled.length, plan.unknown.length));
  if (config.out !== undefined && journalError === null) {
    out(`Written to ${config.out}: ${Object.values(RESULT_FILES).join(', ')}, ${RESULTS_JSON}`);
  }
  const notSent = mine.filter((r) => r.status === 'not-sent').map((r) => r.key);
  if (notSent.length > 0) out(journalError ? formatNotSent(notSent, undefined, `${config.out} could not be written`) : formatNotSent(notSent, config.out));
  if (heldBack.length > 0) {
    const them = heldBack.length === 1 ? 'it' : 'them';
    out(`${heldBack.length} key${plural(heldBack.length)} of digits only held back and not sent (listed at the start; --include-digits-only sends ${them}).`);
  }
  if (journalError) {
    process.stderr.write(`steam-key redeem: could not write to ${config.out}: ${journalError.message}. The lines above are the only record of this run.\n`);
    return EXIT.notAllActivated;
  }
  const allGood = mine.every((r) => r.status === 'activated' || r.status === 'already-owned');
  return allGood ? EXIT.ok : EXIT.notAllActivated;
}

/** Whether a record says the key went to Steam in an earlier run. */
function wasSent(record: KeyRecord | undefined): boolean {
  return record !== undefined && record.status !== 'not-sent';
}

/** Keys an earlier run sent and got no answer for: listed, for the user to check. */
function formatUnknownBefore(records: readonly KeyRecord[]): string {
  const one = records.length === 1;
  const lines = records.map((r) => `  ${r.key}${r.sentAt ? `  sent ${new Date(r.sentAt).toLocaleString()}` : ''}`);
  return [
    `${one ? '1 key' : `${records.length} keys`} got no answer from Steam in an earlier run and may have been activated: check your library.`,
    `Not sent again (--retry-unknown sends ${one ? 'it' : 'them'}):`,
    ...lines,
  ].join('\n');
}

/** The keys of digits only, held back (before the question, or at the end when they stayed so). */
function formatHeldBack(keys: readonly string[], asking: boolean): string {
  const one = keys.length === 1;
  const what = `${one ? '1 more key was' : `${keys.length} more keys were`} found whose groups are digits only, like an order or phone number`;
  const tail = asking ? ':' : `; not sent (--include-digits-only sends ${one ? 'it' : 'them'}):`;
  return [`${what}${tail}`, ...keys.map((key) => `  ${key}`)].join('\n');
}

/**
 * Asks whether to send keys of digits only too; without a terminal they are
 * not sent (the end of the run lists them again).
 */
async function confirmDigitsOnly(keys: readonly string[], terminal: Terminal | null, out: (line: string) => void): Promise<boolean> {
  out(formatHeldBack(keys, terminal !== null));
  if (!terminal) return false;
  const answer = (await prompt(terminal, `Send ${keys.length === 1 ? 'it' : 'them'} to Steam too? A wrong key counts as a failed activation. [y/N] `, true)).trim();
  return /^y(es)?$/i.test(answer);
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

/**
 * Signs in, redeems `keys`, signs out. Every outcome goes to `journal` as it
 * comes; resolves with the error that stopped the journal from writing, if any.
 */
async function runSession(
  config: RedeemConfig,
  deps: RedeemDeps,
  terminal: Terminal | null,
  signIn: TerminalSignIn,
  keys: string[],
  journal: Journal,
  out: (line: string) => void,
): Promise<Error | null> {
  const steam = await steamFor(config, deps);
  const session = new RedeemSession({ portFactory: steam.factory, timers: config.timers });
  const interrupts = new Interrupts();
  try {
    const account = await signInOrFail(config, session, terminal, signIn, interrupts, steam.demoAppUrl);
    const view: ProgressView = process.stdout.isTTY ? ttyView(process.stdout) : plainView(out);
    const run = new Run(session, keys, view, config.timers, journal, account);
    interrupts.onInterrupt = (count) => run.interrupt(count);
    await run.done;
    view.stop();
    return run.journalError;
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

/**
 * SIGINT, SIGHUP and SIGTERM while the session lives: counted, handed to
 * whoever listens. SIGHUP (the terminal was closed, an ssh connection
 * dropped) counts as a Ctrl-C: the key with Steam still gets its answer.
 */
class Interrupts {
  count = 0;
  onInterrupt: (count: number) => void = () => {};
  readonly #onSigint = (): void => this.#fire(1);
  readonly #onSigterm = (): void => this.#fire(2); // a SIGTERM does not wait for the key with Steam

  constructor() {
    process.on('SIGINT', this.#onSigint);
    process.on('SIGHUP', this.#onSigint);
    process.on('SIGTERM', this.#onSigterm);
  }

  #fire(weight: number): void {
    this.count += weight;
    this.onInterrupt(this.count);
  }

  dispose(): void {
    process.off('SIGINT', this.#onSigint);
    process.off('SIGHUP', this.#onSigint);
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

/**
 * One batch through the signed-in session, watched until every key is
 * settled. Every change to a key goes to the journal the moment it happens:
 * inside the session's event, before the queue sends anything else.
 */
class Run {
  readonly done: Promise<void>;
  /** Why the journal could not write (the run then stopped sending). */
  journalError: Error | null = null;
  readonly #session: RedeemSession;
  readonly #keys: readonly string[];
  readonly #view: ProgressView;
  readonly #timers: SessionTimers;
  readonly #journal: Journal;
  readonly #account: string;
  readonly #entries = new Map<string, KeyEntry>();
  /** When each key was last handed to Steam. */
  readonly #sentAt = new Map<string, Date>();
  readonly #state: ProgressState;
  #finish!: () => void;
  #stopping = false;
  #ended = false;
  /** The key Steam rate-limited, named in the cooldown note. */
  #limited: string | null = null;
  #unsubscribe: () => void;

  constructor(session: RedeemSession, keys: readonly string[], view: ProgressView, timers: SessionTimers, journal: Journal, account: string) {
    this.#session = session;
    this.#keys = keys;
    this.#view = view;
    this.#timers = timers;
    this.#journal = journal;
    this.#account = account;
    this.#state = { done: 0, total: keys.length, startedAt: Date.now(), now: Date.now(), cooldownSpentMs: 0 };
    this.done = new Promise<void>((resolve) => (this.#finish = resolve));
    this.#unsubscribe = session.subscribe((event) => this.#onEvent(event));
    view.note(`Signed in. Sending ${keys.length} key${plural(keys.length)}, one at a time, ${formatDuration(timers.pauseMs)} apart.`);
    // The keys were chosen already (digits-only ones confirmed): the session takes them all.
    const { added } = session.addKeys(keys.join('\n'), { digitsOnly: true });
    for (const entry of added) this.#entries.set(entry.key, entry);
    this.#redraw();
  }

  /** Ctrl-C: the first stops sending and waits a little for the key with Steam; the next abandons it. */
  interrupt(count: number): void {
    if (this.#ended) return;
    if (count >= 2) return this.#abandon();
    if (this.#stopping) return;
    this.#stopping = true;
    const inFlight = this.#inFlight();
    const wait = Math.min(STOP_WAIT_MS, this.#timers.redeemTimeoutMs);
    this.#view.note(
      inFlight
        ? `Stopping: no more keys are sent. Waiting up to ${formatClock(wait)} for ${inFlight.key} (Ctrl-C again to abandon it).`
        : 'Stopping: no more keys are sent.',
    );
    this.#session.cancel();
    setTimeout(() => this.#abandon(), wait).unref();
    this.#redraw();
    this.#check();
  }

  #inFlight(): KeyEntry | undefined {
    return [...this.#entries.values()].find((e) => e.state === 'redeeming');
  }

  #abandon(): void {
    if (this.#ended) return;
    const inFlight = this.#inFlight();
    if (inFlight) {
      this.#write(() => this.#journal.settle(recordOf(inFlight, this.#account, new Date(), this.#sentAt.get(inFlight.key))));
      this.#view.note(`Abandoned ${inFlight.key}: it may have been activated — check your library.`);
    }
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unsubscribe();
    // Keys never sent are written too (a key the journal knew keeps its record).
    const unsent = this.#keys.filter((key) => this.#entries.get(key)?.state !== 'done' && !this.#sentAt.has(key));
    this.#write(() => this.#journal.notSent(unsent, new Date()));
    this.#finish();
  }

  /**
   * Runs a journal change (kept in memory whatever happens). If the disk
   * refuses it, stops sending at once — before the queue's next step, which
   * may send the next key in this same turn — and keeps the error for the end.
   */
  #write(write: () => void): void {
    try {
      write();
    } catch (error) {
      if (this.journalError) return;
      this.journalError = error as Error;
      this.#view.note(`Cannot write to ${this.#journal.dir}: ${(error as Error).message}. Stopping: no more keys are sent.`);
      this.#stopping = true;
      if (!this.#session.closed) this.#session.cancel();
    }
  }

  #onEvent(event: SessionEvent): void {
    if (event.type === 'closed') return this.#end();
    if (event.type === 'added') return; // addKeys' own result lists them, once the call returns
    if (event.type === 'key') this.#onKey(event.entry);
    else if (event.type === 'queue') this.#onQueue(event);
    this.#redraw();
    this.#check();
  }

  #onKey(entry: KeyEntry): void {
    const before = this.#entries.get(entry.key);
    this.#entries.set(entry.key, entry);
    const now = new Date();
    if (entry.state === 'redeeming') {
      this.#state.current = entry.key;
      // On the disk before the session hands the key to Steam: a run killed now leaves it "unknown".
      this.#sentAt.set(entry.key, now);
      this.#write(() => this.#journal.sent(entry.key, this.#account, now));
      return;
    }
    if (before?.state === 'redeeming') {
      // Steam's answer (the time is now: the session emits it as it comes), or no answer.
      if (entry.result) this.#write(() => this.#journal.settle(recordOf(entry, this.#account, now, this.#sentAt.get(entry.key))));
      else this.#withdraw(entry.key); // it never reached Steam (signed out): as it was before
    }
    if (entry.state === 'waiting' && entry.result?.status === 'rate-limited') this.#limited = entry.key;
    this.#state.done = [...this.#entries.values()].filter((e) => e.state === 'done').length;
    const settled = entry.state === 'done' || entry.state === 'cancelled';
    const wasSettled = before !== undefined && (before.state === 'done' || before.state === 'cancelled');
    // Keys cancelled before they reached Steam get no line (the summary counts them) and are not done.
    if (settled && !wasSettled && (entry.state === 'done' || entry.result)) {
      this.#view.keyDone(formatKeyLine(recordOf(entry, '', now), entry.n, this.#state.total));
    }
  }

  /** A key the session took back unsent after all (Steam was gone before it went out). */
  #withdraw(key: string): void {
    this.#sentAt.delete(key);
    this.#write(() => this.#journal.withdraw(key));
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
      const runAgain = this.#journal.dir === undefined ? 'run again to send them' : `run again with the same --out to send them (not this key, unless you add --retry-unknown)`;
      this.#view.note(
        event.stalledBy === 'unknown-result'
          ? `The last key got no answer: check your library. The remaining keys are not sent; ${runAgain}.`
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
    if (this.#stopping) {
      state.stopping = true;
      state.notSent = [...this.#entries.values()].filter((e) => e.state !== 'done' && e.state !== 'redeeming').length;
    }
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
