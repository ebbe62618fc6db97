/**
 * Behaviour the performance work must keep: the fast paths (word-wise
 * masking, in-place parsing of any chunking, joined writes, lazily made
 * per-connection state) give exactly what the plain definitions give.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import type { Channel } from '../../lib/websocket/channel.js';
import { encodeFrame, Opcode } from '../../lib/websocket/frame.js';
import { ANY_PATH, WebSocketRouter, type ChannelHandler, type CloseInfo, type RouterOptions } from '../../lib/websocket/index.js';
import { applyMask } from '../../lib/websocket/mask.js';
import { Receiver } from '../../lib/websocket/receiver.js';

/** §5.3 as written: octet i XOR octet (i mod 4) of the key. */
function referenceMask(data: Uint8Array, key: Uint8Array, phase: number): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key[(i + phase) % 4]!;
}

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

t.test('applyMask equals §5.3 byte by byte for every length, alignment and phase', async (t) => {
  const random = prng(7);
  const key = Uint8Array.from([0x9b, 0x01, 0xf7, 0x3c]);
  const lengths = [...Array.from({ length: 80 }, (_, i) => i), 127, 128, 1000, 4099, 65_537];
  let checked = 0;
  for (const length of lengths) {
    for (let offset = 0; offset < 8; offset++) {
      for (let phase = 0; phase < 4; phase++) {
        const original = new Uint8Array(length + 8);
        for (let i = 0; i < original.length; i++) original[i] = (random() * 256) | 0;
        const fast = original.slice();
        const slow = original.slice();
        applyMask(new Uint8Array(fast.buffer, offset, length), key, phase);
        referenceMask(new Uint8Array(slow.buffer, offset, length), key, phase);
        // Equal everywhere, so bytes around the view are untouched too.
        if (!Buffer.from(fast).equals(Buffer.from(slow))) {
          t.fail(`length ${length}, byteOffset ${offset}, phase ${phase}`);
          return;
        }
        checked++;
      }
    }
  }
  t.pass(`${checked} cases`);
});

t.test('a payload unmasked in slices equals one unmasked whole', async (t) => {
  const random = prng(11);
  const key = Uint8Array.from([1, 2, 3, 250]);
  const payload = Uint8Array.from({ length: 5000 }, () => (random() * 256) | 0);
  const whole = payload.slice();
  referenceMask(whole, key, 0);
  const sliced = payload.slice();
  let done = 0;
  while (done < sliced.length) {
    const take = Math.min(sliced.length - done, 1 + ((random() * 97) | 0));
    applyMask(sliced.subarray(done, done + take), key, done & 3);
    done += take;
  }
  t.same(Buffer.from(sliced), Buffer.from(whole));
});

// ---- the receiver over any chunking -------------------------------------------

const KEY = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
const masked = (opcode: number, payload: Uint8Array | string, fin = true): Buffer =>
  encodeFrame(opcode, payload, { fin, maskKey: KEY });

/** A client's byte stream that exercises every path of the parser. */
function sampleStream(): Buffer {
  const big = Buffer.alloc(70_000, 0x5a);
  big.writeUInt32BE(0xdeadbeef, 1000);
  const snowman = Buffer.from('a☃b', 'utf8'); // ☃ is three bytes: split it between two frames
  return Buffer.concat([
    masked(Opcode.BINARY, Buffer.alloc(0)),
    masked(Opcode.BINARY, Buffer.from([1])),
    masked(Opcode.TEXT, 'héllo wörld 🌍'),
    masked(Opcode.BINARY, Buffer.alloc(125, 1)),
    masked(Opcode.BINARY, Buffer.alloc(126, 2)),
    masked(Opcode.BINARY, Buffer.alloc(65_535, 3)),
    masked(Opcode.BINARY, big),
    masked(Opcode.TEXT, snowman.subarray(0, 2), false),
    masked(Opcode.PING, 'in the middle'),
    masked(Opcode.CONTINUATION, snowman.subarray(2)),
    masked(Opcode.BINARY, Buffer.from('one '), false),
    masked(Opcode.CONTINUATION, Buffer.alloc(0), false),
    masked(Opcode.PONG, Buffer.alloc(0)),
    masked(Opcode.CONTINUATION, Buffer.from('two three')),
    ...Array.from({ length: 50 }, (_, i) => masked(Opcode.BINARY, Buffer.alloc(64, i))),
    masked(Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
  ]);
}

type Event = [string, string];

/** Feeds the stream cut at the given sizes; returns the events, read only after the last push. */
function parse(stream: Buffer, cut: () => number): Event[] {
  const kept: [string, string | Buffer, boolean?][] = [];
  const receiver = new Receiver(
    {
      onMessage: (data, text) => kept.push(['message', data, text]),
      onPing: (payload) => kept.push(['ping', payload]),
      onPong: (payload) => kept.push(['pong', payload]),
      onClose: (code, reason) => kept.push(['close', `${code} ${reason}`]),
    },
    { expectMasked: true, maxMessageSize: 1 << 20 },
  );
  const bytes = Buffer.from(stream); // unmasking happens in place
  for (let pos = 0; pos < bytes.length; ) {
    const size = Math.max(1, cut());
    receiver.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  // Converted only now: a message must not change when later chunks are parsed.
  return kept.map(([kind, data, text]) => {
    if (kind === 'close') return [kind, data as string];
    return [kind, text === true ? `text:${data.toString()}` : `binary:${data.toString('hex')}`];
  });
}

t.test('the receiver gives the same events however the bytes are cut', async (t) => {
  const stream = sampleStream();
  const whole = parse(stream, () => stream.length);
  t.equal(whole.filter(([kind]) => kind === 'message').length, 59);
  t.same(whole.at(-1), ['close', '1000 bye']);
  t.same(whole.find(([, d]) => d.startsWith('text:a')), ['message', 'text:a☃b']);
  t.same(parse(stream, () => 1), whole, 'one byte at a time');
  for (const seed of [1, 2, 3]) {
    const random = prng(seed);
    t.same(parse(stream, () => 1 + ((random() * 3000) | 0)), whole, `random cuts, seed ${seed}`);
  }
  t.same(parse(stream, () => 65_536), whole, 'cuts of 64 KiB like a socket');
});

// ---- whole connections ----------------------------------------------------------

const echo: ChannelHandler = async (channel) => {
  for await (const message of channel) await channel.send(message);
};

/** Just what serve() needs of a tap test. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

async function serve(t: Teardown, handler: ChannelHandler, options: RouterOptions = {}): Promise<{ url: string; router: WebSocketRouter }> {
  const router = new WebSocketRouter(options).route(ANY_PATH, handler);
  const server = createServer((_req, res) => res.end());
  router.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  t.teardown(async () => {
    server.close();
    await router.closeAll();
  });
  return { url: `ws://127.0.0.1:${address.port}/`, router };
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  return ws;
}

t.test('many pipelined messages of every size come back whole and in order', async (t) => {
  const { url } = await serve(t, echo);
  const ws = await open(url);
  const sizes = [0, 1, 64, 125, 126, 127, 1000, 16_383, 16_384, 16_385, 65_535, 65_536, 70_000];
  const sent: (string | Buffer)[] = [];
  for (let i = 0; i < 400; i++) {
    const size = sizes[i % sizes.length]!;
    sent.push(i % 2 === 0 ? Buffer.alloc(size, i & 0xff) : 'é'.repeat(size >> 1) + String(i));
  }
  const received: (string | Buffer)[] = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer, isBinary) => {
      received.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
      if (received.length === sent.length) resolve();
    });
  });
  for (const message of sent) ws.send(message);
  await done;
  t.equal(received.length, sent.length);
  const mismatch = received.findIndex((m, i) => (typeof m === 'string' ? m !== sent[i] : !m.equals(sent[i] as Buffer)));
  t.equal(mismatch, -1, 'every message equal to the one sent');
  ws.close();
  await once(ws, 'close');
});

t.test('a connection that never sends a frame closes cleanly', async (t) => {
  let closed: Promise<CloseInfo> | undefined;
  const { url } = await serve(t, async (channel) => {
    closed = channel.closed;
    await channel.receive();
  });
  const ws = await open(url);
  ws.close(1000, 'bye');
  const [code] = (await once(ws, 'close')) as [number];
  t.equal(code, 1000);
  t.match(await closed, { code: 1000, reason: 'bye', wasClean: true });
});

t.test('a peer that leaves without a frame is reported as 1006', async (t) => {
  const ready: { resolve?: (c: Channel) => void } = {};
  const channelP = new Promise<Channel>((resolve) => (ready.resolve = resolve));
  const { url } = await serve(t, async (channel) => {
    ready.resolve!(channel);
    await channel.receive();
  });
  const ws = await open(url);
  const channel = await channelP;
  ws.terminate();
  t.match(await channel.closed, { code: 1006, wasClean: false });
  t.equal(await channel.receive(), null);
  t.equal(await channel.send('late'), false);
});

t.test('pending receive() calls are served in order; a close ends them and the iterator', async (t) => {
  let results: Promise<unknown[]> | undefined;
  const { url } = await serve(t, async (channel) => {
    const iterator = channel[Symbol.asyncIterator]();
    // Four readers wait before any message arrives.
    results = Promise.all([channel.receive(), channel.receive(), iterator.next(), channel.receive()]);
    await results;
  });
  const ws = await open(url);
  ws.send('one');
  ws.send('two');
  ws.send('three');
  ws.close(1000);
  await once(ws, 'close');
  t.same(await results, ['one', 'two', { done: false, value: 'three' }, null]);
});

t.test('a handler that throws closes with 1011 and the hook gets the request', async (t) => {
  const seen: string[] = [];
  const { url } = await serve(
    t,
    async () => {
      throw new Error('boom');
    },
    { onHandlerError: (error, req) => seen.push(`${(error as Error).message} ${req.url}`) },
  );
  const ws = new WebSocket(url + 'some/path?q=1');
  const [code] = (await once(ws, 'close')) as [number];
  t.equal(code, 1011);
  t.same(seen, ['boom /some/path?q=1']);
});

/** A raw client: upgrade, then hand back the socket and the bytes after the 101. */
async function rawClient(url: string): Promise<{ socket: Socket; frames: () => Buffer }> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (buffered = Buffer.concat([buffered, chunk])));
  socket.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  while (!buffered.includes('\r\n\r\n')) await once(socket, 'data');
  const start = buffered.indexOf('\r\n\r\n') + 4;
  return { socket, frames: () => buffered.subarray(start) };
}

t.test('a silent peer that never sent a byte is pinged, then dropped', async (t) => {
  const { url } = await serve(t, echo, { limits: { heartbeatInterval: 100 } });
  const { socket, frames } = await rawClient(url);
  await once(socket, 'close');
  const bytes = frames();
  t.ok(bytes.length >= 2, 'a frame arrived before the drop');
  t.equal(bytes[0], 0x80 | Opcode.PING, 'that frame is a ping');
});

t.test('frames sent in one tick leave in one write, in order', async (t) => {
  const { url } = await serve(t, async (channel) => {
    await channel.receive();
    for (let i = 0; i < 5; i++) void channel.send(Buffer.from([i]));
    void channel.send('end');
    await channel.receive();
  });
  const { socket, frames } = await rawClient(url);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(masked(Opcode.TEXT, 'go'));
  const expected = Buffer.concat([
    ...Array.from({ length: 5 }, (_, i) => encodeFrame(Opcode.BINARY, Buffer.from([i]))),
    encodeFrame(Opcode.TEXT, 'end'),
  ]);
  while (frames().length < expected.length) await once(socket, 'data');
  t.same(frames(), expected);
  t.equal(chunks.length, 1, 'one TCP segment: the frames were joined');
  socket.end(masked(Opcode.CLOSE, Buffer.from([0x03, 0xe8])));
  await once(socket, 'close');
});

t.test('a reader far behind gets every queued message, in order', async (t) => {
  const count = 5000;
  let got: string[] = [];
  const { url } = await serve(t, async (channel) => {
    // Let the messages pile up, then take them one at a time with a turn of the event loop between.
    while ((await channel.receive()) !== 'start');
    const taken: string[] = [];
    for (let i = 0; i < count; i++) {
      taken.push((await channel.receive()) as string);
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    got = taken;
    await channel.send('done');
  });
  const ws = await open(url);
  ws.send('start');
  for (let i = 0; i < count; i++) ws.send(`message ${i}`);
  const [reply] = (await once(ws, 'message')) as [Buffer];
  t.equal(reply.toString(), 'done');
  t.equal(got.length, count);
  t.equal(got.findIndex((m, i) => m !== `message ${i}`), -1, 'all in order');
  ws.close();
  await once(ws, 'close');
});
