import t from 'tap';
import type { LogEvent } from '../../lib/log.js';
import { PurchaseDetail } from '../../lib/steam/results.js';
import { RedeemSession } from '../../lib/steam/session.js';
import { SessionStore, type EvictReason, type Held, type Holder } from '../../lib/steam/session-store.js';
import type { AddKeysResult } from '../../lib/steam/session.js';
import { ACCOUNT, fakePorts } from '../helpers/fake-port.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const GRACE = 10 * 60_000;
const ANONYMOUS_GRACE = 30_000;
const DEADLINE = 15 * 60_000;
const OK = { eresult: 1, detail: 0, packages: [{ id: 11, name: 'Game' }] };

function setup(options: { maxSessions?: number; maxHolders?: number } = {}) {
  const clock = new ManualClock();
  const steam = fakePorts();
  const logs: LogEvent[] = [];
  const store = new SessionStore({
    createSession: (claim) => new RedeemSession({ portFactory: steam.factory, claim, clock, timers: { pauseMs: 0 } }),
    graceMs: GRACE,
    anonymousGraceMs: ANONYMOUS_GRACE,
    signInDeadlineMs: DEADLINE,
    clock,
    log: (e) => logs.push(e),
    ...options,
  });
  const open = (h: Holder, owner = '192.0.2.1'): Held => {
    const held = store.open(h, owner);
    if ('refused' in held) throw new Error(`refused: ${held.refused}`);
    return held;
  };
  /** Signs `held` in to Steam (as alice unless told otherwise). */
  const signIn = async (held: Held, account = ACCOUNT) => {
    const signedIn = held.session.login({ accountName: account.accountName, password: 'pw' });
    steam.last().succeed(account);
    await signedIn;
  };
  /** A session held by `h`, signed in to Steam. */
  const openSignedIn = async (h: Holder) => {
    const held = open(h);
    await signIn(held);
    return held;
  };
  return { clock, steam, logs, store, open, signIn, openSignedIn };
}

function holder(): Holder & { evictions: EvictReason[]; moves: { held: Held; merged: AddKeysResult }[] } {
  const evictions: EvictReason[] = [];
  const moves: { held: Held; merged: AddKeysResult }[] = [];
  return { evictions, moves, evict: (reason) => evictions.push(reason), moved: (held, merged) => moves.push({ held, merged }) };
}

t.test('tokens are long, random and unique', async (t) => {
  const { open } = setup();
  const tokens = new Set<string>();
  for (let i = 0; i < 50; i++) tokens.add(open(holder(), `192.0.2.${i}`).token);
  t.equal(tokens.size, 50);
  for (const token of tokens) t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, URL-safe');
});

t.test('a page that comes back within the grace period gets the same session, signed in', async (t) => {
  const { clock, steam, store, logs, openSignedIn } = setup();
  const first = holder();
  const { token, session } = await openSignedIn(first);
  session.addKeys('AAAAA-11111-BBBBB');
  store.detach(token, first);
  await clock.advance(GRACE - 1);
  const second = holder();
  const back = store.resume(token, second);
  t.equal(back?.session, session);
  t.equal(session.loginState, 'signed-in', 'the Steam sign-in is still live');
  t.equal(steam.last().logOffs, 0);
  t.same(session.snapshot().keys.map((e) => e.key), ['AAAAA-11111-BBBBB']);
  await clock.advance(GRACE * 2);
  t.equal(store.size, 1, 'a held session has no grace timer');
  t.notOk(logs.some((l) => JSON.stringify(l).includes(token)), 'the token is never logged');
});

t.test('after the grace period the session signs out of Steam and is forgotten', async (t) => {
  const { clock, steam, store, logs, openSignedIn } = setup();
  const h = holder();
  const { token, session } = await openSignedIn(h);
  store.detach(token, h);
  await clock.advance(GRACE);
  await settle();
  t.equal(store.size, 0);
  t.equal(session.closed, true);
  t.equal(steam.last().logOffs, 1, 'logged off');
  t.equal(store.resume(token, holder()), null, 'the token no longer works');
  t.match(logs.at(-1), { event: 'session-closed', why: 'expired' });
  t.same(h.evictions, [], 'nobody held it: nobody to tell');
});

t.test('a page that leaves mid-batch: the keys go on being sent, and the grace period starts when the queue is done', async (t) => {
  // The store's sessions use steam-user's defaults but for the pause: a rate limit cools down for 60 min.
  const { clock, steam, store, logs, openSignedIn } = setup();
  const h = holder();
  const { token, session } = await openSignedIn(h);
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  const port = steam.last();
  port.answer({ eresult: 2, detail: PurchaseDetail.RateLimited, packages: [] });
  await settle();
  t.match(session.snapshot().queue, { state: 'cooldown' });
  store.detach(token, h);
  t.match(logs.at(-1), { event: 'session-detached', graceMs: GRACE, waitsForQueue: true });
  await clock.advance(GRACE * 2);
  t.equal(session.closed, false, 'a cooldown longer than the grace period does not end the session');
  await clock.advance(60 * 60_000 - GRACE * 2);
  t.same(port.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB', 'AAAAA-11111-BBBBB'], 'sending goes on after the cooldown');
  port.answer(OK);
  await settle();
  t.same(port.redeems.map((r) => r.key).slice(2), ['BBBBB-22222-CCCCC'], 'then the next key');
  port.answer(OK);
  await settle();
  t.same(session.snapshot().keys.map((e) => e.result?.status), ['activated', 'activated']);
  t.match(session.snapshot().queue, { state: 'idle' });
  await clock.advance(GRACE - 1);
  t.equal(session.closed, false, 'the grace period runs from the end of the queue');
  const back = store.resume(token, holder());
  t.equal(back?.session, session, 'and a page that comes back in it finds every result');
  t.equal(clock.pending, 0, 'a held session has no grace timer');
});

t.test('a session nobody holds expires after the grace period once its queue stalls', async (t) => {
  const { clock, steam, store, openSignedIn } = setup();
  const h = holder();
  const { token, session } = await openSignedIn(h);
  session.addKeys('AAAAA-11111-BBBBB BBBBB-22222-CCCCC');
  await settle();
  store.detach(token, h);
  steam.last().disconnect(); // Steam drops: the key is unknown, the queue waits for a new sign-in
  await settle();
  t.match(session.snapshot().queue, { state: 'stalled' });
  await clock.advance(GRACE);
  await settle();
  t.equal(session.closed, true, 'only the user could move it on: the grace period ran');
  t.equal(store.size, 0);
});

t.test('several holders share a session; past the limit the oldest is evicted', async (t) => {
  const { store, logs, clock, openSignedIn } = setup({ maxHolders: 2 });
  const first = holder();
  const { token, session } = await openSignedIn(first);
  const second = holder();
  t.equal(store.resume(token, second)?.session, session);
  t.same(first.evictions, [], 'two may hold it');
  store.detach(token, second);
  await clock.advance(GRACE * 2);
  t.equal(store.size, 1, 'one leaving starts no grace period while another holds it');
  const third = holder();
  const fourth = holder();
  store.resume(token, third);
  store.resume(token, fourth);
  t.same(first.evictions, ['replaced'], 'the oldest goes');
  t.same(third.evictions, []);
  t.ok(logs.some((l) => l.event === 'session-replaced'));
  store.detach(token, first); // the evicted connection closes afterwards: nothing changes
  t.equal(store.size, 1);
});

t.test('one session per account: a second sign-in joins, with its unsent keys and holders; its Steam client signs out', async (t) => {
  const { store, steam, open, signIn, openSignedIn, logs } = setup();
  const a = holder();
  const own = await openSignedIn(a);
  own.session.addKeys('AAAAA-11111-BBBBB');
  await settle();
  const b = holder();
  const other = open(b, '198.51.100.7');
  other.session.addKeys('CCCCC-22222-DDDDD AAAAA-11111-BBBBB');
  const c = holder();
  store.resume(other.token, c);
  t.equal(store.size, 2);
  await signIn(other);
  t.equal(store.size, 1, 'the second session is gone');
  t.equal(other.session.closed, true);
  t.same(b.moves.map((m) => m.held.token), [own.token], 'each holder now holds the account session');
  t.same(c.moves.map((m) => m.held.token), [own.token]);
  t.same(b.moves[0]!.merged.added.map((e) => e.key), ['CCCCC-22222-DDDDD']);
  t.same(b.moves[0]!.merged.dropped, [{ key: 'AAAAA-11111-BBBBB', reason: 'already-in-session' }]);
  t.same(own.session.snapshot().keys.map((e) => e.key), ['AAAAA-11111-BBBBB', 'CCCCC-22222-DDDDD']);
  t.equal(steam.ports[1]!.logOffs, 1, 'no second Steam client');
  t.equal(steam.ports[0]!.loggedOn, true);
  t.equal(store.resume(other.token, holder()), null, 'the old token is dead');
  t.match(logs.find((l) => l.event === 'session-joined'), { session: other.session.logId, into: own.session.logId, keys: 1 });
  // The account's session counts once, for its own owner: the joining one's share is given back.
  t.equal(store.size, 1);
});

t.test("another account's sign-in keeps its own session", async (t) => {
  const { store, open, signIn, openSignedIn } = setup();
  await openSignedIn(holder());
  const other = open(holder());
  await signIn(other, { accountName: 'bob', steamId: '76561197960287931' });
  t.equal(store.size, 2);
  t.equal(other.session.closed, false);
});

t.test('a session that never signed in: a short grace, and a deadline even while held', async (t) => {
  const { store, clock, open, signIn } = setup();
  const h = holder();
  const { token, session } = open(h);
  session.addKeys('AAAAA-11111-BBBBB');
  store.detach(token, h);
  await clock.advance(ANONYMOUS_GRACE);
  await settle();
  t.equal(session.closed, true, 'gone after the short grace');

  const kept = holder();
  const held = open(kept);
  await clock.advance(DEADLINE);
  await settle();
  t.same(kept.evictions, ['not-signed-in'], 'ended at the deadline although held');
  t.equal(held.session.closed, true);

  const late = holder();
  const signedIn = open(late);
  await clock.advance(DEADLINE - 1);
  await signIn(signedIn);
  store.detach(signedIn.token, late);
  await clock.advance(ANONYMOUS_GRACE * 2);
  t.equal(signedIn.session.closed, false, 'signed in: the deadline is off, and the long grace runs');
  await clock.advance(GRACE);
  await settle();
  t.equal(signedIn.session.closed, true);
  t.equal(store.size, 0);
});

t.test('the session quota is per owner, and a session ended gives its share back', async (t) => {
  const taken = new Map<string, number>();
  const quota = {
    take: (owner: string) => ((taken.get(owner) ?? 0) >= 1 ? ('address-full' as const) : (taken.set(owner, (taken.get(owner) ?? 0) + 1), 'ok' as const)),
    release: (owner: string) => void taken.set(owner, taken.get(owner)! - 1),
  };
  const clock = new ManualClock();
  const logs: LogEvent[] = [];
  const store = new SessionStore({
    createSession: (claim) => new RedeemSession({ portFactory: fakePorts().factory, claim, clock }),
    quota,
    clock,
    log: (e) => logs.push(e),
  });
  const first = store.open(holder(), 'a');
  t.notOk('refused' in first);
  t.same(store.open(holder(), 'a'), { refused: 'too-many-sessions' });
  t.match(logs.at(-1), { event: 'sessions-full', client: 'a', scope: 'address' });
  t.notOk('refused' in store.open(holder(), 'b'), 'another owner has its own share');
  if (!('refused' in first)) await store.end(first.token, 'logged-out');
  t.notOk('refused' in store.open(holder(), 'a'), 'room again');
});

t.test('end: evicts the holder, signs out, forgets', async (t) => {
  const { store, steam, openSignedIn } = setup();
  const h = holder();
  const { token } = await openSignedIn(h);
  await store.end(token, 'logged-out');
  t.same(h.evictions, ['logged-out']);
  t.equal(steam.last().logOffs, 1);
  t.equal(store.size, 0);
});

t.test('closeAll ends every session, held or in grace, and leaves no timer', async (t) => {
  const { store, clock, open } = setup();
  const a = holder();
  const b = holder();
  open(a);
  const { token } = open(b);
  store.detach(token, b);
  await store.closeAll();
  t.equal(store.size, 0);
  t.same(a.evictions, ['shutdown']);
  t.same(b.evictions, [], 'b had already gone');
  t.equal(clock.pending, 0);
});

t.test('while closeAll runs (server shutdown) no session opens or comes back: none would be closed', async (t) => {
  const { store, openSignedIn } = setup();
  const h = holder();
  const { token } = await openSignedIn(h);
  const closing = store.closeAll(); // signing out of Steam takes a while
  t.same(store.open(holder(), 'x'), { refused: 'server-busy' }, 'a connection that asks now gets no new session');
  t.equal(store.resume(token, holder()), null);
  await closing;
  t.equal(store.size, 0, 'nothing outlives the shutdown');
});

t.test('a full store opens no more sessions', async (t) => {
  const { store, logs, open } = setup({ maxSessions: 2 });
  open(holder(), 'a');
  open(holder(), 'b');
  t.same(store.open(holder(), 'c'), { refused: 'server-busy' });
  t.match(logs.at(-1), { event: 'sessions-full', client: 'c', scope: 'server' });
});

t.test('an unknown token resumes nothing', async (t) => {
  const { store } = setup();
  t.equal(store.resume('nope', holder()), null);
});
