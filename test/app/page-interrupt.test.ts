/**
 * The ordinary accidents of a long batch (issue 12), end to end: Chromium on
 * the page of the built binary (`steam-key serve`), whose real steam-user
 * redeems against the fake Steam, which counts every key it receives. A tab
 * closed mid-batch (and opened again, with and without signing in again),
 * two tabs on one account, the same account signed in from another browser
 * profile, the server killed mid-batch and started again, a sign-out
 * mid-batch and a second interruption after refilling. Each ends with every
 * key's true state on the page, in the CSV and in the JSON, the counts of
 * distinct keys right, and no key received by Steam twice — unless the user
 * said to send it again.
 */
import t from 'tap';
import type { Tap } from '../interop/helpers.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFakeSteam, type KeyAnswer, type KeyScript } from '../fake-steam/fake-steam.js';
import { startServe, type Serving } from '../helpers/binary.js';
import { allDone, downloads, leftGroups, openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

const PASSWORD = 'hunter2 but longer';
const ACCOUNTS = ['alice', 'anna', 'bob', 'carol', 'dave', 'erin'];
const game = (id: number): KeyAnswer => ({ packages: [{ id, name: `Game ${id}` }] });
const owned: KeyScript = { detail: 9, packages: [{ id: 7, name: 'Owned Game' }] };

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

const keysOf = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}-AAAAA-AAAAA`);
/** An e-mail with the keys in it. */
const mail = (keys: string[]): string => `Thank you for your order!\n${keys.map((k, i) => `Game ${i + 1}: ${k.toLowerCase()}`).join('\n')}\n`;

/** `steam-key serve` (the built binary) with the fake Steam, on `port` (0: any). */
function serve(t: Tap, port = 0, extra: string[] = []): Promise<Serving> {
  return startServe(['--port', String(port), '--pause', '0', '--steam-proxy', steam.proxyUrl, ...extra], { NODE_EXTRA_CA_CERTS: steam.caPath }, (fn) => t.teardown(fn));
}

/** The server dies at once (SIGKILL) and comes back on the same port, with no sessions. */
async function killAndRestart(t: Tap, serving: Serving, extra: string[] = []): Promise<Serving> {
  serving.kill('SIGKILL');
  await serving.exit;
  return serve(t, serving.port, extra);
}

async function signIn(page: Page, account: string): Promise<void> {
  await submitSignIn(page, account, PASSWORD);
  await textOf(page, '#account', new RegExp(account));
}

/** A new tab in `context`, on `url`, failing the test on any error it throws. */
async function newTab(t: Tap, context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => t.fail(`the page threw: ${error.message}`));
  await page.goto(url);
  return page;
}

const withSteam = (page: Page, key: string): Promise<unknown> =>
  until(page, `document.querySelector('tr[data-key="${key}"]')?.dataset.status === 'redeeming'`, `${key} with Steam`);
/** The page has seen `key` go to Steam: with Steam still, or given up on after --redeem-timeout. */
const sentOff = (page: Page, key: string): Promise<unknown> =>
  until(page, `['redeeming', 'unknown'].includes(document.querySelector('tr[data-key="${key}"]')?.dataset.status)`, `${key} sent`);

/** How many times the fake Steam received each of `keys` (only those it received). */
function received(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of steam.keysReceived) if (keys.includes(key)) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

/**
 * Every key's state, as the page shows it, as the CSV and the JSON have it,
 * and the count of distinct keys: all must be `expected` ([key, status or
 * state] in order).
 */
async function trueState(t: Tap, page: Page, expected: [string, string][], account: string): Promise<void> {
  t.same((await tableRows(page)).map((r) => [r.key, r.status]), expected, 'the page: one row per key, each as it is');
  const { csv, json } = await downloads(page);
  t.same(csv.map((r) => [r.key, r.status || r.state]), expected, 'the CSV: the same, one line per key');
  t.ok(csv.every((r) => r.account === account && /^\d{4}-\d\d-\d\dT/.test(r.updated!)), 'with the account and the time of each');
  t.same(json.keys.map((k) => [k.key, k.status ?? k.state]), expected, 'the JSON: the same');
  t.equal(await page.getAttribute('#summary', 'data-total'), String(expected.length), 'counts of distinct keys');
}

await withBrowser(t, 'the page of the built binary against the fake Steam: interruptions', async (t, browser: Browser) => {
  t.test('a tab closed mid-batch: a new tab shows the batch live, without signing in again', async (t) => {
    const keys = keysOf('TAB', 4);
    const server = await serve(t, 0, ['--redeem-timeout', '1s']);
    const first = await openPage(t, browser, server.url, { acceptDownloads: true });
    await signIn(first, 'alice');
    await first.fill('#keys-text', mail(keys));
    await first.click('#redeem');
    await steam.keyReceived(keys[1]!);
    await sentOff(first, keys[1]!);
    const context = first.context();
    await first.close();

    const page = await newTab(t, context, server.url);
    t.equal(await textOf(page, '#account', /alice/), 'Signed in as alice', 'the new tab resumed the session: no sign-in');
    t.same((await tableRows(page)).map((r) => r.key), keys, 'with every key of the batch');
    // The key with no answer stops the queue until the user has checked; the rest then arrive here, live.
    await until(page, `!document.querySelector('#resume').hidden`, 'Resume');
    await page.click('#resume');
    await allDone(page, 4);
    await trueState(t, page, [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'already-owned'], [keys[3]!, 'activated']], 'alice');
    t.same(received(keys), Object.fromEntries(keys.map((k) => [k, 1])), 'Steam received each key once');
  });

  t.test('a tab closed mid-batch, the token gone: signing in again joins the batch, and the same e-mail sends nothing twice', async (t) => {
    const keys = keysOf('TAC', 4);
    const server = await serve(t, 0, ['--redeem-timeout', '1s']);
    const first = await openPage(t, browser, server.url, { acceptDownloads: true });
    await signIn(first, 'anna');
    await first.fill('#keys-text', mail(keys));
    await first.click('#redeem');
    await steam.keyReceived(keys[1]!);
    await sentOff(first, keys[1]!);
    const context = first.context();
    await first.evaluate(`localStorage.removeItem('steam-key.session')`); // as a browser that keeps no session data
    await first.close();

    const page = await newTab(t, context, server.url);
    await textOf(page, '#sign-in-title');
    t.ok(await page.isVisible('#sign-in'), 'no token: sign in again');
    t.same((await tableRows(page)).map((r) => r.key), keys, 'the list is there before signing in, from the browser');
    await page.fill('#keys-text', mail(keys));
    await signIn(page, 'anna');
    await textOf(page, '#notice-text', /already had a session/);
    t.equal(await textOf(page, '#key-count', /found/), '0 new keys found · left out: 4 already in the list', 'joined: the e-mail again finds nothing new');
    t.ok(await page.isDisabled('#redeem'));
    await until(page, `!document.querySelector('#resume').hidden`, 'Resume');
    await page.click('#resume');
    await allDone(page, 4);
    await trueState(t, page, [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'already-owned'], [keys[3]!, 'activated']], 'anna');
    t.same(received(keys), Object.fromEntries(keys.map((k) => [k, 1])), 'Steam received each key once');
  });

  t.test('two tabs on one account: one batch, both see every key, none twice', async (t) => {
    const keys = keysOf('TWO', 4);
    const server = await serve(t, 0, ['--redeem-timeout', '1s']);
    const first = await openPage(t, browser, server.url, { acceptDownloads: true });
    await signIn(first, 'bob');
    await first.fill('#keys-text', mail(keys.slice(0, 3)));
    await first.click('#redeem');
    await sentOff(first, keys[1]!);

    const second = await newTab(t, first.context(), server.url);
    await textOf(second, '#account', /bob/);
    await second.fill('#keys-text', mail(keys.slice(2)));
    t.equal(await textOf(second, '#key-count', /found/), '1 new key found · left out: 1 already in the list');
    await second.click('#redeem');
    await until(first, `document.querySelector('tr[data-key="${keys[3]}"]') !== null`, 'the first tab hears of the key the second added');
    await until(first, `!document.querySelector('#resume').hidden`, 'Resume');
    await first.click('#resume');
    await allDone(first, 4);
    await allDone(second, 4);
    const expected: [string, string][] = [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'activated'], [keys[3]!, 'already-owned']];
    await trueState(t, first, expected, 'bob');
    t.same((await tableRows(second)).map((r) => [r.key, r.status]), expected, 'the second tab shows the same');
    t.same(received(keys), Object.fromEntries(keys.map((k) => [k, 1])), 'Steam received each key once');
  });

  t.test('the same account from another browser profile: the paste joins the batch, nothing is sent twice', async (t) => {
    const keys = keysOf('PRF', 3);
    const server = await serve(t, 0, ['--redeem-timeout', '1s']);
    const here = await openPage(t, browser, server.url);
    await signIn(here, 'carol');
    await here.fill('#keys-text', mail(keys));
    await here.click('#redeem');
    await sentOff(here, keys[1]!);

    const there = await openPage(t, browser, server.url, { acceptDownloads: true }); // a new context: its own storage
    await there.fill('#keys-text', mail(keys));
    await there.click('#redeem');
    await textOf(there, '#key-count', /Added 3 keys/);
    await signIn(there, 'carol');
    t.equal(
      await textOf(there, '#notice-text', /there already\./),
      'This account already had a session on this server (in another tab, browser or device): its keys and results are below. ' +
        `Of the keys you pasted before signing in, none was new; ${keys[0]}, ${keys[1]} and ${keys[2]} were there already.`,
    );
    await until(there, `!document.querySelector('#resume').hidden`, 'Resume');
    await there.click('#resume');
    await allDone(there, 3);
    await allDone(here, 3);
    const expected: [string, string][] = [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'activated']];
    await trueState(t, there, expected, 'carol');
    t.same((await tableRows(here)).map((r) => [r.key, r.status]), expected, 'the first profile shows the same');
    t.same(received(keys), Object.fromEntries(keys.map((k) => [k, 1])), 'Steam received each key once');
  });

  t.test('the server killed mid-batch and started again: the key with Steam is unknown, the rest go again on request, none twice unless asked', async (t) => {
    const keys = keysOf('KIL', 4);
    const server = await serve(t);
    const page = await openPage(t, browser, server.url, { acceptDownloads: true });
    await signIn(page, 'dave');
    await page.fill('#keys-text', mail(keys));
    await page.click('#redeem');
    await steam.keyReceived(keys[1]!);
    await withSteam(page, keys[1]!);

    const again = await killAndRestart(t, server);
    await page.reload();
    t.match(await textOf(page, '#notice-text', /no longer had your session/), new RegExp(`${keys[1]} was with Steam.*2 keys were not sent`));
    await trueState(t, page, [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'not-sent'], [keys[3]!, 'not-sent']], 'dave');

    await signIn(page, 'dave');
    await page.click('#refill');
    t.equal(await page.inputValue('#keys-text'), `${keys[2]}\n${keys[3]}`, 'the keys never sent back in the box, not the one Steam had');
    await page.click('#redeem');
    await allDone(page, 2);
    await trueState(t, page, [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'already-owned'], [keys[3]!, 'activated']], 'dave');
    t.same(received(keys), Object.fromEntries(keys.map((k) => [k, 1])), 'Steam received each key once');

    // The user checked the library: the key is not there, so it goes again — the one repeat, asked for.
    t.same((await leftGroups(page)).check, [keys[1]]);
    await page.click('#send-checked');
    await until(page, `document.querySelector('tr[data-key="${keys[1]}"]').dataset.status === 'activated'`, 'the key sent again activated');
    const { json } = await downloads(page);
    t.same(json.keys[1]!.history.map((h) => h.status ?? h.state), ['queued', 'redeeming', 'unknown', 'queued', 'redeeming', 'activated'], 'its history, both sessions');
    t.same(received(keys), { [keys[0]!]: 1, [keys[1]!]: 2, [keys[2]!]: 1, [keys[3]!]: 1 }, 'only the key the user sent again, twice');
    t.match(again.lines.join('\n'), /session-opened/);
  });

  t.test('signed out mid-batch, the rest put back, then the server killed: every key as it truly is, none twice', async (t) => {
    const keys = keysOf('OUT', 6);
    const server = await serve(t);
    const page = await openPage(t, browser, server.url, { acceptDownloads: true });
    await signIn(page, 'erin');
    await page.fill('#keys-text', mail(keys));
    await page.click('#redeem');
    await withSteam(page, keys[1]!);
    await page.click('#sign-out');
    await page.click('#sign-out-yes');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'signed out');
    await trueState(t, page, [[keys[0]!, 'activated'], [keys[1]!, 'unknown'], ...keys.slice(2).map((k): [string, string] => [k, 'not-sent'])], 'erin');

    await signIn(page, 'erin');
    await page.click('#refill');
    await page.click('#redeem');
    await withSteam(page, keys[3]!);
    await killAndRestart(t, server);
    await page.reload();
    await textOf(page, '#notice-text', /no longer had your session/);
    await trueState(t, page, [
      [keys[0]!, 'activated'], [keys[1]!, 'unknown'], [keys[2]!, 'activated'], [keys[3]!, 'unknown'], [keys[4]!, 'not-sent'], [keys[5]!, 'not-sent'],
    ], 'erin');
    t.equal(await textOf(page, '#summary'), '6 keys in this list: 2 activated, 2 unknown — check your library, 2 not sent.');
    t.same(await leftGroups(page), { 'not-sent': [keys[4], keys[5]], usable: [], check: [keys[1], keys[3]], refused: [], dead: [] });
    const { json } = await downloads(page);
    t.same(json.keys[2]!.history.map((h) => h.status ?? h.state), ['queued', 'not-sent', 'queued', 'redeeming', 'activated'], 'a key through both sessions: one row, its whole history');
    t.same(received(keys), Object.fromEntries(keys.slice(0, 4).map((k) => [k, 1])), 'Steam received each key it got once, and never the ones not sent');
  });
});
