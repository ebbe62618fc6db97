/**
 * Issue 13, attack 5 "Idle connections" (and the connection half of
 * "one address cannot fill the sessions or connections of another"): one
 * address opened 3000 WebSocket connections in a second, and a connection
 * that never sent `hello` was never timed out.
 *
 * The real `steam-key serve --demo`, with small limits given as flags, over
 * real sockets from distinct loopback addresses: one address gets its share
 * of connections and the next one is refused (a `bye` that says why, close
 * 1013); another address still connects, signs in and redeems; the
 * server-wide cap refuses a third address, and the log says it was the
 * server's cap; a connection that says nothing is closed with 1008 once
 * --first-message-timeout has passed. Without the limits each refusal below
 * would be a 101 and a welcome, and the silent connection would stay open.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import { httpExchange, requestText, upgradeHeaders, waitFor } from '../helpers/raw-client.js';
import type { TestClient } from '../helpers/app.js';
import { address, clientFrom, redeem, signInDemo } from '../helpers/abuse.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** Far longer than the 3 s timeout: a hang guard, not a timing assertion. */
const HANG_GUARD_MS = 30_000;
const PER_ADDRESS = 5;
const IN_ALL = 12;

/** Connections stay open from one subtest to the next (each counts): closed at the end of the file. */
const opened: TestClient[] = [];
t.teardown(() => opened.forEach((client) => client.socket.terminate()));

/** Opens a connection from `from` and says hello: admitted, it gets a welcome. */
async function admitted(t: Tap, serving: Parameters<typeof clientFrom>[0], from: string): Promise<TestClient> {
  const client = await clientFrom(serving, from);
  opened.push(client);
  const welcome = await client.hello();
  t.equal(welcome.type, 'welcome', `${from}: admitted`);
  return client;
}

/** Opens a connection from `from` that the server refuses: its bye, and the close code. */
async function refused(serving: Parameters<typeof clientFrom>[0], from: string) {
  const client = await clientFrom(serving, from); // the upgrade succeeds: the refusal is a message the page can show
  opened.push(client);
  const bye = await client.until('bye');
  const closed = await client.closed;
  return { bye, closed };
}

t.test('connections per address and in all', async (t) => {
  const serving = await startServe(
    ['--port', '0', '--demo', '--pause', '0', '--max-connections-per-address', String(PER_ADDRESS), '--max-connections', String(IN_ALL)],
    {},
    t.teardown,
  );
  const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(address) as [string, string, string, string, string];

  t.test('one address gets its share, and the next connection is refused with a reason', async (t) => {
    for (let i = 0; i < PER_ADDRESS; i++) await admitted(t, serving, a);
    const { bye, closed } = await refused(serving, a);
    t.equal(bye.reason, 'too-many-connections');
    t.match(bye.message, { en: /^Too many connections to this server from your address/, zh: /连接过多/ }, 'in both languages');
    t.equal(closed.code, 1013, 'closed with Try Again Later (RFC 6455 §7.4.1 registry)');
    t.match(await serving.logged(new RegExp(`connection-refused client=${a.replaceAll('.', '\\.')} scope=address`)), /scope=address/, 'logged with the address');
  });

  t.test('meanwhile another address connects, signs in and redeems', async (t) => {
    const honest = await admitted(t, serving, b);
    t.match(await signInDemo(honest), { state: 'signed-in', account: { accountName: 'demo' } });
    t.same(await redeem(honest, ['DEMO1-ACTIV-ATED1', 'DEMO3-ALREA-DYOWN', 'DEMO4-INVAL-IDKEY']), {
      'DEMO1-ACTIV-ATED1': 'activated',
      'DEMO3-ALREA-DYOWN': 'already-owned',
      'DEMO4-INVAL-IDKEY': 'invalid-key',
    });
  });

  t.test('the server-wide cap refuses any address once all connections are taken', async (t) => {
    // Open now: PER_ADDRESS from a, 1 from b. c and d take the rest.
    const open = PER_ADDRESS + 1;
    const others = [c, d];
    for (let i = 0; i < IN_ALL - open; i++) await admitted(t, serving, others[Math.floor(i / PER_ADDRESS)]!);
    const { bye, closed } = await refused(serving, e);
    t.equal(bye.reason, 'too-many-connections');
    t.equal(closed.code, 1013);
    t.ok(await serving.logged(new RegExp(`connection-refused client=${e.replaceAll('.', '\\.')} scope=server`)), `${e} was refused by the server's cap, not its own`);
  });
});

t.test('a connection that never says hello is closed 1008 after --first-message-timeout', async (t) => {
  // 3 s, not the flag's least (1 s): the connection that does say hello must say it in time on a busy machine too.
  const serving = await startServe(['--port', '0', '--demo', '--first-message-timeout', '3s'], {}, t.teardown);
  const talking = await clientFrom(serving, address(1));
  t.teardown(() => talking.socket.terminate());
  await talking.hello();
  const silent = await clientFrom(serving, address(1));
  t.teardown(() => silent.socket.terminate());
  // No timing asserted: the close comes once the timer fires; the guard only stops a server that never closes it.
  const closed = await waitFor(silent.closed, 'the silent connection to be closed', HANG_GUARD_MS);
  t.equal(closed.code, 1008, 'Policy Violation');
  t.equal(closed.reason, 'hello expected');
  t.ok(await serving.logged(/protocol-error client=127\.0\.0\.2 code=no-hello/), 'logged with the address');
  // The one that said hello was opened first, so its own timer has fired too: it is for silence only.
  t.equal(talking.socket.readyState, talking.socket.OPEN, 'the connection that said hello is still open');
});

t.test('new connections per address: a burst, then a rate; closing them does not make room', async (t) => {
  const serving = await startServe(['--port', '0', '--demo', '--new-connections-per-address', '3/1h'], {}, t.teardown);
  const [a, b] = [address(10), address(11)];
  for (let i = 0; i < 3; i++) {
    const client = await admitted(t, serving, a);
    client.socket.terminate(); // closed at once: the concurrent cap would let the next one in
    await client.closed;
  }
  // Refused before the upgrade: whatever a client sends once upgraded (a 1 MB paste) is never read.
  const request = requestText('/ws', upgradeHeaders({ Host: new URL(serving.url).host }));
  const response = await httpExchange(serving.port, request, a);
  t.equal(response.status, 429, 'the fourth new connection within the hour: 429 Too Many Requests');
  t.equal(response.headers['retry-after'], '1200', 'Retry-After: when the next one may come (20 min at 3 an hour)');
  t.match(await serving.logged(/connection-refused/), /connection-refused client=127\.0\.0\.11 scope=rate/, 'the log says whose and which limit');
  await admitted(t, serving, b);
});
