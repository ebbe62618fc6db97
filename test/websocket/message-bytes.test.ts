import { randomBytes } from 'node:crypto';
import t from 'tap';
import { MessageBytes } from '../../lib/websocket/message-bytes.js';

/** `bytes` as a slice of a chunk read from a socket: `before` and `after` bytes of other frames around it, in memory of its own. */
function inChunk(bytes: Uint8Array, before = 0, after = 0): Buffer {
  const chunk = Buffer.from(new ArrayBuffer(before + bytes.length + after));
  chunk.set(bytes, before);
  return chunk.subarray(before, before + bytes.length);
}

t.test('the payload comes back whole however it was cut, and the next message starts empty', async (t) => {
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const bytes = new MessageBytes();
  let total = 0;
  for (let round = 0; round < 300; round++) {
    const payload = randomBytes(random(4) === 0 ? random(200_000) : random(3000));
    let from = 0;
    while (from < payload.length) {
      const size = Math.min(payload.length - from, [1, 7, 1000, 5000, 70_000][random(5)]!);
      bytes.push(inChunk(payload.subarray(from, from + size), random(3) * random(40_000), random(2) * random(40_000)));
      from += size;
    }
    if (bytes.size !== payload.length) t.fail(`round ${round}: size ${bytes.size}, pushed ${payload.length}`);
    if (!bytes.take().equals(payload)) t.fail(`round ${round}: ${payload.length} bytes came back different`);
    if (bytes.size !== 0) t.fail(`round ${round}: not empty after take()`);
    total += payload.length;
  }
  t.pass(`300 payloads, ${total} bytes, each came back whole`);
  t.same(bytes.take(), Buffer.alloc(0), 'nothing pushed: an empty payload');
});

t.test('a large slice that is most of its chunk is kept as it is; other slices are copied', async (t) => {
  const large = inChunk(randomBytes(40_000), 14, 20_000);
  const bytes = new MessageBytes();
  bytes.push(large);
  t.equal(bytes.take().buffer, large.buffer, 'kept: no copy of a 1 MiB frame read in 64 KiB pieces');

  const lost = inChunk(randomBytes(20_000), 14, 40_000);
  bytes.push(lost);
  const copied = bytes.take();
  t.not(copied.buffer, lost.buffer, 'copied: a view would keep three times its size alive');
  t.same(copied, lost);

  const small = inChunk(Buffer.from('tiny'));
  bytes.push(small);
  small.fill(0);
  t.equal(bytes.take().toString(), 'tiny', 'a small slice is copied: later changes to its chunk do not reach it');
});

/** Counts what Buffer.allocUnsafe hands out while `fn` runs (where MessageBytes gets the memory it copies into). */
function allocations(fn: () => void): { count: number; bytes: number } {
  const original = Buffer.allocUnsafe;
  const seen = { count: 0, bytes: 0 };
  Buffer.allocUnsafe = (size: number) => {
    seen.count++;
    seen.bytes += size;
    return original(size);
  };
  try {
    fn();
  } finally {
    Buffer.allocUnsafe = original;
  }
  return seen;
}

t.test('memory grows with the bytes, not with the number of slices', async (t) => {
  await t.test('a million one-byte slices are copied into a few blocks', async (t) => {
    const bytes = new MessageBytes();
    const chunk = Buffer.alloc(7, 0x61); // a 1-byte fragment as read: 6 bytes of header and its byte
    const size = 1 << 20;
    const { count, bytes: allocated } = allocations(() => {
      for (let i = 0; i < size; i++) bytes.push(chunk.subarray(6));
    });
    t.ok(count <= 12, `${count} blocks`);
    t.ok(allocated <= 2 * size + 1024, `${allocated} bytes allocated for ${size}`);
    const message = bytes.take();
    t.equal(message.length, size);
    t.equal(message.indexOf(0x62), -1, 'every byte is the one sent');
  });

  await t.test('small slices between large ones', async (t) => {
    const bytes = new MessageBytes();
    const large = inChunk(Buffer.alloc(4096, 1));
    const small = Buffer.alloc(4095, 2);
    let pushed = 0;
    const { bytes: allocated } = allocations(() => {
      for (let i = 0; i < 256; i++) {
        bytes.push(small);
        bytes.push(large);
        pushed += small.length + large.length;
      }
    });
    t.ok(allocated <= 256 * small.length + 256 * 1024, `${allocated} bytes allocated to copy ${256 * small.length}: a block per run of small slices, sized to the run`);
    t.equal(bytes.take().length, pushed);
  });
});
