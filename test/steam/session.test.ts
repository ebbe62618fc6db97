import t from 'tap';
import type { LogEvent } from '../../lib/log.js';
import { LoginError, RedeemError } from '../../lib/steam/port.js';
import { PurchaseDetail } from '../../lib/steam/results.js';
import { RedeemSession, SessionError, type SessionEvent } from '../../lib/steam/session.js';
import { ACCOUNT, fakePorts } from '../helpers/fake-port.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const PASSWORD = 'correct-horse-battery-staple';
const CODE = 'QX7RT';
const TIMERS = { pauseMs: 1_000, cooldownMs: 3_600_000, redeemTimeoutMs: 100_000 };
const OK = { eresult: 1, detail: 0, packages: [{ id: 11, name: 'Game' }] };

function setup(maxKeys?: number) {
  const clock = new ManualClock();
  const steam = fakePorts();
  const logs: LogEvent[] = [];
  const session = new RedeemSession({
    portFactory: steam.factory,
    timers: TIMERS,
    clock,
    log: (e) => logs.push(e),
    ...(maxKeys === undefined ? {} : { maxKeys }),
  });
  const events: SessionEvent[] = [];
  session.subscribe((e) => events.push(e));
  const logins = () => events.filter((e) => e.type === 'login').map((e) => e.state);
  /** Signs in without a guard prompt. */
  const signIn = async () => {
    const done = session.login({ accountName: 'alice', password: PASSWORD });
    steam.last().succeed();
    t.equal(await done, true);
    await settle();
  };
  return { clock, steam, logs, session, events, logins, signIn };
}

t.test('signs in; the password goes to the port and nowhere else', async (t) => {
  const { steam, session, events, logins, logs } = setup();
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  t.equal(session.loginState, 'signing-in');
  steam.last().succeed();
  t.equal(await done, true);
  t.same(logins(), ['signing-in', 'signed-in']);
  t.same(session.snapshot().login, { state: 'signed-in', account: ACCOUNT });
  t.same(steam.last().credentials, [{ accountName: 'alice', password: PASSWORD }]);
  const everything = JSON.stringify([events, logs, session.snapshot()]);
  t.notMatch(everything, PASSWORD);
  t.same(logs.map((l) => l.event), ['login-started', 'login-ok']);
});

t.test('Steam Guard: says which kind and where, and when the last code was wrong', async (t) => {
  const { steam, session, events, logins, logs } = setup();
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  const port = steam.last();
  const first = port.askGuard({ kind: 'email', domain: 'example.com', lastCodeWrong: false });
  t.equal(session.loginState, 'guard');
  const prompt = events.at(-1)!;
  t.match(prompt, { type: 'login', state: 'guard', guard: { kind: 'email', domain: 'example.com', lastCodeWrong: false } });
  t.match(session.snapshot().login.message?.en, /\*@example\.com/, 'a page that reconnects sees the prompt too');
  session.answerGuard('WRONG');
  t.equal(await first, 'WRONG');
  t.equal(session.loginState, 'signing-in');
  const second = port.askGuard({ kind: 'authenticator', lastCodeWrong: true });
  t.match(events.at(-1), { state: 'guard', guard: { kind: 'authenticator', lastCodeWrong: true } });
  t.match(session.snapshot().login.message?.en, /^That code was wrong/);
  session.answerGuard(CODE);
  t.equal(await second, CODE);
  port.succeed();
  t.equal(await done, true);
  t.same(logins(), ['signing-in', 'guard', 'signing-in', 'guard', 'signing-in', 'signed-in']);
  t.same(port.codes, ['WRONG', CODE]);
  const everything = JSON.stringify([events, logs, session.snapshot()]);
  t.notMatch(everything, CODE, 'the guard code is not kept, emitted or logged');
  t.notMatch(everything, PASSWORD);
});

t.test('a guard code nobody asked for is refused', async (t) => {
  const { session, signIn } = setup();
  t.throws(() => session.answerGuard('12345'), { name: 'SessionError', code: 'wrong-state' });
  await signIn();
  t.throws(() => session.answerGuard('12345'), { code: 'wrong-state' });
});

t.test('a failed sign-in says why, releases the port, and allows another try', async (t) => {
  const { steam, session, events, logs } = setup();
  const done = session.login({ accountName: 'alice', password: 'nope' });
  steam.last().fail(new LoginError('invalid-password', 'InvalidPassword', 5));
  t.equal(await done, false);
  t.match(events.at(-1), { type: 'login', state: 'signed-out', reason: 'invalid-password' });
  t.match(session.snapshot().login.message?.en, /Wrong account name or password/);
  t.equal(steam.last().logOffs, 1);
  t.match(logs.at(-1), { event: 'login-failed', reason: 'invalid-password', eresult: 5 });
  const again = session.login({ accountName: 'alice', password: PASSWORD });
  t.equal(steam.ports.length, 2, 'a fresh port: steam-user allows one logOn per instance');
  steam.last().succeed();
  t.equal(await again, true);
});

t.test('each sign-in failure reason reaches the page in words', async (t) => {
  for (const [reason, text] of [
    ['rate-limited', /Wait at least 30 minutes/],
    ['throttled', /holding back/],
    ['unreachable', /Could not reach Steam/],
    ['guard-failed', /Steam Guard code was wrong/],
  ] as const) {
    const { steam, session } = setup();
    const done = session.login({ accountName: 'alice', password: PASSWORD });
    steam.last().fail(new LoginError(reason, 'x'));
    await done;
    t.match(session.snapshot().login, { state: 'signed-out', reason, message: { en: text } }, reason);
  }
  const { steam, session } = setup();
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  steam.last().fail(new Error('surprise') as LoginError);
  await done;
  t.match(session.snapshot().login, { reason: 'other' }, 'a non-LoginError is "other", not a crash');
});

t.test('sign-in is refused while one is under way or done', async (t) => {
  const { session } = setup();
  void session.login({ accountName: 'alice', password: PASSWORD });
  t.throws(() => session.login({ accountName: 'alice', password: PASSWORD }), { code: 'wrong-state' });
  const other = setup();
  await other.signIn();
  t.throws(() => other.session.login({ accountName: 'alice', password: PASSWORD }), { code: 'wrong-state' });
});

t.test('keys pasted before signing in wait, then go one at a time with the pause', async (t) => {
  const { clock, steam, session, signIn } = setup();
  const added = session.addKeys('AAAAA-11111-BBBBB and bbbbb-22222-ccccc, again AAAAA-11111-BBBBB');
  t.same(added.added.map((e) => [e.n, e.key, e.state]), [
    [1, 'AAAAA-11111-BBBBB', 'queued'],
    [2, 'BBBBB-22222-CCCCC', 'queued'],
  ]);
  t.same(added.dropped, [{ key: 'AAAAA-11111-BBBBB', reason: 'repeated-in-paste' }]);
  await settle();
  t.match(session.snapshot().queue, { state: 'stalled', stalledBy: 'signed-out', message: { en: /Sign in/ } });
  await signIn();
  const port = steam.last();
  t.same(port.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB']);
  port.answer(OK);
  await clock.advance(TIMERS.pauseMs);
  t.same(port.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB', 'BBBBB-22222-CCCCC']);
  port.answer({ eresult: 2, detail: PurchaseDetail.DuplicateActivationCode, packages: [] });
  await settle();
  t.same(session.snapshot().keys.map((e) => e.result?.status), ['activated', 'key-used']);
  t.same(session.snapshot().keys[0]!.result?.packages, [{ id: 11, name: 'Game' }]);
  t.same(session.addKeys('aaaaa-11111-bbbbb').dropped, [{ key: 'AAAAA-11111-BBBBB', reason: 'already-in-session' }]);
});

t.test('keys of digits only are held back unless the paste allows them', async (t) => {
  const { session } = setup();
  const held = session.addKeys('order 48213-99120-55871, key AAAAA-11111-BBBBB');
  t.same(held.added.map((e) => e.key), ['AAAAA-11111-BBBBB']);
  t.same(held.dropped, [{ key: '48213-99120-55871', reason: 'digits-only' }], 'reported, not queued');
  const allowed = session.addKeys('order 48213–99120–55871, key AAAAA-11111-BBBBB', { digitsOnly: true });
  t.same(allowed.added.map((e) => [e.n, e.key]), [[2, '48213-99120-55871']], 'sent once the user says it is a key');
  t.same(allowed.dropped, [{ key: 'AAAAA-11111-BBBBB', reason: 'already-in-session' }]);
});

t.test('a paste that would pass the key limit is refused whole', async (t) => {
  const { session } = setup(3);
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  t.throws(() => session.addKeys('AAAAA-11111-BBBBB CCCCC-33333-DDDDD DDDDD-44444-EEEEE'), { code: 'too-many-keys' });
  t.equal(session.snapshot().keys.length, 2, 'nothing of the refused paste was queued');
  t.same(session.addKeys('AAAAA-11111-BBBBB CCCCC-33333-DDDDD').added.length, 1, 'keys already known do not count');
});

t.test('no answer in time: the key is unknown and the queue waits for resume()', async (t) => {
  const { clock, steam, session, signIn, logs } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  const port = steam.last();
  await clock.advance(TIMERS.redeemTimeoutMs - 1);
  t.equal(session.snapshot().keys[0]!.state, 'redeeming');
  await clock.advance(1);
  const [first] = session.snapshot().keys;
  t.equal(first!.result?.status, 'unknown');
  t.match(first!.result?.message.en, /may have been activated — check your library/);
  t.match(session.snapshot().queue, { state: 'stalled', stalledBy: 'unknown-result' });
  port.redeems[0]!.reject(new RedeemError('timeout', 'late')); // steam-user's own timeout, later: must not be unhandled
  await clock.advance(TIMERS.cooldownMs);
  t.equal(port.redeems.length, 1, 'nothing more is sent on its own');
  session.resume();
  await settle();
  t.same(port.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB', 'BBBBB-22222-CCCCC']);
  t.match(logs.find((l) => l.event === 'key-result'), { key: 'AAAAA-*****-*****', status: 'unknown' });
});

t.test('Steam drops mid-key: the key is unknown, the session asks to sign in again, then goes on', async (t) => {
  const { clock, steam, session, signIn, events } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  steam.last().disconnect();
  await settle();
  t.same(session.snapshot().keys.map((e) => [e.state, e.result?.status]), [
    ['done', 'unknown'],
    ['queued', undefined],
  ]);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'steam-disconnected', account: ACCOUNT });
  t.match(session.snapshot().queue, { state: 'stalled', stalledBy: 'signed-out' });
  t.ok(events.some((e) => e.type === 'login' && e.reason === 'steam-disconnected'));
  t.throws(() => session.login({ accountName: 'bob', password: 'x' }), { code: 'other-account' });
  const again = session.login({ accountName: 'ALICE', password: PASSWORD });
  steam.last().succeed();
  await again;
  await clock.advance(TIMERS.pauseMs);
  t.same(steam.last().redeems.map((r) => r.key), ['BBBBB-22222-CCCCC'], 'the unknown key is not sent again');
});

t.test('a failed sign-in after Steam dropped still names the only account that may sign in', async (t) => {
  const { steam, session, signIn } = setup();
  await signIn();
  steam.last().disconnect();
  await settle();
  const again = session.login({ accountName: 'alice', password: 'wrong' });
  steam.last().fail(new LoginError('invalid-password', 'no', 5));
  t.equal(await again, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'invalid-password', account: ACCOUNT });
  t.throws(() => session.login({ accountName: 'bob', password: 'x' }), { code: 'other-account' });
});

t.test('a port that lost Steam without saying so: the key stays queued, nothing is sent', async (t) => {
  const { steam, session, signIn } = setup();
  await signIn();
  steam.last().loggedOn = false; // e.g. the disconnect event has not arrived yet
  session.addKeys('AAAAA-11111-BBBBB');
  await settle();
  t.equal(steam.last().redeems.length, 0);
  t.same(session.snapshot().keys.map((e) => e.state), ['queued']);
  t.equal(session.loginState, 'signed-out');
});

t.test('RateLimited: the queue cools down, says when it resumes, and resumes', async (t) => {
  const { clock, steam, session, signIn, events } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  const port = steam.last();
  port.answer({ eresult: 2, detail: PurchaseDetail.RateLimited, packages: [] });
  await settle();
  const cooldown = events.findLast((e) => e.type === 'queue');
  t.match(cooldown, { state: 'cooldown', resumesAt: clock.now() + TIMERS.cooldownMs, message: { en: /about 60 min/ } });
  t.same(session.snapshot().keys.map((e) => e.state), ['waiting', 'waiting']);
  await clock.advance(TIMERS.cooldownMs);
  t.same(port.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB', 'AAAAA-11111-BBBBB']);
  t.match(events.findLast((e) => e.type === 'queue'), { state: 'running' });
});

t.test('cancel stops after the current key', async (t) => {
  const { clock, steam, session, signIn } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  session.cancel();
  steam.last().answer(OK);
  await clock.advance(TIMERS.pauseMs * 10);
  t.same(session.snapshot().keys.map((e) => e.state), ['done', 'cancelled']);
  t.equal(steam.last().redeems.length, 1);
});

t.test('close: signs out, abandons a pending prompt, stops every timer, refuses further calls', async (t) => {
  const { clock, steam, session, events } = setup();
  session.addKeys('AAAAA-11111-BBBBB');
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  const prompt = steam.last().askGuard({ kind: 'authenticator', lastCodeWrong: false });
  await session.close('expired');
  t.equal(await done, false);
  await t.rejects(prompt);
  t.equal(steam.last().logOffs, 1);
  t.match(events.at(-1), { type: 'closed', reason: 'expired' });
  t.equal(clock.pending, 0);
  t.throws(() => session.addKeys('x'), SessionError);
  t.throws(() => session.login({ accountName: 'alice', password: PASSWORD }), { code: 'closed' });
  await session.close('expired'); // twice is fine
});

t.test('close while signed in and redeeming signs out of Steam', async (t) => {
  const { steam, session, signIn, clock } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB');
  await settle();
  await session.close('logged-out');
  t.equal(steam.last().logOffs, 1);
  t.equal(steam.last().loggedOn, false);
  t.equal(clock.pending, 0, 'no redeem timeout left behind');
});

t.test('close with a key at Steam: that key ends unknown, and listeners hear it before "closed"', async (t) => {
  const { steam, session, signIn, events } = setup();
  await signIn();
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  t.equal(steam.last().redeems.length, 1);
  await session.close('shutdown');
  const [key, closed] = events.slice(-2);
  t.match(key, { type: 'key', entry: { key: 'AAAAA-11111-BBBBB', state: 'done', result: { status: 'unknown', message: { en: /check your library/ } } } });
  t.match(closed, { type: 'closed', reason: 'shutdown' });
  t.same(session.snapshot().keys.map((e) => e.state), ['done', 'queued'], 'nothing is left "redeeming"');
});

t.test('a port factory that throws is a failed sign-in, not a crash', async (t) => {
  const session = new RedeemSession({
    portFactory: () => {
      throw new Error('bad proxy URL');
    },
  });
  t.equal(await session.login({ accountName: 'alice', password: PASSWORD }), false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'other' });
});

t.test('closing: a sign-out that fails is logged and does not throw', async (t) => {
  const { steam, session, logs, signIn } = setup();
  await signIn();
  steam.last().logOffError = new Error('socket hang up');
  await session.close('logged-out');
  t.equal(steam.last().logOffs, 1, 'the sign-out was tried');
  t.same(logs.map((l) => l.event).slice(-1), ['steam-logoff-failed']);
  t.notMatch(JSON.stringify(logs), /socket hang up/, 'the log line names the event, not a raw error');
});

t.test('closing: a sign-out that works is logged as such', async (t) => {
  const { steam, session, logs, signIn } = setup();
  await signIn();
  await session.close('logged-out');
  t.equal(steam.last().logOffs, 1);
  t.same(logs.map((l) => l.event).slice(-1), ['steam-logged-off']);
});

t.test('the third wrong Steam Guard code ends the sign-in, as the README says', async (t) => {
  const { steam, session } = setup();
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  const port = steam.last();
  void port.askGuard({ kind: 'authenticator', lastCodeWrong: false });
  session.answerGuard('AAAAA');
  void port.askGuard({ kind: 'authenticator', lastCodeWrong: true });
  session.answerGuard('BBBBB');
  void port.askGuard({ kind: 'authenticator', lastCodeWrong: true });
  session.answerGuard('CCCCC');
  const third = port.askGuard({ kind: 'authenticator', lastCodeWrong: true }).catch((e: unknown) => e);
  t.match(await third, Error, 'the prompt after the third wrong code is refused');
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'guard-failed' });
  t.equal(port.logOffs, 1, 'and that sign-in is abandoned');
  t.equal(await done, false);
});

t.test('cancelLogin abandons a prompt; nothing to cancel is wrong-state', async (t) => {
  const { steam, session, signIn } = setup();
  t.throws(() => session.cancelLogin(), { code: 'wrong-state' });
  const done = session.login({ accountName: 'alice', password: PASSWORD });
  void steam.last().askGuard({ kind: 'email', domain: 'example.com', lastCodeWrong: false }).catch(() => {});
  session.cancelLogin();
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'cancelled' });
  t.equal(await done, false);
  await signIn();
  t.throws(() => session.cancelLogin(), { code: 'wrong-state' }, 'not once signed in');
});

t.test('an approval in the app completes the sign-in while a code is awaited; QR prompts become the qr state', async (t) => {
  const { steam, session, events } = setup();
  const done = session.login({ method: 'qr' });
  const port = steam.last();
  port.showQr('https://s.team/q/1/111');
  t.match(session.snapshot().login, { state: 'qr', qr: { url: 'https://s.team/q/1/111', scanned: false }, message: { en: /Scan this code/ } });
  port.scanned();
  t.match(session.snapshot().login, { state: 'qr', qr: { scanned: true }, message: { en: /Scanned/ } });
  port.succeed();
  t.equal(await done, true);
  t.notOk(events.some((e) => e.type === 'login' && e.state === 'guard'));

  const second = setup();
  const pending = second.session.login({ accountName: 'alice', password: PASSWORD });
  void second.steam.last().askGuard({ kind: 'authenticator', lastCodeWrong: false, approvable: true });
  t.match(second.session.snapshot().login, { state: 'guard', guard: { approvable: true }, message: { en: /^Approve this sign-in in the Steam app/ } });
  second.steam.last().succeed();
  t.equal(await pending, true);
  t.throws(() => second.session.answerGuard('12345'), { code: 'wrong-state' }, 'the code is no longer asked for');
});

t.test('adopt: a session signed out takes a sign-in over; one signed in sends the extra client away', async (t) => {
  const { steam, session } = setup();
  session.addKeys('AAAAA-11111-BBBBB');
  const other = fakePorts();
  const extra = other.factory() as ReturnType<typeof other.last>;
  extra.loggedOn = true;
  session.adopt(extra, ACCOUNT);
  t.match(session.snapshot().login, { state: 'signed-in', account: ACCOUNT });
  await settle();
  t.same(extra.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB'], 'the adopted sign-in sends the waiting key');
  t.equal(steam.ports.length, 0);

  const two = setup();
  await two.signIn();
  const spare = fakePorts().factory() as ReturnType<typeof other.last>;
  two.session.adopt(spare, ACCOUNT);
  t.equal(spare.logOffs, 1, 'one Steam client per account');
  t.equal(two.steam.last().logOffs, 0);
});

t.test('mergeKeys: keys already here are dropped, keys past the limit too, none refused', async (t) => {
  const { session } = setup(2);
  session.addKeys('AAAAA-11111-BBBBB');
  const merged = session.mergeKeys(['AAAAA-11111-BBBBB', 'CCCCC-22222-DDDDD', 'EEEEE-33333-FFFFF']);
  t.same(merged.added.map((e) => e.key), ['CCCCC-22222-DDDDD']);
  t.same(merged.dropped, [
    { key: 'AAAAA-11111-BBBBB', reason: 'already-in-session' },
    { key: 'EEEEE-33333-FFFFF', reason: 'session-full' },
  ]);
  t.same(session.unsentKeys(), ['AAAAA-11111-BBBBB', 'CCCCC-22222-DDDDD']);
});
