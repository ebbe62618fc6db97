/**
 * The whole product, end to end: Chromium on the page of the built binary
 * (`node dist/bin/steam-key.js serve`, as a user runs it), whose steam-user
 * signs in to the fake Steam (test/fake-steam) with an e-mail Steam Guard
 * code and redeems keys there. The server process trusts the fake's test CA
 * through NODE_EXTRA_CA_CERTS.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startFakeSteam } from '../fake-steam/fake-steam.js';
import { allDone, openPage, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

const BINARY = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));
const PASSWORD = 'correct horse battery staple';

const steam = await startFakeSteam({
  accounts: [{ accountName: 'alice', password: PASSWORD, country: 'DE', guard: { type: 'email', domain: 'example.org', codes: ['GOOD1'] } }],
  keys: {
    'AAAAA-BBBBB-CCCCC': { packages: [{ id: 31337, name: 'Fake Game' }] },
    'DDDDD-EEEEE-FFFFF': { detail: 9, packages: [{ id: 4242, name: 'Owned Game' }] },
  },
});
t.teardown(() => steam.close());

const child = spawn(process.execPath, [BINARY, 'serve', '--port', '0', '--pause', '0', '--steam-proxy', steam.proxyUrl], {
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
  const page = await openPage(t, browser, url);
  await page.fill('#account-name', 'alice');
  await page.fill('#password', PASSWORD);
  await page.press('#password', 'Enter');
  t.match(await textOf(page, '#guard-message', /example\.org/), /e-mailed to your address at \*@example\.org/, 'steam-user asked for the e-mailed code');
  await page.fill('#guard-code', 'WRONG');
  await page.press('#guard-code', 'Enter');
  t.match(await textOf(page, '#guard-message', /wrong/), /^That code was wrong\./, 'the wrong code is called wrong');
  await page.fill('#guard-code', 'GOOD1');
  await page.press('#guard-code', 'Enter');
  t.equal(await textOf(page, '#account', /alice/), 'Signed in as alice');
  t.same(
    steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
    [false, true],
    'the fake Steam checked both codes',
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

  await page.click('#sign-out');
  // The form shows once the server has confirmed the sign-out: wait for that, not for its title.
  await until(page, `!document.querySelector('#sign-in').hidden`, 'the sign-in form');
  t.ok(await page.isVisible('#sign-in'), 'signed out: the sign-in form again');
  t.notMatch(output, PASSWORD, 'the server never printed the password');
  t.notMatch(output, /GOOD1|WRONG/, 'nor a guard code');
});
