/**
 * Signing in without handing over the password, on the page in headless
 * Chromium, demo mode: the QR code (an SVG that a QR reader decodes to the
 * challenge URL), scanned, approved, denied, expired and renewed, a code
 * Steam changes while it waits; a password sign-in approved in the Steam app
 * or by the code, whichever comes first; English and Chinese, the keyboard
 * only, a phone's width.
 *
 * The demo's Steam app page (lib/app/demo-app.ts) plays the phone: opening
 * the code's link is scanning it, its forms approve or deny. Minutes of
 * waiting (a code's expiry, Steam changing it) pass on a clock the test moves.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { demoAppHandler, firstOf } from '../../lib/app/demo-app.js';
import { pageHandler } from '../../lib/app/page.js';
import { DemoSteamApp } from '../../lib/steam/demo-app.js';
import type { DemoPortOptions } from '../../lib/steam/demo-port.js';
import { startApp, type Running } from '../helpers/app.js';
import { openPage, readQr, screenshot, submitSignIn, textOf, until, withBrowser } from '../helpers/browser.js';
import { MinutesClock } from '../helpers/manual-clock.js';
import type { Tap } from '../interop/helpers.js';

/** How long a code or an approval waits in the demo (as the real adapter: 5 minutes). */
const APPROVAL_MS = 5 * 60_000;
/** How often Steam changes a waiting code, in the test that has it change. */
const RENEW_MS = 30_000;

interface QrRun {
  run: Running;
  app: DemoSteamApp;
  clock: MinutesClock;
}

async function qrApp(t: Tap, demo: DemoPortOptions = {}): Promise<QrRun> {
  const app = new DemoSteamApp();
  const clock = new MinutesClock();
  const run = await startApp({ page: firstOf(demoAppHandler(app), pageHandler()) }, { app, clock, latencyMs: 2, approvalTimeoutMs: APPROVAL_MS, ...demo });
  app.baseUrl = run.url; // the code links to this server's demo Steam app
  t.teardown(run.close);
  return { run, app, clock };
}

/** The phone scans the code: opens its link (the demo app's "remote interaction"). */
async function scan(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`the demo app answered ${res.status} for ${url}`);
  return res.text();
}

/** The phone approves or denies: the demo app's form, posted as its page does. */
async function decide(url: string, action: 'approve' | 'deny'): Promise<void> {
  const res = await fetch(`${url}/${action}`, { method: 'POST', redirect: 'manual' });
  if (res.status !== 303) throw new Error(`${action}: the demo app answered ${res.status}`);
}

/** The link the page offers with its code (its text alternative), once a code is up. */
async function shownLink(page: Page, other = ''): Promise<string> {
  return until<string>(
    page,
    `(() => { const a = document.querySelector('#qr-link'); return !document.querySelector('#qr-box').hidden && a.href && a.href !== ${JSON.stringify(other)} && a.textContent === a.href ? a.href : ''; })()`,
    'a QR code with its link',
  );
}

const focused = (page: Page): Promise<unknown> => page.evaluate('document.activeElement.id');

/** Waits for the sign-in to show: the title is there from the start, the section once the server has said who is signed in (and the focus set in the same drawing). */
async function signInShown(page: Page): Promise<void> {
  await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in');
}

await withBrowser(t, 'signing in without the password, on the page in Chromium', async (t, browser) => {
  t.test('QR first: a code that decodes to the challenge URL, scanned, approved', async (t) => {
    const { run } = await qrApp(t);
    const page = await openPage(t, browser, run.url);
    await signInShown(page);
    t.equal(await page.evaluate(`document.querySelector('#qr-way').compareDocumentPosition(document.querySelector('#password-way')) & Node.DOCUMENT_POSITION_FOLLOWING`), 4, 'the QR code comes first, the password second');
    t.ok(await page.isVisible('#qr-start') && (await page.isVisible('#account-name')), 'both one click away');
    t.equal(await focused(page), 'qr-start', 'a new visitor starts at the QR code');
    t.match(await textOf(page, '#qr-sees'), /^The server never sees your password: .* sign-in token that it keeps in memory only, until you sign out\.$/, 'what the server sees with the QR code');
    t.match(await textOf(page, '#password-hint'), /^The server hands your password to Steam for this sign-in only, then drops it/, 'and with the password');

    await page.click('#qr-start');
    const url = await shownLink(page);
    t.match(url, `${run.url}/demo-app/r/`, "the demo's challenge: a link to its Steam app page");
    t.equal(await page.evaluate(`document.querySelector('#qr-code').tagName`), 'svg', 'the code is an SVG');
    t.equal(await page.evaluate(`document.querySelector('#qr-code path').getAttribute('d').length > 100`), true, 'with modules drawn');
    t.equal(await readQr(browser, page, '#qr-picture'), url, 'a QR reader decodes the screenshot to the challenge URL');
    t.match(await textOf(page, '#qr-message'), /^Scan this code with the Steam app on your phone/);
    const alt = await page.evaluate(`(() => { const svg = document.querySelector('#qr-code'); return [svg.getAttribute('role'), document.getElementById(svg.getAttribute('aria-labelledby')).textContent]; })()`);
    t.same(alt, ['img', `Or open this link on the phone where the Steam app is signed in: ${url}`], 'its text alternative: where to open the link, and the link');
    t.equal(await focused(page), 'qr-cancel', 'the focus moves to what can be done now');
    await screenshot(page, 'sign-in-qr');

    t.match(await scan(url), /wants to sign in to steam-key as/, 'the phone opens the sign-in');
    t.equal(await textOf(page, '#qr-message', /Scanned/), 'Scanned — now approve the sign-in in the Steam app.');
    t.ok(await page.isHidden('#qr-picture'), 'the code has done its work: it goes');
    t.equal(await page.getAttribute('#qr-box', 'data-scanned'), 'true');

    await decide(url, 'approve');
    t.equal(await textOf(page, '#account', /demo/), 'Signed in as demo');
    t.ok(await page.isHidden('#sign-in'), 'the sign-in is over');
    t.equal(await focused(page), 'keys-text', 'on to the keys');
    t.equal(await page.evaluate(`localStorage.getItem('steam-key.method')`), 'qr', 'this browser remembers the way it signed in');
    t.notOk(await page.evaluate(`Object.values(localStorage).some((v) => v.includes('/demo-app/r/'))`), 'and keeps no challenge');

    await page.click('#sign-out');
    await signInShown(page);
    // The session's connection closes and a new one opens; the button is disabled meanwhile.
    await until(page, `!document.querySelector('#qr-start').disabled`, 'the page online again');
    t.equal(await focused(page), 'qr-start', 'signed out: the QR code again first');
  });

  t.test('Steam changes the code while it waits: the page follows; then denied in the app', async (t) => {
    const { run, clock } = await qrApp(t, { qrRenewMs: RENEW_MS });
    const page = await openPage(t, browser, run.url);
    await page.click('#qr-start');
    const first = await shownLink(page);
    t.equal(await readQr(browser, page, '#qr-picture'), first);

    await clock.advance(RENEW_MS);
    const second = await shownLink(page, first);
    t.not(second, first, 'a new challenge');
    t.equal(await readQr(browser, page, '#qr-picture'), second, 'the code drawn is the new one');
    t.match(await scan(first), /This sign-in is over/, 'the old one no longer signs in');

    await scan(second);
    await textOf(page, '#qr-message', /Scanned/);
    await decide(second, 'deny');
    t.equal(await textOf(page, '#sign-in-error', /./), 'The sign-in was refused in the Steam app.', 'the denial is said');
    t.ok(await page.isHidden('#qr-box'), 'the code is gone');
    t.equal(await textOf(page, '#qr-start'), 'Show a new code', 'a new code is one click away');
    t.equal(await focused(page), 'qr-start');
  });

  t.test('in Chinese: a code expires, a fresh one is offered, approved', async (t) => {
    const { run, clock } = await qrApp(t);
    const page = await openPage(t, browser, run.url, { locale: 'zh-CN' });
    t.equal(await textOf(page, '#qr-title'), '使用 Steam 应用');
    t.equal(await textOf(page, '#password-title'), '使用密码');
    t.match(await textOf(page, '#qr-sees'), /^服务器永远看不到你的密码/);
    t.match(await textOf(page, '#password-hint'), /^服务器只在本次登录时把你的密码交给 Steam/);
    t.equal(await textOf(page, '#qr-start'), '显示二维码');
    await page.click('#qr-start');
    const first = await shownLink(page);
    t.match(await textOf(page, '#qr-message'), /^请用手机上的 Steam 应用扫描此二维码/);
    t.match(await textOf(page, '#qr-alt'), /^或者在登录了 Steam 应用的手机上打开此链接：/);

    await clock.advance(APPROVAL_MS);
    t.equal(await textOf(page, '#sign-in-error', /./), '未在时限内批准登录，请重新开始以获取新的验证码。', 'expired, said in Chinese');
    t.equal(await textOf(page, '#qr-start', /新/), '显示新的二维码');
    t.equal(await focused(page), 'qr-start');
    t.match(await scan(first), /This sign-in is over/, 'the expired code signs nobody in');

    await page.keyboard.press('Enter');
    const fresh = await shownLink(page, first);
    t.not(fresh, first, 'a fresh code');
    t.ok(await page.isHidden('#sign-in-error'), 'the expiry is no longer said');
    t.equal(await readQr(browser, page, '#qr-picture'), fresh, 'and it decodes');
    await scan(fresh);
    t.equal(await textOf(page, '#qr-message', /已扫描/), '已扫描，请在 Steam 应用中批准登录。');
    await decide(fresh, 'approve');
    t.equal(await textOf(page, '#account', /demo/), '已登录：demo');

    await page.click('#language');
    t.equal(await textOf(page, '#account', /Signed/), 'Signed in as demo', 'and in English at a click');
  });

  t.test('a password sign-in the Steam app may approve: the approval, or the code, whichever comes first', async (t) => {
    const { run, app } = await qrApp(t);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo-approve');
    t.match(await textOf(page, '#guard-message', /Approve/), /^Approve this sign-in in the Steam app — or type the code\./, 'the prompt offers both');
    t.equal(await textOf(page, '#guard-approve'), 'Waiting for your approval in the Steam app…');
    t.equal(await focused(page), 'guard-code', 'the code field has the focus meanwhile');
    await screenshot(page, 'sign-in-approve');
    const [waiting] = app.waitingPasswordSignIns;
    if (!t.ok(waiting, 'the demo app has the sign-in')) return;
    const url = `${run.url}/demo-app/r/${waiting!.id}`;
    await scan(url);
    t.equal(await textOf(page, '#guard-approve', /Opened/), 'Opened in the Steam app: approve it there — or type the code.');
    await decide(url, 'approve');
    t.equal(await textOf(page, '#account', /demo-approve/), 'Signed in as demo-approve', 'approved in the app, no code typed');
    t.ok(await page.isHidden('#guard'));
    t.equal(await page.evaluate(`localStorage.getItem('steam-key.method')`), 'password');

    // Again, and this time the code comes first: the approval then signs in nobody a second time.
    await page.click('#sign-out');
    await signInShown(page);
    t.equal(await focused(page), 'password', 'signed in with the password last time: the focus waits there');
    await page.fill('#password', 'demo');
    await page.press('#password', 'Enter');
    await textOf(page, '#guard-approve', /Waiting/);
    const [second] = app.waitingPasswordSignIns;
    await page.fill('#guard-code', '12345');
    await page.press('#guard-code', 'Enter');
    t.equal(await textOf(page, '#account', /demo-approve/), 'Signed in as demo-approve', 'the code signed in');
    t.equal(app.find(second!.id)?.state, 'ended', 'the approval it no longer needs is withdrawn');
    t.same(app.waitingPasswordSignIns, [], 'nothing waits in the app');
  });

  t.test('the keyboard only: a code, cancelled; a code given up for the password', async (t) => {
    const { run } = await qrApp(t);
    const page = await openPage(t, browser, run.url);
    await signInShown(page);
    t.equal(await focused(page), 'qr-start');
    await page.keyboard.press('Enter');
    const url = await shownLink(page);
    t.equal(await focused(page), 'qr-cancel');
    await page.keyboard.press('Shift+Tab');
    t.equal(await focused(page), 'qr-link', 'the link can be reached and copied');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // Cancel
    t.equal(await textOf(page, '#sign-in-error', /./), 'Sign-in was cancelled.');
    t.equal(await textOf(page, '#qr-start'), 'Show a QR code', 'cancelled is not expired: the same offer as before');
    t.equal(await focused(page), 'qr-start', 'the focus is back where it started');
    t.match(await scan(url), /This sign-in is over/, 'the cancelled code signs nobody in');

    await page.keyboard.press('Enter');
    await shownLink(page, url);
    // Tab on past the code's link and Cancel, into the password form.
    for (let i = 0; i < 5 && (await focused(page)) !== 'account-name'; i++) await page.keyboard.press('Tab');
    t.equal(await focused(page), 'account-name', 'the password form is a few Tabs away, the code still up');
    await page.keyboard.type('demo');
    await page.keyboard.press('Tab');
    t.equal(await focused(page), 'password');
    await page.keyboard.type('demo');
    await page.keyboard.press('Enter');
    t.equal(await textOf(page, '#account', /demo/), 'Signed in as demo', 'the password sign-in took the place of the code');
    t.ok(await page.isHidden('#sign-in-error'), 'without a word about the code it cancelled');
    t.equal(await focused(page), 'keys-text');
  });

  t.test('a name typed, then the QR code chosen: after signing out the focus is on the QR button again, across the reconnection', async (t) => {
    const { run } = await qrApp(t);
    const page = await openPage(t, browser, run.url);
    await signInShown(page);
    await page.fill('#account-name', 'someone');
    await page.focus('#qr-start');
    await page.keyboard.press('Enter');
    await decide(await shownLink(page), 'approve');
    await textOf(page, '#account', /demo/);
    // Every change of the connection's state, as the page shows it.
    await page.evaluate(`window.seen = []; new MutationObserver(() => window.seen.push(document.querySelector('#connection').dataset.state))
      .observe(document.querySelector('#connection'), { attributes: true, attributeFilter: ['data-state'] }); true`);
    await page.focus('#sign-out');
    await page.keyboard.press('Enter');
    await until(page, `window.seen.some((s) => s !== 'online') && window.seen.at(-1) === 'online'`, 'the connection closed and opened again');
    t.equal(await page.inputValue('#account-name'), 'someone', 'what was typed stays');
    t.equal(await focused(page), 'qr-start', 'the button the closing connection disabled has the focus back');
  });

  t.test("a phone's width: the code is no use on the phone showing it; the link is the way in", async (t) => {
    const { run } = await qrApp(t);
    const page = await openPage(t, browser, run.url, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    await page.click('#qr-start');
    const url = await shownLink(page);
    t.ok(await page.isVisible('#qr-phone'), 'the page says so');
    t.equal(await textOf(page, '#qr-phone'), 'On a phone the QR code is no use: open the link below on the phone where the Steam app is signed in.');
    t.ok(await page.isHidden('#qr-picture'), 'no code to stare at');
    t.ok(await page.isHidden('#qr-message'), 'and no word of scanning it');
    t.ok(await page.isVisible('#qr-link'), 'the link is there');
    t.equal(await page.getAttribute('#qr-link', 'href'), url);
    const widths = (await page.evaluate(`[document.documentElement.scrollWidth, window.innerWidth]`)) as [number, number];
    t.ok(widths[0] <= widths[1], `the long link breaks: nothing wider than the screen (${widths[0]} <= ${widths[1]} px)`);
    const ways = (await page.evaluate(`[document.querySelector('#qr-way').getBoundingClientRect().bottom, document.querySelector('#password-way').getBoundingClientRect().top]`)) as [number, number];
    t.ok(ways[0] <= ways[1], 'the two ways stack, the QR code first');

    await scan(url); // the link opened on the phone with the app
    await textOf(page, '#qr-message', /Scanned/);
    t.ok(await page.isVisible('#qr-message'), 'once it is opened, what to do next shows');
  });
});
