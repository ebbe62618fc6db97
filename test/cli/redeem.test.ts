/**
 * `steam-key redeem` as a person runs it: the built binary (npm test builds
 * first) with the real steam-user against the fake Steam, typing at its
 * prompts through a pseudo-terminal and reading plain lines from a pipe or the
 * progress bar from the terminal. Ctrl-C and resume: redeem-interrupt.test.ts.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runInPty } from '../helpers/pty.js';
import {
  assertAnswerTimes, assertNoKeyTwice, assertNoPassword, BIN, childEnv, fakeSteam, GAME, K, keysIn, PASSWORD, readResults, received,
  redeemArgs, redeemEndToEnd, runDetached, statuses, tempDir, typePassword,
} from '../helpers/redeem.js';

await redeemEndToEnd(t, async (t, python) => {
  t.test('every status: keys on stdin, the password typed on /dev/tty, one plain line per key', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const order = [K.activated, K.owned, K.invalid, K.used, K.region, K.dlc, K.wallet, K.other, K.noAnswer, K.second];
    const run = runInPty(python, 'pipe', redeemArgs(steam, '-', '--account', 'alice', '--redeem-timeout', '1s', '--out', out), {
      env: childEnv(steam),
    });
    // Any text: keys among words, one in lower case, one twice, a placeholder.
    run.stdin.end(`Your keys:\n${order.slice(0, 4).join(', ')}\n${K.region.toLowerCase()} ${K.dlc}\n${K.activated}\nXXXXX-XXXXX-XXXXX\n${order.slice(6).join('\n')}\n`);
    await typePassword(run);
    t.equal(await run.exit, 1, 'exit 1: some keys were not activated');

    const stdout = run.stdout.text;
    t.match(stdout, /^10 keys found in standard input \(2 ignored: repeated or placeholders/);
    const expected = ['activated', 'already-owned', 'invalid-key', 'key-used', 'region-locked', 'needs-base-game', 'wallet-code', 'failed', 'unknown', 'not-sent'];
    order.slice(0, 9).forEach((key, i) => {
      t.match(stdout, new RegExp(`^\\[${i + 1}/10\\] ${key}  ${expected[i]} `, 'm'), `line for ${expected[i]}`);
    });
    t.notMatch(stdout, K.second, 'a key never sent gets no line of its own (the summary counts it)');
    t.match(stdout, /\[1\/10\] \S+  activated +Activated: Fake Game One/);
    t.match(stdout, /No answer in time: the key may have been activated/);
    t.match(stdout, /The last key got no answer: check your library\. The remaining keys are not sent; run again with the same --out to send them \(not this key, unless you add --retry-unknown\)\./);
    for (const status of expected) t.match(stdout, new RegExp(`^${status} +1$`, 'm'), `summary row ${status}`);
    t.match(stdout, /^total +10$/m);
    t.same(steam.keysReceived, order.slice(0, 9), 'each key sent once, in order; none after the one with no answer');
    t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam at the end');

    t.same(keysIn(out, 'activated.txt'), [K.activated]);
    t.same(keysIn(out, 'invalid.txt'), [K.invalid, K.used]);
    t.same(keysIn(out, 'not-activated.txt'), [K.owned, K.region, K.dlc, K.wallet, K.other, K.noAnswer, K.second]);
    t.match(readFileSync(join(out, 'not-activated.txt'), 'utf8'), `${K.noAnswer}\tunknown\t`);
    t.same(Object.values(statuses(out)), expected);
    t.match(readResults(out).keys[0], { key: K.activated, account: 'alice', eresult: 1, detail: 0, packages: [GAME], file: 'activated' });
    t.same(readdirSync(out).sort(), ['activated.txt', 'invalid.txt', 'not-activated.txt', 'results.json'], 'no temporary files left');
    t.notMatch(run.screen.text, /hunter/, 'the password was not echoed');
    assertNoPassword(t, [stdout, run.stderr.text, run.screen.text], out);
    assertAnswerTimes(t, steam, readResults(out).keys.filter((r) => r.status !== 'not-sent'));
    assertNoKeyTwice(t, steam);
  });

  t.test('Steam Guard: a wrong code, then the right one; the progress bar on a terminal', async (t) => {
    const steam = await fakeSteam(t);
    const dir = tempDir(t);
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `${K.activated}\n${K.owned}\n`);
    const run = runInPty(python, 'pty', redeemArgs(steam, file, '--account', 'bob'), { env: childEnv(steam) });
    await typePassword(run);
    await run.screen.waitFor(/\*@example\.com[^]*Steam Guard code: $/);
    run.type('WRONG\r');
    await run.screen.waitFor(/That code was wrong\.[^]*Steam Guard code: $/);
    run.type('GOOD7\r');
    t.equal(await run.exit, 0, 'exit 0: everything activated or already owned');
    const screen = run.screen.text;
    t.match(screen, /\r\x1b\[2K\[#+-*\]  [01]\/2  /, 'a bar redrawn in place');
    t.match(screen, /\[#{30}\]  2\/2  /, 'full at the end');
    t.match(screen, /elapsed \d+s/);
    t.match(screen, new RegExp(`\\[1/2\\] ${K.activated}  activated`));
    t.match(screen, /^already-owned +1\r?$/m);
    t.notMatch(screen, /WRONG|GOOD7/, 'guard codes are not echoed');
    t.same(
      steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
      [false, true],
      'Steam saw the wrong code, then the right one',
    );
    assertNoPassword(t, [screen]);
    assertNoKeyTwice(t, steam);
  });

  t.test('a rate limit: the key waits out a short cooldown and goes through; no terminal, STEAM_PASSWORD', async (t) => {
    const steam = await fakeSteam(t);
    const run = runDetached(
      redeemArgs(steam, '--account', 'alice', '--cooldown', '1s'),
      childEnv(steam, { STEAM_PASSWORD: PASSWORD }),
      `${K.activated} ${K.limited} ${K.second}`,
    );
    // Steam lifts its limit once the key has been refused.
    await received(steam, K.limited, run.exit);
    steam.setKey(K.limited, { packages: [{ id: 105, name: 'Patience' }] });
    t.equal(await run.exit, 0);
    const stdout = run.stdout.text;
    t.match(stdout, new RegExp(`^${K.limited} rate-limited\\. Steam is limiting activations: the waiting keys were not used\\. Sending resumes in 1s`, 'm'));
    t.match(stdout, new RegExp(`^\\[2/3\\] ${K.limited}  activated +Activated: Patience$`, 'm'));
    t.match(stdout, new RegExp(`^\\[3/3\\] ${K.second}  activated`, 'm'));
    t.notMatch(stdout, /\x1b\[/, 'no bar when the output is not a terminal');
    t.same(steam.keysReceived, [K.activated, K.limited, K.limited, K.second], 'nothing sent during the cooldown; the limited key sent again');
    assertNoKeyTwice(t, steam, { [K.limited]: 'Steam rate-limited it without using it: it waits out the cooldown and goes again' });
  });

  t.test('no terminal and no STEAM_PASSWORD: a clear error (2); a wrong password: sign-in failed (3)', async (t) => {
    const steam = await fakeSteam(t);
    const noTty = runDetached(redeemArgs(steam, '--account', 'alice'), childEnv(steam), K.activated);
    t.equal(await noTty.exit, 2);
    t.match(noTty.stderr.text, /no terminal to ask for the password on: run it in a terminal, or set STEAM_PASSWORD/);
    const wrong = runDetached(redeemArgs(steam, '--account', 'alice'), childEnv(steam, { STEAM_PASSWORD: 'nope' }), K.activated);
    t.equal(await wrong.exit, 3);
    t.match(wrong.stderr.text, /sign-in failed: Wrong account name or password/);
    t.same(steam.keysReceived, [], 'no key sent');
  });

  t.test('keys of digits only: asked about at a terminal, listed and kept back without one, sent with --include-digits-only', async (t) => {
    const steam = await fakeSteam(t);
    const order = '48213-99120-55871';
    steam.setKey(order, { packages: [{ id: 106, name: 'Numbers' }] }); // a key after all
    const text = `Your order ${order}:\n${K.activated}\nOrder ${order} again\n`;

    const noTty = runDetached(redeemArgs(steam, '--account', 'alice'), childEnv(steam, { STEAM_PASSWORD: PASSWORD }), text);
    t.equal(await noTty.exit, 0, 'everything sent activated; the held-back key does not count');
    t.match(
      noTty.stdout.text,
      new RegExp(`^1 key found in standard input \\(1 ignored: .*\\)\\.\\n1 more key was found whose groups are digits only, like an order or phone number; not sent \\(--include-digits-only sends it\\):\\n  ${order}\\n`),
    );
    t.match(noTty.stdout.text, /\n1 key of digits only held back and not sent \(listed at the start; --include-digits-only sends it\)\.\n$/, 'said again at the end');
    t.same(steam.keysReceived, [K.activated]);

    const asked = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'bob'), { env: childEnv(steam) });
    asked.stdin.end(text);
    await asked.screen.waitFor(/Send it to Steam too\? A wrong key counts as a failed activation\. \[y\/N\] $/);
    t.match(asked.stdout.text, new RegExp(`whose groups are digits only, like an order or phone number:\\n  ${order}\\n$`));
    asked.type('y\r');
    await typePassword(asked);
    await asked.screen.waitFor(/Steam Guard code: $/);
    asked.type('GOOD7\r');
    t.equal(await asked.exit, 0);
    t.match(asked.stdout.text, new RegExp(`^\\[1/2\\] ${order}  activated +Activated: Numbers$`, 'm'), 'sent, in its place in the text');
    t.same(steam.tally.slice(1).map((e) => [e.accountName, e.key]), [['bob', order], ['bob', K.activated]]);

    const dir = tempDir(t);
    const flag = runDetached(redeemArgs(steam, '--account', 'alice', '--include-digits-only', '--out', dir), childEnv(steam, { STEAM_PASSWORD: PASSWORD }), text);
    t.equal(await flag.exit, 0);
    t.notMatch(flag.stdout.text, /digits only/, 'nothing held back, nothing asked');
    t.same(statuses(dir), { [order]: 'activated', [K.activated]: 'activated' });
    assertNoKeyTwice(t, steam, {
      [order]: 'a second account, then the user asked for it with --include-digits-only',
      [K.activated]: 'sent once to each of two accounts and once more on a new --out: three separate runs asked for it',
    });
  });

  t.test('--demo: the simulated Steam in the same process, no proxy needed', async (t) => {
    const run = runDetached(
      [process.execPath, BIN, 'redeem', '--demo', '--account', 'demo', '--pause', '0'],
      { ...process.env, STEAM_PASSWORD: 'demo' },
      'DEMO1-ACTIV-ATED1 and DEMO3-ALREA-DYOWN',
    );
    t.equal(await run.exit, 0);
    t.match(run.stdout.text, /^\[1\/2\] DEMO1-ACTIV-ATED1  activated +Activated: Demo Game: Starter Edition$/m);
    t.match(run.stdout.text, /^\[2\/2\] DEMO3-ALREA-DYOWN  already-owned /m);
  });

  t.test('a reader that goes away (| head) ends the output, not the run: every result still reaches --out', async (t) => {
    const dir = tempDir(t);
    const run = runDetached(
      [process.execPath, BIN, 'redeem', '--demo', '--account', 'demo', '--pause', '0', '--out', dir],
      { ...process.env, STEAM_PASSWORD: 'demo' },
      'DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO4-INVAL-IDKEY',
    );
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => run.child.stdout.once('data', () => resolve()));
    run.child.stdout.destroy();
    t.equal(await run.exit, 1, 'the run ends as usual (one key invalid), not with a crash');
    t.same(statuses(dir), { 'DEMO1-ACTIV-ATED1': 'activated', 'DEMO3-ALREA-DYOWN': 'already-owned', 'DEMO4-INVAL-IDKEY': 'invalid-key' });
    t.notMatch(run.stderr.text, /EPIPE|Error/, 'no stack trace');
  });
});
