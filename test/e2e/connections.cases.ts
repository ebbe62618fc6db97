/**
 * Lost connections, end to end: the page's WebSocket drops and comes back
 * with its resume token; Steam drops the server's connection mid-batch. The
 * real steam-user against the fake Steam, driven over /ws. Run by
 * connections.test.ts in a process that trusts the fake's test CA.
 */
import t from 'tap';
import type { ServerMessage } from '../../lib/app/protocol.js';
import type { FakeAccount } from '../fake-steam/fake-steam.js';
import type { TestClient } from '../helpers/app.js';
import { keyState, login, startE2E, type KeyMessage } from './real-steam.js';

const ALICE: FakeAccount = { accountName: 'alice', password: 'correct horse battery', steamId: '76561197960287930', country: 'DE' };
const GAME = { id: 1001, name: 'Half-Life 3' };
const SOUNDTRACK = { id: 1002, name: 'Half-Life 3 Soundtrack' };
const PORTAL = { id: 1003, name: 'Portal 3' };
const ACCOUNT = { accountName: 'alice', steamId: '76561197960287930', country: 'DE' };

type Run = Awaited<ReturnType<typeof startE2E>>['run'];

async function signedIn(run: Run): Promise<{ client: TestClient; token: string }> {
  const client = await run.connect();
  await client.hello();
  const events = await login(client, ALICE.accountName, ALICE.password);
  if (events.at(-1)?.state !== 'signed-in') throw new Error(`could not sign in: ${JSON.stringify(events)}`);
  return { client, token: client.token! };
}

function keyEvents(client: TestClient, n: number): KeyMessage['entry'][] {
  return client.frames
    .map((frame) => JSON.parse(frame) as ServerMessage)
    .flatMap((m) => (m.type === 'key' && m.entry.n === n ? [m.entry] : []));
}

/** The last message of `type` received so far. */
function lastOf<T extends ServerMessage['type']>(client: TestClient, type: T): Extract<ServerMessage, { type: T }> | undefined {
  const all = client.frames.map((frame) => JSON.parse(frame) as ServerMessage);
  return all.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type).at(-1);
}

t.test('the page drops mid-batch and reconnects: every result is there, still signed in to Steam', async (t) => {
  const { steam, run } = await startE2E(
    t,
    {
      accounts: [ALICE],
      keys: {
        'SLOWK-EY000-00001': { delayMs: 400, packages: [GAME] },
        'SECON-DKEY0-00002': { detail: 9, packages: [SOUNDTRACK] },
        'THIRD-KEY00-00003': { packages: [PORTAL] },
        'FOURT-HKEY0-00004': { packages: [{ id: 1004, name: 'Left 4 Dead 3' }] },
      },
    },
    { redeemTimeoutMs: 5_000 },
  );
  const { client, token } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'SLOWK-EY000-00001 SECON-DKEY0-00002 THIRD-KEY00-00003' });
  await keyState(client, 1, 'redeeming');
  client.socket.terminate(); // the laptop lid closes: no closing handshake
  await client.closed;

  // Meanwhile the server goes on with the keys.
  await run.logged(/session-detached/);
  await run.logged(/key-result/, 3);
  t.same(steam.keysReceived, ['SLOWK-EY000-00001', 'SECON-DKEY0-00002', 'THIRD-KEY00-00003']);

  const page = await run.connect();
  const welcome = await page.hello(token);
  t.equal(welcome.resumed, true);
  t.equal(welcome.session, token);
  t.same(welcome.snapshot.login, { state: 'signed-in', account: ACCOUNT }, 'the Steam sign-in is still live');
  t.same(welcome.snapshot.queue, { state: 'idle' });
  t.same(
    welcome.snapshot.keys.map((e) => ({ n: e.n, key: e.key, state: e.state, status: e.result?.status, packages: e.result?.packages })),
    [
      { n: 1, key: 'SLOWK-EY000-00001', state: 'done', status: 'activated', packages: [GAME] },
      { n: 2, key: 'SECON-DKEY0-00002', state: 'done', status: 'already-owned', packages: [SOUNDTRACK] },
      { n: 3, key: 'THIRD-KEY00-00003', state: 'done', status: 'activated', packages: [PORTAL] },
    ],
  );

  // The same Steam sign-in redeems the next key: no second sign-on.
  page.send({ type: 'add-keys', text: 'FOURT-HKEY0-00004' });
  t.match((await keyState(page, 4, 'done')).entry.result, { status: 'activated', packages: [{ id: 1004 }] });
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1, 'Steam saw one sign-on in all');
  t.equal(steam.signedInCount, 1);
});

t.test('the page comes back while a key is still with Steam: its answer arrives on the new connection', async (t) => {
  const { steam, run } = await startE2E(
    t,
    {
      accounts: [ALICE],
      keys: {
        // Long enough that the page is back before the answer (and the cooldown's end), even on a busy machine.
        'SLOWK-EY000-00001': { delayMs: 800, packages: [GAME] },
        'SECON-DKEY0-00002': [{ detail: 53 }, { packages: [PORTAL] }],
      },
    },
    { redeemTimeoutMs: 5_000, cooldownMs: 800 },
  );
  const { client, token } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'SLOWK-EY000-00001 SECON-DKEY0-00002' });
  await keyState(client, 1, 'redeeming');
  client.socket.terminate();
  await client.closed;
  await run.logged(/session-detached/);

  const page = await run.connect();
  const { snapshot } = await page.hello(token);
  t.same(snapshot.keys.map((e) => e.state), ['redeeming', 'queued'], 'the snapshot shows the key with Steam');
  t.same(snapshot.queue, { state: 'running' });
  t.match((await keyState(page, 1, 'done')).entry.result, { status: 'activated', packages: [GAME] });

  // Rate-limited now: a page that comes back during the cooldown sees it, and sees it end.
  await keyState(page, 2, 'waiting');
  page.socket.terminate();
  await page.closed;
  const again = await run.connect();
  const resumed = await again.hello(token);
  t.match(resumed.snapshot.queue, { state: 'cooldown', resumesAt: Number, message: { en: /resumes by itself/ } });
  t.match(resumed.snapshot.keys[1], { state: 'waiting', result: { status: 'rate-limited', keyUnused: true } });
  t.match((await keyState(again, 2, 'done')).entry.result, { status: 'activated', packages: [PORTAL] });
  t.same(steam.keysReceived, ['SLOWK-EY000-00001', 'SECON-DKEY0-00002', 'SECON-DKEY0-00002']);
});

t.test('a second page with the token holds the session too: both hear every key', async (t) => {
  const { run, steam } = await startE2E(t, { accounts: [ALICE], keys: { 'FIRST-KEY00-00001': { packages: [GAME] } } });
  const { client: first, token } = await signedIn(run);
  const second = await run.connect();
  t.match((await second.hello(token)).snapshot.login, { state: 'signed-in' });
  second.send({ type: 'add-keys', text: 'FIRST-KEY00-00001' });
  t.match((await keyState(first, 1, 'done')).entry.result, { status: 'activated' });
  t.match((await keyState(second, 1, 'done')).entry.result, { status: 'activated' });
  t.same(steam.keysReceived, ['FIRST-KEY00-00001']);
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1, 'one Steam sign-in');
});

for (const how of ['dropConnections', 'logOffEveryone'] as const) {
  t.test(`Steam goes away mid-batch (${how}): the key in flight is unknown, the queue waits for a new sign-in`, async (t) => {
    const { steam, run } = await startE2E(
      t,
      {
        accounts: [ALICE, { accountName: 'bob', password: 'pw' }],
        keys: {
          'FIRST-KEY00-00001': { packages: [GAME] },
          'INFLI-GHTKE-Y0002': 'no-answer', // with Steam when the connection goes
          'THIRD-KEY00-00003': { packages: [PORTAL] },
          'FOURT-HKEY0-00004': { detail: 14 },
        },
      },
      { redeemTimeoutMs: 10_000 },
    );
    const { client } = await signedIn(run);
    client.send({ type: 'add-keys', text: 'FIRST-KEY00-00001 INFLI-GHTKE-Y0002 THIRD-KEY00-00003 FOURT-HKEY0-00004' });
    await keyState(client, 2, 'redeeming');
    await steam.keyReceived('INFLI-GHTKE-Y0002'); // "redeeming" comes before the request reaches Steam
    if (how === 'dropConnections') steam.dropConnections();
    else steam.logOffEveryone(6); // LoggedInElsewhere

    const inFlight = await keyState(client, 2, 'done');
    t.match(inFlight.entry.result, {
      status: 'unknown',
      keyUnused: false,
      eresult: null,
      message: { en: /^The connection to Steam dropped before it answered: the key may have been activated — check your library\.$/ },
    }, 'unknown at once, not after the 10 s timeout');
    // The sign-in's and the key's events come in either order: look back for the former.
    await client.until('queue', (m) => m.state === 'stalled' && m.stalledBy === 'signed-out');
    t.same(lastOf(client, 'login'), {
      type: 'login',
      state: 'signed-out',
      reason: 'steam-disconnected',
      account: ACCOUNT,
      message:
        how === 'dropConnections'
          ? { en: 'Steam closed the connection. Sign in again to go on.', zh: 'Steam 断开了连接。请重新登录以继续。' }
          : {
              en: 'Steam signed this session out: the account signed in somewhere else (the Steam client, another device). Sign in again to go on.',
              zh: 'Steam 结束了此会话：该账户在其他地方（Steam 客户端或其他设备）登录了。请重新登录以继续。',
            },
    });
    t.match(lastOf(client, 'queue'), {
      state: 'stalled',
      stalledBy: 'signed-out',
      message: { en: 'Sign in to Steam to send the queued keys.' },
    });
    t.same([3, 4].map((n) => keyEvents(client, n).at(-1)?.state ?? 'queued'), ['queued', 'queued'], 'the rest still queued');
    t.same(steam.keysReceived, ['FIRST-KEY00-00001', 'INFLI-GHTKE-Y0002'], 'nothing more was sent');
    await run.logged(/steam-disconnected/);

    // Only the same account may pick the session up again.
    client.send({ type: 'login', id: 'bob', accountName: 'bob', password: 'pw' });
    t.match(await client.until('error'), { id: 'bob', code: 'other-account' });

    t.same((await login(client, 'alice', 'a typo')).at(-1), {
      type: 'login',
      state: 'signed-out',
      reason: 'invalid-password',
      account: ACCOUNT,
      message: {
        en: 'Wrong account name or password. (Use the account name you sign in with, not your profile name.)',
        zh: '账户名或密码错误。（请使用登录用的账户名，而不是个人资料昵称。）',
      },
    }, 'a failed try still names the account the session belongs to');
    const again = await login(client, 'alice', ALICE.password);
    t.match(again.at(-1), { state: 'signed-in', account: ACCOUNT });
    await keyState(client, 4, 'done');
    t.match(await client.until('queue', (m) => m.state === 'idle'), { state: 'idle' });
    t.same(
      [1, 2, 3, 4].map((n) => keyEvents(client, n).at(-1)?.result?.status),
      ['activated', 'unknown', 'activated', 'invalid-key'],
    );
    t.same(
      steam.keysReceived,
      ['FIRST-KEY00-00001', 'INFLI-GHTKE-Y0002', 'THIRD-KEY00-00003', 'FOURT-HKEY0-00004'],
      'the unknown key was not sent again',
    );
    t.equal(steam.log.filter((e) => e.type === 'logon').length, 2, 'a second sign-on');
  });
}

t.test('Steam drops an idle session: the page is told, and keys added then wait for a sign-in', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE], keys: { 'FIRST-KEY00-00001': { packages: [GAME] } } });
  const { client } = await signedIn(run);
  steam.dropConnections();
  t.match(await client.until('login'), { state: 'signed-out', reason: 'steam-disconnected' });
  client.send({ type: 'add-keys', text: 'FIRST-KEY00-00001' });
  await client.until('keys-added');
  t.match(await client.until('queue'), { state: 'stalled', stalledBy: 'signed-out' });
  t.same(steam.keysReceived, []);
  await login(client, 'alice', ALICE.password);
  t.match((await keyState(client, 1, 'done')).entry.result, { status: 'activated' });
});

t.test('the page drops while Steam asks for a code: back with the token, the prompt is there and the code goes through', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [{ ...ALICE, guard: { type: 'email', domain: 'example.com', codes: ['GOOD1'] } }] });
  const client = await run.connect();
  await client.hello();
  t.match((await login(client, 'alice', ALICE.password)).at(-1), { state: 'guard' });
  const token = client.token!;
  client.socket.terminate(); // the phone's browser drops the page while the user reads the e-mail
  await client.closed;
  await run.logged(/session-detached/);

  const page = await run.connect();
  const { snapshot } = await page.hello(token);
  t.match(snapshot.login, { state: 'guard', guard: { kind: 'email', domain: 'example.com', lastCodeWrong: false } });
  page.send({ type: 'guard-code', code: 'GOOD1' });
  t.same(await page.until('login', (m) => m.state !== 'signing-in'), { type: 'login', state: 'signed-in', account: ACCOUNT });
  t.equal(steam.log.filter((e) => e.type === 'logon').length, 1);
});

t.test('after the grace period the session signs out of Steam, and its token opens a new session', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE], keys: { 'FIRST-KEY00-00001': { packages: [GAME] } } }, { graceMs: 100 });
  const { client, token } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'FIRST-KEY00-00001' });
  await keyState(client, 1, 'done');
  client.close();
  await run.logged(/session-closed .*why=expired/);
  await waitFor(() => steam.log.some((e) => e.type === 'logoff'), 'Steam got ClientLogOff');
  t.equal(steam.connectionCount, 0, 'no connection to Steam left');

  const page = await run.connect();
  const welcome = await page.hello(token);
  t.equal(welcome.resumed, false);
  t.equal(welcome.session, null, 'no session until the page needs one');
  t.same(welcome.snapshot.keys, []);
  t.same(welcome.snapshot.login, { state: 'signed-out' });
});

t.test('the server shuts down: every page is told, every session signs out of Steam', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE, { accountName: 'bob', password: 'pw' }] });
  const { client: first } = await signedIn(run);
  const second = await run.connect();
  await second.hello();
  await login(second, 'bob', 'pw');
  t.equal(steam.signedInCount, 2, 'two Steam clients signed on');
  await run.app.close();
  for (const page of [first, second]) {
    t.match(await page.until('bye'), { reason: 'shutdown' });
    t.equal((await page.closed).code, 1001);
  }
  t.same(
    steam.log.flatMap((e) => (e.type === 'logoff' ? [e.accountName] : [])).sort(),
    ['alice', 'bob'],
    'ClientLogOff for both',
  );
});

/** Polls `condition` until it holds (a hang guard after 5 s, not a timing assertion). */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
