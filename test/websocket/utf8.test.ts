import t from 'tap';
import { Utf8Stream } from '../../lib/websocket/utf8.js';

const fails = { name: 'ProtocolError', closeCode: 1007 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

t.test('valid text split at every byte boundary decodes to the same string', async (t) => {
  const text = 'κόσμε ✓ a€b 😀 \u{10FFFF} \uFFFD end';
  const bytes = Buffer.from(text);
  const stream = new Utf8Stream();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const out = stream.write(bytes.subarray(0, cut)) + stream.write(bytes.subarray(cut)) + stream.end();
    if (out !== text) t.fail(`cut at ${cut}: ${JSON.stringify(out)}`);
  }
  let out = '';
  for (const b of bytes) out += stream.write(Buffer.from([b]));
  t.equal(out + stream.end(), text, 'one byte at a time');
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
  ];
  for (const [prefix, bad, what] of cases) {
    const stream = new Utf8Stream();
    t.doesNotThrow(() => stream.write(hex(prefix)), `${what}: prefix ${prefix || '(none)'} passes`);
    t.throws(() => stream.write(hex(bad)), fails, `${what}: fails on ${bad}`);
  }
});

t.test('a message that ends inside a character fails at its end', async (t) => {
  for (const partial of ['e2 82', 'f0 9f 98', 'ce', '61 f0']) {
    const stream = new Utf8Stream();
    t.doesNotThrow(() => stream.write(hex(partial)));
    t.throws(() => stream.end(), fails, `${partial} then end`);
  }
});

t.test('end() resets the stream for the next message', async (t) => {
  const stream = new Utf8Stream();
  t.equal(stream.write(hex('e2 82')), '');
  t.equal(stream.write(hex('ac')) + stream.end(), '€');
  t.equal(stream.write(Buffer.from('next')) + stream.end(), 'next');
});

t.test('a leading U+FEFF is content, not a byte-order mark', async (t) => {
  const stream = new Utf8Stream();
  t.equal(stream.write(hex('ef bb bf 61')) + stream.end(), '\uFEFFa');
});
