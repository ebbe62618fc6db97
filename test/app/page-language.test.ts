/**
 * The page in headless Chromium, demo mode: Chinese and English, a phone's
 * width, and a server that goes away.
 */
import t from 'tap';
import { pageHandler } from '../../lib/app/page.js';
import { startApp } from '../helpers/app.js';
import { allDone, openPage, screenshot, submitSignIn, tableRows, textOf, withBrowser } from '../helpers/browser.js';

await withBrowser(t, 'the page in Chromium: languages, phones, a server gone', async (t, browser) => {
  t.test('Chinese from the browser language, failures in plain words, a switch to English that sticks', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url, { locale: 'zh-CN' });
    t.equal(await textOf(page, '#sign-in-title'), '登录 Steam', 'navigator.language zh-CN: Chinese');
    t.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    t.match(await textOf(page, '#account-hint'), /不是个人资料昵称/);
    t.equal(await textOf(page, '#language'), 'English', 'the switch offers English');

    await page.fill('#account-name', 'demo');
    await page.fill('#password', 'not the password');
    await page.press('#password', 'Enter');
    t.match(await textOf(page, '#sign-in-error', /./), /^账户名或密码错误。/, 'a wrong password, said in Chinese');
    t.equal(await page.inputValue('#password'), '', 'the wrong password is cleared: pressing Enter again would only repeat a failed sign-in');
    await page.fill('#password', 'demo');
    await page.press('#password', 'Enter');
    t.equal(await textOf(page, '#account', /demo/), '已登录：demo');
    t.ok(await page.isHidden('#sign-in-error'), 'the error is gone');

    await page.fill('#keys-text', 'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO4-INVAL-IDKEY DEMO4-INVAL-IDKEY');
    t.equal(await textOf(page, '#key-count', /找到/), '找到 3 个新激活码 · 不发送：1 个在文本中重复');
    await page.click('#redeem');
    await allDone(page, 3);
    let rows = await tableRows(page);
    t.same(rows.map((r) => r.badge), ['激活成功', '已拥有', '无效激活码']);
    t.match(rows[1]!.details, /^你已拥有该产品，激活码未被使用。/, "the server's Chinese message");
    t.equal(await textOf(page, '#progress'), '全部 3 个激活码已处理完毕。');
    await screenshot(page, 'results-zh');

    await page.click('#language');
    t.equal(await textOf(page, '#results-title', /Results/), 'Results', 'switched to English');
    rows = await tableRows(page);
    t.same(rows.map((r) => r.badge), ['Activated', 'Already owned', 'Invalid key'], 'the table too');
    t.match(rows[1]!.details, /^You already own this/);
    t.equal(await page.getAttribute('html', 'lang'), 'en');
    t.equal(await textOf(page, '#language'), '中文');

    await page.reload();
    await allDone(page, 3);
    t.equal(await textOf(page, '#results-title'), 'Results', 'the choice outlives a reload');
  });

  t.test("a phone's width; the server goes away and the page says so", async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    const page = await openPage(t, browser, run.url, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);
    // A wallet code's message holds a long link; a key of five groups is the widest key.
    await page.fill('#keys-text', 'DEMO2-ACTIV-ATED3 DEMO7-NEEDS-BASEG DEMO8-WALLE-TCODE ABCDE-FGHIJ-KLMNO-PQRST-UVWXY');
    await page.click('#redeem');
    await allDone(page, 4);
    const widths = (await page.evaluate(`[document.documentElement.scrollWidth, window.innerWidth]`)) as [number, number];
    t.ok(widths[0] <= widths[1], `nothing wider than the screen: ${widths[0]} <= ${widths[1]} px`);
    const table = (await page.evaluate(`(() => { const w = document.querySelector('#progress-section .table-wrap'); return [w.scrollWidth, w.clientWidth]; })()`)) as [number, number];
    t.ok(table[0] <= table[1], `the results need no sideways scrolling: ${table[0]} <= ${table[1]} px`);
    const keyLines = await page.evaluate(
      `[...document.querySelectorAll('#results td.key')].map((td) => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; })`,
    );
    t.same(keyLines, [1, 1, 1, 1], 'every key on one line, not broken into pieces');
    t.equal(await page.getAttribute('#results tbody tr', 'role'), 'row', 'rows laid out as cards are still table rows to a screen reader');
    const edges = (await page.evaluate(`(() => {
      const section = document.querySelector('#progress-section');
      const inner = section.getBoundingClientRect().right - parseFloat(getComputedStyle(section).paddingRight);
      return [...document.querySelectorAll('#results tbody tr, #results td, #results a')].map((n) => inner - n.getBoundingClientRect().right);
    })()`)) as number[];
    t.ok(edges.every((gap) => gap >= 0), `no card, cell or link reaches into the section's right padding: ${Math.min(...edges)} px to spare`);
    const wallet = (await page.evaluate(`(() => { const a = document.querySelector('tr[data-key="DEMO8-WALLE-TCODE"] a.url'); return [a.href, a.querySelectorAll('wbr').length, a.textContent]; })()`)) as [string, number, string];
    t.same(wallet, ['https://store.steampowered.com/account/redeemwalletcode', 4, 'https://store.steampowered.com/account/redeemwalletcode'], 'the wallet page is a link, which may break only after a "/"');
    t.equal(await textOf(page, '#connection'), 'Connected');

    await run.close();
    t.match(await textOf(page, '#connection', /Cannot reach/), /^Cannot reach the server\. Trying again in \d+ s…$/);
    t.equal(await page.getAttribute('#connection', 'data-state'), 'offline');
    t.match(await textOf(page, '#notice-text', /./), /shutting down|stopp/i, "the server's goodbye is shown");
    t.ok(await page.isDisabled('#sign-out'), 'actions that need the server are disabled');
    t.equal((await tableRows(page)).length, 4, 'the results stay on the page');
  });
});
