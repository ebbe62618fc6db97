import t from 'tap';
import { readFileSync } from 'node:fs';
import { DemoSteamApp } from '../../lib/steam/demo-app.js';
import { DEMO_ACCOUNTS, DEMO_GUARD_CODE, DEMO_KEYS, DEMO_PASSWORD, DemoPort, demoPortFactory } from '../../lib/steam/demo-port.js';
import { isKey } from '../../lib/steam/keys.js';
import { RedeemError } from '../../lib/steam/port.js';
import { KEY_STATUSES, type KeyStatus } from '../../lib/steam/results.js';
import { RedeemSession } from '../../lib/steam/session.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

const LATENCY = 10;
const TIMEOUT = 50;
const TIMERS = { pauseMs: 5, cooldownMs: 1_000, redeemTimeoutMs: 10_000 };

function setup() {
  const clock = new ManualClock();
  const session = new RedeemSession({
    portFactory: demoPortFactory({ clock, latencyMs: LATENCY, timeoutMs: TIMEOUT }),
    clock,
    timers: TIMERS,
  });
  return { clock, session };
}

async function signIn(session: RedeemSession, clock: ManualClock, accountName = 'demo'): Promise<void> {
  const done = session.login({ accountName, password: 'demo' });
  await clock.advance(LATENCY);
  t.equal(await done, true, `signed in as ${accountName}`);
}

t.test('the demo keys are keys, and the README lists every demo key and account', async (t) => {
  for (const { key } of DEMO_KEYS) t.ok(isKey(key), key);
  t.equal(new Set(DEMO_KEYS.map((k) => k.key)).size, DEMO_KEYS.length);
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const demo = readme.slice(readme.indexOf('## Demo mode'));
  for (const { key } of DEMO_KEYS) t.match(demo, `| \`${key}\` |`, `README lists ${key}`);
  for (const name of Object.keys(DEMO_ACCOUNTS)) t.match(demo, `| \`${name}\` |`, `README lists ${name}`);
  t.match(demo, `the password is \`${DEMO_PASSWORD}\``);
  t.match(demo, `the Steam Guard code is \`${DEMO_GUARD_CODE}\``);
  const listed = [...demo.matchAll(/\| `(DEMO[0-9A-Z-]+)` \|/g)].map((m) => m[1]);
  t.same(listed, DEMO_KEYS.map((k) => k.key), 'and no key the demo does not know');
});

t.test('the demo keys produce every status, through the real session', async (t) => {
  const { clock, session } = setup();
  const seen = new Set<string>();
  session.subscribe((e) => {
    if (e.type === 'key' && e.entry.result) seen.add(e.entry.result.status);
  });
  await signIn(session, clock);
  const plain = DEMO_KEYS.filter((k) => !('disconnect' in k.behaviour));
  session.addKeys(plain.map((k) => k.key).join('\n') + '\nZZZZZ-99999-YYYYY');
  for (let i = 0; i < 200 && session.snapshot().queue.state !== 'idle'; i++) {
    await clock.advance(LATENCY);
    if (session.snapshot().queue.stalledBy === 'unknown-result') session.resume();
  }
  const byKey = new Map(session.snapshot().keys.map((e) => [e.key, e.result?.status]));
  const expected: Record<string, KeyStatus> = {
    'DEMO1-ACTIV-ATED1': 'activated',
    'DEMO2-ACTIV-ATED3': 'activated',
    'DEMO3-ALREA-DYOWN': 'already-owned',
    'DEMO4-INVAL-IDKEY': 'invalid-key',
    'DEMO5-ALREA-DYUSE': 'key-used',
    'DEMO6-REGIO-NLOCK': 'region-locked',
    'DEMO7-NEEDS-BASEG': 'needs-base-game',
    'DEMO8-WALLE-TCODE': 'wallet-code',
    'DEMO9-RATEL-IMITS': 'activated', // after its cooldown
    'DEMOA-TIMES-OUT00': 'unknown',
    'DEMOC-OTHER-FAILS': 'failed',
    'ZZZZZ-99999-YYYYY': 'invalid-key',
  };
  for (const [key, status] of Object.entries(expected)) t.equal(byKey.get(key), status, key);
  t.same([...seen].sort(), [...KEY_STATUSES].sort(), 'every status, rate-limited included, was shown');
  const bundle = session.snapshot().keys.find((e) => e.key === 'DEMO2-ACTIV-ATED3');
  t.equal(bundle?.result?.packages.length, 3, 'every package of a bundle');
  await session.close('logged-out');
});

t.test('the rate-limit key makes the queue cool down, then goes through', async (t) => {
  const { clock, session } = setup();
  await signIn(session, clock);
  const states: string[] = [];
  session.subscribe((e) => {
    if (e.type === 'queue') states.push(e.state);
  });
  session.addKeys('DEMO9-RATEL-IMITS DEMO1-ACTIV-ATED1');
  await clock.advance(LATENCY);
  t.same(session.snapshot().keys.map((e) => [e.state, e.result?.status]), [
    ['waiting', 'rate-limited'],
    ['waiting', undefined],
  ]);
  await clock.advance(TIMERS.cooldownMs + LATENCY * 4);
  t.same(session.snapshot().keys.map((e) => e.result?.status), ['activated', 'activated']);
  t.same(states, ['running', 'cooldown', 'running', 'idle']);
});

t.test('the disconnect key: unknown, signed out, and the rest waits for a new sign-in', async (t) => {
  const { clock, session } = setup();
  await signIn(session, clock);
  session.addKeys('DEMOB-DISCO-NNECT DEMO1-ACTIV-ATED1');
  await clock.advance(LATENCY);
  t.equal(session.snapshot().keys[0]!.result?.status, 'unknown');
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'steam-disconnected' });
  await signIn(session, clock);
  await clock.advance(TIMERS.pauseMs + LATENCY);
  t.equal(session.snapshot().keys[1]!.result?.status, 'activated');
});

t.test('demo accounts: e-mail and app guard prompts, a wrong code, each failure', async (t) => {
  for (const [name, account] of Object.entries(DEMO_ACCOUNTS)) {
    const { clock, session } = setup();
    const done = session.login({ accountName: name, password: 'demo' });
    await clock.advance(LATENCY);
    if (account.failure) {
      t.equal(await done, false, name);
      t.match(session.snapshot().login, { state: 'signed-out', reason: account.failure }, name);
      continue;
    }
    if (!account.guard) {
      t.equal(await done, true, name);
      continue;
    }
    t.match(session.snapshot().login, { state: 'guard', guard: { kind: account.guard, lastCodeWrong: false } }, name);
    if (account.guard === 'email') t.equal(session.snapshot().login.guard?.domain, 'example.com');
    session.answerGuard('99999');
    await clock.advance(LATENCY);
    t.match(session.snapshot().login, { state: 'guard', guard: { lastCodeWrong: true } }, `${name}: wrong code`);
    session.answerGuard('12345');
    await clock.advance(LATENCY);
    t.equal(await done, true, `${name}: right code`);
  }
});

t.test('a wrong password, an unknown account, three wrong codes', async (t) => {
  for (const [accountName, password] of [
    ['demo', 'wrong'],
    ['nobody', 'demo'],
  ]) {
    const { clock, session } = setup();
    const done = session.login({ accountName: accountName!, password: password! });
    await clock.advance(LATENCY);
    t.equal(await done, false);
    t.equal(session.snapshot().login.reason, 'invalid-password');
  }
  const { clock, session } = setup();
  const done = session.login({ accountName: 'demo-app', password: 'demo' });
  for (let i = 0; i < 3; i++) {
    await clock.advance(LATENCY);
    session.answerGuard('00000');
  }
  await clock.advance(LATENCY);
  t.equal(await done, false);
  t.equal(session.snapshot().login.reason, 'guard-failed');
});

t.test('the port keeps the SteamPort contract', async (t) => {
  const clock = new ManualClock();
  const port = new DemoPort({ clock, latencyMs: LATENCY });
  await t.rejects(port.redeemKey('DEMO1-ACTIV-ATED1'), new RedeemError('not-logged-on', 'not logged on'));
  const signIn = port.logOn({ accountName: 'demo', password: 'demo' }, { guard: async () => '' });
  await clock.advance(LATENCY);
  t.match(await signIn, { accountName: 'demo' });
  t.equal(port.loggedOn, true);
  const second = await port.logOn({ accountName: 'demo', password: 'demo' }, { guard: async () => '' }).catch((e: unknown) => e);
  t.match(second, { name: 'LoginError', reason: 'other' }, 'one sign-in per port');
  const pending = port.redeemKey('DEMO1-ACTIV-ATED1');
  await port.logOff();
  t.match(await pending.catch((e: unknown) => e), { name: 'RedeemError', reason: 'disconnected' }, 'logOff ends a pending key');
  t.equal(port.loggedOn, false);
  await port.logOff(); // twice is fine
  const late = new DemoPort({ clock, latencyMs: LATENCY });
  const cancelled = late.logOn({ accountName: 'demo', password: 'demo' }, { guard: async () => '' });
  await late.logOff();
  t.match(await cancelled.catch((e: unknown) => e), { name: 'LoginError', reason: 'cancelled' }, 'logOff during sign-in');
  await settle();
  t.equal(late.loggedOn, false);
});

// ---- without the password: the demo's Steam app ------------------------------

const APPROVAL = 60_000;

function appSetup(options: { qrRenewMs?: number } = {}) {
  const clock = new ManualClock();
  const app = new DemoSteamApp();
  app.baseUrl = 'http://192.0.2.10:3999';
  const session = new RedeemSession({
    portFactory: demoPortFactory({ clock, latencyMs: LATENCY, timeoutMs: TIMEOUT, app, approvalTimeoutMs: APPROVAL, ...options }),
    clock,
    timers: TIMERS,
  });
  return { clock, app, session };
}

/** The id at the end of a demo QR link. */
function idOf(url: string | undefined): string {
  const match = /^http:\/\/192\.0\.2\.10:3999\/demo-app\/r\/([\w-]{22})$/.exec(url ?? '');
  if (!match) throw new Error(`not a demo app link: ${url}`);
  return match[1]!;
}

t.test('QR: the code links to the demo app page; scanned, then approved, it signs in as demo', async (t) => {
  const { clock, app, session } = appSetup();
  const done = session.login({ method: 'qr' });
  await clock.advance(LATENCY);
  const login = session.snapshot().login;
  t.match(login, { state: 'qr', qr: { scanned: false } });
  const id = idOf(login.qr?.url);
  t.match(app.find(id), { kind: 'qr', accountName: 'demo', state: 'waiting' });
  t.ok(app.open(id), 'a phone opened the link');
  t.match(session.snapshot().login, { state: 'qr', qr: { url: login.qr?.url, scanned: true }, message: { en: /^Scanned/ } });
  t.ok(app.approve(id));
  t.equal(await done, true);
  t.match(session.snapshot().login, { state: 'signed-in', account: { accountName: 'demo' } });
  t.match(app.find(id), { state: 'approved' }, 'the page goes on saying it was approved');
  t.notOk(app.approve(id), 'a second approval does nothing');
  await session.close('logged-out');
});

t.test('QR: denied on the page, or not approved in time; a new sign-in gets a new code', async (t) => {
  const { clock, app, session } = appSetup();
  let done = session.login({ method: 'qr' });
  await clock.advance(LATENCY);
  const first = idOf(session.snapshot().login.qr?.url);
  app.open(first);
  t.ok(app.deny(first));
  t.equal(await done, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'denied' });

  done = session.login({ method: 'qr' });
  await clock.advance(LATENCY);
  const second = idOf(session.snapshot().login.qr?.url);
  t.not(second, first, 'a fresh code');
  await clock.advance(APPROVAL);
  t.equal(await done, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'expired' });
  t.match(app.find(second), { state: 'ended' }, 'the page says the sign-in is over');
  t.notOk(app.approve(second), 'and it cannot be approved any more');
  t.equal(app.waitingCount, 0);
});

t.test('QR: a code Steam changes while it waits is followed; the old link stops working', async (t) => {
  const { clock, app, session } = appSetup({ qrRenewMs: 1_000 });
  const urls: string[] = [];
  session.subscribe((e) => {
    if (e.type === 'login' && e.state === 'qr' && e.qr && !urls.includes(e.qr.url)) urls.push(e.qr.url);
  });
  const done = session.login({ method: 'qr' });
  await clock.advance(LATENCY + 2_000);
  t.equal(urls.length, 3, 'the first code and two new ones');
  t.equal(new Set(urls).size, 3);
  t.notOk(app.approve(idOf(urls[0])), 'the first link no longer approves');
  t.ok(app.approve(idOf(urls[2])));
  t.equal(await done, true);
  await session.close('logged-out');
});

t.test('QR: signing out while the code waits ends it', async (t) => {
  const { clock, app, session } = appSetup();
  void session.login({ method: 'qr' });
  await clock.advance(LATENCY);
  const id = idOf(session.snapshot().login.qr?.url);
  await session.close('logged-out');
  t.match(app.find(id), { state: 'ended' });
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('demo-approve: approved on the page while the code is asked for, or the code typed, or denied', async (t) => {
  {
    const { clock, app, session } = appSetup();
    const done = session.login({ accountName: 'demo-approve', password: 'demo' });
    await clock.advance(LATENCY);
    t.match(session.snapshot().login, { state: 'guard', guard: { kind: 'authenticator', approvable: true, lastCodeWrong: false } });
    t.match(session.snapshot().login.message?.en, /^Approve this sign-in in the Steam app — or type the code\./);
    const [waiting] = app.waitingPasswordSignIns;
    t.match(waiting, { kind: 'password', accountName: 'demo-approve', state: 'waiting' }, 'the app page lists it');
    app.open(waiting!.id);
    t.match(session.snapshot().login, { state: 'guard', guard: { scanned: true } });
    app.approve(waiting!.id);
    t.equal(await done, true, 'approved: signed in without the code');
    t.match(session.snapshot().login, { state: 'signed-in', account: { accountName: 'demo-approve' } });
    t.same(app.waitingPasswordSignIns, []);
    await session.close('logged-out');
  }
  {
    const { clock, app, session } = appSetup();
    const done = session.login({ accountName: 'demo-approve', password: 'demo' });
    await clock.advance(LATENCY);
    session.answerGuard('12345');
    await clock.advance(LATENCY);
    t.equal(await done, true, 'the code typed instead');
    const id = session.snapshot().login.state === 'signed-in' ? app.waitingPasswordSignIns : null;
    t.same(id, [], 'the page no longer offers it');
    await session.close('logged-out');
  }
  {
    const { clock, app, session } = appSetup();
    const done = session.login({ accountName: 'demo-approve', password: 'demo' });
    await clock.advance(LATENCY);
    app.deny(app.waitingPasswordSignIns[0]!.id);
    t.equal(await done, false);
    t.match(session.snapshot().login, { state: 'signed-out', reason: 'denied' });
  }
});

t.test('the other guarded demo accounts cannot be approved on the page', async (t) => {
  const { clock, app, session } = appSetup();
  void session.login({ accountName: 'demo-app', password: 'demo' });
  await clock.advance(LATENCY);
  t.match(session.snapshot().login, { state: 'guard' });
  t.notOk(session.snapshot().login.guard?.approvable);
  t.same(app.waitingPasswordSignIns, []);
  await session.close('logged-out');
});
