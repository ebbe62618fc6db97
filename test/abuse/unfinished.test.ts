/**
 * Issue 13, memory held for messages on their way: a connection holds what
 * it has received of a message until the message is complete, up to 1 MiB.
 * The byte budget slows how fast that fills, not how many connections hold
 * one: in `npm run bench:hostile`, 250 slow connections held ~70 MiB of
 * unfinished messages. So the bytes held are capped per client address
 * (--unfinished-bytes-per-address) and for the server (--unfinished-bytes),
 * and the connection whose message would pass a cap is closed with 1013
 * (Try Again Later), which frees what it held.
 *
 * Each client here sends the first half of a text message (a fragment
 * without FIN: 512 KiB of spaces, which JSON allows before a value) and then
 * a ping: the pong shows the server has read the fragment (control frames
 * may come between fragments, RFC 6455 §5.4). Nothing is timed.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import { clientFrame, OP, openClient, type RawClient } from '../helpers/raw-client.js';
import { address } from '../helpers/abuse.js';

const MiB = 1024 * 1024;
const HALF = MiB / 2;
const maskKey = Buffer.from([1, 2, 3, 4]);

async function client(t: { teardown(fn: () => unknown): void }, port: number, n: number): Promise<RawClient> {
  const c = await openClient(port, { path: '/ws', localAddress: address(n) });
  t.teardown(() => c.destroy());
  return c;
}

/** Sends half a message and a ping; the next frame: a pong (held) or the Close that refused it. */
async function holdHalf(c: RawClient): Promise<{ opcode: number; code?: number; reason?: string }> {
  await c.write(Buffer.concat([clientFrame(OP.TEXT, Buffer.alloc(HALF, 0x20), { fin: false, maskKey }), clientFrame(OP.PING, 'read?', { maskKey })]));
  const frame = await c.nextFrame('a pong or a Close');
  if (frame === null) return { opcode: -1 };
  if (frame.opcode !== OP.CLOSE) return { opcode: frame.opcode };
  return { opcode: frame.opcode, code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString('utf8') };
}

/** Ends the message begun by holdHalf with a hello; resolves with the server's answer. */
async function finish(c: RawClient): Promise<string> {
  await c.write(clientFrame(OP.CONT, '{"type":"hello","version":2}', { maskKey }));
  return c.nextText();
}

t.test('an address holds at most its cap in unfinished messages; another address has its own', async (t) => {
  const serving = await startServe(['--port', '0', '--demo', '--unfinished-bytes-per-address', String(MiB)], {}, t.teardown);
  const [a1, a2, a3, b1] = [await client(t, serving.port, 1), await client(t, serving.port, 1), await client(t, serving.port, 1), await client(t, serving.port, 2)];
  t.same(await holdHalf(a1), { opcode: OP.PONG }, 'half a MiB held');
  t.same(await holdHalf(a2), { opcode: OP.PONG }, 'a whole MiB held by one address: its cap');
  t.match(await holdHalf(a3), { opcode: OP.CLOSE, code: 1013, reason: /unfinished/ }, 'more from that address: Close 1013 (Try Again Later)');
  await a3.closedTcp;
  t.same(await holdHalf(b1), { opcode: OP.PONG }, 'another address is not held back');
  t.match(await finish(a1), /"type":"welcome"/, 'a message held at the cap completes and is answered');
  const a4 = await client(t, serving.port, 1);
  t.same(await holdHalf(a4), { opcode: OP.PONG }, 'once it completed, the address may hold that much again');
  t.match(await finish(a2), /"type":"welcome"/);
  t.match(await finish(b1), /"type":"welcome"/);
});

t.test('the server holds at most its cap in all', async (t) => {
  const serving = await startServe(['--port', '0', '--demo', '--unfinished-bytes', String(MiB)], {}, t.teardown);
  const [a1, b1, c1] = [await client(t, serving.port, 1), await client(t, serving.port, 2), await client(t, serving.port, 3)];
  t.same(await holdHalf(a1), { opcode: OP.PONG });
  t.same(await holdHalf(b1), { opcode: OP.PONG });
  t.match(await holdHalf(c1), { opcode: OP.CLOSE, code: 1013 }, 'a third address finds the server full');
  a1.destroy();
  await a1.closedTcp;
  const c2 = await client(t, serving.port, 3);
  // a1's reset reaches the server before c2's upgrade, which waits for the server's 101.
  t.same(await holdHalf(c2), { opcode: OP.PONG }, 'a connection that closed gave back what it held');
  t.match(await finish(c2), /"type":"welcome"/);
});
