import t from 'tap';
import type { LogEvent } from '../../lib/log.js';
import { PurchaseDetail } from '../../lib/steam/results.js';
import { RedeemSession } from '../../lib/steam/session.js';
import { SessionStore, type EvictReason, type Holder } from '../../lib/steam/session-store.js';
import { fakePorts } from '../helpers/fake-port.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const GRACE = 10 * 60_000;
const OK = { eresult: 1, detail: 0, packages: [{ id: 11, name: 'Game' }] };

function setup(maxSessions?: number) {
  const clock = new ManualClock();
  const steam = fakePorts();
  const logs: LogEvent[] = [];
  const store = new SessionStore({
    createSession: () => new RedeemSession({ portFactory: steam.factory, clock, timers: { pauseMs: 0 } }),
    graceMs: GRACE,
    clock,
    log: (e) => logs.push(e),
    ...(maxSessions === undefined ? {} : { maxSessions }),
  });
  /** A session held by `h`, signed in to Steam. */
  const openSignedIn = async (h: Holder) => {
    const held = store.open(h)!;
    const signedIn = held.session.login({ accountName: 'alice', password: 'pw' });
    steam.last().succeed();
    await signedIn;
    return held;
  };
  return { clock, steam, logs, store, openSignedIn };
}

function holder(): Holder & { evictions: EvictReason[] } {
  const evictions: EvictReason[] = [];
  return { evictions, evict: (reason) => evictions.push(reason) };
}

t.test('tokens are long, random and unique', async (t) => {
  const { store } = setup();
  const tokens = new Set<string>();
  for (let i = 0; i < 50; i++) tokens.add(store.open(holder())!.token);
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

t.test('a newer connection replaces the older one, which is told why', async (t) => {
  const { store, logs, clock } = setup();
  const older = holder();
  const { token, session } = store.open(older)!;
  const newer = holder();
  t.equal(store.resume(token, newer)?.session, session);
  t.same(older.evictions, ['replaced']);
  store.detach(token, older); // the older connection closes afterwards
  await clock.advance(GRACE * 2);
  t.equal(store.size, 1, 'its close does not start the grace period of a session someone else holds');
  t.ok(logs.some((l) => l.event === 'session-replaced'));
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
  const { store, clock } = setup();
  const a = holder();
  const b = holder();
  store.open(a);
  const { token } = store.open(b)!;
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
  t.equal(store.open(holder()), null, 'a connection that says hello now gets no new session');
  t.equal(store.resume(token, holder()), null);
  await closing;
  t.equal(store.size, 0, 'nothing outlives the shutdown');
});

t.test('a full store opens no more sessions', async (t) => {
  const { store, logs } = setup(2);
  t.ok(store.open(holder()));
  t.ok(store.open(holder()));
  t.equal(store.open(holder()), null);
  t.match(logs.at(-1), { event: 'sessions-full', limit: 2 });
});

t.test('an unknown token resumes nothing', async (t) => {
  const { store } = setup();
  t.equal(store.resume('nope', holder()), null);
});
