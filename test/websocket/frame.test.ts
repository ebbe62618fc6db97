import t from 'tap';
import {
  emptyHeader,
  encodeFrame,
  headerSize,
  isControl,
  Opcode,
  parseFrameHeader,
  writeFrameHeader,
} from '../../lib/websocket/frame.js';
import { applyMask } from '../../lib/websocket/mask.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

/** RFC 6455 §5.7 "Examples", byte for byte. */
const RFC_MASK_KEY = bytes(0x37, 0xfa, 0x21, 0x3d);
const RFC = {
  unmaskedHello: bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
  maskedHello: bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
  fragmentHel: bytes(0x01, 0x03, 0x48, 0x65, 0x6c),
  fragmentLo: bytes(0x80, 0x02, 0x6c, 0x6f),
  unmaskedPing: bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
  maskedPong: bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
  binary256Header: bytes(0x82, 0x7e, 0x01, 0x00),
  binary64kHeader: bytes(0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00),
};

/** Parses a whole frame (header + payload) from `buf`, unmasking a copy of the payload. */
function decode(buf: Buffer) {
  const h = emptyHeader();
  const size = parseFrameHeader(buf, 0, h);
  if (size === 0) throw new Error('incomplete header');
  const payload = Buffer.from(buf.subarray(size, size + h.payloadLength));
  if (h.masked) applyMask(payload, h.maskKey);
  return { ...h, maskKey: Buffer.from(h.maskKey), size, payload };
}

/** The pattern of the ProtocolError a broken rule must throw. */
const fails = (closeCode: number, message: string) => ({ name: 'ProtocolError', closeCode, message: new RegExp(message) });

t.test('RFC 6455 §5.7 examples: encodeFrame produces them byte for byte', async (t) => {
  t.same(encodeFrame(Opcode.TEXT, 'Hello'), RFC.unmaskedHello, 'single-frame unmasked text');
  t.same(encodeFrame(Opcode.TEXT, 'Hello', { maskKey: RFC_MASK_KEY }), RFC.maskedHello, 'single-frame masked text');
  t.same(encodeFrame(Opcode.TEXT, 'Hel', { fin: false }), RFC.fragmentHel, 'first fragment');
  t.same(encodeFrame(Opcode.CONTINUATION, 'lo'), RFC.fragmentLo, 'last fragment');
  t.same(encodeFrame(Opcode.PING, 'Hello'), RFC.unmaskedPing, 'unmasked ping');
  t.same(encodeFrame(Opcode.PONG, 'Hello', { maskKey: RFC_MASK_KEY }), RFC.maskedPong, 'masked pong');
  const b256 = Buffer.alloc(256, 7);
  t.same(encodeFrame(Opcode.BINARY, b256), Buffer.concat([RFC.binary256Header, b256]), '256-byte binary: 16-bit length');
  const b64k = Buffer.alloc(65536, 9);
  t.same(encodeFrame(Opcode.BINARY, b64k), Buffer.concat([RFC.binary64kHeader, b64k]), '64 KiB binary: 64-bit length');
});

t.test('RFC 6455 §5.7 examples: parseFrameHeader reads them back', async (t) => {
  let f = decode(RFC.unmaskedHello);
  t.match(f, { fin: true, rsv: 0, opcode: Opcode.TEXT, masked: false, payloadLength: 5, size: 2 });
  t.equal(f.payload.toString(), 'Hello');

  f = decode(RFC.maskedHello);
  t.match(f, { fin: true, opcode: Opcode.TEXT, masked: true, payloadLength: 5, size: 6 });
  t.same(f.maskKey, RFC_MASK_KEY, 'mask key read from the header');
  t.equal(f.payload.toString(), 'Hello', 'unmasked payload');

  f = decode(RFC.fragmentHel);
  t.match(f, { fin: false, opcode: Opcode.TEXT, payloadLength: 3 });
  t.equal(f.payload.toString(), 'Hel');
  f = decode(RFC.fragmentLo);
  t.match(f, { fin: true, opcode: Opcode.CONTINUATION, payloadLength: 2 });
  t.equal(f.payload.toString(), 'lo');

  f = decode(RFC.unmaskedPing);
  t.match(f, { fin: true, opcode: Opcode.PING, masked: false, payloadLength: 5 });
  f = decode(RFC.maskedPong);
  t.match(f, { fin: true, opcode: Opcode.PONG, masked: true, payloadLength: 5 });
  t.equal(f.payload.toString(), 'Hello');

  t.match(decode(Buffer.concat([RFC.binary256Header, Buffer.alloc(256)])), { opcode: Opcode.BINARY, payloadLength: 256, size: 4 });
  t.match(decode(Buffer.concat([RFC.binary64kHeader, Buffer.alloc(65536)])), { opcode: Opcode.BINARY, payloadLength: 65536, size: 10 });
});

t.test('an incomplete header returns 0, for every prefix of every length form', async (t) => {
  const headers = [
    encodeFrame(Opcode.TEXT, 'x'.repeat(5), { maskKey: RFC_MASK_KEY }).subarray(0, 6),
    encodeFrame(Opcode.TEXT, 'x'.repeat(300), { maskKey: RFC_MASK_KEY }).subarray(0, 8),
    encodeFrame(Opcode.TEXT, 'x'.repeat(70000), { maskKey: RFC_MASK_KEY }).subarray(0, 14),
    RFC.binary64kHeader,
  ];
  for (const header of headers) {
    for (let n = 0; n < header.length; n++) {
      t.equal(parseFrameHeader(header.subarray(0, n), 0, emptyHeader()), 0, `${n} of ${header.length} header bytes`);
    }
    t.equal(parseFrameHeader(header, 0, emptyHeader()), header.length, `whole ${header.length}-byte header`);
  }
});

t.test('parses at an offset inside a larger buffer', async (t) => {
  const buf = Buffer.concat([Buffer.from('junk'), RFC.maskedHello]);
  const h = emptyHeader();
  t.equal(parseFrameHeader(buf, 4, h), 6);
  t.match(h, { fin: true, opcode: Opcode.TEXT, masked: true, payloadLength: 5 });
  t.same(Buffer.from(h.maskKey), RFC_MASK_KEY);
});

t.test('all three length forms, at their boundaries, round-trip in minimal form (§5.2)', async (t) => {
  const cases: [number, number, number][] = [
    // [length, expected 7-bit field, header size unmasked]
    [0, 0, 2],
    [1, 1, 2],
    [125, 125, 2],
    [126, 126, 4],
    [127, 126, 4],
    [65535, 126, 4],
    [65536, 127, 10],
    [2 ** 32 - 1, 127, 10],
    [2 ** 32, 127, 10],
    [2 ** 32 + 258, 127, 10],
    [Number.MAX_SAFE_INTEGER, 127, 10],
  ];
  for (const [length, len7, size] of cases) {
    for (const masked of [false, true]) {
      const key = masked ? bytes(1, 2, 3, 4) : undefined;
      const target = Buffer.alloc(20, 0xee);
      const written = writeFrameHeader(target, 3, Opcode.BINARY, true, length, key);
      t.equal(written, size + (masked ? 4 : 0), `length ${length} masked=${masked}: header size`);
      t.equal(headerSize(length, masked), written, 'headerSize agrees');
      t.equal(target[4]! & 0x7f, len7, `length ${length}: 7-bit field ${len7}`);
      t.equal((target[4]! & 0x80) !== 0, masked, 'MASK bit');
      t.equal(target[2], 0xee, 'nothing written before the offset');
      const h = emptyHeader();
      t.equal(parseFrameHeader(target, 3, h), written);
      t.equal(h.payloadLength, length, `length ${length} read back`);
      t.equal(h.masked, masked);
      if (key) t.same(Buffer.from(h.maskKey), key, 'mask key read back');
    }
  }
  // The big-endian byte order of the extended lengths (§5.2: network byte order).
  t.same(encodeFrame(Opcode.BINARY, Buffer.alloc(0x1234)).subarray(0, 4), bytes(0x82, 126, 0x12, 0x34));
  const target = Buffer.alloc(10);
  writeFrameHeader(target, 0, Opcode.BINARY, true, 0x0102_0304_0506);
  t.same(target, bytes(0x82, 127, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06));
});

t.test('a 64-bit length with the most significant bit set is rejected with 1002 (§5.2)', async (t) => {
  for (const top of [0x80, 0xff]) {
    const header = bytes(0x82, 0xff, top, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4);
    t.throws(() => parseFrameHeader(header, 0, emptyHeader()), fails(1002, 'top bit'));
  }
  // Largest allowed by the wire but not countable in a JS number: too big (1009), not a crash.
  const huge = bytes(0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4);
  t.throws(() => parseFrameHeader(huge, 0, emptyHeader()), fails(1009, 'too large'));
  const just = bytes(0x82, 0xff, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4); // 2^53
  t.throws(() => parseFrameHeader(just, 0, emptyHeader()), fails(1009, 'too large'));
});

t.test('opcodes: the six defined ones parse, the ten reserved ones fail with 1002 (§5.2)', async (t) => {
  const defined = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];
  for (let op = 0; op < 16; op++) {
    const frame = bytes(0x80 | op, 0x80, 1, 2, 3, 4);
    if (defined.includes(op)) {
      const h = emptyHeader();
      t.equal(parseFrameHeader(frame, 0, h), 6, `opcode 0x${op.toString(16)} parses`);
      t.equal(h.opcode, op);
    } else {
      t.throws(() => parseFrameHeader(frame, 0, emptyHeader()), fails(1002, 'reserved opcode'));
    }
  }
  t.ok(isControl(Opcode.CLOSE) && isControl(Opcode.PING) && isControl(Opcode.PONG), 'control opcodes');
  t.notOk(isControl(Opcode.TEXT) || isControl(Opcode.BINARY) || isControl(Opcode.CONTINUATION), 'data opcodes');
});

t.test('FIN and RSV bits (§5.2)', async (t) => {
  const h = emptyHeader();
  parseFrameHeader(bytes(0x01, 0x80, 0, 0, 0, 0), 0, h);
  t.equal(h.fin, false, 'FIN clear');
  parseFrameHeader(bytes(0x81, 0x80, 0, 0, 0, 0), 0, h);
  t.equal(h.fin, true, 'FIN set');
  for (const rsv of [1, 2, 3, 4, 5, 6, 7]) {
    const frame = encodeFrame(Opcode.TEXT, 'x', { rsv, maskKey: RFC_MASK_KEY });
    t.equal((frame[0]! >> 4) & 7, rsv, `encodeFrame sets RSV ${rsv.toString(2)}`);
    t.throws(() => parseFrameHeader(frame, 0, emptyHeader()), fails(1002, 'reserved bits'));
  }
});

t.test('control frames: at most 125 bytes and never fragmented (§5.5)', async (t) => {
  for (const op of [Opcode.CLOSE, Opcode.PING, Opcode.PONG]) {
    const ok = encodeFrame(op, Buffer.alloc(125), { maskKey: RFC_MASK_KEY });
    t.equal(parseFrameHeader(ok, 0, emptyHeader()), 6, `opcode ${op}: 125 bytes is fine`);
    for (const n of [126, 200, 70000]) {
      const big = encodeFrame(op, Buffer.alloc(n), { maskKey: RFC_MASK_KEY });
      t.throws(() => parseFrameHeader(big, 0, emptyHeader()), fails(1002, 'over 125'));
    }
    const fragmented = encodeFrame(op, 'x', { fin: false, maskKey: RFC_MASK_KEY });
    t.throws(() => parseFrameHeader(fragmented, 0, emptyHeader()), fails(1002, 'fragmented control'));
  }
});

t.test('encodeFrame masks a copy: the caller\'s payload is untouched', async (t) => {
  const payload = Buffer.from('Hello');
  encodeFrame(Opcode.TEXT, payload, { maskKey: RFC_MASK_KEY });
  t.equal(payload.toString(), 'Hello');
});
