/**
 * The ordinary accidents of a long batch (issue 12), end to end: Chromium on
 * the page of the built binary (`steam-key serve`), whose real steam-user
 * redeems against the fake Steam, which counts every key it receives. The
 * same account signed in from another browser profile, the server killed
 * mid-batch and started again, a sign-out mid-batch and a second
 * interruption after refilling (closed tabs: page-interrupt.test.ts). Each ends with every
 * key's true state on the page, in the CSV and in the JSON, the counts of
 * distinct keys right, and no key received by Steam twice — unless the user
 * said to send it again.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { allDone, downloads, leftGroups, openPage, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';
import { keysOf, mail, sentOff, signIn, startInterruptions, trueState, withSteam } from '../helpers/page-interrupt.js';

const { steam, serve, killAndRestart, received } = await startInterruptions(t);

await withBrowser(t, 'the page of the built binary against the fake Steam: interruptions elsewhere and after a restart', async (t, browser: Browser) => {
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
