/**
 * `steam-key redeem` interrupted: Ctrl-C typed on its terminal once (stop
 * sending, wait for the key with Steam) and twice (abandon it), and a second
 * run with the same --out that sends only what is not settled. A closed
 * terminal and kill -9: redeem-journal.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { KeyRecord } from '../../lib/cli/results-dir.js';
import { startFakeSteam } from '../fake-steam/fake-steam.js';
import { runInPty } from '../helpers/pty.js';
import {
  assertAnswerTimes, assertNoKeyTwice, assertNoPassword, BIN, childEnv, fakeSteam, GAME, K, KEYS, keysIn, PASSWORD, received,
  redeemArgs, readResults, redeemEndToEnd, runDetached, statuses, tempDir, typePassword,
} from '../helpers/redeem.js';

t.test('an unknown key from an earlier run is listed, not sent; a key this run does not get to keeps its record', async (t) => {
  const out = tempDir(t);
  // An earlier run sent this key and got no answer: it may have been activated.
  const unknown: KeyRecord = {
    key: 'DEMO2-ACTIV-ATED3',
    status: 'unknown',
    file: 'not-activated',
    account: 'demo',
    eresult: null,
    detail: null,
    packages: [],
    message: 'No answer in time: the key may have been activated — check your library.',
    at: '2026-01-01T00:00:02.000Z',
    sentAt: '2026-01-01T00:00:00.000Z',
  };
  // And Steam rate-limited this one: it was not used.
  const limited: KeyRecord = { ...unknown, key: 'DEMO1-ACTIV-ATED1', status: 'rate-limited', eresult: 2, detail: 53, message: 'Steam is limiting activations.' };
  writeFileSync(join(out, 'results.json'), JSON.stringify({ version: 1, updated: unknown.at, keys: [unknown, limited] }));
  // This run loses Steam on its first key, so the rate-limited one is not sent again.
  const run = runDetached(
    [process.execPath, BIN, 'redeem', '--demo', '--account', 'demo', '--pause', '0', '--out', out],
    { ...process.env, STEAM_PASSWORD: 'demo' },
    'DEMO2-ACTIV-ATED3 DEMOB-DISCO-NNECT DEMO1-ACTIV-ATED1',
  );
  t.equal(await run.exit, 1);
  const stdout = run.stdout.text;
  t.match(stdout, /^3 keys found in standard input; 1 already in .*, not sent again\.$/m);
  t.match(
    stdout,
    /^1 key got no answer from Steam in an earlier run and may have been activated: check your library\.\nNot sent again \(--retry-unknown sends it\):\n  DEMO2-ACTIV-ATED3  sent /m,
    'listed for the user to check, with the time it was sent',
  );
  t.match(stdout, /^Signed in\. Sending 2 keys/m, 'the rest of the queue goes on without it');
  t.match(stdout, /Steam closed the connection\. The remaining keys are not sent/);
  t.match(stdout, /\(1 of them unknown since an earlier run: check your library; --retry-unknown sends it again\)/);
  t.same(statuses(out), { 'DEMO2-ACTIV-ATED3': 'unknown', 'DEMO1-ACTIV-ATED1': 'rate-limited', 'DEMOB-DISCO-NNECT': 'unknown' });
  t.same(readResults(out).keys.find((r) => r.key === unknown.key), unknown, 'the earlier records, whole');
  t.same(readResults(out).keys.find((r) => r.key === limited.key), limited);
});

t.test('keys left unsent are named at the end: without --out nothing else remembers them', async (t) => {
  // Steam drops the connection on the first key: the other two are never sent.
  const keys = 'DEMOB-DISCO-NNECT DEMO2-ACTIV-ATED3 DEMO1-ACTIV-ATED1';
  const run = runDetached(
    [process.execPath, BIN, 'redeem', '--demo', '--account', 'demo', '--pause', '0'],
    { ...process.env, STEAM_PASSWORD: 'demo' },
    keys,
  );
  t.equal(await run.exit, 1);
  t.match(
    run.stdout.text,
    /\n2 keys were not sent, and nothing was saved \(no --out\)\. To send just them, run again on these lines:\nDEMO2-ACTIV-ATED3\nDEMO1-ACTIV-ATED1\n$/,
    'the keys to run again on, and only those: sending the first again would count against Steam\'s limit',
  );

  const out = tempDir(t);
  const withOut = runDetached(
    [process.execPath, BIN, 'redeem', '--demo', '--account', 'demo', '--pause', '0', '--out', out],
    { ...process.env, STEAM_PASSWORD: 'demo' },
    keys,
  );
  t.equal(await withOut.exit, 1);
  t.match(withOut.stdout.text, /\n2 keys were not sent: run the same command again to send them \(the keys settled in .* are not sent again\)\.\n/);
  t.notMatch(withOut.stdout.text, /run again on these lines/, 'with --out the files keep them');
});

await redeemEndToEnd(t, async (t, python) => {
  t.test('Ctrl-C once: nothing more is sent, the key with Steam is waited for (here: it times out)', async (t) => {
    const steam = await fakeSteam(t);
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--redeem-timeout', '1s'), { env: childEnv(steam) });
    run.stdin.end(`${K.activated} ${K.noAnswer} ${K.second}`);
    await typePassword(run);
    await received(steam, K.noAnswer, run.exit);
    run.type('\x03');
    t.equal(await run.exit, 1);
    const stdout = run.stdout.text;
    t.match(stdout, new RegExp(`Stopping: no more keys are sent\\. Waiting up to 1s for ${K.noAnswer} \\(Ctrl-C again to abandon it\\)`));
    t.match(stdout, new RegExp(`\\[2/3\\] ${K.noAnswer}  unknown +No answer in time`));
    t.match(stdout, /^not-sent +1$/m);
    t.same(steam.keysReceived, [K.activated, K.noAnswer]);
    t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam');
    assertNoKeyTwice(t, steam);
  });

  t.test('Ctrl-C while signing out of Steam at the end cuts that wait short, and the results are still written', async (t) => {
    const steam = await startFakeSteam({ accounts: [{ accountName: 'alice', password: PASSWORD }], keys: KEYS, closeOnLogOff: false });
    t.teardown(() => steam.close());
    const out = tempDir(t);
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out), { env: childEnv(steam) });
    run.stdin.end(`${K.activated} ${K.second}`);
    await typePassword(run);
    while (!steam.log.some((e) => e.type === 'logoff')) {
      if (await Promise.race([run.exit.then(() => true), new Promise((r) => setTimeout(r, 10, false))])) break;
    }
    run.type('\x03'); // steam-user now waits up to 4 s for a Steam that does not end the connection
    t.equal(await run.exit, 0, 'the run ends as it would have: both keys activated');
    t.same(statuses(out), { [K.activated]: 'activated', [K.second]: 'activated' }, 'nothing of the run is lost');
    t.match(run.stdout.text, /^activated +2$/m, 'the summary is printed');
    assertAnswerTimes(t, steam, readResults(out).keys);
    assertNoKeyTwice(t, steam);
  });

  t.test('Ctrl-C twice abandons the key with Steam; a second run with the same --out resumes', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const keys = `${K.activated} ${K.invalid} ${K.noAnswer} ${K.second} ${K.third}`;
    const first = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--redeem-timeout', '60s', '--out', out), {
      env: childEnv(steam),
    });
    first.stdin.end(keys);
    await typePassword(first);
    await received(steam, K.noAnswer, first.exit);
    first.type('\x03');
    await first.stdout.waitFor(/Stopping: /);
    first.type('\x03');
    t.equal(await first.exit, 1);
    t.match(first.stdout.text, new RegExp(`Abandoned ${K.noAnswer}: it may have been activated`));
    t.same(statuses(out), {
      [K.activated]: 'activated',
      [K.invalid]: 'invalid-key',
      [K.noAnswer]: 'unknown',
      [K.second]: 'not-sent',
      [K.third]: 'not-sent',
    });
    t.same(keysIn(out, 'not-activated.txt'), [K.noAnswer, K.second, K.third]);
    t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam');

    // The abandoned key went through after all. The second run sends only what is not settled,
    // and not the key that may have been activated: the user checks that one first.
    steam.setKey(K.noAnswer, { detail: 9, packages: [GAME] });
    const sentBefore = steam.keysReceived.length;
    const second = runDetached(redeemArgs(steam, '--account', 'alice', '--out', out), childEnv(steam, { STEAM_PASSWORD: PASSWORD }), keys);
    t.equal(await second.exit, 1, 'still 1: one key is invalid, one unknown');
    const outPattern = out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    t.match(second.stdout.text, new RegExp(`^5 keys found in standard input; 3 already in ${outPattern}, not sent again\\.$`, 'm'));
    t.match(second.stdout.text, new RegExp(`^Not sent again \\(--retry-unknown sends it\\):\\n  ${K.noAnswer}  sent `, 'm'));
    t.same(steam.keysReceived.slice(sentBefore), [K.second, K.third], 'settled keys are not sent again, nor the unknown one');
    t.match(second.stdout.text, /\(2 of them settled by an earlier run and not sent again\)\n\(1 of them unknown since an earlier run/);
    t.equal(statuses(out)[K.noAnswer], 'unknown');

    // The user checked the library and asks for it: --retry-unknown.
    const third = runDetached(redeemArgs(steam, '--account', 'alice', '--out', out, '--retry-unknown'), childEnv(steam, { STEAM_PASSWORD: PASSWORD }), keys);
    t.equal(await third.exit, 1, 'still 1: one key is invalid');
    t.same(steam.keysReceived.slice(sentBefore + 2), [K.noAnswer], 'only the unknown key');
    t.same(statuses(out), {
      [K.activated]: 'activated',
      [K.invalid]: 'invalid-key',
      [K.noAnswer]: 'already-owned',
      [K.second]: 'activated',
      [K.third]: 'activated',
    });
    t.same(keysIn(out, 'activated.txt'), [K.activated, K.second, K.third]);
    t.same(keysIn(out, 'invalid.txt'), [K.invalid]);
    assertAnswerTimes(t, steam, readResults(out).keys);
    assertNoKeyTwice(t, steam, { [K.noAnswer]: 'the user asked for it with --retry-unknown' });
    assertNoPassword(t, [first.stdout.text, first.screen.text, second.stdout.text], out);
  });
});
