/**
 * Shared by test/app/page-interrupt*.test.ts (issue 12, the ordinary
 * accidents of a long batch): the fake Steam with every account and key
 * those files use, `steam-key serve` (the built binary) against it, and the
 * checks of every key's true state on the page, in the CSV and in the JSON.
 * Each file starts its own fake Steam and its own browser.
 */
import type { Tap } from '../interop/helpers.js';
import type { BrowserContext, Page } from 'playwright-core';
import { startFakeSteam, type FakeSteam, type KeyAnswer, type KeyScript } from '../fake-steam/fake-steam.js';
import { startServe, type Serving } from './binary.js';
import { downloads, submitSignIn, tableRows, textOf, until } from './browser.js';

export const PASSWORD = 'hunter2 but longer';
const ACCOUNTS = ['alice', 'anna', 'bob', 'carol', 'dave', 'erin'];
const game = (id: number): KeyAnswer => ({ packages: [{ id, name: `Game ${id}` }] });
const owned: KeyScript = { detail: 9, packages: [{ id: 7, name: 'Owned Game' }] };

/** A test file's fake Steam, and the binary and key counts against it. */
export interface Interruptions {
  steam: FakeSteam;
  /** `steam-key serve` (the built binary) with the fake Steam, on `port` (0: any). */
  serve(t: Tap, port?: number, extra?: string[]): Promise<Serving>;
  /** The server dies at once (SIGKILL) and comes back on the same port, with no sessions. */
  killAndRestart(t: Tap, serving: Serving, extra?: string[]): Promise<Serving>;
  /** How many times the fake Steam received each of `keys` (only those it received). */
  received(keys: string[]): Record<string, number>;
}

/** Starts the fake Steam of one test file, closed when `t` ends. */
export async function startInterruptions(t: Tap): Promise<Interruptions> {
  const steam = await startFakeSteam({
    accounts: ACCOUNTS.map((accountName) => ({ accountName, password: PASSWORD })),
    keys: {
      'TAB01-AAAAA-AAAAA': game(1), 'TAB02-AAAAA-AAAAA': 'no-answer', 'TAB03-AAAAA-AAAAA': owned, 'TAB04-AAAAA-AAAAA': game(4),
      'TAC01-AAAAA-AAAAA': game(1), 'TAC02-AAAAA-AAAAA': 'no-answer', 'TAC03-AAAAA-AAAAA': owned, 'TAC04-AAAAA-AAAAA': game(4),
      'TWO01-AAAAA-AAAAA': game(1), 'TWO02-AAAAA-AAAAA': 'no-answer', 'TWO03-AAAAA-AAAAA': game(3), 'TWO04-AAAAA-AAAAA': owned,
      'PRF01-AAAAA-AAAAA': game(1), 'PRF02-AAAAA-AAAAA': 'no-answer', 'PRF03-AAAAA-AAAAA': game(3),
      // No answer the first time; activated when the user says to send it again.
      'KIL01-AAAAA-AAAAA': game(1), 'KIL02-AAAAA-AAAAA': ['no-answer', game(2)], 'KIL03-AAAAA-AAAAA': owned, 'KIL04-AAAAA-AAAAA': game(4),
      'OUT01-AAAAA-AAAAA': game(1), 'OUT02-AAAAA-AAAAA': 'no-answer', 'OUT03-AAAAA-AAAAA': game(3),
      'OUT04-AAAAA-AAAAA': 'no-answer', 'OUT05-AAAAA-AAAAA': owned, 'OUT06-AAAAA-AAAAA': game(6),
    },
  });
  t.teardown(() => steam.close());
  const serve = (t: Tap, port = 0, extra: string[] = []): Promise<Serving> =>
    startServe(['--port', String(port), '--pause', '0', '--steam-proxy', steam.proxyUrl, ...extra], { NODE_EXTRA_CA_CERTS: steam.caPath }, (fn) => t.teardown(fn));
  return {
    steam,
    serve,
    async killAndRestart(t, serving, extra = []) {
      serving.kill('SIGKILL');
      await serving.exit;
      return serve(t, serving.port, extra);
    },
    received(keys) {
      const counts: Record<string, number> = {};
      for (const key of steam.keysReceived) if (keys.includes(key)) counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    },
  };
}

export const keysOf = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}-AAAAA-AAAAA`);
/** An e-mail with the keys in it. */
export const mail = (keys: string[]): string => `Thank you for your order!\n${keys.map((k, i) => `Game ${i + 1}: ${k.toLowerCase()}`).join('\n')}\n`;

export async function signIn(page: Page, account: string): Promise<void> {
  await submitSignIn(page, account, PASSWORD);
  await textOf(page, '#account', new RegExp(account));
}

/** A new tab in `context`, on `url`, failing the test on any error it throws. */
export async function newTab(t: Tap, context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => t.fail(`the page threw: ${error.message}`));
  await page.goto(url);
  return page;
}

export const withSteam = (page: Page, key: string): Promise<unknown> =>
  until(page, `document.querySelector('tr[data-key="${key}"]')?.dataset.status === 'redeeming'`, `${key} with Steam`);
/** The page has seen `key` go to Steam: with Steam still, or given up on after --redeem-timeout. */
export const sentOff = (page: Page, key: string): Promise<unknown> =>
  until(page, `['redeeming', 'unknown'].includes(document.querySelector('tr[data-key="${key}"]')?.dataset.status)`, `${key} sent`);

/**
 * Every key's state, as the page shows it, as the CSV and the JSON have it,
 * and the count of distinct keys: all must be `expected` ([key, status or
 * state] in order).
 */
export async function trueState(t: Tap, page: Page, expected: [string, string][], account: string): Promise<void> {
  t.same((await tableRows(page)).map((r) => [r.key, r.status]), expected, 'the page: one row per key, each as it is');
  const { csv, json } = await downloads(page);
  t.same(csv.map((r) => [r.key, r.status || r.state]), expected, 'the CSV: the same, one line per key');
  t.ok(csv.every((r) => r.account === account && /^\d{4}-\d\d-\d\dT/.test(r.updated!)), 'with the account and the time of each');
  t.same(json.keys.map((k) => [k.key, k.status ?? k.state]), expected, 'the JSON: the same');
  t.equal(await page.getAttribute('#summary', 'data-total'), String(expected.length), 'counts of distinct keys');
}

