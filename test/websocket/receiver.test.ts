import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { encodeFrame, Opcode } from '../../lib/websocket/frame.js';
import { Receiver } from '../../lib/websocket/receiver.js';
import type { FrameTrace } from '../../lib/websocket/trace.js';

type Event =
  | { type: 'message'; data: string | Buffer }
  | { type: 'ping' | 'pong'; payload: Buffer }
  | { type: 'close'; code: number; reason: string };

function receiver(options: { expectMasked?: boolean; maxMessageSize?: number; trace?: (f: FrameTrace) => void } = {}) {
  const events: Event[] = [];
  const r = new Receiver(
    {
      // Copy: the receiver may hand out views of the chunk it was given.
      onMessage: (data, text) => events.push({ type: 'message', data: text ? data.toString('utf8') : Buffer.from(data) }),
      onPing: (payload) => events.push({ type: 'ping', payload: Buffer.from(payload) }),
      onPong: (payload) => events.push({ type: 'pong', payload: Buffer.from(payload) }),
      onClose: (code, reason) => events.push({ type: 'close', code, reason }),
    },
    { expectMasked: options.expectMasked ?? true, maxMessageSize: options.maxMessageSize ?? 1 << 20, trace: options.trace },
  );
  return { r, events };
}

/** A masked client frame (what a server receives). */
const frame = (op: number, payload: Uint8Array | string = '', fin = true, rsv = 0): Buffer =>
  encodeFrame(op, payload, { fin, rsv, maskKey: randomBytes(4) });
const closeBody = (code: number, reason: Buffer | string = ''): Buffer => {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code);
  r.copy(b, 2);
  return b;
};
const fails = (closeCode: number, message: string) => ({ name: 'ProtocolError', closeCode, message: new RegExp(message) });

/** Feeds `stream` cut at the given offsets (each piece a fresh copy: the receiver unmasks in place). */
function feed(r: Receiver, stream: Buffer, cuts: number[]): void {
  let start = 0;
  for (const cut of [...cuts, stream.length]) {
    r.push(Buffer.from(stream.subarray(start, cut)));
    start = cut;
  }
}

t.test('RFC 6455 §5.7 examples, as a client receives them (unmasked)', async (t) => {
  const { r, events } = receiver({ expectMasked: false });
  r.push(Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
  r.push(Buffer.from([0x01, 0x03, 0x48, 0x65, 0x6c]));
  r.push(Buffer.from([0x80, 0x02, 0x6c, 0x6f]));
  r.push(Buffer.from([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]));
  const b256 = randomBytes(256);
  r.push(Buffer.concat([Buffer.from([0x82, 0x7e, 0x01, 0x00]), b256]));
  const b64k = randomBytes(65536);
  r.push(Buffer.concat([Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]), b64k]));
  t.same(events, [
    { type: 'message', data: 'Hello' },
    { type: 'message', data: 'Hello' },
    { type: 'ping', payload: Buffer.from('Hello') },
    { type: 'message', data: b256 },
    { type: 'message', data: b64k },
  ]);
});

t.test('RFC 6455 §5.7 examples, as the server receives them (masked)', async (t) => {
  const { r, events } = receiver();
  r.push(Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  r.push(Buffer.from([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  t.same(events, [
    { type: 'message', data: 'Hello' },
    { type: 'pong', payload: Buffer.from('Hello') },
  ]);
});

t.test('client frames must be masked, server frames must not be (§5.1)', async (t) => {
  t.throws(() => receiver().r.push(encodeFrame(Opcode.TEXT, 'Hello')), fails(1002, 'not masked'));
  t.throws(() => receiver().r.push(encodeFrame(Opcode.PING, '')), fails(1002, 'not masked'), 'control frames too');
  t.throws(() => receiver({ expectMasked: false }).r.push(frame(Opcode.TEXT, 'x')), fails(1002, 'masked'));
});

/** A stream of frames exercising every feature, and the events it must produce. */
function sampleStream(): { stream: Buffer; expected: Event[] } {
  const bin300 = randomBytes(300);
  const bin1k = randomBytes(1000);
  const parts: Buffer[] = [
    frame(Opcode.TEXT, 'Hello'),
    frame(Opcode.TEXT, ''),
    frame(Opcode.BINARY, Buffer.alloc(0)),
    frame(Opcode.BINARY, bin300), // 16-bit length
    frame(Opcode.PING, 'are you there'),
    // A fragmented text message with control frames between its fragments (§5.4),
    // and a multi-byte character cut between two fragments.
    frame(Opcode.TEXT, Buffer.from('κό'), false),
    frame(Opcode.PING, 'p1'),
    frame(Opcode.CONTINUATION, Buffer.from('σμε €').subarray(0, 6), false),
    frame(Opcode.PONG, ''),
    frame(Opcode.CONTINUATION, '', false),
    frame(Opcode.CONTINUATION, Buffer.from('σμε €').subarray(6)),
    // A fragmented binary message.
    frame(Opcode.BINARY, bin1k.subarray(0, 10), false),
    frame(Opcode.CONTINUATION, bin1k.subarray(10, 990), false),
    frame(Opcode.CONTINUATION, bin1k.subarray(990)),
    frame(Opcode.TEXT, '😀'.repeat(40)),
    frame(Opcode.CLOSE, closeBody(1000, 'done')),
  ];
  const expected: Event[] = [
    { type: 'message', data: 'Hello' },
    { type: 'message', data: '' },
    { type: 'message', data: Buffer.alloc(0) },
    { type: 'message', data: bin300 },
    { type: 'ping', payload: Buffer.from('are you there') },
    { type: 'ping', payload: Buffer.from('p1') },
    { type: 'pong', payload: Buffer.alloc(0) },
    { type: 'message', data: 'κόσμε €' },
    { type: 'message', data: bin1k },
    { type: 'message', data: '😀'.repeat(40) },
    { type: 'close', code: 1000, reason: 'done' },
  ];
  return { stream: Buffer.concat(parts), expected };
}

t.test('frames packed in one chunk', async (t) => {
  const { stream, expected } = sampleStream();
  const { r, events } = receiver();
  r.push(stream);
  t.same(events, expected);
});

t.test('the stream split in two at EVERY byte boundary gives the same events', async (t) => {
  const { stream, expected } = sampleStream();
  let bad = 0;
  for (let cut = 0; cut <= stream.length; cut++) {
    const { r, events } = receiver();
    feed(r, stream, [cut]);
    if (!isDeepStrictEqual(events, expected) && ++bad <= 3) t.same(events, expected, `cut at ${cut}`);
  }
  t.equal(bad, 0, `all ${stream.length + 1} cuts give the same events`);
});

t.test('the stream in three pieces, cut at every pair of boundaries in its first 40 bytes', async (t) => {
  const { stream, expected } = sampleStream();
  let bad = 0;
  for (let a = 0; a <= 40; a++) {
    for (let b = a; b <= 40; b++) {
      const { r, events } = receiver();
      feed(r, stream, [a, b]);
      if (!isDeepStrictEqual(events, expected) && ++bad <= 3) t.same(events, expected, `cuts at ${a}, ${b}`);
    }
  }
  t.equal(bad, 0, 'every pair of cuts gives the same events');
});

t.test('the stream one byte at a time', async (t) => {
  const { stream, expected } = sampleStream();
  const { r, events } = receiver();
  feed(r, stream, Array.from({ length: stream.length }, (_, i) => i));
  t.same(events, expected);
});

t.test('a 64-bit-length frame split at every boundary in its header and at random points', async (t) => {
  const payload = randomBytes(70_000);
  const stream = Buffer.concat([frame(Opcode.BINARY, payload), frame(Opcode.TEXT, 'after')]);
  const cuts = [...Array.from({ length: 20 }, (_, i) => i), 4096, 65_535, 69_999, 70_013, 70_014, 70_015, stream.length - 3];
  for (const cut of cuts) {
    const { r, events } = receiver();
    feed(r, stream, [cut]);
    t.same(events, [{ type: 'message', data: payload }, { type: 'message', data: 'after' }], `cut at ${cut}`);
  }
  const { r, events } = receiver();
  const many: number[] = [];
  for (let at = 1; at < stream.length; at += 1 + Math.floor(Math.random() * 3000)) many.push(at);
  feed(r, stream, many);
  t.same(events, [{ type: 'message', data: payload }, { type: 'message', data: 'after' }], `${many.length + 1} random pieces`);
});

t.test('reserved bits and reserved opcodes fail with 1002 (§5.2)', async (t) => {
  for (const rsv of [1, 2, 4]) t.throws(() => receiver().r.push(frame(Opcode.TEXT, 'x', true, rsv)), fails(1002, 'reserved bits'));
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) t.throws(() => receiver().r.push(frame(op, 'x')), fails(1002, 'reserved opcode'));
});

t.test('control frames: ≤ 125 bytes, unfragmented (§5.5)', async (t) => {
  for (const op of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
    t.throws(() => receiver().r.push(frame(op, Buffer.alloc(126))), fails(1002, 'over 125'));
    t.throws(() => receiver().r.push(frame(op, '', false)), fails(1002, 'fragmented control'));
  }
  const { r, events } = receiver();
  r.push(frame(Opcode.PING, Buffer.alloc(125, 1)));
  t.same(events, [{ type: 'ping', payload: Buffer.alloc(125, 1) }], '125 bytes is fine');
});

t.test('fragmentation rules (§5.4)', async (t) => {
  t.throws(() => receiver().r.push(frame(Opcode.CONTINUATION, 'x')), fails(1002, 'continuation'), 'continuation without a start');
  t.throws(() => receiver().r.push(frame(Opcode.CONTINUATION, 'x', false)), fails(1002, 'continuation'));
  for (const op of [Opcode.TEXT, Opcode.BINARY]) {
    const { r } = receiver();
    r.push(frame(Opcode.TEXT, 'a', false));
    t.throws(() => r.push(frame(op, 'b')), fails(1002, 'new data frame inside'), `opcode ${op} inside a fragmented message`);
  }
  // After a message completes, a continuation is again an error.
  const { r } = receiver();
  r.push(Buffer.concat([frame(Opcode.BINARY, 'a', false), frame(Opcode.CONTINUATION, 'b')]));
  t.throws(() => r.push(frame(Opcode.CONTINUATION, 'c')), fails(1002, 'continuation'));
});

t.test('text must be UTF-8; it fails at the first invalid fragment (§8.1)', async (t) => {
  t.throws(() => receiver().r.push(frame(Opcode.TEXT, Buffer.from([0x61, 0xff]))), fails(1007, 'UTF-8'), 'single frame');
  t.throws(() => receiver().r.push(frame(Opcode.TEXT, Buffer.from([0xed, 0xa0, 0x80]))), fails(1007, 'UTF-8'), 'a surrogate');

  const { r, events } = receiver();
  r.push(frame(Opcode.TEXT, 'valid ', false));
  t.throws(() => r.push(frame(Opcode.CONTINUATION, Buffer.from([0xc0, 0x80]), false)), fails(1007, 'UTF-8'), 'fails on the bad fragment, before the final one');
  t.same(events, []);

  const cut = receiver();
  cut.r.push(frame(Opcode.TEXT, Buffer.from([0x61, 0xf4]), false));
  t.throws(() => cut.r.push(frame(Opcode.CONTINUATION, Buffer.from([0x90, 0x80, 0x80]))), fails(1007, 'UTF-8'), 'a sequence cut across fragments');

  const short = receiver();
  short.r.push(frame(Opcode.TEXT, Buffer.from([0xe2, 0x82]), false));
  t.throws(() => short.r.push(frame(Opcode.CONTINUATION, '')), fails(1007, 'UTF-8'), 'a message that ends inside a character');

  t.doesNotThrow(() => receiver().r.push(frame(Opcode.BINARY, Buffer.from([0xff, 0xc0]))), 'binary is not checked');
});

t.test('invalid UTF-8 split across two reads of ONE frame fails on the second read, before the frame ends', async (t) => {
  const payload = Buffer.concat([Buffer.from('ab'), Buffer.from([0xf4, 0x90]), Buffer.from('x'.repeat(50))]);
  const whole = frame(Opcode.TEXT, payload);
  const headerLength = whole.length - payload.length;
  const { r } = receiver();
  t.doesNotThrow(() => r.push(Buffer.from(whole.subarray(0, headerLength + 3))), 'the F4 alone could still start a character');
  t.throws(() => r.push(Buffer.from(whole.subarray(headerLength + 3, headerLength + 4))), fails(1007, 'UTF-8'), 'the 90 after it cannot');
});

t.test('message size limit: 1009 from the header, before the payload arrives', async (t) => {
  const max = 1000;
  const header = frame(Opcode.BINARY, Buffer.alloc(max + 1)).subarray(0, 8);
  t.throws(() => receiver({ maxMessageSize: max }).r.push(Buffer.from(header)), fails(1009, 'message over 1000'), 'one frame over the limit');
  const huge = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]); // 4 GiB announced
  t.throws(() => receiver({ maxMessageSize: max }).r.push(huge), fails(1009, 'message over'), '4 GiB announced');

  const { r, events } = receiver({ maxMessageSize: max });
  r.push(frame(Opcode.TEXT, 'x'.repeat(max)));
  r.push(frame(Opcode.BINARY, Buffer.alloc(max)));
  t.equal(events.length, 2, 'exactly the limit is fine');

  const frag = receiver({ maxMessageSize: max });
  frag.r.push(frame(Opcode.TEXT, 'x'.repeat(600), false));
  frag.r.push(frame(Opcode.PING, 'x'.repeat(100)));
  frag.r.push(frame(Opcode.CONTINUATION, 'x'.repeat(400), false));
  t.throws(() => frag.r.push(frame(Opcode.CONTINUATION, 'x', true).subarray(0, 6)), fails(1009, 'message over'), 'fragments add up; control frames do not count');

  const again = receiver({ maxMessageSize: max });
  for (let i = 0; i < 5; i++) again.r.push(frame(Opcode.TEXT, 'x'.repeat(max)));
  t.equal(again.events.length, 5, 'the size counts per message, not per connection');
});

t.test('Close frames (§5.5.1): payload checked, nothing parsed after', async (t) => {
  const cases: [Buffer, Event | ReturnType<typeof fails>][] = [
    [Buffer.alloc(0), { type: 'close', code: 1005, reason: '' }],
    [closeBody(1001), { type: 'close', code: 1001, reason: '' }],
    [closeBody(4999, 'ciao ✓'), { type: 'close', code: 4999, reason: 'ciao ✓' }],
    [Buffer.from([0x03]), fails(1002, '1 byte')],
    [closeBody(1005), fails(1002, 'invalid close code')],
    [closeBody(1006), fails(1002, 'invalid close code')],
    [closeBody(999), fails(1002, 'invalid close code')],
    [closeBody(2000), fails(1002, 'invalid close code')],
    [closeBody(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd])), fails(1007, 'UTF-8')],
  ];
  for (const [body, outcome] of cases) {
    const { r, events } = receiver();
    if ('type' in outcome) {
      r.push(frame(Opcode.CLOSE, body));
      t.same(events, [outcome], body.toString('hex'));
    } else {
      t.throws(() => r.push(frame(Opcode.CLOSE, body)), outcome, body.toString('hex'));
    }
  }
  const { r, events } = receiver();
  r.push(Buffer.concat([frame(Opcode.TEXT, 'before'), frame(Opcode.CLOSE, closeBody(1000)), frame(Opcode.TEXT, 'after'), Buffer.from('garbage!')]));
  r.push(frame(Opcode.TEXT, 'later'));
  t.same(events, [{ type: 'message', data: 'before' }, { type: 'close', code: 1000, reason: '' }], 'frames and garbage after the Close are ignored');
  t.equal(r.stopped, true);
});

t.test('a Close inside a fragmented message ends it (the partial message is not delivered)', async (t) => {
  const { r, events } = receiver();
  r.push(Buffer.concat([frame(Opcode.TEXT, 'part', false), frame(Opcode.CLOSE, closeBody(1000))]));
  t.same(events, [{ type: 'close', code: 1000, reason: '' }]);
});

t.test('stop() ignores all further input', async (t) => {
  const { r, events } = receiver();
  r.push(frame(Opcode.TEXT, 'a', false));
  r.stop();
  r.push(Buffer.from('not even a frame'));
  r.push(frame(Opcode.TEXT, 'b'));
  t.same(events, []);
});

t.test('a message handed out is not changed by later input', async (t) => {
  const got: Buffer[] = [];
  const r = new Receiver(
    { onMessage: (d) => got.push(d as Buffer), onPing() {}, onPong() {}, onClose() {} },
    { expectMasked: true, maxMessageSize: 1 << 20 },
  );
  const a = randomBytes(100);
  const stream = Buffer.concat([frame(Opcode.BINARY, a), frame(Opcode.BINARY, randomBytes(100)), frame(Opcode.BINARY, randomBytes(3))]);
  r.push(stream.subarray(0, 150));
  r.push(stream.subarray(150));
  t.same(got[0], a);
});

t.test('a length in a longer form than needed is accepted (§5.2 binds the sender; nothing is lost by reading it)', async (t) => {
  const key = Buffer.from([1, 2, 3, 4]);
  const payload = Buffer.from('Hello');
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  const sixteen = Buffer.concat([Buffer.from([0x81, 0x80 | 126, 0, 5]), key, masked]);
  const sixtyFour = Buffer.concat([Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5]), key, masked]);
  const { r, events } = receiver();
  r.push(Buffer.concat([sixteen, sixtyFour]));
  t.same(events, [{ type: 'message', data: 'Hello' }, { type: 'message', data: 'Hello' }]);
});

t.test('permessage-deflate: RSV1 marks a compressed message, handed over whole; parsing waits for resume(), whatever arrives meanwhile (RFC 7692 §6)', async (t) => {
  const events: (Event | { type: 'compressed'; opcode: number; payload: Buffer })[] = [];
  const r = new Receiver(
    {
      onMessage: (data, text) => events.push({ type: 'message', data: text ? data.toString('utf8') : Buffer.from(data) }),
      onCompressedMessage: (opcode, payload) => events.push({ type: 'compressed', opcode, payload: Buffer.from(payload) }),
      onPing: (payload) => events.push({ type: 'ping', payload: Buffer.from(payload) }),
      onPong: () => {},
      onClose: (code, reason) => events.push({ type: 'close', code, reason }),
    },
    { expectMasked: true, maxMessageSize: 100, deflate: true },
  );
  // A compressed message in two fragments (RSV1 on the first only), a ping, a plain message, another compressed one.
  const stream = Buffer.concat([frame(Opcode.TEXT, 'abc', false, 4), frame(Opcode.CONTINUATION, 'def'), frame(Opcode.PING, 'p'), frame(Opcode.TEXT, 'plain'), frame(Opcode.BINARY, 'zz', true, 4)]);
  r.push(stream.subarray(0, 20));
  t.same(events, [{ type: 'compressed', opcode: Opcode.TEXT, payload: Buffer.from('abcdef') }], 'the fragments joined, nothing after it yet');
  t.ok(r.waiting);
  r.push(stream.subarray(20, 30));
  r.push(stream.subarray(30));
  t.equal(events.length, 1, 'chunks pushed while waiting are held');
  r.resume();
  t.same(events.slice(1), [
    { type: 'ping', payload: Buffer.from('p') },
    { type: 'message', data: 'plain' },
    { type: 'compressed', opcode: Opcode.BINARY, payload: Buffer.from('zz') },
  ], 'then everything after it, in order, up to the next compressed message');
  r.resume();
  t.notOk(r.waiting);
  // Rules: RSV1 on a continuation frame or a control frame; RSV2 stays reserved; the wire size allows deflate's overhead.
  const { r: r2 } = receiver();
  t.throws(() => r2.push(frame(Opcode.TEXT, 'x', true, 4)), fails(1002, 'reserved bits'), 'without the extension, RSV1 is reserved');
  const fresh = (): Receiver => new Receiver({ onMessage() {}, onCompressedMessage() {}, onPing() {}, onPong() {}, onClose() {} }, { expectMasked: true, maxMessageSize: 100, deflate: true });
  t.throws(() => fresh().push(Buffer.concat([frame(Opcode.TEXT, 'a', false, 4), frame(Opcode.CONTINUATION, 'b', true, 4)])), fails(1002, 'continuation'));
  t.throws(() => fresh().push(frame(Opcode.PING, 'a', true, 4)), fails(1002, 'control frame'));
  t.throws(() => fresh().push(frame(Opcode.TEXT, 'a', true, 2)), fails(1002, 'reserved bits'));
  t.doesNotThrow(() => fresh().push(frame(Opcode.BINARY, Buffer.alloc(101), true, 4)), 'a compressed message may be a little over the limit on the wire');
  t.throws(() => fresh().push(frame(Opcode.BINARY, Buffer.alloc(101))), fails(1009, 'over 100'), 'an uncompressed one may not');
  t.throws(() => fresh().push(frame(Opcode.BINARY, Buffer.alloc(100 + 1 + 1024 + 1), true, 4)), fails(1009, 'over 100'), 'nor a compressed one far over it');
});

t.test('trace: every frame of a compressed message says its bytes are DEFLATE data, the continuations too (they carry no RSV1)', async (t) => {
  const traced: FrameTrace[] = [];
  const r = new Receiver(
    { onMessage() {}, onCompressedMessage() {}, onPing() {}, onPong() {}, onClose() {} },
    { expectMasked: true, maxMessageSize: 100, deflate: true, trace: (f) => traced.push(f) },
  );
  r.push(Buffer.concat([frame(Opcode.TEXT, 'abc', false, 4), frame(Opcode.CONTINUATION, 'def')]));
  r.resume();
  r.push(Buffer.concat([frame(Opcode.TEXT, 'pl', false), frame(Opcode.CONTINUATION, 'ain')]));
  t.same(
    traced.map((f) => [f.opcode, f.rsv, f.compressed ?? false]),
    [
      [Opcode.TEXT, 4, false],
      [Opcode.CONTINUATION, 0, true],
      [Opcode.TEXT, 0, false],
      [Opcode.CONTINUATION, 0, false],
    ],
  );
});
