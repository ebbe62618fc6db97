import t from 'tap';
import {
  CloseCode,
  encodeClosePayload,
  isValidWireCode,
  MAX_REASON_BYTES,
  parseClosePayload,
  truncateUtf8,
} from '../../lib/websocket/close.js';

const fails = (closeCode: number, message: string) => ({ name: 'ProtocolError', closeCode, message: new RegExp(message) });
const payload = (code: number, reason: Buffer | string = ''): Buffer => {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
};

/** RFC 6455 §7.4.1 defined codes that may be sent, §7.4.2 ranges, IANA 1012–1014. */
const SENDABLE = new Set([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);

t.test('which codes may appear on the wire (§7.4.1, §7.4.2)', async (t) => {
  const wrong: number[] = [];
  for (let code = 0; code <= 65535; code++) {
    const expected = SENDABLE.has(code) || (code >= 3000 && code <= 4999);
    if (isValidWireCode(code) !== expected) wrong.push(code);
  }
  t.same(wrong, [], 'every code from 0 to 65535 classified as §7.4 says');
  for (const code of [1004, 1005, 1006, 1015, 999, 2999, 5000]) t.notOk(isValidWireCode(code), `${code} is not valid on the wire`);
});

t.test('parsing a received Close payload (§5.5.1)', async (t) => {
  t.same(parseClosePayload(Buffer.alloc(0)), { code: CloseCode.NO_STATUS, reason: '' }, 'empty: 1005, no status');
  t.same(parseClosePayload(payload(1000)), { code: 1000, reason: '' });
  t.same(parseClosePayload(payload(4321, 'bye ✓')), { code: 4321, reason: 'bye ✓' });
  t.same(parseClosePayload(payload(1001, 'x'.repeat(123))).reason.length, 123, 'a 123-byte reason');
  t.throws(() => parseClosePayload(Buffer.from([0x03])), fails(1002, '1 byte'), 'one byte cannot hold a code');
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
    t.throws(() => parseClosePayload(payload(code)), fails(1002, `invalid close code ${code}`), `code ${code}`);
  }
  for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xce], [0x61, 0xf4, 0x90, 0x80, 0x80]]) {
    t.throws(() => parseClosePayload(payload(1000, Buffer.from(bad))), fails(1007, 'UTF-8'), `reason ${Buffer.from(bad).toString('hex')}`);
  }
  const shared = Buffer.concat([Buffer.from('xx'), payload(1000, 'ok')]).subarray(2);
  t.same(parseClosePayload(shared), { code: 1000, reason: 'ok' }, 'a payload at an offset in a larger buffer');
});

t.test('building the Close payload we send', async (t) => {
  t.same(encodeClosePayload(), Buffer.from([0x03, 0xe8]), 'default 1000, no reason');
  t.same(encodeClosePayload(1001, 'bye'), Buffer.from([0x03, 0xe9, 0x62, 0x79, 0x65]));
  t.same(encodeClosePayload(CloseCode.NO_STATUS), Buffer.alloc(0), '1005 builds the empty payload');
  t.throws(() => encodeClosePayload(CloseCode.NO_STATUS, 'why'), TypeError, 'a reason needs a code');
  for (const code of [0, 999, 1004, 1006, 1015, 2999, 5000, 1000.5, NaN]) {
    t.throws(() => encodeClosePayload(code), RangeError, `code ${code} may not be sent`);
  }
  t.equal(encodeClosePayload(1000, 'é'.repeat(61) + 'x').length, 2 + MAX_REASON_BYTES, '123 bytes of reason fit');
  t.throws(() => encodeClosePayload(1000, 'x'.repeat(124)), RangeError, '124 bytes do not fit a control frame');
  t.throws(() => encodeClosePayload(1000, 'é'.repeat(62)), RangeError, 'the limit counts UTF-8 bytes, not characters');
  for (const code of SENDABLE) t.same(parseClosePayload(encodeClosePayload(code, 'r')), { code, reason: 'r' }, `${code} round-trips`);
});

t.test('truncateUtf8 never splits a character', async (t) => {
  t.equal(truncateUtf8('short'), 'short');
  t.equal(truncateUtf8('abcdef', 4), 'abcd');
  for (const ch of ['é', '€', '😀']) {
    const text = ch.repeat(100);
    for (let max = 0; max <= 20; max++) {
      const cut = truncateUtf8(text, max);
      const size = Buffer.byteLength(cut);
      if (size > max || !text.startsWith(cut) || max - size >= Buffer.byteLength(ch) || cut.includes('\ufffd')) {
        t.fail(`${ch} cut to ${max}: ${JSON.stringify(cut)}`);
      }
    }
  }
  t.equal(Buffer.byteLength(truncateUtf8('😀'.repeat(100))), 120, 'default: at most 123 bytes, whole characters');
});
