/**
 * Signing in without the password, end to end below the WebSocket: a
 * RedeemSession (what the page's and the terminal's sign-in drive) with the
 * real adapter — steam-session, then steam-user — against the fake Steam,
 * whose test-side Steam app scans, approves and denies. Each case checks the
 * login states the session reports (what the page will draw) and signs out.
 * The protocol messages for these states are replayed by
 * test/app/protocol-doc.test.ts; the page draws them from this fake Steam in
 * test/app/page-steam.test.ts, and from the demo in test/app/page-qr.test.ts.
 */
import t from 'tap';
import { lineLogger } from '../../lib/log.js';
import { RedeemSession, type LoginStatus } from '../../lib/steam/session.js';
import { createSteamUserPort } from '../../lib/steam/steam-user-port.js';
import { startFakeSteam, type FakeSteam } from '../fake-steam/fake-steam.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function setup(t: Tap): Promise<{ steam: FakeSteam; session: RedeemSession; states: LoginStatus[]; logs: string[] }> {
  const steam = await startFakeSteam({
    accounts: [
      { accountName: 'alice', password: 'pw-alice', country: 'DE' },
      { accountName: 'carol', password: 'pw-carol', guard: { type: 'authenticator', codes: ['7QX2K'], approvable: true } },
    ],
    keys: { 'ACTIV-ATED1-ONEPK': { packages: [{ id: 1, name: 'One' }] } },
  });
  const logs: string[] = [];
  const session = new RedeemSession({
    portFactory: () => createSteamUserPort({ httpProxy: steam.proxyUrl, logOnTimeoutMs: 5_000 }),
    timers: { pauseMs: 1, redeemTimeoutMs: 5_000 },
    log: lineLogger((line) => logs.push(line)),
  });
  const states: LoginStatus[] = [];
  session.subscribe((e) => {
    if (e.type === 'login') {
      const { type: _type, ...status } = e;
      states.push(status);
    }
  });
  t.teardown(() => steam.close());
  t.teardown(() => session.close('shutdown'));
  return { steam, session, states, logs };
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Redeems one key, signs out, and checks Steam saw both. */
async function redeemAndSignOut(t: Tap, steam: FakeSteam, session: RedeemSession): Promise<void> {
  session.addKeys('ACTIV-ATED1-ONEPK');
  await until(() => session.snapshot().keys[0]?.state === 'done');
  t.equal(session.snapshot().keys[0]?.result?.status, 'activated', 'the key went through');
  await session.close('logged-out');
  t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam');
}

t.test('QR: the states the page draws — the code, scanned, signed in — and one sign-on', async (t) => {
  const { steam, session, states, logs } = await setup(t);
  const done = session.login({ method: 'qr' });
  const url = await steam.app.nextChallenge();
  await until(() => session.loginState === 'qr');
  t.same(session.snapshot().login.qr, { url, scanned: false });
  steam.app.scan(url, 'alice');
  await until(() => session.snapshot().login.qr?.scanned === true);
  t.match(session.snapshot().login.message, { en: /^Scanned — now approve/ });
  steam.app.approve(url);
  t.equal(await done, true);
  t.match(session.snapshot().login, { state: 'signed-in', account: { accountName: 'alice', country: 'DE' } });
  t.same(
    states.map((s) => `${s.state}${s.qr?.scanned ? ':scanned' : ''}`),
    ['signing-in', 'qr', 'qr:scanned', 'signed-in'],
  );
  t.ok(logs.some((l) => / login-ok /.test(l)));
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1);
  await redeemAndSignOut(t, steam, session);
});

t.test('QR: the challenge changes mid-wait; the session shows the new one', async (t) => {
  const { steam, session } = await setup(t);
  const done = session.login({ method: 'qr' });
  const first = await steam.app.nextChallenge();
  await until(() => session.snapshot().login.qr?.url === first);
  const second = steam.app.newChallenge(first)!;
  await until(() => session.snapshot().login.qr?.url === second);
  t.pass('the session shows the new code');
  steam.app.approve(second, 'alice');
  t.equal(await done, true);
  await redeemAndSignOut(t, steam, session);
});

t.test('QR: denied, then expired; each a reason the page explains; then a new code approved', async (t) => {
  const { steam, session, logs } = await setup(t);
  let done = session.login({ method: 'qr' });
  let url = await steam.app.nextChallenge();
  steam.app.scan(url, 'alice');
  await until(() => session.snapshot().login.qr?.scanned === true);
  steam.app.deny(url);
  t.equal(await done, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'denied', message: { en: 'The sign-in was refused in the Steam app.' } });

  done = session.login({ method: 'qr' });
  url = await steam.app.nextChallenge([url]);
  steam.app.expire(url);
  t.equal(await done, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'expired' });
  t.ok(logs.some((l) => /login-failed .*reason=denied/.test(l)) && logs.some((l) => /login-failed .*reason=expired/.test(l)), 'both logged with their reason');

  done = session.login({ method: 'qr' });
  url = await steam.app.nextChallenge([url]);
  steam.app.approve(url, 'alice');
  t.equal(await done, true, 'the fresh code signs in');
  await redeemAndSignOut(t, steam, session);
});

t.test('password + approval in the app: the guard prompt says so, and is dropped once approved', async (t) => {
  const { steam, session } = await setup(t);
  const done = session.login({ accountName: 'carol', password: 'pw-carol' });
  await until(() => session.loginState === 'guard');
  t.match(session.snapshot().login, {
    guard: { kind: 'authenticator', approvable: true, lastCodeWrong: false },
    message: { en: /^Approve this sign-in in the Steam app — or type the code\./ },
  });
  steam.app.open('carol');
  await until(() => session.snapshot().login.guard?.scanned === true);
  steam.app.approve('carol');
  t.equal(await done, true);
  t.equal(session.loginState, 'signed-in');
  t.throws(() => session.answerGuard('7QX2K'), { code: 'wrong-state' }, 'a code typed now is refused: nothing waits for it');
  t.equal(steam.log.filter((e) => e.type === 'guard-code').length, 0);
  await redeemAndSignOut(t, steam, session);
});

t.test('password + a typed code while an approval is possible: the code wins, one sign-in', async (t) => {
  const { steam, session } = await setup(t);
  const done = session.login({ accountName: 'carol', password: 'pw-carol' });
  await until(() => session.loginState === 'guard');
  session.answerGuard('7qx2k');
  t.equal(await done, true);
  t.notOk(steam.app.approve('carol'), 'an approval afterwards finds nothing');
  t.equal(steam.log.filter((e) => e.type === 'tokens').length, 1);
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1);
  await redeemAndSignOut(t, steam, session);
});
