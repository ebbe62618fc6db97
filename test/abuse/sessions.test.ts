/**
 * Issue 13, attack 3 "Lock-out": a session was made on `hello`, outlived its
 * connection by 10 minutes, and the only cap was the server's 100, so one
 * client filled it in 0.13 s and everyone else got `server-busy`.
 *
 * The real `steam-key serve --demo` with --max-sessions-per-address 3, over
 * real sockets from distinct loopback addresses: `hello` alone makes no
 * session; one address opens its three (by add-keys and by a sign-in that
 * fails) and the next gets `too-many-sessions`; another address still opens
 * one, signs in and redeems; and a session made by add-keys whose page has
 * left ends after --anonymous-grace (the ordinary --grace is an hour here),
 * giving its address the room back. Without the per-address cap the fourth
 * session would open; without the anonymous grace the room would not come
 * back within the hang guard.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import type { TestClient } from '../helpers/app.js';
import { waitFor } from '../helpers/raw-client.js';
import { address, clientFrom, redeem, signInDemo } from '../helpers/abuse.js';

const PER_ADDRESS = 3;
/** Far longer than the 1 s grace: a hang guard, not a timing assertion. */
const HANG_GUARD_MS = 30_000;

t.test('sessions per address, and the short grace of a session that never signed in', async (t) => {
  const serving = await startServe(
    ['--port', '0', '--demo', '--pause', '0', '--grace', '1h', '--anonymous-grace', '1s', '--max-sessions-per-address', String(PER_ADDRESS)],
    {},
    t.teardown,
  );
  const clients: TestClient[] = [];
  t.teardown(() => clients.forEach((client) => client.socket.terminate()));
  const greeted = async (from: string): Promise<TestClient> => {
    const client = await clientFrom(serving, from);
    clients.push(client);
    await client.hello();
    return client;
  };
  const [a, b] = [address(1), address(2)];
  const at = (from: string) => from.replaceAll('.', '\\.');

  // Page loads and tabs that only say hello cost no session.
  for (let i = 0; i < 2 * PER_ADDRESS; i++) await greeted(a);
  t.notOk(serving.lines.some((line) => / session-opened /.test(line)), 'hello opens no session');

  // The address's share: two pastes and a sign-in (a wrong password: the session stays, signed out).
  const pasting = await greeted(a);
  pasting.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  await pasting.until('session');
  const second = await greeted(a);
  second.send({ type: 'add-keys', text: 'DEMO3-ALREA-DYOWN' });
  await second.until('session');
  const signingIn = await greeted(a);
  signingIn.send({ type: 'login', accountName: 'demo', password: 'not the password' });
  await signingIn.until('session');
  t.match(await signingIn.until('login', (m) => m.state === 'signed-out'), { reason: 'invalid-password' });

  const turnedAway = await greeted(a);
  turnedAway.send({ type: 'add-keys', id: 'paste', text: 'DEMO4-INVAL-IDKEY' });
  t.match(await turnedAway.until('error'), { id: 'paste', code: 'too-many-sessions' }, 'a fourth session from the same address: refused');
  turnedAway.send({ type: 'login', id: 'sign-in', accountName: 'demo', password: 'demo' });
  t.match(await turnedAway.until('error'), { id: 'sign-in', code: 'too-many-sessions' }, 'by a sign-in too');
  t.ok(await serving.logged(new RegExp(`sessions-full client=${at(a)} scope=address`)), 'logged with the address');

  // Another address is not locked out.
  const honest = await greeted(b);
  t.match(await signInDemo(honest), { state: 'signed-in' }, 'another address opens a session and signs in');
  t.same(await redeem(honest, ['DEMO1-ACTIV-ATED1', 'DEMO2-ACTIV-ATED3']), { 'DEMO1-ACTIV-ATED1': 'activated', 'DEMO2-ACTIV-ATED3': 'activated' }, 'and redeems');

  // The first paste's page leaves: its session, never signed in, ends after the anonymous grace.
  const id = /session=(\S+)/.exec(await serving.logged(new RegExp(`session-opened session=\\S+ client=${at(a)}`)))![1]!;
  pasting.close();
  const detached = await waitFor(serving.logged(new RegExp(`session-detached session=${id} `)), 'the session to be let go', HANG_GUARD_MS);
  t.match(detached, /graceMs=1000\b/, 'with the anonymous grace, not the hour');
  await waitFor(serving.logged(new RegExp(`session-closed session=${id} why=expired`)), 'the anonymous session to end', HANG_GUARD_MS);

  turnedAway.send({ type: 'add-keys', id: 'again', text: 'DEMO4-INVAL-IDKEY' });
  const reply = await turnedAway.until('keys-added');
  t.equal(reply.id, 'again');
  t.ok(turnedAway.token, 'the address had its room back: a session opened');
  t.equal(second.socket.readyState, second.socket.OPEN, 'the sessions still held were left alone');
});
