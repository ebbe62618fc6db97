/**
 * Shared by test/cli/redeem*.test.ts: `steam-key redeem` as a person runs it: the built binary (npm test builds
 * first) with the real steam-user, against the fake Steam
 * (test/fake-steam/), typing at its prompts through a pseudo-terminal
 * (test/helpers/run-in-pty.py) and reading its output from a pipe (plain
 * lines) or from the terminal (the progress bar). Short pause, cooldown and
 * timeout flags keep each run to a second or two.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type t from 'tap';
import type { KeyRecord, ResultsJson } from '../../lib/cli/results-dir.js';
import { startFakeSteam, type FakeSteam, type FakeSteamOptions } from '../fake-steam/fake-steam.js';
import { findPython, Transcript, type PtyRun } from './pty.js';
import { peerTest } from '../interop/helpers.js';

export type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

export const BIN = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));
export const PYTHON = findPython();
export const PASSWORD = 'hunter2-Secret';

export const K = {
  activated: 'AAAAA-BBBBB-CCCC1',
  owned: 'AAAAA-BBBBB-CCCC2',
  invalid: 'AAAAA-BBBBB-CCCC3',
  used: 'AAAAA-BBBBB-CCCC4',
  region: 'AAAAA-BBBBB-CCCC5',
  dlc: 'AAAAA-BBBBB-CCCC6',
  wallet: 'AAAAA-BBBBB-CCCC7',
  other: 'AAAAA-BBBBB-CCCC8',
  noAnswer: 'AAAAA-BBBBB-CCCC9',
  limited: 'AAAAA-BBBBB-CCCCA',
  second: 'AAAAA-BBBBB-CCCCB',
  third: 'AAAAA-BBBBB-CCCCC',
} as const;

export const GAME = { id: 101, name: 'Fake Game One' };

/** Every answer the tests need; unlisted keys are BadActivationCode. */
export const KEYS: FakeSteamOptions['keys'] = {
  [K.activated]: { packages: [GAME] },
  [K.owned]: { detail: 9, packages: [GAME] },
  [K.used]: { detail: 15 },
  [K.region]: { detail: 13 },
  [K.dlc]: { detail: 24, packages: [{ id: 102, name: 'Fake DLC' }] },
  [K.wallet]: { detail: 50 },
  [K.other]: { detail: 20 }, // AcctIsBlocked: "failed"
  [K.noAnswer]: 'no-answer',
  [K.limited]: { detail: 53 },
  [K.second]: { packages: [{ id: 103, name: 'Fake Game Two' }] },
  [K.third]: { packages: [{ id: 104, name: 'Fake Game Three' }] },
};

export async function fakeSteam(t: Tap): Promise<FakeSteam> {
  const steam = await startFakeSteam({
    accounts: [
      { accountName: 'alice', password: PASSWORD },
      { accountName: 'bob', password: PASSWORD, guard: { type: 'email', domain: 'example.com', codes: ['GOOD7'] } },
    ],
    keys: KEYS,
  });
  t.teardown(() => steam.close());
  return steam;
}

export function tempDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'steam-key-redeem-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The child's environment: trusts the fake's CA, inherits no Steam settings. */
export function childEnv(steam: FakeSteam, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: steam.caPath, ...extra };
  if (!('STEAM_PASSWORD' in extra)) delete env.STEAM_PASSWORD;
  delete env.STEAM_HTTP_PROXY;
  return env;
}

export function redeemArgs(steam: FakeSteam, ...args: string[]): string[] {
  return [process.execPath, BIN, 'redeem', '--steam-proxy', steam.proxyUrl, '--pause', '0', ...args];
}

/** Runs the binary with no terminal at all (its own session: /dev/tty cannot open). */
export function runDetached(command: string[], env: NodeJS.ProcessEnv, input = '') {
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  const stdout = new Transcript();
  const stderr = new Transcript();
  child.stdout.setEncoding('utf8').on('data', (s: string) => stdout.append(s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => stderr.append(s));
  child.stdin.end(input);
  const exit = new Promise<number>((resolve) =>
    child.on('close', (code) => {
      stdout.end();
      stderr.end();
      resolve(code ?? 128);
    }),
  );
  return { child, stdout, stderr, exit };
}

/** Resolves once the fake has received `key` (the fake runs in this process); rejects if the run ends first. */
export async function received(steam: FakeSteam, key: string, exit: Promise<number>): Promise<void> {
  let ended = false;
  void exit.then(() => (ended = true));
  while (!steam.keysReceived.includes(key)) {
    if (ended) throw new Error(`the command exited before Steam received ${key}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function readResults(dir: string): ResultsJson {
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsJson;
}

export function statuses(dir: string): Record<string, string> {
  return Object.fromEntries(readResults(dir).keys.map((r) => [r.key, r.status]));
}

export function keysIn(dir: string, file: string): string[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t')[0]!);
}

/**
 * How every test of the terminal ends: no key reached the fake Steam twice —
 * each needless resend costs one of Steam's ~10 failed activations an hour, or
 * worse. `sentAgain` names the keys sent again on purpose, and why.
 */
export function assertNoKeyTwice(t: Tap, steam: FakeSteam, sentAgain: Record<string, string> = {}): void {
  for (const [key, why] of Object.entries(sentAgain)) t.ok(steam.repeatedKeys().includes(key), `${key} was sent again: ${why}`);
  t.same(steam.repeatedKeys().filter((key) => !(key in sentAgain)), [], 'no other key reached Steam twice');
}

/**
 * The times in DIR are Steam's, not the file's: each answered key was sent
 * before the fake received it (sentAt) and answered after that, and before the
 * fake received anything sent later (at). Checked against the fake's own
 * clock readings, so the order is causal, not a matter of speed.
 */
export function assertAnswerTimes(t: Tap, steam: FakeSteam, records: readonly KeyRecord[]): void {
  for (const record of records) {
    const arrival = steam.tally.map((e) => e.key).lastIndexOf(record.key);
    t.ok(arrival >= 0 && record.sentAt !== undefined, `${record.key} was sent, and says when`);
    const received = steam.tally[arrival]!.at;
    const next = steam.tally[arrival + 1]?.at ?? Infinity;
    t.ok(Date.parse(record.sentAt!) <= received, `${record.key}: sentAt is when it was sent`);
    t.ok(received <= Date.parse(record.at) && Date.parse(record.at) <= next, `${record.key}: at is when Steam answered, before the next key went`);
  }
}

/** Nothing the run printed or wrote holds the password. */
export function assertNoPassword(t: Tap, texts: string[], dir?: string): void {
  for (const text of texts) t.notOk(text.includes(PASSWORD), 'the password is not in the output');
  if (dir) for (const name of readdirSync(dir)) t.notOk(readFileSync(join(dir, name), 'utf8').includes(PASSWORD), `nor in ${name}`);
}

export async function typePassword(run: PtyRun): Promise<void> {
  await run.screen.waitFor(/Password: $/);
  run.type(`${PASSWORD}\r`);
}

/**
 * Runs the end-to-end redeem tests, which need python3's pty module: without
 * it they are skipped with a message naming the package, or fail under CI.
 */
export function redeemEndToEnd(t: Tap, fn: (t: Tap, python: string) => Promise<void>): Promise<unknown> {
  const name = 'steam-key redeem end to end';
  const python = PYTHON;
  if (python) return peerTest(t, name, null, '', (t) => fn(t, python));
  return peerTest(t, name, 'no python3 with the pty module', 'apt-get install python3', async () => {});
}
