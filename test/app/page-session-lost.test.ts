/**
 * The page in headless Chromium when the server no longer has its session (a
 * restart): the keys and results it had shown stay on the page, marked as from
 * the session that ended, in the downloads and in "Keys not activated"; a key
 * that was never sent can be pasted again into the new session.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import type { Tap } from '../interop/helpers.js';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { pageHandler } from '../../lib/app/page.js';
import { FAST_TIMERS, startApp, type Running } from '../helpers/app.js';
import { openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

/** The rows of the "from the session that ended" table. */
async function endedRows(page: Page): Promise<{ key: string; status: string; badge: string; details: string }[]> {
  return (await page.evaluate(`[...document.querySelectorAll('#ended tbody tr')].map((tr) => ({
    key: tr.cells[1].textContent, status: tr.dataset.status, badge: tr.cells[2].textContent, details: tr.cells[3].textContent,
  }))`)) as { key: string; status: string; badge: string; details: string }[];
}

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

await withBrowser(t, 'the page in Chromium: the server lost the session', async (t, browser) => {
  t.test('the results shown before stay, marked; export and copy keep them; a key never sent goes again', async (t) => {
    const { first, page } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN', { acceptDownloads: true, permissions: ['clipboard-read', 'clipboard-write'] });
    t.same((await tableRows(page)).map((r) => r.status), ['activated', 'invalid-key', 'redeeming', 'queued']);

    await restart(t, first);

    t.match(
      await textOf(page, '#notice', /no longer had your session/),
      /The 4 keys it had shown are kept below, under "From the session that ended"/,
      'the notice says the results are kept, and where',
    );
    t.ok(await page.isVisible('#sign-in'), 'sign in again to go on');
    t.equal(await page.textContent('#key-count'), '', 'no "Added 4 keys. They will be sent once you sign in": they are not in the new session');
    t.equal((await tableRows(page)).length, 0, "the new session's table is empty");
    t.ok(await page.isVisible('#ended-section'), 'a section for the session that ended');
    t.equal(await textOf(page, '#ended-title'), 'From the session that ended');
    const ended = await endedRows(page);
    t.same(ended.map((r) => r.key), ['DEMO1-ACTIV-ATED1', 'DEMO4-INVAL-IDKEY', 'DEMOA-TIMES-OUT00', 'DEMO3-ALREA-DYOWN'], 'every key shown before');
    t.match(ended[0], { status: 'activated', badge: 'Activated' });
    t.match(ended[1], { status: 'invalid-key', badge: 'Invalid key' });
    t.match(ended[2], { status: 'unknown', badge: 'Unknown — check your library', details: /may have been activated/ }, 'the key with Steam is unknown, not done');
    t.match(ended[3], { status: 'not-sent', badge: 'Not sent', details: /never sent/ }, 'the queued key was never sent');

    await page.click('#language');
    t.equal(await textOf(page, '#ended-title', /会话/), '已结束的会话', 'in Chinese too');
    t.same((await endedRows(page)).map((r) => r.badge), ['激活成功', '无效激活码', '未知——请检查游戏库', '未发送']);
    t.match(await textOf(page, '#notice', /会话/), /之前显示的 4 个激活码保留在下方“已结束的会话”中/);
    await page.click('#language');
    await textOf(page, '#ended-title', /From/);

    const notActivated = 'DEMO4-INVAL-IDKEY\nDEMOA-TIMES-OUT00\nDEMO3-ALREA-DYOWN';
    t.equal(await page.inputValue('#unused'), notActivated, '"Keys not activated" keeps them');
    await page.click('#copy-unused');
    await textOf(page, '#copied', /Copied/);
    t.equal(await page.evaluate('navigator.clipboard.readText()'), notActivated, 'and copies them');

    t.ok(await page.isEnabled('#export-csv'), 'the downloads are there with no key in the new session');
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const lines = (await readFile(await csvDownload.path(), 'utf8')).slice(1).split('\r\n');
    t.equal(lines[0], 'number,key,state,status,message,packages,eresult,detail,session');
    t.same(
      lines.slice(1, -1).map((l) => [l.split(',')[1], l.split(',')[3], l.split(',').at(-1)]),
      [
        ['DEMO1-ACTIV-ATED1', 'activated', 'ended'],
        ['DEMO4-INVAL-IDKEY', 'invalid-key', 'ended'],
        ['DEMOA-TIMES-OUT00', 'unknown', 'ended'],
        ['DEMO3-ALREA-DYOWN', '', 'ended'],
      ],
      'the CSV has every key of the session that ended, marked so',
    );
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const json = JSON.parse(await readFile(await jsonDownload.path(), 'utf8')) as { keys: unknown[]; endedSessionKeys: { key: string; state: string; account: string }[] };
    t.same(json.keys, []);
    t.same(json.endedSessionKeys.map((k) => [k.key, k.state, k.account]), [
      ['DEMO1-ACTIV-ATED1', 'done', 'demo'],
      ['DEMO4-INVAL-IDKEY', 'done', 'demo'],
      ['DEMOA-TIMES-OUT00', 'done', 'demo'],
      ['DEMO3-ALREA-DYOWN', 'not-sent', 'demo'],
    ], 'so has the JSON, with the account they were for');

    // The old session's keys are not "already in the list" of the new one; but one it activated is not sent again.
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN');
    t.equal(await textOf(page, '#key-count', /found/), '1 new key found · dropped: 1 done in the session that ended');
    await page.fill('#keys-text', '');
    await page.click('#refill-not-sent');
    t.equal(await page.inputValue('#keys-text'), 'DEMO3-ALREA-DYOWN', 'one click puts the keys never sent in the box');
    t.equal(await textOf(page, '#key-count', /found/), '1 new key found');

    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.click('#redeem');
    await until(page, `document.querySelector('#results tr[data-key="DEMO3-ALREA-DYOWN"]')?.dataset.status === 'already-owned'`, 'DEMO3 answered');
    t.pass('the key never sent was redeemed in the new session');
    t.equal((await endedRows(page)).length, 4, 'and the session that ended is still shown');
  });
  t.test('"Keys not activated" names each key once, by what became of it last', async (t) => {
    const { first, page } = await batchWithDemoaAtSteam(t, browser, 'DEMO4-INVAL-IDKEY DEMOA-TIMES-OUT00 DEMO2-ACTIV-ATED3 DEMO3-ALREA-DYOWN');
    await restart(t, first);
    await textOf(page, '#notice', /no longer had your session/);
    t.equal(await page.inputValue('#unused'), 'DEMO4-INVAL-IDKEY\nDEMOA-TIMES-OUT00\nDEMO2-ACTIV-ATED3\nDEMO3-ALREA-DYOWN');

    // The two keys never sent go again in the new session: one activates, one is already owned.
    await page.click('#refill-not-sent');
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    await page.click('#redeem');
    await until(page, `document.querySelector('#progress').dataset.done === '2'`, 'both keys answered');
    t.same((await tableRows(page)).map((r) => [r.key, r.status]), [['DEMO2-ACTIV-ATED3', 'activated'], ['DEMO3-ALREA-DYOWN', 'already-owned']]);
    t.equal(
      await page.inputValue('#unused'),
      'DEMO4-INVAL-IDKEY\nDEMOA-TIMES-OUT00\nDEMO3-ALREA-DYOWN',
      'the key activated in the new session is not listed as not activated; the other is listed once',
    );
  });
  t.test('a paste of keys the lost session settled sends them no more: only what Steam could answer otherwise', async (t) => {
    // The user's e-mail, pasted whole before and after the restart.
    const mail = 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO4-INVAL-IDKEY DEMOA-TIMES-OUT00 DEMO6-REGIO-NLOCK DEMO4-INVAL-IDKEY';
    const { first, page } = await batchWithDemoaAtSteam(t, browser, mail);
    await restart(t, first);
    await textOf(page, '#notice', /no longer had your session/);
    t.same((await endedRows(page)).map((r) => r.status), ['activated', 'already-owned', 'invalid-key', 'unknown', 'not-sent']);

    // Not signed in yet: only what no account could activate is left out (activated, invalid).
    await page.fill('#keys-text', mail);
    t.equal(await textOf(page, '#key-count', /found/), '3 new keys found · dropped: 1 repeated in the text, 2 done in the session that ended');
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    // Signed in to the account that owns DEMO3: Steam would say so again.
    await page.fill('#keys-text', mail);
    t.equal(await textOf(page, '#key-count', /found/), '2 new keys found · dropped: 1 repeated in the text, 3 done in the session that ended');
    await page.click('#redeem');
    t.equal(
      await textOf(page, '#key-count', /Added/),
      'Added 2 keys; 1 dropped as duplicates or masks; 3 done in the session that ended, not sent again.',
    );
    t.same((await tableRows(page)).map((r) => r.key), ['DEMOA-TIMES-OUT00', 'DEMO6-REGIO-NLOCK'], 'the server got the unknown key and the one never sent, nothing else');
  });
  t.test('signing out mid-batch keeps what the page showed, as a session that ended', async (t) => {
    const { page } = await batchWithDemoaAtSteam(t, browser, 'DEMO1-ACTIV-ATED1 DEMOA-TIMES-OUT00 DEMO3-ALREA-DYOWN');
    await page.click('#sign-out');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
    t.equal((await tableRows(page)).length, 0, 'a fresh session: its table is empty');
    t.match(await textOf(page, '#notice', /signed out/), /^You signed out\. The 3 keys of that session are kept below, under "From the session that ended"/);
    t.same(
      (await endedRows(page)).map((r) => [r.key, r.status]),
      [['DEMO1-ACTIV-ATED1', 'activated'], ['DEMOA-TIMES-OUT00', 'unknown'], ['DEMO3-ALREA-DYOWN', 'not-sent']],
      'the activated key, the one Steam had (it may have been activated) and the one never sent: none vanishes',
    );
    t.equal(await page.inputValue('#unused'), 'DEMOA-TIMES-OUT00\nDEMO3-ALREA-DYOWN');
  });
});
