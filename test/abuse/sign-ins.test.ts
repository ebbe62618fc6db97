/**
 * Issue 13, attack 4 "The server as a sign-in relay": `login` could be
 * retried at once after any failure, with any account name, on any number
 * of sessions (150 attempts in 1.3 s from one address). Each is a real
 * sign-in to Steam from the server's address: Steam answers too many with
 * EResult 84 for every user of the server, and the answers tell a wrong
 * password from a right one for whoever asks.
 *
 * The real `steam-key serve` (steam-user, not the demo) in front of the fake
 * Steam, which records an `auth` event for every password sign-in that
 * reaches it. From one loopback address, wrong-password sign-ins on several
 * connections and sessions: only the policy's burst (--sign-ins-per-address
 * 3/10m, no backoff) reaches the fake, every other one is refused with
 * sign-in-limited and a retryAt, and another address still signs in. With a
 * backoff (--sign-in-backoff 10m) one failure is all an address gets. After
 * the fake answers 84 for one account, sign-ins to other accounts from other
 * addresses get steam-cooldown and none reaches the fake. Without the limits
 * every attempt would reach the fake.
 */
import t from 'tap';
import { startFakeSteam, type FakeSteam } from '../fake-steam/fake-steam.js';
import { startServe, type Serving } from '../helpers/binary.js';
import type { TestClient } from '../helpers/app.js';
import type { ServerMessage } from '../../lib/app/protocol.js';
import { address, clientFrom } from '../helpers/abuse.js';

const PASSWORD = 'correct horse battery staple';
const ALICE = { accountName: 'alice', password: PASSWORD, country: 'DE' };
const BOB = { accountName: 'bob', password: PASSWORD };
/** Steam answers every sign-in of this account with 84 (RateLimitExceeded: the server's address). */
const LIMITED = { accountName: 'limited', password: PASSWORD, loginResult: 84 };
const BURST = 3;
/** A sign-in through steam-user takes a second or so; the hang guard is far longer. */
const PATIENCE_MS = 60_000;

type Answer = Extract<ServerMessage, { type: 'login' | 'error' }>;

/** Starts the binary with steam-user against `steam`, with `limits` as flags. */
function serveAgainst(t: Tap, steam: FakeSteam, limits: string[]): Promise<Serving> {
  return startServe(['--port', '0', '--steam-proxy', steam.proxyUrl, ...limits], { NODE_EXTRA_CA_CERTS: steam.caPath }, t.teardown);
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** A greeted client from `from`, closed at the end of the test. */
async function greeted(t: Tap, serving: Serving, from: string): Promise<TestClient> {
  const client = await clientFrom(serving, from);
  client.patienceMs = PATIENCE_MS;
  t.teardown(() => client.socket.terminate());
  await client.hello();
  return client;
}

/** Sends a sign-in and returns how it ended: a refusal (error), or the login state it settled in. */
async function signIn(client: TestClient, accountName: string, password: string): Promise<Answer> {
  client.send({ type: 'login', accountName, password });
  for (;;) {
    const message = await client.next();
    if (message.type === 'error') return message;
    if (message.type === 'login' && message.state !== 'signing-in') return message;
  }
}

const auths = (steam: FakeSteam) => steam.log.filter((event) => event.type === 'auth');

t.test('a flood of wrong passwords from one address: only the burst reaches Steam; another address signs in', async (t) => {
  const steam = await startFakeSteam({ accounts: [ALICE, BOB] });
  t.teardown(() => steam.close());
  const serving = await serveAgainst(t, steam, ['--sign-ins-per-address', `${BURST}/10m`, '--sign-in-backoff', '0']);
  const [attacker, honest] = [address(1), address(2)];

  // Four connections (four sessions), three tries each, two account names: the per-session limit (5) is not what stops them.
  const answers: Answer[] = [];
  const started = Date.now();
  for (let c = 0; c < 4; c++) {
    const client = await greeted(t, serving, attacker);
    for (let i = 0; i < 3; i++) answers.push(await signIn(client, i % 2 === 0 ? 'alice' : 'bob', `guess ${c}-${i}`));
  }
  const reached = answers.filter((a) => a.type === 'login');
  const refused = answers.filter((a) => a.type === 'error');
  t.equal(auths(steam).length, BURST, `the fake Steam saw ${BURST} of the ${answers.length} sign-ins`);
  t.match(reached, Array(BURST).fill({ state: 'signed-out', reason: 'invalid-password' }), 'the burst reached Steam, which said the password was wrong');
  t.equal(refused.length, answers.length - BURST, 'every other one was refused here');
  for (const error of refused) {
    // The bucket gives one attempt back every 10m / BURST: retryAt is minutes away, not now.
    if (error.type !== 'error' || error.code !== 'sign-in-limited' || typeof error.retryAt !== 'number' || error.retryAt < started + 60_000) {
      t.fail(`a refusal without sign-in-limited and a retryAt: ${JSON.stringify(error)}`);
    }
  }
  t.pass('each refusal is sign-in-limited, with the time to try again');
  t.ok(await serving.logged(/sign-in-refused client=127\.0\.0\.2 session=\S+ code=sign-in-limited/), 'logged with the address');

  const other = await greeted(t, serving, honest);
  t.match(await signIn(other, 'alice', PASSWORD), { type: 'login', state: 'signed-in', account: { accountName: 'alice' } }, 'another address signs in meanwhile');
  t.equal(auths(steam).length, BURST + 1, 'its sign-in reached Steam');
});

t.test('with a backoff, one failure from an address holds back its next sign-ins', async (t) => {
  const steam = await startFakeSteam({ accounts: [ALICE] });
  t.teardown(() => steam.close());
  const serving = await serveAgainst(t, steam, ['--sign-in-backoff', '10m']);
  const client = await greeted(t, serving, address(1));
  t.match(await signIn(client, 'alice', 'wrong'), { type: 'login', state: 'signed-out', reason: 'invalid-password' });
  const before = Date.now();
  for (let i = 0; i < 4; i++) {
    const next = await greeted(t, serving, address(1));
    const answer = await signIn(next, 'alice', `wrong ${i}`);
    t.match(answer, { type: 'error', code: 'sign-in-limited' }, `try ${i + 2}: refused here`);
    if (answer.type === 'error') t.ok(answer.retryAt! >= before + 9 * 60_000, 'retryAt is the end of the ten-minute backoff');
  }
  t.equal(auths(steam).length, 1, 'only the first reached Steam');
});

t.test("after Steam's 84, no sign-in reaches it during the cooldown, whoever asks for whichever account", async (t) => {
  const steam = await startFakeSteam({ accounts: [ALICE, BOB, LIMITED] });
  t.teardown(() => steam.close());
  const serving = await serveAgainst(t, steam, ['--sign-in-backoff', '0']);
  const first = await greeted(t, serving, address(1));
  t.match(await signIn(first, 'limited', PASSWORD), { type: 'login', state: 'signed-out', reason: 'rate-limited' }, 'Steam answered 84');
  t.same(auths(steam).map((e) => e.type === 'auth' && e.eresult), [84]);

  const since = Date.now();
  for (const [n, account] of [[2, 'alice'], [3, 'bob'], [4, 'alice'], [1, 'bob']] as const) {
    const client = await greeted(t, serving, address(n));
    const answer = await signIn(client, account, PASSWORD);
    t.match(answer, { type: 'error', code: 'steam-cooldown' }, `${account} from ${address(n)}: refused here`);
    // The default cooldown is 30 minutes (Steam wants that long without an attempt).
    if (answer.type === 'error') t.ok(answer.retryAt! >= since + 29 * 60_000, 'retryAt is the end of the cooldown');
  }
  t.equal(auths(steam).length, 1, "the fake Steam's count did not grow");
});
