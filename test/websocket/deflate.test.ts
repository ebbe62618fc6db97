import t from 'tap';
import { randomBytes } from 'node:crypto';
import { constants, deflateRawSync, inflateRawSync as rawInflateSync } from 'node:zlib';
import type { DeflateParams } from '../../lib/websocket/deflate-offer.js';
import { resolveDeflateOptions } from '../../lib/websocket/deflate-offer.js';
import { ContextPool, DEFLATE_TAIL, Limiter, PerMessageDeflate, type OutFrame } from '../../lib/websocket/deflate.js';
import { createDeflateRaw, createInflateRaw } from 'node:zlib';
import type { ProtocolError } from '../../lib/websocket/errors.js';
import { RSV1_BIT } from '../../lib/websocket/frame.js';
import { Utf8Validator } from '../../lib/websocket/utf8.js';

const TAKEOVER: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const NO_TAKEOVER: DeflateParams = { ...TAKEOVER, serverNoContextTakeover: true, clientNoContextTakeover: true };

function codec(t: { teardown(fn: () => void): void }, params: DeflateParams = TAKEOVER, threshold = 0): PerMessageDeflate {
  const c = new PerMessageDeflate(params, resolveDeflateOptions({ threshold }));
  t.teardown(() => c.close());
  return c;
}

type Outcome = { error: ProtocolError | null; payload: Buffer };

function inflate(c: PerMessageDeflate, bytes: number[] | Buffer, maxSize = 1 << 20, text = false): Promise<Outcome> {
  return new Promise((resolve) => c.decompress(Buffer.from(bytes), maxSize, text ? new Utf8Validator() : null, (error, payload) => resolve({ error, payload })));
}

function compress(c: PerMessageDeflate, data: Uint8Array | string): Promise<Buffer> {
  return new Promise((resolve, reject) => c.compress(Buffer.from(data), (error, payload) => (error ? reject(error) : resolve(payload))));
}

const hex = (b: Buffer): string => b.toString('hex');

/** Plain zlib on a message without a final block: flush what there is rather than wait for the end. */
const inflateRawSync = (bytes: Buffer): Buffer => rawInflateSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });

t.test('RFC 7692 §7.2.3.1: "Hello" in one compressed block, and the same split over two fragments', async (t) => {
  const c = codec(t, NO_TAKEOVER);
  const out = await compress(c, 'Hello');
  t.equal(hex(out), 'f248cdc9c90700', 'compressed: 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00 (the 4-byte tail removed)');
  t.equal((await inflate(c, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).payload.toString(), 'Hello');
  // The fragmented example (0x41 0x03 0xf2 0x48 0xcd, then 0x80 0x04 0xc9 0xc9 0x07 0x00): the receiver joins the fragments' payloads.
  t.equal((await inflate(c, Buffer.concat([Buffer.from([0xf2, 0x48, 0xcd]), Buffer.from([0xc9, 0xc9, 0x07, 0x00])]))).payload.toString(), 'Hello');
});

t.test('RFC 7692 §7.2.3.2: with context takeover the second "Hello" refers to the first (0xf2 0x00 0x11 0x00 0x00)', async (t) => {
  const c = codec(t, TAKEOVER);
  t.equal(hex(await compress(c, 'Hello')), 'f248cdc9c90700');
  t.equal(hex(await compress(c, 'Hello')), 'f200110000', 'the shared-window form');
  t.equal((await inflate(c, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).payload.toString(), 'Hello');
  t.equal((await inflate(c, [0xf2, 0x00, 0x11, 0x00, 0x00])).payload.toString(), 'Hello', 'inflated with the window of the first');
});

t.test('without context takeover each message stands alone: the second "Hello" compresses like the first, and a back-reference fails with 1007', async (t) => {
  const c = codec(t, NO_TAKEOVER);
  t.equal(hex(await compress(c, 'Hello')), 'f248cdc9c90700');
  t.equal(hex(await compress(c, 'Hello')), 'f248cdc9c90700', 'server_no_context_takeover: a fresh compressor');
  t.equal((await inflate(c, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).payload.toString(), 'Hello');
  const second = await inflate(c, [0xf2, 0x00, 0x11, 0x00, 0x00]);
  t.match(second.error, { closeCode: 1007 }, 'client_no_context_takeover: the window was reset, the reference is invalid');
});

t.test('RFC 7692 §7.2.3.3: a DEFLATE block with no compression', async (t) => {
  const c = codec(t);
  t.equal((await inflate(c, [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00])).payload.toString(), 'Hello');
});

t.test('RFC 7692 §7.2.3.4: a block with BFINAL set; the next message still inflates', async (t) => {
  const c = codec(t);
  t.equal((await inflate(c, [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])).payload.toString(), 'Hello');
  t.equal((await inflate(c, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).payload.toString(), 'Hello', 'a fresh context after the stream ended');
});

t.test('RFC 7692 §7.2.3.5: two DEFLATE blocks in one message', async (t) => {
  const c = codec(t);
  t.equal((await inflate(c, [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00])).payload.toString(), 'Hello');
});

t.test('an empty message: compressed to one byte, inflated to nothing', async (t) => {
  const c = codec(t);
  await compress(c, 'a');
  const empty = await compress(c, '');
  t.ok(empty.length >= 1, 'never an empty payload');
  t.equal((await inflate(c, [0x00])).payload.length, 0, '0x00 + tail is an empty stored block');
  t.equal((await inflate(c, [])).payload.length, 0, 'an empty payload inflates to nothing too');
});

t.test('round trips: binary, multibyte text, 64 KiB, incompressible; what we send inflates with plain zlib', async (t) => {
  const c = codec(t);
  const samples = [Buffer.from('κόσμε 🎉'.repeat(100)), Buffer.alloc(65536, 'ab'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251))];
  for (const sample of samples) {
    const out = await compress(c, sample);
    t.same((await inflate(c, out)).payload, sample, `${sample.length} bytes`);
  }
  const fresh = codec(t, NO_TAKEOVER);
  const out = await compress(fresh, samples[0]!);
  t.same(inflateRawSync(Buffer.concat([out, DEFLATE_TAIL])), samples[0], 'standard raw DEFLATE once the tail is back');
});

t.test('an inflated message over maxSize fails with 1009 while inflating, holding little more than the limit', async (t) => {
  const c = codec(t);
  // 64 MiB of zeros compress to ~64 KiB: a zip bomb against a 1 MiB limit.
  const bomb = deflateRawSync(Buffer.alloc(64 << 20), { level: 9 });
  t.ok(bomb.length < 100_000, `${bomb.length} bytes on the wire`);
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 1);
  const outcome = await inflate(c, bomb, 1 << 20);
  clearInterval(sampler);
  t.match(outcome.error, { closeCode: 1009 });
  t.ok(peak < 16 << 20, `external memory grew by at most ${peak} bytes while inflating (the bomb is 64 MiB)`);
  t.equal(outcome.payload.length, 0, 'nothing delivered');
  const exact = await inflate(codec(t), deflateRawSync(Buffer.alloc(1000)), 1000);
  t.equal(exact.payload.length, 1000, 'exactly the limit passes');
});

t.test('bad DEFLATE data fails with 1007', async (t) => {
  for (const bytes of [[0xff, 0xff, 0xff], [0x07], [0xf2, 0x00, 0x11, 0x00, 0x00]]) {
    t.match((await inflate(codec(t), bytes)).error, { closeCode: 1007 }, Buffer.from(bytes).toString('hex'));
  }
});

t.test('inflated text is checked as UTF-8 as it comes: 1007 at the first bad chunk, and for a cut character at the end', async (t) => {
  const bad = Buffer.concat([Buffer.alloc(200_000, 'a'), Buffer.from([0xff]), Buffer.alloc(10 << 20, 'a')]);
  const outcome = await inflate(codec(t), deflateRawSync(bad), 64 << 20, true);
  t.match(outcome.error, { closeCode: 1007 });
  t.match((await inflate(codec(t), deflateRawSync(Buffer.from([0x61, 0xe2, 0x82])), 1000, true)).error, { closeCode: 1007 }, 'ends inside a character');
  t.equal((await inflate(codec(t), deflateRawSync(Buffer.from('κόσμε')), 1000, true)).payload.toString(), 'κόσμε');
});

t.test('send(): frames leave in order, compressed ones marked RSV1, small ones and control frames as they are', async (t) => {
  const c = new PerMessageDeflate(TAKEOVER, resolveDeflateOptions({ threshold: 100 }));
  t.teardown(() => c.close());
  const out: { opcode: number; data: string | Uint8Array; original: Uint8Array | undefined }[] = [];
  c.attach((opcode, data, original) => out.push({ opcode, data, original }));
  const frames: OutFrame[] = [
    { opcode: 0x1, data: 'small', length: 5 },
    { opcode: 0x1, data: 'x'.repeat(1000), length: 1000 },
    { opcode: 0x9, data: Buffer.from('ping'), length: 4 },
    { opcode: 0x2, data: Buffer.alloc(10), length: 10 },
    { opcode: 0x2, data: Buffer.alloc(5000, 1), length: 5000 },
  ];
  for (const frame of frames) c.send(frame);
  t.equal(out.length, 1, 'the first (small) frame went at once');
  t.ok(c.busy, 'then a compression is in flight');
  t.equal(c.queuedBytes, 1000 + 4 + 10 + 5000, 'the queued bytes count as buffered');
  await new Promise<void>((resolve) => c.whenIdle(resolve));
  t.same(out.map((f) => f.opcode), [0x1, 0x1 | RSV1_BIT, 0x9, 0x2, 0x2 | RSV1_BIT], 'in order; RSV1 on the large data frames only');
  t.equal(inflateRawSync(Buffer.concat([out[1]!.data as Buffer, DEFLATE_TAIL])).toString(), 'x'.repeat(1000));
  t.equal(out[1]!.original?.length, 1000, 'the original bytes, for the trace');
  t.equal(c.queuedBytes, 0);
  t.notOk(c.busy);
});

t.test('close() ends what is in flight and frees its slot in the limiter', async (t) => {
  const c = new PerMessageDeflate(TAKEOVER, resolveDeflateOptions({ threshold: 0, concurrency: 1 }));
  const results: (ProtocolError | null)[] = [];
  c.compress(Buffer.alloc(1 << 20, 'a'), (error) => results.push(error));
  c.close();
  t.match(results, [{ closeCode: 1011 }], 'the compression in flight ended');
  const other = codec(t);
  // Same concurrency (1): the slot must be free for this one to finish at all.
  const again = new PerMessageDeflate(TAKEOVER, resolveDeflateOptions({ threshold: 0, concurrency: 1 }));
  t.teardown(() => again.close());
  t.equal((await compress(again, 'Hello')).length, 7, 'a later job still runs');
  t.ok(other);
});

t.test('trim(): a compressor unused for a whole heartbeat interval is freed; the peer, keeping its window, still inflates what follows', async (t) => {
  const server = codec(t, TAKEOVER);
  const peer = codec(t, TAKEOVER); // stands for the client's inflater, with context takeover
  t.equal((await inflate(peer, await compress(server, 'Hello'))).payload.toString(), 'Hello');
  server.trim();
  t.ok(server.holdsCompressor, 'used in this interval: kept');
  server.trim();
  t.notOk(server.holdsCompressor, 'unused for a whole interval: freed');
  const again = await compress(server, 'Hello');
  t.equal(hex(again), 'f248cdc9c90700', 'a fresh compressor: no back-reference');
  t.equal((await inflate(peer, again)).payload.toString(), 'Hello', 'valid for an inflater that kept its window');
  t.equal((await inflate(peer, await compress(server, 'Hello'))).payload.toString(), 'Hello', 'and takeover goes on from there');
});

t.test('without context takeover, contexts come from a shared pool of at most concurrency contexts', async (t) => {
  const a = codec(t, NO_TAKEOVER);
  const b = codec(t, NO_TAKEOVER);
  for (let i = 0; i < 20; i++) {
    t.equal(hex(await compress(i % 2 ? a : b, 'Hello')), 'f248cdc9c90700', `message ${i}: a reset context`);
  }
  t.notOk(a.holdsCompressor, 'no connection holds one of its own');
  let made = 0;
  const pool = new ContextPool(2, () => (made++, createDeflateRaw()));
  const [x, y, z] = [pool.take(), pool.take(), pool.take()];
  pool.give(x);
  pool.give(y);
  pool.give(z);
  t.equal(pool.size, 2, 'at most max wait; the third was closed');
  pool.take();
  pool.take();
  t.equal(made, 3, 'taken again rather than made');
  t.ok(z.destroyed, 'closed');
});

t.test('Limiter: at most limit jobs at once, the rest in order', async (t) => {
  const limiter = new Limiter(2);
  const started: number[] = [];
  const dones: (() => void)[] = [];
  for (let i = 0; i < 5; i++) limiter.run((done) => (started.push(i), dones.push(done)));
  t.same(started, [0, 1]);
  t.equal(limiter.running, 2);
  dones[0]!();
  t.same(started, [0, 1, 2]);
  dones[1]!();
  dones[2]!();
  t.same(started, [0, 1, 2, 3, 4]);
  dones[3]!();
  dones[4]!();
  t.equal(limiter.running, 0);
});

/** A client's compressor: each message sync-flushed, the 4-byte tail removed (§7.2.1). */
async function peerMessages(messages: Buffer[], windowBits = 15, finalAt = -1): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let parts: Buffer[] = [];
  const make = () => createDeflateRaw({ windowBits, flush: constants.Z_SYNC_FLUSH }).on('data', (chunk: Buffer) => parts.push(chunk));
  let deflate = make();
  for (let i = 0; i < messages.length; i++) {
    if (i === finalAt) {
      // BFINAL (§7.2.3.4): this message ends the stream; the next starts a fresh one.
      const ended = new Promise((resolve) => deflate.once('end', resolve)); // all its output read
      deflate.end(messages[i]);
      await ended;
      out.push(Buffer.concat(parts));
      deflate = make();
    } else {
      await new Promise<void>((resolve) => deflate.write(messages[i], () => resolve()));
      const whole = Buffer.concat(parts);
      out.push(whole.subarray(0, whole.length - 4));
    }
    parts = [];
  }
  deflate.close();
  return out;
}

t.test('with context takeover, large and small messages in any order inflate exactly: a large one from the window of those before it', async (t) => {
  // Text that refers back across messages: each repeats pieces of the one before.
  // JSON-like text, a third of it random digits: it compresses ~2:1, so the large ones are large on the wire too.
  const piece = (seed: number, size: number): Buffer => {
    const digits = randomBytes(size).toString('base64').replace(/[^0-9]/g, '');
    let s = '';
    for (let i = 0; s.length < size; i++) s += `{"id":${digits.slice((i * 7) % digits.length, ((i * 7) % digits.length) + 6)},"kind":"k${(seed + i) % 5}"},`;
    return Buffer.from(s.slice(0, size));
  };
  // Large first: on their own inflaters, each from the window of the one before; then small ones through the connection's own, made from that window.
  const sizes = [500_000, 3_000_000, 600_000, 2_000, 900_000, 40, 1_500_000, 10, 70_000, 1000];
  for (const windowBits of [9, 12, 15]) {
    const messages = sizes.map((size, i) => piece(i % 3, size));
    for (const finalAt of [-1, 1, 4]) {
      const wire = await peerMessages(messages, windowBits, finalAt);
      t.ok(wire.some((m) => m.length >= 32 * 1024) && wire.some((m) => m.length < 1024), 'both large and small on the wire');
      const c = codec(t, { ...TAKEOVER, clientMaxWindowBits: windowBits });
      for (let i = 0; i < wire.length; i++) {
        const { error, payload } = await inflate(c, wire[i]!, 16 << 20);
        t.equal(error, null);
        t.ok(payload.equals(messages[i]!), `window ${windowBits}${finalAt >= 0 ? `, BFINAL in message ${finalAt}` : ''}: message ${i} (${sizes[i]} bytes) inflates exactly`);
      }
    }
  }
});

t.test('a large message inflated on its own keeps no more than twice its size; without context takeover too', async (t) => {
  const random = randomBytes(100_000);
  const [wire] = await peerMessages([random]);
  t.ok(wire!.length >= 32 * 1024, 'large on the wire');
  for (const params of [TAKEOVER, NO_TAKEOVER]) {
    const { error, payload } = await inflate(codec(t, params), wire!, 16 << 20);
    t.equal(error, null);
    t.ok(payload.equals(random));
    t.ok(payload.buffer.byteLength <= 2 * payload.length, `${payload.buffer.byteLength} bytes of memory for ${payload.length}`);
  }
});

t.test('with context takeover, what we compress, large and small in any order, inflates exactly in the peer\'s one long-lived inflater', async (t) => {
  const json = (size: number): Buffer => {
    const digits = randomBytes(size).toString('base64').replace(/[^0-9]/g, '');
    let s = '';
    for (let i = 0; s.length < size; i++) s += `{"n":${digits.slice((i * 5) % digits.length, ((i * 5) % digits.length) + 5)},"tag":"t${i % 9}"},`;
    return Buffer.from(s.slice(0, size));
  };
  for (const windowBits of [9, 15]) {
    const c = codec(t, { ...TAKEOVER, serverMaxWindowBits: windowBits });
    const peer = createInflateRaw({ windowBits, flush: constants.Z_SYNC_FLUSH });
    t.teardown(() => peer.close());
    let got: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => got.push(chunk));
    // Large first (compressors of their own, each from the window of the last), then the connection's own, a trim, and large again.
    const sizes = [300_000, 1_000_000, 200, 500_000, 'trim', 400_000, 150_000, 50] as const;
    for (const size of sizes) {
      if (size === 'trim') {
        c.trim();
        c.trim(); // unused for a whole interval: freed, and the next message starts afresh
        continue;
      }
      const message = json(size);
      const payload = await compress(c, message);
      got = [];
      await new Promise<void>((resolve, reject) => peer.write(Buffer.concat([payload, DEFLATE_TAIL]), (error) => (error ? reject(error) : resolve())));
      t.ok(Buffer.concat(got).equals(message), `window ${windowBits}: ${size} bytes come out as they went in (${payload.length} on the wire)`);
      if (size >= 128 * 1024) t.ok(payload.length < size / 2, 'and compressed');
    }
  }
});

t.test('a large message compressed on its own still refers back into the last one sent (the window carries over), unless trim() let it go', async (t) => {
  const first = randomBytes(200_000);
  // Starts with the last 30,000 bytes of the first, then 110,000 new ones: incompressible but for that reference.
  const second = Buffer.concat([first.subarray(-30_000), randomBytes(110_000)]);
  const c = codec(t);
  await compress(c, first);
  const referring = await compress(c, second);
  t.ok(referring.length < 115_000, `${referring.length} bytes: the first 30,000 became back-references`);
  const fresh = codec(t);
  await compress(fresh, first);
  fresh.trim();
  fresh.trim();
  t.ok((await compress(fresh, second)).length > 139_000, 'after a trim the compressor starts afresh');
});
