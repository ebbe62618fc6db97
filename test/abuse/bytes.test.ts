/**
 * Issue 13, the work beneath every other limit: a client that streams bytes
 * the server then refuses (1 MB pastes past the paste rate, texts in 1-byte
 * fragments, pings) still costs the server's one thread the parsing. On main
 * before the read budget, 50 connections of one address streaming 1 MB
 * pastes kept an honest client from even a `welcome` for 11 s and took the
 * server to 401 MiB (npm run bench:hostile, README "Under attack").
 *
 * Each client address has a budget of bytes read (--bytes-per-address,
 * lib/app/read-budget.ts): past it the server stops reading that address's
 * connections, and the rest waits in TCP. Here the budget is 1 MiB per hour,
 * and one address streams 32 MiB of pings (125-byte payloads, 131 bytes on
 * the wire each) on two connections while reading every pong. Each pong is a
 * ping the server parsed, so the pongs count the server's work: at most the
 * budget plus one read (64 KiB) per connection. Without the budget every
 * ping would be answered. Another address meanwhile signs in and redeems.
 * Nothing is timed: the honest client's redeem is the checkpoint.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import { clientFrame, OP, openClient, type RawClient } from '../helpers/raw-client.js';
import { address, clientFrom, redeem, signInDemo } from '../helpers/abuse.js';
import { MESSAGE_BYTES } from '../../lib/app/read-budget.js';

const BUDGET = 1024 * 1024;
const STREAM_BYTES = 16 * 1024 * 1024; // per connection
const CONNECTIONS = 2;
/** The most one read of Node's hands over (its default highWaterMark for sockets). */
const READ = 64 * 1024;

t.test('an address past its byte budget is not read any further; another address is served', async (t) => {
  const serving = await startServe(['--port', '0', '--demo', '--pause', '0', '--bytes-per-address', `${BUDGET}/1h`], {}, t.teardown);
  const ping = clientFrame(OP.PING, Buffer.alloc(125, 0x61), { maskKey: Buffer.from([1, 2, 3, 4]) });
  const pings = Buffer.concat(Array.from({ length: Math.floor(STREAM_BYTES / ping.length) }, () => ping));

  const flooders: RawClient[] = [];
  const written: Promise<void>[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const client = await openClient(serving.port, { path: '/ws', localAddress: address(1) });
    t.teardown(() => client.destroy());
    flooders.push(client);
    written.push(new Promise((resolve) => client.socket.write(pings, () => resolve())));
  }
  let allWritten = false;
  void Promise.all(written).then(() => (allWritten = true));

  const honest = await clientFrom(serving, address(2));
  t.teardown(() => honest.socket.terminate());
  await honest.hello();
  t.match(await signInDemo(honest), { state: 'signed-in' }, 'another address signs in');
  t.same(await redeem(honest, ['DEMO1-ACTIV-ATED1', 'DEMO2-ACTIV-ATED3']), { 'DEMO1-ACTIV-ATED1': 'activated', 'DEMO2-ACTIV-ATED3': 'activated' }, 'and redeems');

  const pongs = flooders.reduce((sum, client) => sum + client.received.filter((f) => f.opcode === OP.PONG).length, 0);
  const bound = Math.ceil((BUDGET + CONNECTIONS * READ) / ping.length);
  t.comment(`${pongs} pongs for ${CONNECTIONS * Math.floor(STREAM_BYTES / ping.length)} pings sent`);
  t.ok(pongs > 0, 'the budget was read');
  t.ok(pongs <= bound, `the server parsed ${pongs} pings: no more than the budget and one read per connection allow (${bound})`);
  t.notOk(allWritten, 'the rest waits unread, in TCP');
  t.ok(flooders.every((client) => !client.tcpClosed), 'nothing was refused: the connections are open');
});

t.test('a flood of tiny messages pays for each message, not only its bytes', async (t) => {
  // A wrong password again as soon as the last was refused (issue 13, finding 4) costs the server a JSON
  // parse and a refusal per message: each is charged MESSAGE_BYTES (4 KiB) of the budget beyond its bytes.
  const budget = 256 * 1024;
  const serving = await startServe(['--port', '0', '--demo', '--pause', '0', '--bytes-per-address', `${budget}/1h`], {}, t.teardown);
  const flooder = await openClient(serving.port, { path: '/ws', localAddress: address(1) });
  t.teardown(() => flooder.destroy());
  // Before hello every message is answered with an error: one reply per message parsed.
  const tiny = clientFrame(OP.TEXT, '{"type":"login","accountName":"x","password":"y"}', { maskKey: Buffer.from([1, 2, 3, 4]) });
  let stopped = false;
  flooder.socket.on('data', () => void (stopped || flooder.socket.write(tiny)));
  flooder.socket.write(tiny);

  const honest = await clientFrom(serving, address(2));
  t.teardown(() => honest.socket.terminate());
  await honest.hello();
  t.match(await signInDemo(honest), { state: 'signed-in' }, 'another address signs in');
  t.same(await redeem(honest, ['DEMO1-ACTIV-ATED1']), { 'DEMO1-ACTIV-ATED1': 'activated' }, 'and redeems');
  stopped = true;

  const replies = flooder.received.filter((f) => f.opcode === OP.TEXT).length;
  // One message per read (each waits for the last one's answer), so one read past the budget.
  const bound = Math.ceil(budget / (MESSAGE_BYTES + tiny.length)) + 1;
  t.comment(`${replies} messages answered; by their bytes alone the budget would allow ${Math.floor(budget / tiny.length)}`);
  t.ok(replies > 0, 'the flooder was answered');
  t.ok(replies <= bound, `the server answered ${replies} messages: no more than the budget allows at 4 KiB each (${bound})`);
  t.notOk(flooder.tcpClosed, 'nothing was refused: the connection is open');
});
