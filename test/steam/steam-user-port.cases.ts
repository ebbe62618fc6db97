/**
 * The steam-user adapter, end to end: the real steam-user, through the
 * adapter, against the fake Steam. Run by steam-user-port.test.ts in a
 * process that trusts the fake's test CA.
 */
import t from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { LoginError, RedeemError, type GuardHandler, type GuardRequest, type SignInPrompts, type SteamPort } from '../../lib/steam/port.js';
import { createSteamUserPort, type SteamUserPortOptions } from '../../lib/steam/steam-user-port.js';
import { startFakeSteam, type FakeAccount, type FakeSteam, type FakeSteamOptions } from '../fake-steam/fake-steam.js';
import { capturePrinted } from '../helpers/secrets.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** What the helpers need of a tap test. */
interface Scope {
  teardown(fn: () => unknown): void;
}

const ALICE: FakeAccount = { accountName: 'alice', password: 'correct horse battery', country: 'DE' };

async function fake(t: Scope, options: FakeSteamOptions = {}): Promise<FakeSteam> {
  const steam = await startFakeSteam({ accounts: [ALICE], ...options });
  t.teardown(() => steam.close());
  return steam;
}

function port(t: Scope, steam: FakeSteam, options: SteamUserPortOptions = {}): SteamPort {
  const made = createSteamUserPort({ httpProxy: steam.proxyUrl, logOnTimeoutMs: 5_000, ...options });
  t.teardown(() => made.logOff());
  return made;
}

/** A guard handler that answers with `codes` in turn and remembers what it was asked. */
function answering(...codes: string[]): GuardHandler & { requests: GuardRequest[] } {
  const requests: GuardRequest[] = [];
  const handler = async (request: GuardRequest): Promise<string> => {
    requests.push(request);
    const code = codes.shift();
    if (code === undefined) throw new Error('no more codes');
    return code;
  };
  return Object.assign(handler, { requests });
}

const noGuard: GuardHandler = async () => {
  throw new Error('no guard code expected');
};

async function signedIn(t: Scope, steam: FakeSteam, options: SteamUserPortOptions = {}): Promise<SteamPort> {
  const signedInPort = port(t, steam, options);
  await signedInPort.logOn({ accountName: ALICE.accountName, password: ALICE.password }, { guard: noGuard });
  return signedInPort;
}

/** Polls `done` each millisecond or so (the port's callbacks come from steam-session's own polling). */
async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function loginError(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof LoginError)) throw new Error(`expected a LoginError, got ${String(error)}`);
  return error;
}

async function redeemError(promise: Promise<unknown>): Promise<RedeemError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof RedeemError)) throw new Error(`expected a RedeemError, got ${String(error)}`);
  return error;
}

// ---- signing in ------------------------------------------------------------

t.test('signs in with a password, then signs off', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  t.equal(steamPort.loggedOn, false);
  const disconnects: unknown[] = [];
  steamPort.onDisconnected((info) => disconnects.push(info));
  const info = await steamPort.logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard });
  t.match(info, { accountName: 'alice', country: 'DE' });
  t.match(info.steamId, /^7656119\d{10}$/);
  t.equal(steamPort.loggedOn, true);
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1);

  await steamPort.logOff();
  t.equal(steamPort.loggedOn, false);
  t.ok(steam.log.some((e) => e.type === 'logoff'), 'Steam got ClientLogOff');
  await steamPort.logOff(); // again: harmless
  await new Promise((resolve) => setImmediate(resolve));
  t.same(disconnects, [], 'our own logOff is no disconnection');
});

t.test('e-mail Steam Guard: a wrong code, then the right one', async (t) => {
  const steam = await fake(t, {
    accounts: [{ ...ALICE, guard: { type: 'email', domain: 'example.com', codes: ['GOOD1'] } }],
  });
  const guard = answering('WRONG', 'GOOD1');
  const info = await port(t, steam).logOn({ accountName: 'alice', password: ALICE.password }, { guard });
  t.equal(info.accountName, 'alice');
  // steam-user itself reports lastCodeWrong only for authenticator codes.
  t.same(guard.requests, [
    { kind: 'email', domain: 'example.com', lastCodeWrong: false },
    { kind: 'email', domain: 'example.com', lastCodeWrong: true },
  ]);
  t.same(
    steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
    [false, true],
  );
});

t.test('authenticator Steam Guard: a wrong code, then the right one typed in lower case', async (t) => {
  const steam = await fake(t, { accounts: [{ ...ALICE, guard: { type: 'authenticator', codes: ['7QX2K'] } }] });
  const guard = answering('AAAAA', ' 7qx2k ');
  await port(t, steam).logOn({ accountName: 'alice', password: ALICE.password }, { guard });
  t.same(guard.requests, [
    { kind: 'authenticator', lastCodeWrong: false },
    { kind: 'authenticator', lastCodeWrong: true },
  ]);
});

t.test('an abandoned guard prompt cancels the sign-in', async (t) => {
  const steam = await fake(t, { accounts: [{ ...ALICE, guard: { type: 'authenticator', codes: ['7QX2K'] } }] });
  const steamPort = port(t, steam);
  const error = await loginError(steamPort.logOn({ accountName: 'alice', password: ALICE.password }, { guard: answering() }));
  t.equal(error.reason, 'cancelled');
  t.equal(steamPort.loggedOn, false);
  t.notOk(steam.log.some((e) => e.type === 'logon'));
});

t.test('logOff while the guard prompt waits cancels the sign-in', async (t) => {
  const steam = await fake(t, { accounts: [{ ...ALICE, guard: { type: 'email', domain: 'example.com', codes: ['GOOD1'] } }] });
  const steamPort = port(t, steam);
  let asked!: () => void;
  const prompted = new Promise<void>((resolve) => (asked = resolve));
  const signingIn = steamPort.logOn({ accountName: 'alice', password: ALICE.password }, {
    guard: () => {
      asked();
      return new Promise<string>(() => {}); // the user never answers
    },
  });
  await prompted;
  await steamPort.logOff();
  t.equal((await loginError(signingIn)).reason, 'cancelled');
});

t.test('a wrong password, and an unknown account', async (t) => {
  const steam = await fake(t);
  const wrong = await loginError(port(t, steam).logOn({ accountName: 'alice', password: 'nope' }, { guard: noGuard }));
  t.match(wrong, { reason: 'invalid-password', eresult: 5 });
  const unknown = await loginError(port(t, steam).logOn({ accountName: 'bob', password: 'x' }, { guard: noGuard }));
  t.match(unknown, { reason: 'invalid-password', eresult: 5 });
});

t.test('too many sign-ins from this address (84) and a throttled account (87)', async (t) => {
  const steam = await fake(t, {
    accounts: [
      { ...ALICE, loginResult: 84 },
      { accountName: 'carol', password: 'pw', loginResult: 87 },
    ],
  });
  const limited = await loginError(port(t, steam).logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard }));
  t.match(limited, { reason: 'rate-limited', eresult: 84 });
  const throttled = await loginError(port(t, steam).logOn({ accountName: 'carol', password: 'pw' }, { guard: noGuard }));
  t.match(throttled, { reason: 'throttled', eresult: 87 });
});

t.test('an unreachable Steam ends the sign-in, and leaves no connection attempts behind', async (t) => {
  const steam = await fake(t);
  steam.reachable.cm = false; // steam-user would retry the CM forever; steam-session's transport too (see stopTransport)
  const error = await loginError(
    port(t, steam, { logOnTimeoutMs: 400 }).logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard }),
  );
  t.equal(error.reason, 'unreachable');
  const attempts = (): number => steam.log.filter((e) => e.type === 'proxy-connect' && !e.allowed).length;
  t.ok(attempts() > 0, 'it did try the CM');
  const before = attempts();
  // steam-session's transport would try again after 1 s, then 2 s, 4 s, ... for ever.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  t.equal(attempts(), before, 'no attempt after the sign-in ended');
});

t.test('bad input to logOn', async (t) => {
  const steam = await fake(t);
  const empty = await loginError(port(t, steam).logOn({ accountName: ' ', password: 'x' }, { guard: noGuard }));
  t.equal(empty.reason, 'other', 'no account name: no anonymous sign-in');
  t.same(steam.log, [], 'nothing was sent');
  const once = port(t, steam);
  await once.logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard });
  await t.rejects(once.logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard }), /once per SteamPort/);
  t.throws(() => createSteamUserPort({ redeemTimeoutMs: 0 }), RangeError);
});

// ---- without the password: a QR code, an approval in the Steam app ---------

/** Prompts for a QR sign-in that record every challenge and remote interaction, and let a test wait for the next challenge. */
function qrPrompts(): SignInPrompts & { urls: string[]; interactions: number; nextUrl(): Promise<string> } {
  const urls: string[] = [];
  let waiter: ((url: string) => void) | null = null;
  let seen = 0;
  const prompts = {
    urls,
    interactions: 0,
    guard: noGuard,
    qrChallenge(url: string) {
      urls.push(url);
      waiter?.(url);
      waiter = null;
    },
    remoteInteraction() {
      prompts.interactions++;
    },
    /** The first challenge not yet returned by nextUrl. */
    nextUrl(): Promise<string> {
      if (urls.length > seen) return Promise.resolve(urls[seen++]!);
      return new Promise<string>((resolve) => (waiter = resolve)).then((url) => (seen++, url));
    },
  };
  return prompts;
}

/** Signs out and checks that Steam saw it. */
async function signOut(t: Tap, steam: FakeSteam, steamPort: SteamPort): Promise<void> {
  await steamPort.logOff();
  t.ok(steam.log.some((e) => e.type === 'logoff'), 'signed out of Steam (ClientLogOff)');
}

const count = (steam: FakeSteam, type: string): number => steam.log.filter((e) => e.type === type).length;

t.test('QR code: scanned, then approved in the app; then signed out', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  const prompts = qrPrompts();
  const signingIn = steamPort.logOn({ method: 'qr' }, prompts);
  const url = await prompts.nextUrl();
  t.match(url, /^https:\/\/s\.team\/q\/1\/\d+$/, 'the challenge is the URL Steam gave');
  t.same(steam.app.challenges, [url], 'and it waits at Steam');
  t.ok(steam.app.scan(url, 'alice'));
  await waitFor(() => prompts.interactions === 1);
  t.equal(steamPort.loggedOn, false, 'scanned is not signed in');
  t.ok(steam.app.approve(url));
  const info = await signingIn;
  t.match(info, { accountName: 'alice', country: 'DE' }, 'the account is the one that approved, as Steam names it');
  t.match(info.steamId, /^7656119\d{10}$/);
  t.equal(prompts.interactions, 1, 'one remote interaction');
  t.same(prompts.urls, [url], 'one challenge');
  t.equal(count(steam, 'tokens'), 1, 'Steam issued one pair of tokens');
  t.match(steam.log.filter((e) => e.type === 'logon'), [{ accountName: 'alice', eresult: 1 }], 'and steam-user signed on once with them');
  t.notOk(steam.log.some((e) => e.type === 'auth'), 'no password sign-in');
  await signOut(t, steam, steamPort);
});

t.test('QR code: denied in the app', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  const prompts = qrPrompts();
  const signingIn = loginError(steamPort.logOn({ method: 'qr' }, prompts));
  const url = await prompts.nextUrl();
  steam.app.scan(url, 'alice');
  await waitFor(() => prompts.interactions === 1);
  t.ok(steam.app.deny(url));
  t.match(await signingIn, { reason: 'denied', eresult: 9 });
  t.equal(steamPort.loggedOn, false);
  t.equal(count(steam, 'tokens') + count(steam, 'logon'), 0, 'no tokens, no sign-on');
  await steamPort.logOff(); // harmless after a failed sign-in
});

t.test('QR code: expired before anyone scanned it; a new sign-in gets a new code, approved', async (t) => {
  const steam = await fake(t);
  const first = port(t, steam);
  const firstPrompts = qrPrompts();
  const expiring = loginError(first.logOn({ method: 'qr' }, firstPrompts));
  const oldUrl = await firstPrompts.nextUrl();
  t.ok(steam.app.expire(oldUrl));
  t.match(await expiring, { reason: 'expired', eresult: 9 }, 'EResult 9 without a remote interaction: expired, not denied');
  t.notOk(steam.app.approve(oldUrl, 'alice'), 'the old code cannot be approved any more');

  const second = port(t, steam);
  const prompts = qrPrompts();
  const signingIn = second.logOn({ method: 'qr' }, prompts);
  const url = await prompts.nextUrl();
  t.not(url, oldUrl, 'a fresh code');
  t.ok(steam.app.approve(url, 'alice'));
  t.match(await signingIn, { accountName: 'alice' });
  t.equal(count(steam, 'logon'), 1);
  await signOut(t, steam, second);
});

t.test('QR code: the port gives up after approvalTimeoutMs ("expired")', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam, { approvalTimeoutMs: 300 });
  const prompts = qrPrompts();
  const error = await loginError(steamPort.logOn({ method: 'qr' }, prompts));
  t.equal(error.reason, 'expired');
  t.equal(prompts.urls.length, 1, 'the code had been shown');
  t.same(steam.app.challenges.length, 1, 'Steam still had it: the port stopped waiting on its own');
});

t.test('QR code: Steam changes the challenge while the code waits; the new one is shown and approved', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  const prompts = qrPrompts();
  const signingIn = steamPort.logOn({ method: 'qr' }, prompts);
  const first = await prompts.nextUrl();
  const changed = steam.app.newChallenge(first)!;
  t.not(changed, first);
  t.equal(await prompts.nextUrl(), changed, 'qrChallenge is called again with the new URL (seen only in steam-session\'s debug event)');
  const third = steam.app.newChallenge(changed)!;
  t.equal(await prompts.nextUrl(), third, 'and again');
  t.ok(steam.app.approve(third, 'alice'));
  t.match(await signingIn, { accountName: 'alice' });
  t.same(prompts.urls, [first, changed, third], 'each challenge once');
  await signOut(t, steam, steamPort);
});

t.test('QR code: logOff while it waits cancels the sign-in', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  const prompts = qrPrompts();
  const signingIn = loginError(steamPort.logOn({ method: 'qr' }, prompts));
  const url = await prompts.nextUrl();
  await steamPort.logOff();
  t.equal((await signingIn).reason, 'cancelled');
  t.same(steam.app.challenges, [url], 'Steam still has the code, but nobody polls for it:');
  await waitFor(() => steam.connectionCount === 0);
  t.pass('the sign-in\'s connection to Steam is closed');
});

const APPROVER: FakeAccount = { ...ALICE, guard: { type: 'authenticator', codes: ['7QX2K'], approvable: true } };

t.test('password, then an approval in the app while the code is asked for', async (t) => {
  const steam = await fake(t, { accounts: [APPROVER] });
  const steamPort = port(t, steam);
  const requests: GuardRequest[] = [];
  let interactions = 0;
  const signingIn = steamPort.logOn(
    { accountName: 'alice', password: ALICE.password },
    {
      guard: (request) => {
        requests.push(request);
        return new Promise<string>(() => {}); // the person never types the code
      },
      remoteInteraction: () => void interactions++,
    },
  );
  await steam.app.confirmationFor('alice');
  await waitFor(() => requests.length === 1);
  t.same(requests, [{ kind: 'authenticator', lastCodeWrong: false, approvable: true }], 'a code, or an approval in the app');
  t.ok(steam.app.open('alice'));
  await waitFor(() => interactions === 1);
  t.ok(steam.app.approve('alice'));
  t.match(await signingIn, { accountName: 'alice', country: 'DE' });
  t.equal(count(steam, 'guard-code'), 0, 'no code was sent');
  t.equal(count(steam, 'tokens'), 1);
  t.equal(count(steam, 'logon'), 1);
  await signOut(t, steam, steamPort);
});

t.test('password, then a typed code while an approval is also possible: the code wins, one sign-in', async (t) => {
  const steam = await fake(t, { accounts: [APPROVER] });
  const steamPort = port(t, steam);
  const guard = answering('WRONG', '7qx2k');
  const info = await steamPort.logOn({ accountName: 'alice', password: ALICE.password }, { guard });
  t.equal(info.accountName, 'alice');
  t.same(guard.requests, [
    { kind: 'authenticator', lastCodeWrong: false, approvable: true },
    { kind: 'authenticator', lastCodeWrong: true, approvable: true },
  ]);
  t.same(steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])), [false, true]);
  t.notOk(steam.app.approve('alice'), 'an approval in the app now finds nothing to approve');
  t.equal(count(steam, 'tokens'), 1, 'one pair of tokens');
  t.equal(count(steam, 'logon'), 1, 'one sign-on');
  await signOut(t, steam, steamPort);
});

t.test('password, then an approval in the app and the code at the same moment: still one sign-in', async (t) => {
  const steam = await fake(t, { accounts: [APPROVER] });
  const steamPort = port(t, steam);
  const info = await steamPort.logOn(
    { accountName: 'alice', password: ALICE.password },
    {
      guard: async () => {
        steam.app.approve('alice'); // the person taps Approve, and types the code too
        return '7QX2K'; // Steam answers it with 9: no such sign-in waiting; the next poll brings the tokens
      },
    },
  );
  t.equal(info.accountName, 'alice');
  t.equal(count(steam, 'tokens'), 1);
  t.equal(count(steam, 'logon'), 1);
  await signOut(t, steam, steamPort);
});

t.test('password, then the sign-in denied in the app', async (t) => {
  const steam = await fake(t, { accounts: [APPROVER] });
  const steamPort = port(t, steam);
  let interactions = 0;
  const signingIn = loginError(
    steamPort.logOn(
      { accountName: 'alice', password: ALICE.password },
      { guard: () => new Promise(() => {}), remoteInteraction: () => void interactions++ },
    ),
  );
  await steam.app.confirmationFor('alice');
  steam.app.open('alice'); // a person opens the prompt, and a poll sees that, before they tap Deny
  await waitFor(() => interactions === 1);
  t.ok(steam.app.deny('alice'));
  t.match(await signingIn, { reason: 'denied', eresult: 9 });
  t.equal(count(steam, 'logon'), 0);
});

t.test('an e-mail code account cannot be approved in the app', async (t) => {
  const steam = await fake(t, { accounts: [{ ...ALICE, guard: { type: 'email', domain: 'example.com', codes: ['GOOD1'] } }] });
  const guard = answering('GOOD1');
  await port(t, steam).logOn({ accountName: 'alice', password: ALICE.password }, { guard });
  t.same(guard.requests, [{ kind: 'email', domain: 'example.com', lastCodeWrong: false }], 'no approvable: Steam offered no approval');
});

// ---- redeeming -------------------------------------------------------------

t.test('every answer Steam gives to a key', async (t) => {
  const game = { id: 1001, name: 'Half-Life 3' };
  const dlc = { id: 1002, name: 'Half-Life 3 — Soundtrack' };
  const answers = {
    'AAAAA-AAAAA-AAAAA': { packages: [game] },
    'BBBBB-BBBBB-BBBBB': { packages: [game, dlc] },
    'CCCCC-CCCCC-CCCCC': { detail: 9, packages: [game] }, // AlreadyPurchased
    'DDDDD-DDDDD-DDDDD': { detail: 14 }, // BadActivationCode
    'EEEEE-EEEEE-EEEEE': { detail: 15 }, // DuplicateActivationCode
    'FFFFF-FFFFF-FFFFF': { detail: 13, packages: [game] }, // RestrictedCountry
    'GGGGG-GGGGG-GGGGG': { detail: 24, packages: [dlc] }, // DoesNotOwnRequiredApp
    'HHHHH-HHHHH-HHHHH': { detail: 50 }, // CannotRedeemCodeFromClient
    'IIIII-IIIII-IIIII': { detail: 53 }, // RateLimited
  };
  const steam = await fake(t, { keys: answers });
  const steamPort = await signedIn(t, steam);
  const replies = [];
  for (const key of Object.keys(answers)) replies.push(await steamPort.redeemKey(key));
  t.same(replies, [
    { eresult: 1, detail: 0, packages: [game] },
    { eresult: 1, detail: 0, packages: [game, dlc] },
    { eresult: 2, detail: 9, packages: [game] },
    { eresult: 2, detail: 14, packages: [] },
    { eresult: 2, detail: 15, packages: [] },
    { eresult: 2, detail: 13, packages: [game] },
    { eresult: 2, detail: 24, packages: [dlc] },
    { eresult: 2, detail: 50, packages: [] },
    { eresult: 2, detail: 53, packages: [] },
  ]);
  t.same(steam.keysReceived, Object.keys(answers));
});

t.test('keys sent together get their own answers', async (t) => {
  const steam = await fake(t, { keys: { 'AAAAA-AAAAA-AAAAA': { packages: [{ id: 1, name: 'One' }] }, 'BBBBB-BBBBB-BBBBB': { detail: 9 } } });
  const steamPort = await signedIn(t, steam);
  const [a, b] = await Promise.all([steamPort.redeemKey('BBBBB-BBBBB-BBBBB'), steamPort.redeemKey('AAAAA-AAAAA-AAAAA')]);
  t.same(a, { eresult: 2, detail: 9, packages: [] });
  t.same(b, { eresult: 1, detail: 0, packages: [{ id: 1, name: 'One' }] });
});

t.test('an empty receipt does not crash: the result arrives without packages', async (t) => {
  const steam = await fake(t, {
    keys: { 'AAAAA-AAAAA-AAAAA': { detail: 9, emptyReceipt: true }, 'BBBBB-BBBBB-BBBBB': { packages: [{ id: 7, name: 'Seven' }] } },
  });
  const steamPort = await signedIn(t, steam);
  t.same(await steamPort.redeemKey('AAAAA-AAAAA-AAAAA'), { eresult: 2, detail: 9, packages: [] });
  t.same(await steamPort.redeemKey('BBBBB-BBBBB-BBBBB'), { eresult: 1, detail: 0, packages: [{ id: 7, name: 'Seven' }] }, 'and the next key still works');
});

t.test('no answer: RedeemError timeout after redeemTimeoutMs, and the session goes on', async (t) => {
  const steam = await fake(t, { keys: { 'AAAAA-AAAAA-AAAAA': 'no-answer', 'BBBBB-BBBBB-BBBBB': { detail: 14 } } });
  const steamPort = await signedIn(t, steam, { redeemTimeoutMs: 300 });
  const error = await redeemError(steamPort.redeemKey('AAAAA-AAAAA-AAAAA'));
  t.equal(error.reason, 'timeout');
  t.match(error.message, /may or may not have been activated/);
  t.equal(steamPort.loggedOn, true);
  t.same(await steamPort.redeemKey('BBBBB-BBBBB-BBBBB'), { eresult: 2, detail: 14, packages: [] });
});

t.test('the connection drops while a key waits: RedeemError disconnected at once, and onDisconnected', async (t) => {
  const steam = await fake(t, { keys: { 'AAAAA-AAAAA-AAAAA': 'drop' } });
  const steamPort = await signedIn(t, steam, { redeemTimeoutMs: 60_000 });
  const disconnects: { eresult: number; message: string }[] = [];
  steamPort.onDisconnected((info) => disconnects.push(info));
  const error = await redeemError(steamPort.redeemKey('AAAAA-AAAAA-AAAAA'));
  t.equal(error.reason, 'disconnected', 'long before the 60 s timeout');
  t.equal(steamPort.loggedOn, false);
  await new Promise((resolve) => setImmediate(resolve));
  t.match(disconnects, [{ eresult: 3 }], 'EResult 3 NoConnection');
  t.equal((await redeemError(steamPort.redeemKey('BBBBB-BBBBB-BBBBB'))).reason, 'not-logged-on');
  t.same(steam.keysReceived, ['AAAAA-AAAAA-AAAAA'], 'nothing sent after the drop');
});

t.test('Steam signs the session off (logged in elsewhere): onDisconnected with its EResult', async (t) => {
  const steam = await fake(t);
  const steamPort = await signedIn(t, steam);
  const disconnected = new Promise<{ eresult: number; message: string }>((resolve) => steamPort.onDisconnected(resolve));
  steam.logOffEveryone(6); // LoggedInElsewhere
  t.match(await disconnected, { eresult: 6, message: 'LoggedInElsewhere' });
  t.equal(steamPort.loggedOn, false);
});

t.test('not signed in: RedeemError not-logged-on, and nothing is sent', async (t) => {
  const steam = await fake(t);
  const steamPort = port(t, steam);
  t.equal((await redeemError(steamPort.redeemKey('AAAAA-AAAAA-AAAAA'))).reason, 'not-logged-on', 'before logOn');
  await steamPort.logOn({ accountName: 'alice', password: ALICE.password }, { guard: noGuard });
  await steamPort.logOff();
  t.equal((await redeemError(steamPort.redeemKey('AAAAA-AAAAA-AAAAA'))).reason, 'not-logged-on', 'after logOff');
  t.same(steam.keysReceived, []);
});

t.test('logOff while a key waits for its answer', async (t) => {
  const steam = await fake(t, { keys: { 'AAAAA-AAAAA-AAAAA': 'no-answer' } });
  const steamPort = await signedIn(t, steam);
  const waiting = redeemError(steamPort.redeemKey('AAAAA-AAAAA-AAAAA'));
  await steamPort.logOff();
  t.equal((await waiting).reason, 'disconnected');
  t.same(steam.keysReceived, ['AAAAA-AAAAA-AAAAA'], 'the key had gone out');
});

// ---- no secrets out --------------------------------------------------------

t.test('writes no files and prints nothing that holds the password or a guard code', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'steam-key-home-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const saved = { HOME: process.env['HOME'], XDG_DATA_HOME: process.env['XDG_DATA_HOME'] };
  // Where steam-user keeps its files unless dataDirectory is null (@doctormckay/stdlib appDataDirectory).
  process.env['HOME'] = home;
  process.env['XDG_DATA_HOME'] = join(home, 'data');
  t.teardown(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const cwdBefore = (await readdir(process.cwd())).sort();

  const password = 'pw-5f1d9c0b-secret';
  const codes = ['WRONG-7C2E', 'GOOD-A91F'];
  const steam = await fake(t, {
    accounts: [{ accountName: 'alice', password, guard: { type: 'email', domain: 'example.com', codes: ['GOOD-A91F'] } }],
    keys: { 'AAAAA-AAAAA-AAAAA': { packages: [{ id: 1, name: 'One' }] } },
  });
  const stopCapture = capturePrinted();
  let printed = '';
  try {
    const steamPort = port(t, steam);
    await steamPort.logOn({ accountName: 'alice', password }, { guard: answering(...codes) });
    await steamPort.redeemKey('AAAAA-AAAAA-AAAAA');
    await steamPort.logOff();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    printed = stopCapture();
  }
  t.ok(steam.log.some((e) => e.type === 'logon'), 'it did sign in');
  t.notOk(printed.includes(password), 'the password was not printed');
  for (const code of codes) t.notOk(printed.includes(code), `guard code ${code} was not printed`);
  t.same(await readdir(home), [], 'no files under HOME or XDG_DATA_HOME');
  t.same((await readdir(process.cwd())).sort(), cwdBefore, 'no new files in the working directory');
});

t.test('control: steam-user with its default dataDirectory does write files there', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'steam-key-home-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const saved = process.env['XDG_DATA_HOME'];
  process.env['XDG_DATA_HOME'] = home;
  t.teardown(() => {
    if (saved === undefined) delete process.env['XDG_DATA_HOME'];
    else process.env['XDG_DATA_HOME'] = saved;
  });
  const steam = await fake(t);
  type Raw = NodeJS.EventEmitter & { logOn(d: object): void; logOff(): void };
  const SteamUser = createRequire(import.meta.url)('steam-user') as new (options: object) => Raw;
  const user = new SteamUser({ autoRelogin: false, protocol: 2, httpProxy: steam.proxyUrl });
  user.on('error', (error: Error) => t.fail(error.message));
  const loggedOn = once(user, 'loggedOn');
  user.logOn({ accountName: 'alice', password: ALICE.password });
  await loggedOn;
  const disconnected = once(user, 'disconnected');
  user.logOff();
  await disconnected;
  await new Promise((resolve) => setTimeout(resolve, 50)); // its file writes are not awaited
  t.same(await readdir(home), ['node-steamuser'], 'the check above would notice');
});
