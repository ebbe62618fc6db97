import { randomBytes } from 'node:crypto';
import t from 'tap';
import { applyMask } from '../../lib/websocket/mask.js';

/** RFC 6455 §5.3, literally: octet i XOR key octet (i mod 4), starting at key octet `phase`. */
function naiveMask(data: Uint8Array, key: Uint8Array, phase = 0): void {
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key[(i + phase) % 4]!;
}

/** A view of `length` random bytes starting `offset` bytes into a fresh ArrayBuffer (so alignment varies). */
function slice(offset: number, length: number): { whole: Buffer; view: Buffer } {
  const whole = randomBytes(offset + length + 8);
  return { whole, view: whole.subarray(offset, offset + length) };
}

t.test('RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d', async (t) => {
  const data = Buffer.from('Hello');
  applyMask(data, Buffer.from([0x37, 0xfa, 0x21, 0x3d]));
  t.same(data, Buffer.from([0x7f, 0x9f, 0x4d, 0x51, 0x58]));
});

t.test('matches a byte loop for every alignment, phase and length 0..100, and large', async (t) => {
  const lengths = [...Array.from({ length: 101 }, (_, i) => i), 127, 1000, 4099, 65536 + 3, 1 << 20];
  let cases = 0;
  let mismatches = 0;
  for (const length of lengths) {
    for (let offset = 0; offset < 8; offset++) {
      for (let phase = 0; phase < 4; phase++) {
        const key = randomBytes(4);
        const { whole, view } = slice(offset, length);
        const expected = Buffer.from(whole);
        naiveMask(expected.subarray(offset, offset + length), key, phase);
        applyMask(view, key, phase);
        cases++;
        if (!whole.equals(expected)) {
          mismatches++;
          t.fail(`length ${length} offset ${offset} phase ${phase}: differs from the byte loop (or touched bytes outside)`);
        }
      }
    }
  }
  t.equal(mismatches, 0, `${cases} cases agree with the byte loop, bytes outside the view untouched`);
});

t.test('unmasking slice by slice with the running phase equals unmasking at once', async (t) => {
  const key = randomBytes(4);
  const data = randomBytes(300);
  const expected = Buffer.from(data);
  naiveMask(expected, key);
  for (let cut1 = 0; cut1 <= data.length; cut1 += 7) {
    for (const cut2 of [cut1, cut1 + 1, cut1 + 33, data.length]) {
      if (cut2 > data.length) continue;
      const copy = Buffer.from(data);
      applyMask(copy.subarray(0, cut1), key, 0);
      applyMask(copy.subarray(cut1, cut2), key, cut1 & 3);
      applyMask(copy.subarray(cut2), key, cut2 & 3);
      if (!copy.equals(expected)) t.fail(`cuts at ${cut1} and ${cut2}`);
    }
  }
  t.pass('every cut agrees');
});

t.test('masking twice restores the data (the same operation unmasks)', async (t) => {
  const key = randomBytes(4);
  const data = randomBytes(1000);
  const copy = Buffer.from(data);
  applyMask(copy, key);
  t.notSame(copy, data);
  applyMask(copy, key);
  t.same(copy, data);
});
