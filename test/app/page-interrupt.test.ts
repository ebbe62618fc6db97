/**
 * The ordinary accidents of a long batch (issue 12), end to end: Chromium on
 * the page of the built binary (`steam-key serve`), whose real steam-user
 * redeems against the fake Steam, which counts every key it receives. A tab
 * closed mid-batch (and opened again, with and without signing in again)
 * and two tabs on one account; the same account from another browser
 * profile, the server killed and a sign-out: page-interrupt-restart.test.ts
 * (two files, so that tap's jobs share the work). Each ends with every
 * key's true state on the page, in the CSV and in the JSON, the counts of
 * distinct keys right, and no key received by Steam twice — unless the user
 * said to send it again.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { allDone, openPage, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';
import { keysOf, mail, newTab, sentOff, signIn, startInterruptions, trueState } from '../helpers/page-interrupt.js';

const { steam, serve, received } = await startInterruptions(t);

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
    // The sign-in form shows once the server has greeted the page (its title is there from the start).
    await textOf(page, '#connection', /^Connected$/);
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
});
