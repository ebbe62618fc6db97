/**
 * The page in headless Chromium against the server in demo mode (the real
 * app, session, queue and protocol; a simulated Steam): sign in through a
 * Steam Guard prompt, paste keys, watch every result arrive, export, copy,
 * reload mid-batch.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { pageHandler } from '../../lib/app/page.js';
import { extractKeys } from '../../lib/steam/keys.js';
import { startApp } from '../helpers/app.js';
import { allDone, leftGroups, openPage, screenshot, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

/** Every demo key with a final result of its own (README, "Demo mode"), in a messy paste. */
const PASTE = `Thanks for your order!
Game 1: DEMO1-ACTIV-ATED1
Bundle (3 games): demo2-activ-ated3
DEMO3-ALREA-DYOWN, DEMO4-INVAL-IDKEY; DEMO5-ALREA-DYUSE
DEMO6-REGIO-NLOCK	DEMO7-NEEDS-BASEG
Wallet: DEMO8-WALLE-TCODE  DEMOC-OTHER-FAILS
Again: DEMO1-ACTIV-ATED1
Your key looks like XXXXX-XXXXX-XXXXX.`;

const EXPECTED: [key: string, status: string, badge: string, details: RegExp][] = [
  ['DEMO1-ACTIV-ATED1', 'activated', 'Activated', /^Demo Game: Starter Edition \(sub 900001\)$/],
  ['DEMO2-ACTIV-ATED3', 'activated', 'Activated', /^Demo Bundle: Base Game \(sub 900010\)Demo Bundle: Soundtrack \(sub 900011\)Demo Bundle: Art Book \(sub 900012\)$/],
  ['DEMO3-ALREA-DYOWN', 'already-owned', 'Already owned', /already own this; the key was not used/],
  ['DEMO4-INVAL-IDKEY', 'invalid-key', 'Invalid key', /does not know this key/],
  ['DEMO5-ALREA-DYUSE', 'key-used', 'Already used', /already been used/],
  ['DEMO6-REGIO-NLOCK', 'region-locked', 'Region-locked', /region/],
  ['DEMO7-NEEDS-BASEG', 'needs-base-game', 'Needs the base game', /DLC/],
  ['DEMO8-WALLE-TCODE', 'wallet-code', 'Wallet code', /Steam Wallet code/],
  ['DEMOC-OTHER-FAILS', 'failed', 'Failed', /not allowed to activate keys/],
];

await withBrowser(t, 'the page in Chromium, demo mode', async (t, browser) => {
  t.test('sign in with an e-mail guard code, paste keys, every result, export and copy', async (t) => {
    const run = await startApp({ page: pageHandler() }, { latencyMs: 5 });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url, { acceptDownloads: true, permissions: ['clipboard-read', 'clipboard-write'] });

    t.match(await textOf(page, '#account-hint'), /not your profile name/, 'the account-name field says it is not the profile name');
    await submitSignIn(page, 'demo-mail');

    t.match(await textOf(page, '#guard-message', /\*@example\.com/), /e-mailed to your address at \*@example\.com/, 'the guard dialog says where the code went');
    t.equal(await page.evaluate('document.activeElement.id'), 'guard-code', 'the code field has the focus');
    t.ok(await page.isHidden('#sign-in'), 'the sign-in form gave way to the guard dialog');
    await screenshot(page, 'guard');
    await page.fill('#guard-code', '54321');
    await page.press('#guard-code', 'Enter');
    t.match(await textOf(page, '#guard-message', /wrong/), /^That code was wrong\. Enter the Steam Guard code/, 'a wrong code is called wrong');
    t.equal(await page.getAttribute('#guard-message', 'class'), 'wrong');
    await page.fill('#guard-code', '12345');
    await page.press('#guard-code', 'Enter');
    t.equal(await textOf(page, '#account', /demo-mail/), 'Signed in as demo-mail');
    t.ok(await page.isHidden('#guard'), 'the guard dialog is gone');
    t.ok(await page.isVisible('#sign-out'), 'a sign-out button');

    // The live count: what the server will find, before anything is sent.
    await page.fill('#keys-text', PASTE);
    const count = await textOf(page, '#key-count', /found/);
    t.equal(count, '9 new keys found · left out: 1 repeated in the text, 1 format mask (like XXXXX-XXXXX-XXXXX)');
    const server = extractKeys(PASTE);
    t.equal(server.keys.length, 9, "the server's own extraction finds as many");
    t.equal(server.dropped.length, 2);

    await page.press('#keys-text', 'Control+Enter'); // Redeem from the keyboard
    await allDone(page, 9);
    t.equal(await page.inputValue('#keys-text'), '', 'the box is emptied once the server took the keys');
    t.match(await textOf(page, '#progress'), /^All 9 keys done\.$/);

    const rows = await tableRows(page);
    t.same(rows.map((r) => r.key), EXPECTED.map(([key]) => key), 'one row per key, in order, upper-cased');
    EXPECTED.forEach(([key, status, badge, details], i) => {
      t.equal(rows[i]!.n, String(i + 1), `${key}: numbered`);
      t.equal(rows[i]!.status, status, `${key}: ${status}`);
      t.equal(rows[i]!.badge, badge, `${key}: the badge says "${badge}"`);
      t.match(rows[i]!.details, details, `${key}: details`);
    });
    const links = (await page.evaluate(
      `[...document.querySelectorAll('#results tr[data-key="DEMO2-ACTIV-ATED3"] a')].map((a) => [a.textContent, a.href, a.rel])`,
    )) as string[][];
    t.equal(links.length, 3, 'every package of the bundle, each with its name');
    for (const [name, href, rel] of links) {
      t.match(href, /^https:\/\/steamdb\.info\/sub\/9000(10|11|12)\/$/, `${name}: a SteamDB link`);
      t.equal(rel, 'noopener noreferrer');
    }

    t.same(await leftGroups(page), {
      'not-sent': [],
      usable: ['DEMO3-ALREA-DYOWN', 'DEMO6-REGIO-NLOCK', 'DEMO7-NEEDS-BASEG', 'DEMO8-WALLE-TCODE'],
      check: [],
      refused: ['DEMOC-OTHER-FAILS'],
      dead: ['DEMO4-INVAL-IDKEY', 'DEMO5-ALREA-DYUSE'],
    }, '"Keys not activated": the seven others, by what they are good for');
    await page.click('#group-usable button.copy');
    t.equal(await textOf(page, '#group-usable .copied', /Copied/), 'Copied.');
    t.equal(
      await page.evaluate('navigator.clipboard.readText()'),
      'DEMO3-ALREA-DYOWN\nDEMO6-REGIO-NLOCK\nDEMO7-NEEDS-BASEG\nDEMO8-WALLE-TCODE',
      'the copy button put the keys someone else can use on the clipboard, and only those',
    );
    t.equal(await textOf(page, '#summary'), '9 keys in this list: 2 activated, 1 already owned, 1 invalid key, 1 already used, 1 region-locked, 1 needs the base game, 1 wallet code, 1 failed.');
    const wallet = (await page.evaluate(`[...document.querySelectorAll('tr[data-key="DEMO8-WALLE-TCODE"] a.url')].map((a) => a.href)`)) as string[];
    t.same(wallet, ['https://store.steampowered.com/account/redeemwalletcode'], "the wallet page's address is a link");

    await screenshot(page, 'results-en');

    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    t.match(csvDownload.suggestedFilename(), /^steam-key-results-.*\.csv$/);
    const csv = await readFile(await csvDownload.path(), 'utf8');
    t.ok(csv.startsWith('\uFEFF'), 'a byte-order mark, for spreadsheets');
    const lines = csv.slice(1).split('\r\n');
    t.equal(lines[0], 'number,key,account,state,status,message,packages,eresult,detail,first_seen,updated');
    t.equal(lines.length, 11, 'a header, nine keys and the final line end');
    const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    t.match(lines[1], new RegExp(`^1,DEMO1-ACTIV-ATED1,demo-mail,done,activated,Activated: Demo Game: Starter Edition,900001 Demo Game: Starter Edition,1,0,${TIME},${TIME}$`));
    t.match(lines[3], new RegExp(`^3,DEMO3-ALREA-DYOWN,demo-mail,done,already-owned,"You already own this; the key was not used\\.",900001 Demo Game: Starter Edition,2,9,${TIME},${TIME}$`));
    t.match(
      lines[2],
      new RegExp(
        '^2,DEMO2-ACTIV-ATED3,demo-mail,done,activated,"Activated: Demo Bundle: Base Game, Demo Bundle: Soundtrack, Demo Bundle: Art Book",' +
          `"900010 Demo Bundle: Base Game; 900011 Demo Bundle: Soundtrack; 900012 Demo Bundle: Art Book",1,0,${TIME},${TIME}$`,
      ),
      'a field with commas or semicolons is quoted (RFC 4180)',
    );
    t.same(lines.slice(1, 10).map((l) => l.split(',')[4]), EXPECTED.map(([, status]) => status));

    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const json = JSON.parse(await readFile(await jsonDownload.path(), 'utf8')) as { keys: { key: string; account: string; status: string; result: { packages: unknown[] }; history: { state: string }[] }[] };
    t.same(json.keys.map((k) => [k.key, k.account, k.status]), EXPECTED.map(([key, status]) => [key, 'demo-mail', status]), 'the JSON has every result, with its account');
    t.equal(json.keys[1]!.result.packages.length, 3);
    t.same(json.keys[0]!.history.map((h) => h.state), ['queued', 'redeeming', 'done'], 'and the history of each key');

    // Pasting the same again: the count says they are all in the list already.
    await page.fill('#keys-text', 'demo1-activ-ated1 DEMO4-INVAL-IDKEY');
    t.equal(await textOf(page, '#key-count', /found/), '0 new keys found · left out: 2 already in the list');
    t.ok(await page.isDisabled('#redeem'), 'nothing to redeem');

    await page.click('#sign-out');
    await textOf(page, '#sign-in-title');
    await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
    t.equal((await tableRows(page)).length, 9, 'signed out: the sign-in form again, and the results stay (the page keeps them)');
    t.ok(await page.isHidden('#notice'), 'nothing was waiting: nothing to say');
  });

  t.test('a reload mid-batch finds every key and result again; no password in storage', async (t) => {
    const password = 'correct horse battery staple';
    const run = await startApp({ page: pageHandler() }, { latencyMs: 60, password });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await page.fill('#account-name', 'demo');
    await page.fill('#password', password);
    await page.click('#sign-in-button');
    await textOf(page, '#account', /demo/);
    const keys = ['DEMO1-ACTIV-ATED1', 'DEMO2-ACTIV-ATED3', 'DEMO3-ALREA-DYOWN', 'DEMO4-INVAL-IDKEY', 'DEMO5-ALREA-DYUSE', 'DEMO6-REGIO-NLOCK'];
    await page.fill('#keys-text', keys.join('\n'));
    await page.click('#redeem');
    await until(page, `Number(document.querySelector('#progress').dataset.done) >= 2`);
    const token = (await page.evaluate(`localStorage.getItem('steam-key.session')`)) as string;
    t.match(token, /^[A-Za-z0-9_-]{43}$/, 'the session token is in localStorage, where a new tab finds it');

    await page.reload();
    await textOf(page, '#account', /demo/);
    const rows = await tableRows(page);
    t.same(rows.map((r) => r.key), keys, 'right after the reload: every key, from the snapshot');
    t.ok(rows.filter((r) => r.status !== 'queued' && r.status !== 'redeeming').length >= 2, 'with the results that came before');
    await allDone(page, keys.length);
    t.same(
      (await tableRows(page)).map((r) => r.status),
      ['activated', 'activated', 'already-owned', 'invalid-key', 'key-used', 'region-locked'],
      'and the rest arrive live',
    );
    t.equal(await page.evaluate(`localStorage.getItem('steam-key.session')`), token, 'the same session');
    const storage = (await page.evaluate(`JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])`)) as string;
    t.notMatch(storage, password, 'the password is in neither sessionStorage nor localStorage');
    t.equal(await page.inputValue('#password'), '', 'nor in the form');

    // A second tab finds the token: both tabs hold the session and see what either adds.
    const second = await page.context().newPage();
    await second.goto(run.url);
    await allDone(second, keys.length);
    t.equal(await textOf(second, '#account', /demo/), 'Signed in as demo', 'the second tab resumed the session');
    await second.fill('#keys-text', 'DEMO7-NEEDS-BASEG');
    await second.click('#redeem');
    await allDone(page, keys.length + 1);
    t.equal(await textOf(page, '#connection'), 'Connected', 'and the first tab goes on, hearing the key the second added');
  });

  t.test("the page's key count finds what the server finds", async (t) => {
    const run = await startApp({ page: pageHandler() });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    const texts = [
      PASTE,
      'aaaaa-bbbbb-ccccc-ddddd-eeeee-fffff (six groups) XAAAAA-BBBBB-CCCCC AAAAA-BBBBB-CCCCCX AAAAA-BBBBB',
      'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE, 11111-22222-33333-44444. ZZZZZ-ZZZZZ-ZZZZZ 00000-00000-00000-00000',
      'end of sentence AB12C-DE34F-GH56I. -- note: ab12c-de34f-gh56i-; “AB12C-DE34F-GH56I”',
      '全角文字ＡＢＣＤＥ-ＡＢＣＤＥ-ＡＢＣＤＥ 中文AAAAA-BBBBB-CCCCC中文 tab\tQQQQQ-WWWWW-EEEEE\r\n',
      'dashes GAMEZ–ABCDE–ZZZZZ GAMEZ—ABCDE—ZZZZY GAMEZ−ABCDE−ZZZZX GAMEZ﹣ABCDE﹣ZZZZW GAMEZ－ABCDE－ZZZZV gamez-abcde-zzzzz ABCDE–FGHIJ-KLMNO',
      'key—AAAAA-BBBBB-CCCCC—enjoy codes—DDDDD-EEEEE-FFFFF ＡＢＣＤＥ－１２３４５－ｆｇｈｉｊ',
      'order 48213-99120-55871, again 48213–99120–55871, ticket 12345-67890-13579-24680, key 48213-99120-5587A',
      '',
    ];
    for (const text of texts) {
      const server = extractKeys(text);
      const browserScan = (await page.evaluate(
        `import('/keys-scan.js').then((m) => m.scanKeys(${JSON.stringify(text)}, () => false))`,
      )) as { keys: string[]; dropped: Record<string, number>; digitsOnly: string[] };
      t.same(browserScan.keys, server.keys, `${JSON.stringify(text.slice(0, 30))}…: the same keys`);
      t.same(browserScan.digitsOnly, server.dropped.filter((d) => d.reason === 'digits-only').map((d) => d.key), 'the same keys of digits only held back');
      const included = (await page.evaluate(
        `import('/keys-scan.js').then((m) => m.scanKeys(${JSON.stringify(text)}, () => false, () => false, { includeDigitsOnly: true }).keys)`,
      )) as string[];
      t.same(included, extractKeys(text, { includeDigitsOnly: true }).keys, 'and the same keys once they are confirmed');
      // 'settled-before' is the page's own (keys of a session the server lost): none here.
      const reasons: Record<string, number> = { 'repeated-in-paste': 0, 'already-in-session': 0, placeholder: 0, 'digits-only': 0, 'settled-before': 0 };
      for (const d of server.dropped) reasons[d.reason]!++;
      t.same(browserScan.dropped, reasons, 'the same drops');
    }
  });
});
