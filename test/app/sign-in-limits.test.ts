import t from 'tap';
import { backoff, DEFAULT_SIGN_IN_LIMITS, SignInLimiter, type SignInAttempt, type SignInLimits } from '../../lib/app/sign-in-limits.js';
import { ManualClock } from '../helpers/manual-clock.js';

const MINUTE = 60_000;

/** Limits with room everywhere but where a test looks. */
const ROOMY: SignInLimits = {
  signInsPerSession: { count: 1_000, perMs: 1 },
  signInsPerAddress: { count: 1_000, perMs: 1 },
  signInsPerServer: { count: 1_000, perMs: 1 },
  signInBackoffMs: 0,
  signInBackoffMaxMs: 0,
  steamCooldownMs: 30 * MINUTE,
};

function setup(limits: Partial<SignInLimits>) {
  const clock = new ManualClock();
  const limiter = new SignInLimiter({ ...ROOMY, ...limits }, clock);
  /** check, and start if let through: what the /ws handler does. */
  const attempt = (who: SignInAttempt) => {
    const refusal = limiter.check(who);
    if (refusal === null) limiter.start(who);
    return refusal;
  };
  return { clock, limiter, attempt };
}

const alice = { address: '198.51.100.1', session: 's1', accountName: 'alice' };

t.test('per session: a burst, then one more as each comes back', async (t) => {
  const { clock, attempt } = setup({ signInsPerSession: { count: 3, perMs: 3 * MINUTE } });
  for (let i = 0; i < 3; i++) t.equal(attempt(alice), null, `attempt ${i + 1}`);
  t.same(attempt(alice), { code: 'sign-in-limited', retryAt: clock.now() + MINUTE }, 'the fourth waits for one to come back');
  t.equal(attempt({ ...alice, session: 's2' }), null, 'another session of the same address is not held back');
  await clock.advance(MINUTE - 1);
  t.not(attempt(alice), null, 'not a millisecond early');
  await clock.advance(1);
  t.equal(attempt(alice), null, 'at retryAt it goes');
  t.not(attempt(alice), null);
});

t.test('per address: across sessions', async (t) => {
  const { clock, attempt } = setup({ signInsPerAddress: { count: 2, perMs: 10 * MINUTE } });
  t.equal(attempt({ ...alice, session: 'a' }), null);
  t.equal(attempt({ ...alice, session: 'b' }), null);
  t.same(attempt({ ...alice, session: 'c' }), { code: 'sign-in-limited', retryAt: clock.now() + 5 * MINUTE }, 'a new session does not reset it');
  t.equal(attempt({ ...alice, address: '198.51.100.2', session: 'd' }), null, 'another address is not held back');
});

t.test('server-wide: across addresses', async (t) => {
  const { clock, attempt } = setup({ signInsPerServer: { count: 5, perMs: 5 * MINUTE } });
  for (let i = 0; i < 5; i++) t.equal(attempt({ address: `203.0.113.${i}`, session: `s${i}` }), null);
  t.same(attempt({ address: '203.0.113.99', session: 'x' }), { code: 'sign-in-limited', retryAt: clock.now() + MINUTE });
});

t.test('server-wide: addresses that tried lately leave the last third to newcomers', async (t) => {
  const { clock, attempt } = setup({ signInsPerServer: { count: 9, perMs: 9 * MINUTE }, signInsPerAddress: { count: 4, perMs: 4 * MINUTE } });
  const busy = (i: number, session: number) => ({ address: `203.0.113.${i}`, session: `b${i}-${session}` });
  // Three addresses sign in on many sessions at once (none answered yet): their first tries are
  // a newcomer's, the rest stop where the reserve begins: 9 tokens, 3 kept back, so 6 in all.
  let sent = 0;
  for (let s = 0; s < 4; s++) for (let i = 0; i < 3; i++) if (attempt(busy(i, s)) === null) sent++;
  t.equal(sent, 6, 'addresses that tried lately stop at the reserve');
  t.same(attempt(busy(0, 9)), { code: 'sign-in-limited', retryAt: clock.now() + MINUTE }, 'retryAt: when the bucket holds more than the reserve');
  for (let i = 0; i < 3; i++) t.equal(attempt({ address: `198.51.100.${i}`, session: `h${i}` }), null, `a newcomer signs in (${i + 1} of the reserve)`);
  t.equal(attempt({ address: '198.51.100.9', session: 'h9' })?.code, 'sign-in-limited', 'the reserve is a part of the bucket, not more of it');
  // Once an address's own bucket is full again it is a newcomer again.
  await clock.advance(4 * MINUTE);
  t.equal(attempt(busy(1, 20)), null, 'an address quiet long enough may take from the reserve again');
});

t.test('backoff per address after failures: doubling, ended by a success; a cancel is no failure', async (t) => {
  const { clock, limiter, attempt } = setup({ signInBackoffMs: 2_000, signInBackoffMaxMs: 10_000 });
  const fail = () => {
    t.equal(attempt(alice), null);
    limiter.finish(alice, { ok: false, reason: 'invalid-password' });
  };
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    fail();
    const refusal = limiter.check({ ...alice, session: `other-${i}` });
    waits.push(refusal === null ? 0 : refusal.retryAt - clock.now());
    t.equal(refusal?.code, 'sign-in-limited');
    await clock.advance(waits.at(-1)!);
  }
  t.same(waits, [2_000, 4_000, 8_000, 10_000, 10_000], '2 s, then twice as long each time, up to the maximum');
  t.equal(limiter.check({ ...alice, address: '198.51.100.2' }), null, 'another address is not held back');

  t.equal(attempt(alice), null);
  limiter.finish(alice, { ok: false, reason: 'cancelled' });
  t.equal(limiter.check(alice), null, 'a cancelled sign-in adds no wait');
  t.equal(attempt(alice), null);
  limiter.finish(alice, { ok: true });
  fail();
  t.equal(limiter.check(alice)?.retryAt, clock.now() + 2_000, 'after a success the next failure starts over');
});

t.test("Steam's 84: no sign-in for anyone during the cooldown", async (t) => {
  const { clock, limiter, attempt } = setup({ steamCooldownMs: 30 * MINUTE });
  t.equal(attempt(alice), null);
  limiter.finish(alice, { ok: false, reason: 'rate-limited' });
  const until = clock.now() + 30 * MINUTE;
  const bob = { address: '203.0.113.5', session: 'b', accountName: 'bob' };
  t.same(limiter.check(bob), { code: 'steam-cooldown', retryAt: until }, 'another address and account too: it is the server Steam limits');
  await clock.advance(30 * MINUTE - 1);
  t.equal(limiter.check(bob)?.code, 'steam-cooldown');
  await clock.advance(1);
  t.equal(limiter.check(bob), null);
});

t.test("Steam's 87: no sign-in for that account (in any case) during the cooldown", async (t) => {
  const { clock, limiter, attempt } = setup({ steamCooldownMs: 30 * MINUTE });
  t.equal(attempt(alice), null);
  limiter.finish(alice, { ok: false, reason: 'throttled' });
  t.same(limiter.check({ address: '203.0.113.5', session: 'x', accountName: 'ALICE' }), { code: 'steam-cooldown', retryAt: clock.now() + 30 * MINUTE });
  t.equal(limiter.check({ address: '203.0.113.5', session: 'x', accountName: 'bob' }), null, 'other accounts sign in');
  t.equal(limiter.check({ address: '203.0.113.5', session: 'x' }), null, 'a sign-in without an account name (QR) is not held back');
});

t.test('the refusal says the latest time, and steam-cooldown wins the code', async (t) => {
  const { clock, limiter, attempt } = setup({ signInsPerSession: { count: 1, perMs: 60 * MINUTE }, steamCooldownMs: 30 * MINUTE });
  t.equal(attempt(alice), null);
  limiter.finish(alice, { ok: false, reason: 'throttled' });
  t.same(limiter.check(alice), { code: 'steam-cooldown', retryAt: clock.now() + 60 * MINUTE }, 'the session waits longer than the account');
});

t.test('memory: entries that say nothing any more are dropped', async (t) => {
  const { clock, limiter, attempt } = setup({
    signInsPerSession: { count: 2, perMs: MINUTE },
    signInsPerAddress: { count: 2, perMs: MINUTE },
    signInBackoffMs: 1_000,
    signInBackoffMaxMs: 5 * MINUTE,
  });
  for (let i = 0; i < 500; i++) {
    const who = { address: `10.0.${i >> 8}.${i & 255}`, session: `s${i}`, accountName: `user${i}` };
    t.equal(attempt(who), null);
    limiter.finish(who, { ok: false, reason: i % 2 ? 'throttled' : 'invalid-password' });
  }
  t.same(limiter.size, { sessions: 500, addresses: 500, accounts: 250 });
  await clock.advance(6 * MINUTE);
  attempt({ address: '10.9.9.9', session: 'late' });
  t.same(limiter.size, { sessions: 1, addresses: 501, accounts: 250 }, 'full buckets go; streaks of failures and cooldowns stay a while');
  t.equal(limiter.check({ address: '10.0.0.2', session: 'x' }), null, 'their backoff is over');
  await clock.advance(25 * MINUTE);
  attempt({ address: '10.9.9.9', session: 'later' });
  t.same(limiter.size, { sessions: 1, addresses: 1, accounts: 0 }, 'streaks are forgotten four longest backoffs after the last failure, cooldowns when they end');
});

t.test('check alone makes no entry', async (t) => {
  const { limiter } = setup({});
  for (let i = 0; i < 100; i++) limiter.check({ address: `10.0.0.${i}`, session: `s${i}`, accountName: `a${i}` });
  t.same(limiter.size, { sessions: 0, addresses: 0, accounts: 0 });
});

t.test('the defaults: a household never meets them', async (t) => {
  const clock = new ManualClock();
  const limiter = new SignInLimiter(DEFAULT_SIGN_IN_LIMITS, clock);
  // Four people on one address, each mistyping the password once, then signing in.
  for (const name of ['ann', 'ben', 'cat', 'dan']) {
    const who = { address: '192.168.1.10', session: name, accountName: name };
    t.equal(limiter.check(who), null, `${name}: first try`);
    limiter.start(who);
    limiter.finish(who, { ok: false, reason: 'invalid-password' });
    await clock.advance(10_000); // retyping takes a person longer than the first backoff
    t.equal(limiter.check(who), null, `${name}: second try`);
    limiter.start(who);
    limiter.finish(who, { ok: true });
  }
});

t.test('backoff(): 0 without failures; no overflow for a long streak', async (t) => {
  const limits = { signInBackoffMs: 2_000, signInBackoffMaxMs: 15 * MINUTE };
  t.equal(backoff(0, limits), 0);
  t.equal(backoff(1, limits), 2_000);
  t.equal(backoff(3, limits), 8_000);
  t.equal(backoff(10_000, limits), 15 * MINUTE);
});

t.test('nonsense limits are refused', async (t) => {
  const clock = new ManualClock();
  t.throws(() => new SignInLimiter({ ...ROOMY, signInsPerSession: { count: 0, perMs: 1 } }, clock), /signInsPerSession/);
  t.throws(() => new SignInLimiter({ ...ROOMY, signInsPerServer: { count: 1, perMs: 0 } }, clock), /signInsPerServer/);
  t.throws(() => new SignInLimiter({ ...ROOMY, steamCooldownMs: -1 }, clock), /steamCooldownMs/);
});
