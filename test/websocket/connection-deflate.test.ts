/**
 * permessage-deflate on real sockets (RFC 7692): the handshake's answer,
 * compressed messages both ways, the RSV1 rules, the limits while inflating
 * and the order of everything around a compressed message. The peer is the
 * raw test client, compressing with plain node:zlib.
 */
import t from 'tap';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Socket } from 'node:net';
import type { Channel } from '../../lib/websocket/channel.js';
import { Connection, type CloseInfo } from '../../lib/websocket/connection.js';
import { resolveDeflateOptions, type DeflateOptions } from '../../lib/websocket/deflate-offer.js';
import { PerMessageDeflate } from '../../lib/websocket/deflate.js';
import { resolveLimits, type Limits } from '../../lib/websocket/limits.js';
import { clientFrame, closePayload, OP, openClient, socketPair, waitFor, type RawClient, type ServerFrame } from '../helpers/raw-client.js';
import { startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

const FAST: Partial<Limits> = { closeTimeout: 200, heartbeatInterval: 0 };
const OFFER = 'permessage-deflate; client_max_window_bits';
const RSV1 = 4;

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function setup(t: Tap, deflate: boolean | DeflateOptions = true, options: TestServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ ...options, deflate, limits: { ...FAST, ...options.limits } });
  t.teardown(() => server.close());
  return server;
}

async function client(t: Tap, server: TestServer, offer = OFFER): Promise<RawClient> {
  const c = await openClient(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } });
  t.teardown(() => c.destroy());
  return c;
}

/** §7.2.1 as a client would: raw DEFLATE, sync flush, the 4-byte tail removed (a fresh context per message). */
function deflate(data: string | Buffer): Buffer {
  const out = deflateRawSync(typeof data === 'string' ? Buffer.from(data) : data, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** §7.2.2: a server frame's payload inflated (a fresh context: use with server_no_context_takeover). */
function inflate(payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
}

/** A compressed text or binary message in one frame, RSV1 set. */
function compressedFrame(opcode: number, data: string | Buffer): Buffer {
  return clientFrame(opcode, deflate(data), { rsv: RSV1 });
}

async function expectFailure(t: Tap, c: RawClient, server: TestServer, code: number, what: string): Promise<void> {
  const close = await c.nextClose();
  t.equal(close?.code, code, `${what}: Close ${code}`);
  await waitFor(c.closedTcp, 'TCP to close');
  t.match(await (await server.channel()).closed, { code }, `${what}: closed reports ${code}`);
}

t.test('with deflate on, an offer is answered with Sec-WebSocket-Extensions and compressed messages echo both ways', async (t) => {
  const server = await setup(t, { threshold: 100 });
  const c = await client(t, server, 'permessage-deflate; server_no_context_takeover; client_max_window_bits');
  t.equal(c.response.headers['sec-websocket-extensions'], 'permessage-deflate; server_no_context_takeover');
  const big = 'κόσμε '.repeat(200);
  await c.write(compressedFrame(OP.TEXT, big));
  const echoed = (await c.nextFrame())!;
  t.match(echoed, { opcode: OP.TEXT, fin: true, rsv: RSV1 }, 'a large reply goes out compressed, RSV1 on its frame');
  t.ok(echoed.payload.length < Buffer.byteLength(big) / 10, `compressed to ${echoed.payload.length} bytes`);
  t.equal(inflate(echoed.payload).toString(), big);
  await c.write(compressedFrame(OP.TEXT, 'small'));
  t.match(await c.nextFrame(), { opcode: OP.TEXT, rsv: 0, payload: Buffer.from('small') }, 'under the threshold: uncompressed, RSV1 clear');
  await c.write(clientFrame(OP.BINARY, Buffer.alloc(500, 3)));
  const bin = (await c.nextFrame())!;
  t.match(bin, { opcode: OP.BINARY, rsv: RSV1 }, 'an uncompressed message from the peer may be answered compressed');
  t.same(inflate(bin.payload), Buffer.alloc(500, 3));
  await c.write(compressedFrame(OP.BINARY, Buffer.alloc(0)));
  t.match(await c.nextFrame(), { opcode: OP.BINARY, rsv: 0, payload: Buffer.alloc(0) }, 'an empty compressed message');
});

t.test('deflate is off by default, and a client that does not offer it gets none', async (t) => {
  const off = await startServer({ limits: FAST });
  t.teardown(() => off.close());
  const c1 = await client(t, off);
  t.notOk('sec-websocket-extensions' in c1.response.headers, 'off by default');
  const on = await setup(t);
  const c2 = await openClient(on.port);
  t.teardown(() => c2.destroy());
  t.notOk('sec-websocket-extensions' in c2.response.headers, 'not offered: not answered');
  await c2.write(clientFrame(OP.TEXT, 'x', { rsv: RSV1 }));
  t.equal((await c2.nextClose())?.code, 1002, 'then RSV1 stays a protocol error (RFC 6455 §5.2)');
  const c3 = await client(t, on, 'permessage-deflate; foo');
  t.notOk('sec-websocket-extensions' in c3.response.headers, 'an offer it cannot honour is declined; the handshake still succeeds');
});

t.test('RSV1 rules (RFC 7692 §6): 1002 on a control frame, on a continuation frame, and for RSV2/RSV3', async (t) => {
  const cases: [string, Buffer][] = [
    ['RSV1 on a ping', clientFrame(OP.PING, 'x', { rsv: RSV1 })],
    ['RSV1 on a Close', clientFrame(OP.CLOSE, closePayload(1000), { rsv: RSV1 })],
    ['RSV1 on a continuation frame', Buffer.concat([clientFrame(OP.TEXT, deflate('Hello').subarray(0, 3), { rsv: RSV1, fin: false }), clientFrame(OP.CONT, deflate('Hello').subarray(3), { rsv: RSV1 })])],
    ['RSV2', clientFrame(OP.TEXT, 'x', { rsv: 2 })],
    ['RSV3 with RSV1', clientFrame(OP.TEXT, 'x', { rsv: 5 })],
  ];
  for (const [what, bytes] of cases) {
    await t.test(what, async (t) => {
      const server = await setup(t);
      const c = await client(t, server);
      await c.write(bytes);
      await expectFailure(t, c, server, 1002, what);
    });
  }
});

t.test('a fragmented compressed message (RSV1 on its first frame only) is inflated whole', async (t) => {
  const server = await setup(t, { threshold: 1_000_000 });
  const c = await client(t, server);
  const payload = deflate('Hello, fragmented world');
  await c.write(Buffer.concat([
    clientFrame(OP.TEXT, payload.subarray(0, 3), { rsv: RSV1, fin: false }),
    clientFrame(OP.PING, 'between'),
    clientFrame(OP.CONT, payload.subarray(3, 9), { fin: false }),
    clientFrame(OP.CONT, payload.subarray(9)),
  ]));
  t.match(await c.nextFrame(), { opcode: OP.PONG, payload: Buffer.from('between') });
  t.match(await c.nextFrame(), { opcode: OP.TEXT, rsv: 0, payload: Buffer.from('Hello, fragmented world') });
});

t.test('a zip bomb fails with 1009 while inflating, and server memory stays bounded', async (t) => {
  const server = await setup(t, true, { limits: { maxMessageSize: 1 << 20 } });
  const c = await client(t, server);
  // 256 MiB of zeros: about 256 KiB on the wire, under the limit; 256 times over it inflated.
  const bomb = deflate(Buffer.alloc(256 << 20));
  t.ok(bomb.length < 1 << 20, `${bomb.length} bytes on the wire`);
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 1);
  await c.write(clientFrame(OP.BINARY, bomb, { rsv: RSV1 }));
  await expectFailure(t, c, server, 1009, 'zip bomb');
  clearInterval(sampler);
  t.ok(peak < 32 << 20, `external memory grew by at most ${(peak / 2 ** 20).toFixed(1)} MiB (inflated, the bomb is 256 MiB)`);
});

t.test('a bad DEFLATE stream fails with 1007; so does invalid UTF-8 once inflated', async (t) => {
  await t.test('not DEFLATE', async (t) => {
    const server = await setup(t);
    const c = await client(t, server);
    await c.write(clientFrame(OP.BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: RSV1 }));
    await expectFailure(t, c, server, 1007, 'bad stream');
  });
  await t.test('inflated text that is not UTF-8', async (t) => {
    const server = await setup(t);
    const c = await client(t, server);
    await c.write(compressedFrame(OP.TEXT, Buffer.from([0x68, 0xc3, 0x28])));
    await expectFailure(t, c, server, 1007, 'bad UTF-8');
  });
});

t.test('order is kept around compressed messages: replies in the order received, a failure after them still waits for their replies', async (t) => {
  await t.test('compressed, plain, ping, compressed in one write', async (t) => {
    const server = await setup(t, { threshold: 1_000_000 });
    const c = await client(t, server);
    await c.write(Buffer.concat([compressedFrame(OP.TEXT, 'one'), clientFrame(OP.TEXT, 'two'), clientFrame(OP.PING, 'p'), compressedFrame(OP.BINARY, Buffer.from('three'))]));
    const frames: ServerFrame[] = [];
    for (let i = 0; i < 4; i++) frames.push((await c.nextFrame())!);
    const data = frames.filter((f) => f.opcode !== OP.PONG);
    t.same(data.map((f) => [f.opcode, f.payload.toString()]), [[OP.TEXT, 'one'], [OP.TEXT, 'two'], [OP.BINARY, 'three']], 'the messages in order');
    t.equal(frames.filter((f) => f.opcode === OP.PONG).length, 1, 'the ping answered (a control frame may come between them, §5.4)');
  });
  await t.test('replies compressed by the server keep the order the handler sent them in', async (t) => {
    const sizes = [5000, 10, 3000, 1, 70_000, 0];
    const server = await setup(t, { threshold: 100 }, {
      routes: {
        '*': async (channel: Channel) => {
          for (const n of sizes) void channel.send('x'.repeat(n));
          await channel.closed;
        },
      },
    });
    const c = await client(t, server, 'permessage-deflate; server_no_context_takeover');
    const got: number[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const f = (await c.nextFrame())!;
      got.push(f.rsv === RSV1 ? inflate(f.payload).length : f.payload.length);
    }
    t.same(got, sizes);
  });
  await t.test('a compressed message, then a broken frame: the echo, then Close 1002', async (t) => {
    const server = await setup(t, { threshold: 0 });
    const c = await client(t, server, 'permessage-deflate; server_no_context_takeover');
    await c.write(Buffer.concat([compressedFrame(OP.TEXT, 'good'), clientFrame(0x3, 'bad')]));
    const reply = (await c.nextFrame())!;
    t.equal(inflate(reply.payload).toString(), 'good', 'the reply went out first (compressed)');
    t.equal((await c.nextClose())?.code, 1002);
  });
  await t.test('a compressed message, then a Close: the message is delivered before the Close is handled', async (t) => {
    const got: string[] = [];
    const server = await setup(t, { threshold: 0 }, {
      routes: {
        '*': async (channel: Channel) => {
          for await (const m of channel) got.push(String(m));
        },
      },
    });
    const c = await client(t, server, 'permessage-deflate; server_no_context_takeover');
    await c.write(Buffer.concat([compressedFrame(OP.TEXT, 'last words'), clientFrame(OP.CLOSE, closePayload(1000))]));
    t.equal((await c.nextClose())?.code, 1000);
    await (await server.channel()).closed;
    t.same(got, ['last words']);
  });
});

t.test('context takeover: the server\'s second identical message refers to the first; with server_no_context_takeover it does not', async (t) => {
  const server = await setup(t, { threshold: 0 });
  const shared = await client(t, server);
  const fresh = await client(t, server, 'permessage-deflate; server_no_context_takeover');
  const text = 'the same message, twice, long enough to compress';
  for (const c of [shared, fresh]) {
    await c.write(compressedFrame(OP.TEXT, text));
    await c.write(compressedFrame(OP.TEXT, text));
  }
  const [s1, s2] = [(await shared.nextFrame())!, (await shared.nextFrame())!];
  t.ok(s2.payload.length < s1.payload.length / 2, `shared window: ${s1.payload.length} then ${s2.payload.length} bytes`);
  const [f1, f2] = [(await fresh.nextFrame())!, (await fresh.nextFrame())!];
  t.same(f1.payload, f2.payload, 'no takeover: each message compressed alone');
  t.equal(inflate(f2.payload).toString(), text);
});

/** A Connection with permessage-deflate agreed (defaults), its hooks open to the test. */
class DeflateConnection extends Connection {
  onMessage: (data: string | Buffer) => void = () => {};
  #resolveClosed!: (info: CloseInfo) => void;
  readonly closedInfo = new Promise<CloseInfo>((resolve) => (this.#resolveClosed = resolve));
  constructor(socket: Socket) {
    const params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
    super(socket, { limits: resolveLimits({ heartbeatInterval: 0, closeTimeout: 100 }), deflate: new PerMessageDeflate(params, resolveDeflateOptions()) });
  }
  protected override handleMessage(data: Buffer, text: boolean): void {
    this.onMessage(text ? data.toString('utf8') : data);
  }
  protected override handleDrain(): void {}
  protected override handleClose(info: CloseInfo): void {
    this.#resolveClosed(info);
  }
}

t.test('an exception in a hook on an inflated message fails the connection with 1011, and does not escape into zlib', async (t) => {
  const { peer, socket } = await socketPair(t);
  const connection = new DeflateConnection(socket);
  connection.onMessage = () => {
    throw new Error('a bug in the subclass');
  };
  peer.write(compressedFrame(OP.TEXT, 'hello'));
  t.match(await waitFor(connection.closedInfo, 'closed'), { code: 1011, reason: 'internal error' });
});

t.test('a large message waiting to be compressed counts as unsent, and once it is out reading resumes (sendHighWaterMark)', async (t) => {
  const server = await setup(t, { threshold: 100 }, {
    limits: { sendHighWaterMark: 64 * 1024 },
    routes: {
      '*': async (channel: Channel) => {
        for await (const m of channel) {
          if (m === 'go') {
            void channel.send('small first');
            await channel.send('x'.repeat(200_000)); // over the mark while it is compressed, tiny once compressed
          } else await channel.send(m);
        }
      },
    },
  });
  const c = await client(t, server, 'permessage-deflate; server_no_context_takeover');
  await c.write(clientFrame(OP.TEXT, 'go'));
  t.match(await c.nextFrame(), { rsv: 0, payload: Buffer.from('small first') });
  const big = (await c.nextFrame())!;
  t.equal(inflate(big.payload).length, 200_000);
  await c.write(clientFrame(OP.TEXT, 'still read?'));
  t.match(await c.nextFrame(), { payload: Buffer.from('still read?') }, 'the next message is read and echoed');
});

t.test('after a failure found while inflating, the server reads on to see the peer\'s FIN: TCP closes without waiting for closeTimeout', async (t) => {
  const server = await setup(t, true, { limits: { closeTimeout: 60_000 } });
  const c = await client(t, server);
  // The bad message, then more than a paused socket buffers (Node stops reading a paused socket at 16 KiB).
  await c.write(Buffer.concat([clientFrame(OP.BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: RSV1 }), clientFrame(OP.BINARY, Buffer.alloc(256 * 1024))]));
  t.equal((await c.nextClose())?.code, 1007);
  // The raw client ends its side when the server ends its own; the server must read through to that FIN.
  t.match(await waitFor((await server.channel()).closed, 'the connection to close (not the 60 s close timeout)'), { code: 1007 });
});
