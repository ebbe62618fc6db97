/**
 * `redeem --out` keeps its files as it goes (lib/cli/journal.ts): the built
 * binary against the fake Steam, killed with SIGKILL, its terminal closed
 * (SIGHUP) or Ctrl-C'd at several points, then run again. Each time the files
 * hold every key Steam answered, with the time it answered, the key that was
 * with Steam is "unknown", and the next run sends nothing settled again.
 * Every step waits for what the process printed or what the fake Steam
 * received, never for time to pass.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SENT_NO_ANSWER } from '../../lib/cli/journal.js';
import { runInPty } from '../helpers/pty.js';
import {
  assertAnswerTimes, assertNoKeyTwice, childEnv, fakeSteam, K, PASSWORD, readResults, redeemArgs, redeemEndToEnd,
  runDetached, statuses, tempDir, typePassword, type Tap,
} from '../helpers/redeem.js';
import type { FakeSteam } from '../fake-steam/fake-steam.js';

/** A key Steam holds on to until the test answers it (steam.answerHeld). */
const HELD = 'AAAAA-BBBBB-CCCCD';
const LATE_GAME = { id: 107, name: 'Fake Game Late' };

/** A second run with the same --out and no terminal; resolves with what it printed and its status. */
async function rerun(steam: FakeSteam, out: string, keys: string, ...flags: string[]): Promise<{ code: number; stdout: string }> {
  const run = runDetached(redeemArgs(steam, '--account', 'alice', '--out', out, ...flags), childEnv(steam, { STEAM_PASSWORD: PASSWORD }), keys);
  const code = await run.exit;
  return { code, stdout: run.stdout.text };
}

/** The records in `out` that Steam answered (not the ones never sent or left without an answer). */
function answered(out: string) {
  return readResults(out).keys.filter((r) => r.status !== 'not-sent' && r.message !== SENT_NO_ANSWER);
}

function assertSignedOut(t: Tap, steam: FakeSteam): void {
  t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam');
}

await redeemEndToEnd(t, async (t, python) => {
  t.test('SIGKILL while a key is with Steam: every answer is on disk, that key is unknown; the rerun goes on without it', async (t) => {
    const steam = await fakeSteam(t);
    steam.setKey(HELD, 'hold');
    const out = tempDir(t);
    const keys = `${K.activated} ${K.invalid} ${HELD} ${K.second} ${K.third}`;
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out), { env: childEnv(steam) });
    run.stdin.end(keys);
    await typePassword(run);
    await steam.keyReceived(HELD);
    run.kill9();
    t.equal(await run.exit, 128 + 9, 'killed: no handler ran');

    t.same(statuses(out), { [K.activated]: 'activated', [K.invalid]: 'invalid-key', [HELD]: 'unknown' }, 'nothing after the key with Steam');
    const held = readResults(out).keys.find((r) => r.key === HELD)!;
    t.match(held, { account: 'alice', message: SENT_NO_ANSWER });
    t.ok(Date.parse(held.sentAt!) <= steam.tally.at(-1)!.at, 'with the time it was sent');
    assertAnswerTimes(t, steam, answered(out));

    const second = await rerun(steam, out, keys);
    t.equal(second.code, 1, '1: a key is invalid, one unknown');
    t.match(second.stdout, new RegExp(`^Not sent again \\(--retry-unknown sends it\\):\\n  ${HELD}  sent `, 'm'), 'listed for the user to check');
    t.same(steam.tally.slice(3).map((e) => e.key), [K.second, K.third], 'the rest of the queue, and only it');
    t.same(statuses(out), { [K.activated]: 'activated', [K.invalid]: 'invalid-key', [HELD]: 'unknown', [K.second]: 'activated', [K.third]: 'activated' });
    assertAnswerTimes(t, steam, answered(out));

    // Not in the library: the user asks for it again, and it goes through.
    steam.setKey(HELD, { packages: [LATE_GAME] });
    const third = await rerun(steam, out, keys, '--retry-unknown');
    t.equal(third.code, 1, 'still 1: one key is invalid');
    t.same(steam.tally.slice(5).map((e) => e.key), [HELD]);
    t.equal(statuses(out)[HELD], 'activated');
    assertAnswerTimes(t, steam, answered(out));
    assertNoKeyTwice(t, steam, { [HELD]: 'the user asked for it with --retry-unknown' });
  });

  t.test('SIGKILL between two keys: the answer was on disk before the next key could go', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const keys = `${K.activated} ${K.owned} ${K.second}`;
    // A long pause: after its first answer the run waits, and the test kills it then.
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out, '--pause', '1h'), { env: childEnv(steam) });
    run.stdin.end(keys);
    await typePassword(run);
    await run.stdout.waitFor(new RegExp(`^\\[1/3\\] ${K.activated}  activated`, 'm'));
    run.kill9();
    t.equal(await run.exit, 128 + 9);
    t.same(statuses(out), { [K.activated]: 'activated' });
    assertAnswerTimes(t, steam, answered(out));

    const second = await rerun(steam, out, keys);
    t.equal(second.code, 0, 'activated or owned, all of them');
    t.match(second.stdout, /^3 keys found in standard input; 1 already in .*, not sent again\.$/m);
    t.same(steam.keysReceived, [K.activated, K.owned, K.second]);
    assertAnswerTimes(t, steam, answered(out));
    assertNoKeyTwice(t, steam);
  });

  t.test('the terminal closed (SIGHUP) while a key is with Steam: its answer is waited for, written, and the session signs out', async (t) => {
    const steam = await fakeSteam(t);
    steam.setKey(HELD, 'hold');
    const out = tempDir(t);
    const keys = `${K.activated} ${HELD} ${K.second}`;
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out), { env: childEnv(steam) });
    run.stdin.end(keys);
    await typePassword(run);
    await steam.keyReceived(HELD);
    run.hangUp();
    await run.stdout.waitFor(new RegExp(`^Stopping: no more keys are sent\\. Waiting up to 10s for ${HELD}`, 'm'));
    t.ok(steam.answerHeld(HELD, { packages: [LATE_GAME] }), 'Steam answers now');
    t.equal(await run.exit, 1, 'a normal end (1: a key was not sent), not death by SIGHUP (129)');
    t.match(run.stdout.text, new RegExp(`^\\[2/3\\] ${HELD}  activated +Activated: Fake Game Late$`, 'm'));
    t.same(statuses(out), { [K.activated]: 'activated', [HELD]: 'activated', [K.second]: 'not-sent' });
    assertSignedOut(t, steam);
    assertAnswerTimes(t, steam, answered(out));

    const second = await rerun(steam, out, keys);
    t.equal(second.code, 0);
    t.same(steam.keysReceived, [K.activated, HELD, K.second]);
    assertNoKeyTwice(t, steam);
  });

  t.test('the terminal closed between two keys, with the output on it: nothing is lost to the dead terminal', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const dir = tempDir(t);
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `${K.activated} ${K.second} ${K.third}`);
    // 'pty': stdout and stderr are the terminal too, so every write after the hang-up fails (EIO).
    const run = runInPty(python, 'pty', redeemArgs(steam, file, '--account', 'alice', '--out', out, '--pause', '1h'), { env: childEnv(steam) });
    await typePassword(run);
    await run.screen.waitFor(new RegExp(`\\[1/3\\] ${K.activated}  activated`));
    run.hangUp();
    t.equal(await run.exit, 1, 'a normal end, not a crash on EIO nor death by SIGHUP');
    t.same(statuses(out), { [K.activated]: 'activated', [K.second]: 'not-sent', [K.third]: 'not-sent' });
    assertSignedOut(t, steam);
    const second = await rerun(steam, out, `${K.activated} ${K.second} ${K.third}`);
    t.equal(second.code, 0);
    t.same(steam.keysReceived, [K.activated, K.second, K.third]);
    assertNoKeyTwice(t, steam);
  });

  t.test('Ctrl-C while a key is with Steam: the bar never counts the keys left unsent as done; its answer is written', async (t) => {
    const steam = await fakeSteam(t);
    steam.setKey(HELD, 'hold');
    const out = tempDir(t);
    const dir = tempDir(t);
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `${K.activated} ${HELD} ${K.second} ${K.third}`);
    const run = runInPty(python, 'pty', redeemArgs(steam, file, '--account', 'alice', '--out', out), { env: childEnv(steam) });
    await typePassword(run);
    await steam.keyReceived(HELD);
    run.type('\x03');
    await run.screen.waitFor(/  1\/4  \S+  elapsed \d+s  stopping, 2 not to be sent/);
    steam.answerHeld(HELD, { detail: 9, packages: [LATE_GAME] });
    t.equal(await run.exit, 1);
    const screen = run.screen.text;
    t.match(screen, /  2\/4  .*stopping, 2 not to be sent/, 'the answer counts; the keys not sent do not');
    t.notMatch(screen, /[34]\/4  /, 'never 3/4 or 4/4');
    t.match(screen, /^not-sent +2\r?$/m);
    t.same(statuses(out), { [K.activated]: 'activated', [HELD]: 'already-owned', [K.second]: 'not-sent', [K.third]: 'not-sent' });
    assertAnswerTimes(t, steam, answered(out));
    assertSignedOut(t, steam);
    const second = await rerun(steam, out, `${K.activated} ${HELD} ${K.second} ${K.third}`);
    t.equal(second.code, 0);
    t.same(steam.keysReceived, [K.activated, HELD, K.second, K.third]);
    assertNoKeyTwice(t, steam);
  });

  t.test('Ctrl-C during a rate-limit cooldown: it stops at once; the rerun sends the rate-limited key and the rest', async (t) => {
    const steam = await fakeSteam(t);
    const out = tempDir(t);
    const keys = `${K.activated} ${K.limited} ${K.second}`;
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out, '--cooldown', '1h'), { env: childEnv(steam) });
    run.stdin.end(keys);
    await typePassword(run);
    await run.stdout.waitFor(/rate-limited\. Steam is limiting activations: the waiting keys were not used\. Sending resumes in 1h00m00s/);
    run.type('\x03');
    t.equal(await run.exit, 1);
    t.match(run.stdout.text, /^Stopping: no more keys are sent\.$/m, 'no key with Steam to wait for');
    t.same(statuses(out), { [K.activated]: 'activated', [K.limited]: 'rate-limited', [K.second]: 'not-sent' });
    assertAnswerTimes(t, steam, answered(out));

    steam.setKey(K.limited, { packages: [{ id: 105, name: 'Patience' }] }); // Steam has lifted its limit
    const second = await rerun(steam, out, keys);
    t.equal(second.code, 0);
    t.same(steam.keysReceived, [K.activated, K.limited, K.limited, K.second]);
    t.same(statuses(out), { [K.activated]: 'activated', [K.limited]: 'activated', [K.second]: 'activated' });
    assertAnswerTimes(t, steam, answered(out));
    assertNoKeyTwice(t, steam, { [K.limited]: 'Steam rate-limited it without using it; the rerun sends it again' });
  });

  t.test('--out cannot be written any more mid-run: nothing more is sent, the output says so and keeps every result', async (t) => {
    const steam = await fakeSteam(t);
    steam.setKey(HELD, 'hold');
    const out = tempDir(t);
    const run = runInPty(python, 'pipe', redeemArgs(steam, '--account', 'alice', '--out', out), { env: childEnv(steam) });
    run.stdin.end(`${K.activated} ${HELD} ${K.second}`);
    await typePassword(run);
    await steam.keyReceived(HELD);
    // The directory is gone and a file has its name: the next write cannot happen.
    rmSync(out, { recursive: true });
    writeFileSync(out, '');
    steam.answerHeld(HELD, { packages: [LATE_GAME] });
    t.equal(await run.exit, 1);
    t.match(run.stdout.text, new RegExp(`^Cannot write to ${out}: .*EEXIST.*\\. Stopping: no more keys are sent\\.$`, 'm'));
    t.match(run.stdout.text, new RegExp(`^\\[2/3\\] ${HELD}  activated +Activated: Fake Game Late$`, 'm'), 'the answer is still shown');
    t.match(run.stdout.text, new RegExp(`nothing was saved \\(${out} could not be written\\)\\. To send just them, run again on these lines:\\n${K.second}\\n$`));
    t.match(run.stderr.text, new RegExp(`could not write to ${out}: .*The lines above are the only record of this run\\.`));
    t.same(steam.keysReceived, [K.activated, HELD], 'nothing sent after the failed write');
    assertSignedOut(t, steam);
    assertNoKeyTwice(t, steam);
  });
});
