/**
 * The page in headless Chromium, demo mode: the states a batch can get into
 * (rate-limit cooldown with its countdown, cancel, a key with no answer and
 * Resume, Steam dropping the connection, the key limit), the authenticator
 * prompt, and a dropped WebSocket that the page resumes by itself.
 */
import t from 'tap';
import { pageHandler } from '../../lib/app/page.js';
import { FAST_TIMERS, startApp } from '../helpers/app.js';
import { allDone, leftGroups, openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

await withBrowser(t, 'the page in Chromium: the states of a batch', async (t, browser) => {
  t.test('a cooldown counts down, cancel, a key with no answer waits for Resume, Steam drops the connection', async (t) => {
    const run = await startApp({ page: pageHandler(), timers: { ...FAST_TIMERS, cooldownMs: 1_500 } }, { latencyMs: 5, timeoutMs: 50 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);

    // Rate-limited: every pending key waits, a countdown shows when sending resumes.
    await page.fill('#keys-text', 'DEMO9-RATEL-IMITS DEMO1-ACTIV-ATED1 DEMO2-ACTIV-ATED3');
    await page.click('#redeem');
    t.match(
      await textOf(page, '#queue-message', /resumes/),
      /^Steam is limiting activations\. The waiting keys were not used; sending resumes by itself in 0:0[12] \(at \d{1,2}:\d\d [AP]M\)\.$/,
      'a countdown to the automatic resume, and the clock time it ends',
    );
    t.same((await tableRows(page)).map((r) => r.status), ['waiting', 'waiting', 'waiting']);
    t.match((await tableRows(page))[0]!.details, /will be tried again after the pause/, 'the rate-limited key says why');
    t.ok(await page.isHidden('#resume'), 'no Resume button: it resumes by itself');

    await page.focus('#cancel');
    await page.keyboard.press('Enter');
    await until(page, `[...document.querySelectorAll('#results tbody tr')].every((tr) => tr.dataset.status === 'cancelled')`, 'every key cancelled');
    t.match(await textOf(page, '#progress', /cancelled/), /3 cancelled/);
    t.equal(await page.evaluate('document.activeElement.id'), 'keys-text', '"Cancel the rest" from the keyboard: the focus goes to the box, not to nowhere');
    t.same((await leftGroups(page))['not-sent'], ['DEMO9-RATEL-IMITS', 'DEMO1-ACTIV-ATED1', 'DEMO2-ACTIV-ATED3'], 'cancelled keys are listed as not sent');

    // Cancelled keys may be pasted again; they wait for the cooldown still running, then go.
    await page.fill('#keys-text', 'DEMO9-RATEL-IMITS DEMO1-ACTIV-ATED1');
    t.equal(await textOf(page, '#key-count', /found/), '2 new keys found');
    await page.click('#redeem');
    await until(page, `document.querySelector('tr[data-key="DEMO1-ACTIV-ATED1"]').dataset.status === 'activated'`, 'DEMO1 activated');
    t.same((await tableRows(page)).map((r) => r.status), ['activated', 'activated', 'cancelled'], 'after the cooldown: the rate-limited key went first and activated');
    await until(page, `document.querySelector('#queue-state').hidden`, 'the queue message gone');

    // No answer: unknown, and the queue stops until the user says Resume.
    await page.fill('#keys-text', 'DEMOA-TIMES-OUT00 DEMO4-INVAL-IDKEY');
    await page.click('#redeem');
    t.match(await textOf(page, '#queue-message', /no answer/), /^The last key got no answer\. Check your library, then resume/);
    t.ok(await page.isVisible('#resume'), 'a Resume button');
    let rows = await tableRows(page);
    t.match(rows[3], { key: 'DEMOA-TIMES-OUT00', status: 'unknown', badge: 'Unknown — check your library', details: /may have been activated/ });
    t.match(rows[4], { key: 'DEMO4-INVAL-IDKEY', status: 'queued', badge: 'Queued' });
    await page.focus('#resume');
    await page.keyboard.press('Enter');
    await until(page, `document.querySelector('tr[data-key="DEMO4-INVAL-IDKEY"]').dataset.status === 'invalid-key'`, 'DEMO4 answered');
    t.equal(await page.evaluate('document.activeElement.id'), 'progress', 'after Resume the focus is on the progress line, not on nowhere');
    t.same((await leftGroups(page)).check, ['DEMOA-TIMES-OUT00'], 'the key with no answer: "check your library"');
    await until(page, `document.querySelector('#queue-state').hidden`, 'the queue going again');

    // Steam drops the connection: the sign-in form comes back, the keys wait for it.
    await page.fill('#keys-text', 'DEMOB-DISCO-NNECT DEMO3-ALREA-DYOWN');
    await page.click('#redeem');
    t.match(await textOf(page, '#sign-in-error', /./), /^Steam closed the connection\. Sign in again to go on/);
    t.ok(await page.isVisible('#sign-in'), 'the sign-in form is back');
    t.equal(await page.inputValue('#account-name'), 'demo', 'with the account name filled in');
    t.equal(await textOf(page, '#queue-message', /Sign in/), 'Sign in to Steam to send the queued keys.');
    t.ok(await page.isHidden('#resume'), 'signing in is the way on, not Resume');
    rows = await tableRows(page);
    t.match(rows[5], { key: 'DEMOB-DISCO-NNECT', status: 'unknown' });
    t.match(rows[6], { key: 'DEMO3-ALREA-DYOWN', status: 'queued' });
    t.equal(await page.evaluate('document.activeElement.id'), 'password', 'the focus waits in the password field');
    await page.fill('#password', 'demo');
    await page.press('#password', 'Enter');
    await until(page, `document.querySelector('tr[data-key="DEMO3-ALREA-DYOWN"]').dataset.status === 'already-owned'`, 'DEMO3 answered');
    t.pass('signed in again, the waiting key went');
  });

  t.test('the mobile authenticator; a paste over the limit adds nothing and keeps the text', async (t) => {
    const run = await startApp({ page: pageHandler(), maxKeysPerSession: 2 }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo-app');
    t.equal(await textOf(page, '#guard-message', /Mobile/), 'Enter the code shown by the Steam Mobile app (Steam Guard).', 'the guard dialog asks for the authenticator code');
    t.ok(await page.isHidden('#sign-out'), 'not signed in yet: no "Sign out"');
    t.ok(await page.isVisible('#guard-cancel'), 'the guard prompt has its own way back');
    await page.click('#guard-cancel');
    t.equal(await textOf(page, '#sign-in-error', /./), 'Sign-in was cancelled.');
    t.ok(await page.isHidden('#guard'), 'the prompt is gone');
    t.equal(await page.evaluate('document.activeElement.id'), 'password', 'the focus is back in the form');
    await page.fill('#password', 'demo');
    await page.press('#password', 'Enter');
    await textOf(page, '#guard-message', /Mobile/);
    await page.fill('#guard-code', '12345');
    await page.press('#guard-code', 'Enter');
    await textOf(page, '#account', /demo-app/);

    const paste = 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO4-INVAL-IDKEY';
    await page.fill('#keys-text', paste);
    await page.click('#redeem');
    t.match(await textOf(page, '#notice-text', /./), /past its limit of keys; nothing was added/, 'the limit, in plain words');
    t.equal(await page.inputValue('#keys-text'), paste, 'the text is still there');
    t.equal((await tableRows(page)).length, 0, 'and nothing was queued');
    t.ok(await page.isEnabled('#redeem'), 'Redeem can be pressed again');
  });

  t.test('keys redeemed before signing in wait for it, and the page says so', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1');
    await page.click('#redeem');
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 1 key. It will be sent once you sign in.');
    await page.fill('#keys-text', 'DEMO3-ALREA-DYOWN DEMO4-INVAL-IDKEY');
    await page.focus('#redeem');
    await page.keyboard.press('Enter'); // from the keyboard: the button then disables itself
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 2 keys. They will be sent once you sign in.');
    t.equal(await page.evaluate('document.activeElement.id'), 'keys-text', 'the focus goes back to the box, not to nowhere');

    await submitSignIn(page, 'demo');
    await allDone(page, 3);
    t.equal(await page.textContent('#key-count'), 'Added 2 keys.', 'once sent, the line no longer says they wait for a sign-in');
    await page.focus('#sign-out');
    await page.keyboard.press('Enter');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
    t.equal(await page.evaluate('document.activeElement.id'), 'password', 'signed out: the focus is in the form, at the password');
  });

  t.test('a dropped connection: the page reconnects by itself and resumes the session, mid-batch', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 60 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    const keys = ['DEMO1-ACTIV-ATED1', 'DEMO3-ALREA-DYOWN', 'DEMO4-INVAL-IDKEY', 'DEMO5-ALREA-DYUSE', 'DEMO6-REGIO-NLOCK'];
    await page.fill('#keys-text', keys.join(' '));
    await page.click('#redeem');
    await until(page, `Number(document.querySelector('#progress').dataset.done) >= 1`, 'a first result');
    const token = await page.evaluate(`localStorage.getItem('steam-key.session')`);

    await run.app.router.closeAll(); // every WebSocket dropped; the sessions stay (grace period)
    await run.logged(/session-resumed/);
    t.equal(await textOf(page, '#connection', /^Connected$/), 'Connected', 'back by itself');
    await allDone(page, keys.length);
    t.same((await tableRows(page)).map((r) => r.key), keys, 'every key, none twice');
    t.equal(await page.evaluate(`localStorage.getItem('steam-key.session')`), token, 'the same session');
    t.equal(run.logs.filter((l) => /session-opened/.test(l)).length, 1, 'no second session was opened');
    t.ok(await page.isHidden('#notice'), 'nothing to warn about');
  });

});
