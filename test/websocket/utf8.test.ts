import t from 'tap';
import { decodeText, Utf8Validator } from '../../lib/websocket/utf8.js';

const fails = { name: 'ProtocolError', closeCode: 1007 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

/** Feeds `bytes` cut at `cuts`; returns the index of the slice that threw, 'end' if end() did, or null. */
function firstFailure(check: { write(b: Uint8Array): unknown; end(): unknown }, bytes: Uint8Array, cuts: number[]): number | 'end' | null {
  let start = 0;
  const ends = [...cuts, bytes.length];
  for (let i = 0; i < ends.length; i++) {
    try {
      check.write(bytes.subarray(start, ends[i]));
    } catch {
      return i;
    }
    start = ends[i]!;
  }
  try {
    check.end();
  } catch {
    return 'end';
  }
  return null;
}

/** The reference: TextDecoder with fatal and stream, as DESIGN.md's conformance notes checked it. */
function reference(): { write(b: Uint8Array): unknown; end(): unknown } {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return { write: (b) => decoder.decode(b, { stream: true }), end: () => decoder.decode() };
}

t.test('valid text split at every byte boundary passes, also one byte at a time', async (t) => {
  const bytes = Buffer.from('κόσμε ✓ a€b 😀 \u{10FFFF} \uFFFD \uFEFF end');
  const validator = new Utf8Validator();
  for (let cut = 0; cut <= bytes.length; cut++) {
    if (firstFailure(validator, bytes, [cut]) !== null) t.fail(`cut at ${cut}`);
  }
  t.equal(firstFailure(validator, bytes, Array.from({ length: bytes.length }, (_, i) => i)), null, 'one byte at a time');
});

t.test('invalid UTF-8 fails at the earliest byte that makes it invalid (§8.1)', async (t) => {
  // [valid prefix, the byte that breaks it]: the prefix alone must pass.
  const cases: [string, string, string][] = [
    ['61 f4', '90', 'code point above U+10FFFF'],
    ['61 ed', 'a0', 'UTF-16 surrogate'],
    ['e0', '80', 'overlong 3-byte form'],
    ['f0', '80', 'overlong 4-byte form'],
    ['', 'c0', 'C0 can never appear'],
    ['', 'c1', 'C1 can never appear'],
    ['', 'f5', 'F5 can never appear'],
    ['', 'ff', 'FF can never appear'],
    ['ce ba', '80', 'a continuation byte with no lead'],
    ['e2 82', '41', 'a sequence cut short by ASCII'],
    ['f0 9f', 'c0', 'a sequence cut short by a lead byte'],
  ];
  for (const [prefix, bad, what] of cases) {
    const validator = new Utf8Validator();
    t.doesNotThrow(() => validator.write(hex(prefix)), `${what}: prefix ${prefix || '(none)'} passes`);
    t.throws(() => validator.write(hex(bad)), fails, `${what}: fails on ${bad}`);
    // The same bytes in one slice fail too.
    t.throws(() => new Utf8Validator().write(hex(prefix + bad)), fails, `${what}: in one slice`);
  }
});

t.test('a message that ends inside a character fails at its end', async (t) => {
  for (const partial of ['e2 82', 'f0 9f 98', 'ce', '61 f0']) {
    const validator = new Utf8Validator();
    t.doesNotThrow(() => validator.write(hex(partial)));
    t.throws(() => validator.end(), fails, `${partial} then end`);
  }
});

t.test('end() resets the validator for the next message', async (t) => {
  const validator = new Utf8Validator();
  validator.write(hex('e2 82'));
  t.throws(() => validator.end(), fails);
  t.throws(() => validator.write(hex('ac')), fails, 'the next message does not continue the last one');
  const next = new Utf8Validator();
  next.write(hex('e2 82'));
  next.write(hex('ac'));
  t.doesNotThrow(() => next.end(), '€ across two slices');
  t.doesNotThrow(() => next.write(Buffer.from('next')));
  t.doesNotThrow(() => next.end());
});

t.test('the same verdict, at the same slice, as TextDecoder with fatal and stream', async (t) => {
  // Every sequence of up to three bytes drawn from the boundaries of Table 3-7, cut every way,
  // and the four-byte ones that start with a lead of three or four bytes, one byte at a time.
  const bytes = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];
  let checked = 0;
  let differ = 0;
  // Most of these throw, twice: without stack traces this takes a fifth of the time.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  t.teardown(() => void (Error.stackTraceLimit = limit));
  const compare = (sequence: Buffer, cuts: number[]): void => {
    checked++;
    const want = firstFailure(reference(), sequence, cuts);
    const got = firstFailure(new Utf8Validator(), sequence, cuts);
    if (want !== got && differ++ < 10) t.fail(`${sequence.toString('hex')} cut at ${cuts.join(',')}: TextDecoder ${want}, validator ${got}`);
  };
  for (const a of bytes) {
    compare(Buffer.from([a]), []);
    for (const b of bytes) {
      compare(Buffer.from([a, b]), []);
      compare(Buffer.from([a, b]), [1]);
      for (const c of bytes) {
        const three = Buffer.from([a, b, c]);
        for (const cuts of [[], [1], [2], [1, 2]]) compare(three, cuts);
        if (a >= 0xe0) for (const d of bytes) compare(Buffer.from([a, b, c, d]), [1, 2, 3]);
      }
    }
  }
  // Longer random mixes of valid characters and stray bytes, cut at random.
  let seed = 1;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const pieces = ['a', 'é', '€', '😀', '\u{10FFFF}'].map((s) => Buffer.from(s));
  for (let i = 0; i < 20_000; i++) {
    const parts: Buffer[] = [];
    for (let j = random(12); j >= 0; j--) parts.push(random(8) === 0 ? Buffer.from([bytes[random(bytes.length)]!]) : pieces[random(pieces.length)]!);
    const sequence = Buffer.concat(parts);
    const cuts = [...new Set(Array.from({ length: random(4) }, () => random(sequence.length + 1)))].sort((x, y) => x - y);
    compare(sequence, cuts);
  }
  t.equal(differ, 0, `${checked} sequences, none judged differently`);
});

t.test('decodeText gives the same string as a UTF-8 decode, ASCII or not', async (t) => {
  const texts = ['', 'plain {"json":1}', 'x'.repeat(70_000), 'ünïcödé ✓ 𝄞', `${'a'.repeat(1000)}é`, '\u0000\u007f'];
  for (const text of texts) {
    const bytes = Buffer.from(text, 'utf8');
    t.equal(decodeText(bytes), text, JSON.stringify(text.slice(0, 20)));
  }
  // A byte above 0x7f must not be read as Latin-1: 'é' is two bytes, one character.
  t.equal(decodeText(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9])).length, 4);
});
