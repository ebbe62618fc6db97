/**
 * The page's own record in headless Chromium, demo mode: one list of every
 * key the browser has seen, kept in its localStorage, whatever becomes of the
 * session — a server that lost it (a restart), a sign-out mid-batch, a
 * reload with the server gone — with the key that was with Steam "unknown",
 * the keys never sent "not sent" and put back on request, what a paste
 * leaves out or holds back, and "Forget these results".
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { Tap } from '../interop/helpers.js';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { pageHandler } from '../../lib/app/page.js';
import { FAST_TIMERS, startApp, type Running } from '../helpers/app.js';
import { leftGroups, openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

/**
 * A signed-in page that redeems `keys`, left when DEMOA is with Steam: the
 * demo Steam never answers it, so it stays there until the server goes away.
 */
async function batchWithDemoaAtSteam(t: Tap, browser: Browser, keys: string, options: BrowserContextOptions = {}): Promise<{ first: Running; page: Page }> {
  const slow = { ...FAST_TIMERS, redeemTimeoutMs: 60_000 };
  const first = await startApp({ page: pageHandler(), timers: slow }, { latencyMs: 5, timeoutMs: 60_000 });
  t.teardown(first.close);
  const page = await openPage(t, browser, first.url, options);
  await submitSignIn(page, 'demo');
  await textOf(page, '#account', /demo/);
  await page.fill('#keys-text', keys);
  await page.click('#redeem');
  await until(page, `document.querySelector('tr[data-key="DEMOA-TIMES-OUT00"]')?.dataset.status === 'redeeming'`, 'DEMOA with Steam');
  return { first, page };
}

/**
 * The server "restarts": it stops listening, every connection drops, and a new
 * server (with no sessions) takes the port. The page reconnects with a token nobody knows.
 */
async function restart(t: Tap, first: Running): Promise<Running> {
  first.app.server.close();
  await first.app.router.closeAll();
  const second = await startApp({ page: pageHandler() }, { latencyMs: 5 }, Number(new URL(first.url).port));
  t.teardown(second.close);
  return second;
}

const statuses = async (page: Page): Promise<string[][]> => (await tableRows(page)).map((r) => [r.key, r.status]);

await withBrowser(t, 'the page in Chromium: its own record of keys and results', async (t, browser) => {
  t.test('the server lost the session: every key stays in the one list; the one with Steam is unknown, the rest not sent', async (t) => {
    const { first, page } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN DEMO6-REGIO-NLOCK', { acceptDownloads: true });
    t.same(await statuses(page), [
      ['DEMO1-ACTIV-ATED1', 'activated'], ['DEMO4-INVAL-IDKEY', 'invalid-key'], ['DEMOA-TIMES-OUT00', 'redeeming'],
      ['DEMO3-ALREA-DYOWN', 'queued'], ['DEMO6-REGIO-NLOCK', 'queued'],
    ]);
    const second = await restart(t, first);

    t.equal(
      await textOf(page, '#notice-text', /no longer had your session/),
      'The server no longer had your session (it restarted, or the page was away longer than it waits). Nothing the page had shown is lost. ' +
        'DEMOA-TIMES-OUT00 was with Steam: "unknown — check your library", it may have been activated. ' +
        '2 keys were not sent: they are under "Not sent" below, to put back in the box. Sign in again to go on.',
    );
    const expected = [
      ['DEMO1-ACTIV-ATED1', 'activated'], ['DEMO4-INVAL-IDKEY', 'invalid-key'], ['DEMOA-TIMES-OUT00', 'unknown'],
      ['DEMO3-ALREA-DYOWN', 'not-sent'], ['DEMO6-REGIO-NLOCK', 'not-sent'],
    ];
    t.same(await statuses(page), expected, 'one list, one row per key, each as it truly is');
    const rows = await tableRows(page);
    t.match(rows[2], { badge: 'Unknown — check your library', details: /may have been activated/ });
    t.match(rows[3], { badge: 'Not sent', details: /never|before this key went to Steam/ });
    t.equal(await textOf(page, '#summary'), '5 keys in this list: 1 activated, 1 invalid key, 1 unknown — check your library, 2 not sent.');
    t.same(await leftGroups(page), { 'not-sent': ['DEMO3-ALREA-DYOWN', 'DEMO6-REGIO-NLOCK'], usable: [], check: ['DEMOA-TIMES-OUT00'], refused: [], dead: ['DEMO4-INVAL-IDKEY'] });
    t.equal(await page.evaluate(`localStorage.getItem('steam-key.session')`), null, 'the token nobody knows is dropped');

    // A reload (or a new tab) shows the same, from the browser's storage.
    await page.reload();
    await textOf(page, '#connection', /^Connected$/);
    t.same(await statuses(page), expected, 'after a reload: the same list');
    t.equal(await page.inputValue('#account-name'), 'demo', 'the sign-in form knows the account');

    // In Chinese too.
    await page.click('#language');
    t.same((await tableRows(page)).map((r) => r.badge), ['激活成功', '无效激活码', '未知——请检查游戏库', '未发送', '未发送']);
    await page.click('#language');

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const lines = (await readFile(await csvDownload.path(), 'utf8')).slice(1).split('\r\n').slice(1, -1);
    t.same(lines.map((l) => l.split(',').slice(1, 5)), expected.map(([key, status]) => [key, 'demo', status === 'not-sent' ? 'not-sent' : 'done', status === 'not-sent' ? '' : status]), 'the CSV: one line per key, with its account');
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const json = JSON.parse(await readFile(await jsonDownload.path(), 'utf8')) as { keys: { key: string; state: string; history: { state: string; status?: string }[] }[] };
    t.same(json.keys.map((k) => k.key), expected.map(([key]) => key));
    t.same(json.keys[2]!.history.map((h) => h.status ?? h.state), ['queued', 'redeeming', 'unknown'], 'the JSON: each key with its history');

    // Signed in again: the keys never sent go back in the box; a paste of the whole e-mail sends nothing settled.
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    t.ok(await page.isHidden('#notice'), 'signed in again: "sign in again" is over');
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN DEMO6-REGIO-NLOCK');
    t.equal(
      await textOf(page, '#key-count', /found/),
      '2 new keys found · left out: 2 settled before (Steam would answer the same) · held back: 1 that may have been activated',
    );
    await page.fill('#keys-text', '');
    await page.click('#refill');
    t.equal(await page.inputValue('#keys-text'), 'DEMO3-ALREA-DYOWN\nDEMO6-REGIO-NLOCK', 'one click puts the keys never sent in the box');
    await page.click('#redeem');
    await until(page, `document.querySelector('#progress').dataset.done === '2'`, 'both answered');
    t.same(await statuses(page), [
      ['DEMO1-ACTIV-ATED1', 'activated'], ['DEMO4-INVAL-IDKEY', 'invalid-key'], ['DEMOA-TIMES-OUT00', 'unknown'],
      ['DEMO3-ALREA-DYOWN', 'already-owned'], ['DEMO6-REGIO-NLOCK', 'region-locked'],
    ], 'still one row per key, now with their answers');
    t.equal(await textOf(page, '#summary'), '5 keys in this list: 1 activated, 1 invalid key, 1 unknown — check your library, 1 already owned, 1 region-locked.');
    t.same((await leftGroups(page)).usable, ['DEMO3-ALREA-DYOWN', 'DEMO6-REGIO-NLOCK'], 'still usable by someone else');

    // The unknown key goes again only when the user says so.
    t.equal(second.logs.filter((l) => /key-result .*key=DEMOA/.test(l)).length, 0, 'DEMOA was not sent to the new session');
    await page.click('#send-checked');
    await second.logged(/key-result .*key=DEMOA/);
    t.pass('"I checked: send them again" sends it');
  });

  t.test('a paste holds back a key that got no answer, and sends it on request', async (t) => {
    const { first, page } = await batchWithDemoaAtSteam(t, browser, 'DEMOA-TIMES-OUT00 DEMO1-ACTIV-ATED1');
    const second = await restart(t, first);
    await textOf(page, '#notice-text', /no longer had your session/);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.fill('#keys-text', 'DEMOA-TIMES-OUT00 DEMO7-NEEDS-BASEG');
    await page.click('#redeem');
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 1 key; held back: 1 that may have been activated.');
    t.ok(await page.isVisible('#held-unknown'), 'the held-back key is shown, with why');
    t.equal(await page.textContent('#held-unknown .keys'), 'DEMOA-TIMES-OUT00');
    await until(page, `document.querySelector('tr[data-key="DEMO7-NEEDS-BASEG"]')?.dataset.status === 'needs-base-game'`, 'DEMO7 answered');
    t.equal(await page.getAttribute('tr[data-key="DEMOA-TIMES-OUT00"]', 'data-status'), 'unknown', 'DEMOA was not sent');
    await page.click('#send-unknown');
    t.match(await second.logged(/key-result .*key=DEMOA/), /status=unknown/, 'sent once the user said so (the demo Steam does not answer it)');
    await until(page, `document.querySelector('#held-unknown').hidden`, 'the held-back box gone');
    t.equal(second.logs.filter((l) => /key-result .*key=DEMOA/.test(l)).length, 1, 'once');
  });

  t.test('a "key" of digits only is held back, and sent once the user says it is a key', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.fill('#keys-text', 'Order 48213-99120-55871, your key: DEMO1-ACTIV-ATED1');
    t.equal(await textOf(page, '#key-count', /found/), '1 new key found · held back: 1 of digits only', 'the order number held back');
    await page.click('#redeem');
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 1 key; held back: 1 of digits only.');
    t.equal(await page.textContent('#held-digits .keys'), '48213-99120-55871');
    await until(page, `document.querySelector('#progress').dataset.done === '1'`, 'DEMO1 answered');
    t.same((await tableRows(page)).map((r) => r.key), ['DEMO1-ACTIV-ATED1'], 'only the key was sent');
    t.notMatch(run.logs.join('\n'), /key=48213/, 'the server never had the order number');
    await page.click('#send-digits');
    await until(page, `document.querySelector('tr[data-key="48213-99120-55871"]')?.dataset.status === 'invalid-key'`, 'sent on request');
    t.ok(await page.isHidden('#held-digits'), 'nothing held back any more');
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 1 key.');
  });

  t.test('signing out mid-batch asks first; the keys stay, the one with Steam unknown, the rest not sent', async (t) => {
    const { page } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN');
    await page.click('#sign-out');
    t.equal(
      await textOf(page, '#sign-out-ask-text', /./),
      '1 key is still waiting to be sent. Signing out stops it; it stays in the list as not sent. Sign out anyway?',
    );
    t.equal(await page.evaluate('document.activeElement.id'), 'sign-out-no', 'the safe answer has the focus');
    await page.keyboard.press('Enter');
    t.ok(await page.isHidden('#sign-out-ask'), '"Stay signed in": nothing happens');
    t.equal(await page.evaluate('document.activeElement.id'), 'sign-out', 'and the focus is back on "Sign out"');
    t.equal(await textOf(page, '#account', /demo/), 'Signed in as demo');

    await page.click('#sign-out');
    await page.click('#sign-out-yes');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
    t.equal(
      await textOf(page, '#notice-text', /signed out/),
      'You signed out. DEMOA-TIMES-OUT00 was with Steam: "unknown — check your library", it may have been activated. 1 key was not sent: it is under "Not sent" below, to put back in the box.',
    );
    t.same(await statuses(page), [['DEMO1-ACTIV-ATED1', 'activated'], ['DEMOA-TIMES-OUT00', 'unknown'], ['DEMO3-ALREA-DYOWN', 'not-sent']], 'none vanishes');
    t.equal(await page.evaluate('document.activeElement.id'), 'password', 'the focus is in the form');
  });

  t.test('with the server gone, a reload still shows every key; "Forget these results" removes them and the token', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO5-ALREA-DYUSE');
    await page.click('#redeem');
    await until(page, `document.querySelector('#progress').dataset.done === '2'`, 'both answered');

    // The server goes away: the page cannot reach it, and the list stays.
    run.app.server.close();
    await run.app.router.closeAll();
    await textOf(page, '#connection', /Cannot reach/);
    t.same(await statuses(page), [['DEMO1-ACTIV-ATED1', 'activated'], ['DEMO5-ALREA-DYUSE', 'key-used']], 'the list, from the browser alone');
    t.match(await page.textContent('#kept'), /keeps every key and result shown here.*Never your password/);

    await page.click('#forget');
    t.equal(
      await textOf(page, '#forget-ask-text', /./),
      'Remove all 2 keys and their results from this browser, and the session’s token? Download them first if you need them.',
      'offline: the page cannot sign out, and does not say it will',
    );
    await page.click('#forget-yes');
    t.equal(await textOf(page, '#notice-text', /Forgotten/), 'Forgotten: this browser keeps no keys or results of this page any more.');
    t.equal((await tableRows(page)).length, 0, 'the list is empty');
    t.ok(await page.isVisible('#no-keys'));
    const kept = (await page.evaluate(`Object.keys(localStorage).filter((k) => k !== 'steam-key.lang')`)) as string[];
    t.same(kept, [], 'nothing of it in localStorage: no key, no token, no account');
    await restart(t, run);
    await page.reload();
    await textOf(page, '#connection', /^Connected$/);
    t.equal((await tableRows(page)).length, 0, 'and after a reload, still nothing');
  });

  t.test('"Forget" in one tab of a session: the other tab forgets too, and the session ends for both', async (t) => {
    const { page } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN');
    const other = await page.context().newPage();
    await other.goto(page.url());
    await textOf(other, '#account', /demo/);
    t.equal((await tableRows(other)).length, 3);
    await page.click('#forget');
    t.match(await textOf(page, '#forget-ask-text', /./), /, and sign out\?/, 'signed in: forgetting signs out');
    await page.click('#forget-yes');
    await until(other, `!document.querySelector('#sign-in').hidden`, 'the other tab signed out');
    await until(other, `document.querySelectorAll('#results tbody tr').length === 0`, "the other tab's list empty");
    t.equal(await textOf(page, '#notice-text', /Forgotten/), 'Forgotten: this browser keeps no keys or results of this page any more.');
    // Whichever came first in the other tab, the word of "Forget" or the end of the session, nothing stays.
    await until(page, `Object.keys(localStorage).filter((k) => k !== 'steam-key.lang').length === 0`, 'nothing kept');
    await until(other, `Object.keys(localStorage).filter((k) => k !== 'steam-key.lang').length === 0`, 'nothing kept, as the other tab sees it');
    t.equal((await tableRows(page)).length, 0, 'nothing came back: not the key Steam had, whose end the session still sent');
    t.equal((await tableRows(other)).length, 0);
  });

  t.test('another account: its own list; the other account\'s results wait for it', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN');
    await page.click('#redeem');
    await until(page, `document.querySelector('#progress').dataset.done === '2'`, 'both answered');
    await page.click('#sign-out');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
    t.equal((await tableRows(page)).length, 2, "signed out: demo's list still shows");

    // Keys pasted before signing in belong to whoever signs in.
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO6-REGIO-NLOCK');
    t.equal(await textOf(page, '#key-count', /found/), '2 new keys found · left out: 1 settled before (Steam would answer the same)', 'activated is settled for anyone; owned only for demo');
    await page.click('#redeem');
    await submitSignIn(page, 'demo-app');
    await page.fill('#guard-code', '12345');
    await page.press('#guard-code', 'Enter');
    await textOf(page, '#account', /demo-app/);
    await until(page, `document.querySelector('#progress').dataset.done === '2'`, 'both answered');
    t.same(await statuses(page), [['DEMO3-ALREA-DYOWN', 'already-owned'], ['DEMO6-REGIO-NLOCK', 'region-locked']], "demo-app's list: its own keys");
    t.equal(await textOf(page, '#other-accounts', /also keeps/), 'This browser also keeps results for demo (2 keys): sign in to that account to see them.');
  });

  t.test('a session bound to an account Steam dropped: another account starts over when nothing waits, and is told why when something does', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.fill('#keys-text', 'DEMOB-DISCO-NNECT DEMO3-ALREA-DYOWN');
    await page.click('#redeem');
    await textOf(page, '#sign-in-error', /Steam closed the connection/);
    // DEMO3 waits for demo: another account is refused, said once, naming the account.
    await submitSignIn(page, 'demo-app');
    t.equal(
      await textOf(page, '#sign-in-error', /signed in to the Steam account/),
      'This session is signed in to the Steam account demo and has keys waiting for it. Sign in as demo, or sign out first to use another account.',
    );
    t.ok(await page.isHidden('#notice'), 'said once, under the form, not twice');

    await page.click('#cancel');
    await until(page, `document.querySelector('tr[data-key="DEMO3-ALREA-DYOWN"]')?.dataset.status === 'cancelled'`, 'DEMO3 cancelled');
    // Nothing waits now: the page starts over as demo-app by itself.
    await page.fill('#password', 'demo');
    await page.press('#password', 'Enter');
    t.match(await textOf(page, '#guard-message', /Mobile/), /Steam Mobile app/, 'a new sign-in, as demo-app');
    await page.fill('#guard-code', '12345');
    await page.press('#guard-code', 'Enter');
    t.equal(await textOf(page, '#account', /demo-app/), 'Signed in as demo-app');
    t.ok(await page.isHidden('#sign-in-error'));
  });

  t.test('signing in joins the account\'s session elsewhere: its batch shows here, and the page says which keys were there already', async (t) => {
    const { page: elsewhere } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN');
    const url = new URL(elsewhere.url()).origin;
    const page = await openPage(t, browser, url); // another browser profile: nothing stored
    await page.fill('#keys-text', 'DEMO3-ALREA-DYOWN DEMO7-NEEDS-BASEG');
    await page.click('#redeem');
    await textOf(page, '#key-count', /Added 2 keys/);
    await submitSignIn(page, 'demo');
    t.equal(
      await textOf(page, '#notice-text', /there already\./),
      'This account already had a session on this server (in another tab, browser or device): its keys and results are below. ' +
        'Of the keys you pasted before signing in, 1 key was added; DEMO3-ALREA-DYOWN was there already.',
    );
    t.same(
      (await tableRows(page)).map((r) => r.key).sort(),
      ['DEMO1-ACTIV-ATED1', 'DEMO3-ALREA-DYOWN', 'DEMO7-NEEDS-BASEG', 'DEMOA-TIMES-OUT00'],
      'every key of the batch, each once',
    );
    await until(elsewhere, `document.querySelector('tr[data-key="DEMO7-NEEDS-BASEG"]') !== null`, 'the other browser hears of the key added');
    t.pass('both browsers show the one batch');
  });
});
