/**
 * `steam-key redeem` signing in without the password, as a person runs it:
 * the built binary with the real steam-user and steam-session against the
 * fake Steam, under a pseudo-terminal. The QR code it draws on the terminal
 * is read back with jsQR (test/helpers/qr-reader.ts) — the same link the fake
 * Steam handed out, so a phone would read it too — and the test plays the
 * Steam app (test/fake-steam/steam-app.ts). Keys come on stdin, results on
 * stdout; the terminal shows the QR code and the prompts.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeSteam } from '../fake-steam/fake-steam.js';
import { runInPty, type PtyRun, type Transcript } from '../helpers/pty.js';
import { decodeDrawn } from '../helpers/qr-reader.js';
import { BIN, childEnv, fakeSteam, K, PASSWORD, redeemArgs, redeemEndToEnd, statuses, tempDir, typePassword, type Tap } from '../helpers/redeem.js';

/** Waits until the terminal shows `count` QR codes; returns what each one reads as. */
async function codesOnScreen(screen: Transcript, count: number): Promise<(string | null)[]> {
  for (;;) {
    // A code is drawn in one write, then the link under it: once the link of the last one is there, it is whole.
    const codes = decodeDrawn(screen.text);
    const links = screen.text.match(/Or open this link on the phone where the Steam app is signed in:\r?\n\S+/g) ?? [];
    if (codes.length >= count && links.length >= count) return codes;
    await screen.waitFor(new RegExp(`(?:Or open this link[^]*){${count}}`));
  }
}

/** Nothing the run printed or wrote holds a token the fake issued. */
function assertNoTokens(t: Tap, steam: FakeSteam, run: PtyRun, dir?: string): void {
  t.ok(steam.issuedTokens.length >= 2, 'Steam issued a refresh and an access token');
  const texts = { screen: run.screen.text, stdout: run.stdout.text, stderr: run.stderr.text };
  if (dir) for (const name of readdirSync(dir)) Object.assign(texts, { [name]: readFileSync(join(dir, name), 'utf8') });
  for (const [where, text] of Object.entries(texts)) {
    t.notOk(steam.issuedTokens.some((token) => text.includes(token) || text.includes(token.split('.')[1]!)), `no token in ${where}`);
  }
}

const count = (steam: FakeSteam, type: string): number => steam.log.filter((e) => e.type === type).length;

await redeemEndToEnd(t, async (t, python) => {
  t.test('--qr: the code is drawn, read back, scanned, changed by Steam, approved; the batch runs', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const run = runInPty(python, 'pipe', redeemArgs(steam, '-', '--qr', '--out', out), { env: childEnv(steam) });
    run.stdin.end(`${K.activated}\n${K.owned}\n`);

    const [first] = await codesOnScreen(run.screen, 1);
    t.same(steam.app.challenges, [first], 'the QR code on the terminal reads as the challenge Steam gave');
    t.match(run.screen.text, /Scan this code with the Steam app on your phone/);
    t.match(run.screen.text, new RegExp(`Or open this link on the phone where the Steam app is signed in:\\r?\\n${first!.replace(/[.?/]/g, '\\$&')}`));
    const drawn = run.screen.text.split(/\r?\n/).filter((l) => l.startsWith('\x1b[30;107m'));
    t.ok(drawn.every((l) => l.replace(/\x1b\[[0-9;]*m/g, '').length <= 80), 'it fits 80 columns');

    steam.app.scan(first!, 'alice');
    await run.stderr.waitFor(/Scanned — now approve the sign-in in the Steam app\./);
    const changed = steam.app.newChallenge(first!)!;
    const codes = await codesOnScreen(run.screen, 2);
    t.equal(codes[1], changed, 'Steam changed the code: the new one is drawn');
    t.match(run.screen.text, /Steam changed the code: scan this one\./);
    steam.app.approve(changed, 'alice');

    t.equal(await run.exit, 0);
    t.match(run.stderr.text, /Signed in as alice\./);
    t.match(run.stdout.text, new RegExp(`^\\[1/2\\] ${K.activated}  activated`, 'm'));
    t.match(run.stdout.text, new RegExp(`^\\[2/2\\] ${K.owned}  already-owned`, 'm'));
    t.notMatch(run.screen.text, /Password/, 'no password asked');
    t.notOk(steam.log.some((e) => e.type === 'auth'), 'no password sign-in at Steam');
    t.equal(count(steam, 'logon'), 1);
    t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out at the end');
    t.match(statuses(out), { [K.activated]: 'activated' });
    t.match(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).keys[0], { account: 'alice' }, 'recorded for the account that approved');
    assertNoTokens(t, steam, run, out);
  });

  t.test('--qr: a code that expires; Enter gets a new one, approved', async (t) => {
    const steam = await fakeSteam(t);
    const run = runInPty(python, 'pipe', redeemArgs(steam, '-', '--qr'), { env: childEnv(steam) });
    run.stdin.end(`${K.activated}\n`);
    const [first] = await codesOnScreen(run.screen, 1);
    steam.app.expire(first!);
    await run.screen.waitFor(/not approved in time[^]*Press Enter for a new code, Ctrl-C to stop: $/);
    run.type('\r');
    const codes = await codesOnScreen(run.screen, 2);
    t.not(codes[1], first, 'a fresh code');
    t.same(steam.app.challenges, [codes[1]]);
    steam.app.approve(codes[1]!, 'alice');
    t.equal(await run.exit, 0);
    t.equal(count(steam, 'auth-qr'), 2, 'two QR sign-ins at Steam');
    t.equal(count(steam, 'logon'), 1);
  });

  t.test('--qr: denied in the app ends the run (3); another account\'s approval with --account is refused (3)', async (t) => {
    const steam = await fakeSteam(t);
    const denied = runInPty(python, 'pipe', redeemArgs(steam, '-', '--qr'), { env: childEnv(steam) });
    denied.stdin.end(`${K.activated}\n`);
    const [url] = await codesOnScreen(denied.screen, 1);
    steam.app.scan(url!, 'alice');
    await denied.stderr.waitFor(/Scanned/);
    steam.app.deny(url!);
    t.equal(await denied.exit, 3);
    t.match(denied.stderr.text, /sign-in failed: The sign-in was refused in the Steam app\./);

    const other = runInPty(python, 'pipe', redeemArgs(steam, '-', '--qr', '--account', 'bob'), { env: childEnv(steam) });
    other.stdin.end(`${K.activated}\n`);
    const [second] = await codesOnScreen(other.screen, 1);
    steam.app.approve(second!, 'alice');
    t.equal(await other.exit, 3);
    t.match(other.stderr.text, /the QR code was approved for alice, not bob \(--account\): signed out again/);
    t.same(steam.keysReceived, [], 'no key sent either time');
    t.equal(count(steam, 'logoff'), 1, 'the unwanted sign-in was signed out');
  });

  t.test('password, then approved in the Steam app while the code is asked for', async (t) => {
    const steam = await fakeSteam(t);
    steam.addAccount({ accountName: 'carol', password: PASSWORD, guard: { type: 'authenticator', codes: ['7QX2K'], approvable: true } });
    const run = runInPty(python, 'pipe', redeemArgs(steam, '-', '--account', 'carol'), { env: childEnv(steam) });
    run.stdin.end(`${K.activated}\n`);
    await typePassword(run);
    await run.screen.waitFor(/Approve this sign-in in the Steam app — or type the code\.[^]*Steam Guard code \(or approve in the Steam app\): $/);
    await steam.app.confirmationFor('carol');
    steam.app.open('carol');
    await run.stderr.waitFor(/open in the Steam app: approve it there, or type the code/);
    steam.app.approve('carol');
    t.equal(await run.exit, 0);
    t.match(run.stderr.text, /Approved in the Steam app\./);
    t.match(run.stdout.text, new RegExp(`^\\[1/1\\] ${K.activated}  activated`, 'm'));
    t.equal(count(steam, 'guard-code'), 0, 'no code typed');
    t.equal(count(steam, 'logon'), 1);
    assertNoTokens(t, steam, run);
  });

  t.test('password, then the code typed while an approval is also possible: one sign-in', async (t) => {
    const steam = await fakeSteam(t);
    steam.addAccount({ accountName: 'carol', password: PASSWORD, guard: { type: 'authenticator', codes: ['7QX2K'], approvable: true } });
    const run = runInPty(python, 'pipe', redeemArgs(steam, '-', '--account', 'carol'), { env: childEnv(steam) });
    run.stdin.end(`${K.activated}\n`);
    await typePassword(run);
    await run.screen.waitFor(/Steam Guard code \(or approve in the Steam app\): $/);
    run.type('7qx2k\r');
    t.equal(await run.exit, 0);
    t.notOk(steam.app.approve('carol'), 'nothing left to approve in the app');
    t.same(steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])), [true]);
    t.equal(count(steam, 'tokens'), 1);
    t.equal(count(steam, 'logon'), 1);
    t.notMatch(run.stderr.text, /Approved in the Steam app/);
  });

  t.test('--demo --qr: the code links to the demo Steam app page of the same process; approved there', async (t) => {
    const run = runInPty(python, 'pipe', [process.execPath, BIN, 'redeem', '-', '--demo', '--qr', '--pause', '0'], { env: { ...process.env } });
    run.stdin.end('DEMO1-ACTIV-ATED1\n');
    const [link] = await codesOnScreen(run.screen, 1);
    t.match(link, /^http:\/\/127\.0\.0\.1:\d+\/demo-app\/r\/[\w-]{22}$/);
    t.match(await (await fetch(link!)).text(), /Approve sign-in as demo/, 'a browser opens it');
    await run.stderr.waitFor(/Scanned/);
    const approved = await fetch(`${link}/approve`, { method: 'POST', redirect: 'manual' });
    t.equal(approved.status, 303);
    t.equal(await run.exit, 0);
    t.match(run.stderr.text, /Signed in as demo\./);
    t.match(run.stdout.text, /^\[1\/1\] DEMO1-ACTIV-ATED1  activated/m);
  });
});
