/**
 * The page in headless Chromium when the server refuses something because of
 * a limit (docs/sessions.md, "What one client may spend"): each refusal
 * reaches the user as a clear message, in English and Chinese, said once,
 * with the clock time to try again where there is one — never a silent drop.
 */
import t from 'tap';
import { pageHandler } from '../../lib/app/page.js';
import type { SignInGate } from '../../lib/app/ws-handler.js';
import { startApp } from '../helpers/app.js';
import { openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

/** A quota that refuses (as `refusal`) while `refusing` is set. */
function quota(refusal: 'address-full' | 'server-full') {
  const q = {
    refusing: true,
    take: (): 'ok' | 'address-full' | 'server-full' => (q.refusing ? refusal : 'ok'),
    release: (): void => undefined,
  };
  return q;
}

/** A sign-in gate that refuses every sign-in with `code` until `retryAt`. */
function gate(code: 'sign-in-limited' | 'steam-cooldown', retryAt: number): SignInGate {
  return { check: () => ({ code, retryAt }), start: () => undefined, finish: () => undefined };
}

/** The clock time the page shows for `ms`, as the browser formats it in `lang`. */
const timeIn = (lang: string, ms: number): string => `new Date(${ms}).toLocaleTimeString('${lang}', { hour: 'numeric', minute: '2-digit' })`;

await withBrowser(t, 'the page in Chromium: the limits of a shared server', async (t, browser) => {
  t.test('too many sessions from this address, or none left on the server: said where it happened', async (t) => {
    const sessions = quota('address-full');
    const run = await startApp({ page: pageHandler(), sessionQuota: sessions }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1');
    await page.click('#redeem');
    t.equal(
      await textOf(page, '#notice-text', /./),
      'Too many sessions from your address are open on this server. Sign out of one (or wait a few minutes for an unused one to end), then try again.',
    );
    t.equal(await page.inputValue('#keys-text'), 'DEMO1-ACTIV-ATED1', 'the text stays in the box');
    t.equal((await tableRows(page)).length, 0);

    await submitSignIn(page, 'demo');
    t.match(await textOf(page, '#sign-in-error', /Too many sessions/), /^Too many sessions from your address/, 'a sign-in hears it under the form');
    t.equal(await page.inputValue('#password'), 'demo', 'the password stays for the next try');

    const busy = quota('server-full');
    const full = await startApp({ page: pageHandler(), sessionQuota: busy }, { latencyMs: 5 });
    t.teardown(full.close);
    const zh = await openPage(t, browser, full.url, { locale: 'zh-CN' });
    await zh.fill('#keys-text', 'DEMO1-ACTIV-ATED1');
    await zh.click('#redeem');
    t.equal(await textOf(zh, '#notice-text', /./), '服务器目前无法容纳更多会话，请几分钟后再试。', 'in Chinese');
    busy.refusing = false;
    await zh.click('#redeem');
    await textOf(zh, '#key-count', /已添加/);
    t.ok(await zh.isHidden('#notice'), 'once there is room, the paste goes and the message goes away');
  });

  t.test('sign-ins limited, or Steam cooling down: the clock time to try again', async (t) => {
    const retryAt = Date.now() + 17 * 60_000;
    const run = await startApp({ page: pageHandler(), signIns: gate('sign-in-limited', retryAt) }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    const at = (await page.evaluate(timeIn('en-US', retryAt))) as string;
    t.equal(
      await textOf(page, '#sign-in-error', /./),
      `Too many sign-in attempts for now: this server protects your address and its own from Steam’s limits. Try again after ${at}.`,
    );
    t.ok(await page.isHidden('#notice'), 'said once');
    t.ok(await page.isEnabled('#sign-in-button'), 'the form can be sent again later');
    await page.click('#language');
    const atZh = (await page.evaluate(timeIn('zh-CN', retryAt))) as string;
    t.equal(await textOf(page, '#sign-in-error', /登录/), `登录尝试次数过多：此服务器在保护你的地址和它自己不触发 Steam 的限制。请在 ${atZh} 之后再试。`);

    const cool = await startApp({ page: pageHandler(), signIns: gate('steam-cooldown', retryAt) }, { latencyMs: 5 });
    t.teardown(cool.close);
    const other = await openPage(t, browser, cool.url);
    await submitSignIn(other, 'demo');
    t.equal(
      await textOf(other, '#sign-in-error', /./),
      `Steam refused sign-ins from this server (or to this account) a short while ago, so none is sent until ${at}: each attempt would prolong it.`,
    );
  });

  t.test('too many connections from this address: the page says so and tries again by itself', async (t) => {
    const connections = quota('address-full');
    const run = await startApp({ page: pageHandler(), connectionQuota: connections }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    t.equal(await textOf(page, '#notice-text', /./), 'Too many connections to this server from your address. Close some tabs; the page tries again by itself.');
    t.match(await textOf(page, '#connection', /Cannot reach|Reconnecting/), /Trying again|Reconnecting/);
    connections.refusing = false;
    await textOf(page, '#connection', /^Connected$/);
    t.ok(await page.isHidden('#notice'), 'connected: the message is over');
  });

  t.test('one session in too many tabs: the oldest stops, and can take the session back', async (t) => {
    const run = await startApp({ page: pageHandler(), maxConnectionsPerSession: 1 }, { latencyMs: 5 });
    t.teardown(run.close);
    const first = await openPage(t, browser, run.url);
    await submitSignIn(first, 'demo');
    await textOf(first, '#account', /demo/);
    const second = await first.context().newPage(); // finds the session's token
    await second.goto(run.url);
    await textOf(second, '#account', /demo/);
    t.equal(
      await textOf(first, '#notice-text', /too many tabs/),
      'This session is open in too many tabs or windows, so this one — the oldest — has stopped.',
    );
    t.equal(await textOf(first, '#connection'), 'Disconnected.');
    t.equal(await textOf(first, '#notice-action'), 'Use it here again');
    await first.click('#notice-action');
    await textOf(first, '#connection', /^Connected$/);
    t.equal(await textOf(first, '#account', /demo/), 'Signed in as demo', 'the first tab has it again');
    await textOf(second, '#notice-text', /too many tabs/);
    t.pass('and the second has stopped');
  });

  t.test('nobody signed in in time: the session ends, its keys are kept as not sent', async (t) => {
    const run = await startApp({ page: pageHandler(), timers: { signInDeadlineMs: 300 } }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url, { locale: 'zh-CN' });
    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN');
    await page.click('#redeem');
    t.equal(await textOf(page, '#notice-text', /会话已结束/), '由于未及时登录 Steam，会话已结束。其中的激活码从未发送。');
    await until(page, `[...document.querySelectorAll('#results tbody tr')].every((tr) => tr.dataset.status === 'not-sent')`, 'both not sent');
    t.equal((await tableRows(page)).length, 2, 'the keys stay, as not sent');
  });

  t.test('a page older than the server: it says so, with a button to reload', async (t) => {
    const run = await startApp({ page: pageHandler() });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    // A server that no longer speaks this page's version (the real one speaks it: answer in its place).
    await page.routeWebSocket(/\/ws$/, (ws) => {
      ws.onMessage((message) => {
        const m = JSON.parse(String(message)) as { type: string };
        if (m.type === 'hello') ws.send(JSON.stringify({ type: 'error', code: 'unsupported-version', message: 'this server speaks protocol version 3', versions: [3] }));
      });
    });
    await page.reload();
    t.equal(await textOf(page, '#notice-text', /older/), 'This page is older than the server. Reload it.');
    t.equal(await textOf(page, '#notice-action'), 'Reload');
  });
});
