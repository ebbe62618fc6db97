/**
 * Robustness with permessage-deflate (RFC 7692): random and mutated DEFLATE
 * streams, RSV1 where it may not be, and zip bombs, against the real
 * `steam-key echo --deflate` binary over raw TCP, many connections at a time,
 * while ws clients with perMessageDeflate exchange messages without pause.
 * The server must never throw, must answer each bad stream with the right
 * Close code (or echo what happens to be valid), must keep its memory bounded
 * (peak RSS, read from /proc) and must not let any of it touch the good clients.
 *
 * Every run draws a new seed and prints it; replay with
 *   FUZZ_SEED=<seed> npx tap test/websocket/robustness-deflate.test.ts
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants, createDeflateRaw, deflateRawSync } from 'node:zlib';
import t from 'tap';
import { startEcho } from '../interop/helpers.js';
import { openClient, type WsClient } from '../interop/ws-client.js';
import { clientFrame, OP, openClient as openRaw } from '../helpers/raw-client.js';
import { Prng } from './fuzz/prng.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomInt(0, 2 ** 32);
const CASES = Number(process.env.FUZZ_CASES ?? 600);
const CONCURRENCY = 8;
const OFFER = 'permessage-deflate; client_max_window_bits';
const RSV1 = 4;

/** §7.2.1 as a client would, one message, a fresh context. */
function deflate(bytes: Buffer): Buffer {
  const out = deflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** `mib` MiB of zeros, compressed as a stream (never held whole): about 1 KiB per MiB. */
async function bomb(mib: number): Promise<Buffer> {
  const z = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  z.on('data', (c: Buffer) => chunks.push(c));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) if (!z.write(zeros)) await new Promise((r) => z.once('drain', r));
  await new Promise<void>((resolve) => z.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  const out = Buffer.concat(chunks);
  return out.subarray(0, out.length - 4);
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Case {
  what: string;
  bytes: Buffer;
  /** Close codes that are right for it; 'echo' when the server may echo it instead. */
  allowed: (number | 'echo')[];
}

function makeCase(prng: Prng, index: number, bombBytes: Buffer): Case {
  const text = Buffer.from('{"type":"keys","keys":["AAAAA-BBBBB-CCCCC"]} é€😀 '.repeat(prng.range(1, 200)));
  switch (index % 6) {
    case 0:
      return { what: 'random bytes as a compressed message', bytes: clientFrame(prng.chance(0.5) ? OP.TEXT : OP.BINARY, prng.bytes(prng.range(1, 2000)), { rsv: RSV1 }), allowed: [1007, 'echo'] };
    case 1: {
      const d = Buffer.from(deflate(text));
      const flips = prng.range(1, 4);
      for (let i = 0; i < flips; i++) d[prng.int(d.length)] ^= 1 << prng.int(8);
      return { what: `a valid stream with ${flips} bits flipped`, bytes: clientFrame(OP.TEXT, d, { rsv: RSV1 }), allowed: [1007, 1009, 'echo'] };
    }
    case 2: {
      const d = deflate(text);
      return { what: 'a valid stream cut short or extended', bytes: clientFrame(OP.BINARY, prng.chance(0.5) ? d.subarray(0, prng.int(d.length)) : Buffer.concat([d, prng.bytes(prng.range(1, 50))]), { rsv: RSV1 }), allowed: [1007, 'echo'] };
    }
    case 3: {
      const opcode = [OP.PING, OP.PONG, OP.CLOSE][prng.int(3)]!;
      return { what: `RSV1 on a control frame (0x${opcode.toString(16)})`, bytes: clientFrame(opcode, opcode === OP.CLOSE ? Buffer.from([3, 232]) : 'x', { rsv: RSV1 }), allowed: [1002] };
    }
    case 4: {
      const d = deflate(text);
      const cut = prng.int(d.length);
      return { what: 'RSV1 on a continuation frame', bytes: Buffer.concat([clientFrame(OP.TEXT, d.subarray(0, cut), { rsv: RSV1, fin: false }), clientFrame(OP.CONT, d.subarray(cut), { rsv: RSV1 })]), allowed: [1002] };
    }
    default:
      return { what: 'a zip bomb (1 GiB of zeros)', bytes: clientFrame(OP.BINARY, bombBytes, { rsv: RSV1 }), allowed: [1009] };
  }
}

/** A ws client with perMessageDeflate that sends random messages and checks every echo until told to stop. */
async function goodClient(url: string, seed: number, stop: () => boolean): Promise<{ client: WsClient; sent: number; bad: string[] }> {
  const prng = new Prng(seed);
  const client = await openClient(url, { perMessageDeflate: { threshold: 0 } });
  const bad: string[] = client.ws.extensions === 'permessage-deflate' ? [] : [`extensions: ${client.ws.extensions}`];
  let sent = 0;
  while (!stop() && bad.length === 0) {
    const size = prng.chance(0.9) ? prng.int(2000) : prng.int(70_000);
    const binary = prng.chance(0.5);
    const data = binary ? prng.bytes(size) : 'é€😀x'.repeat(Math.ceil(size / 10));
    client.ws.send(data);
    sent++;
    const got = await client.next();
    const expected = typeof data === 'string' ? Buffer.from(data) : data;
    if (got.isBinary !== binary || !got.data.equals(expected)) bad.push(`echo ${sent} differs`);
  }
  return { client, sent, bad };
}

t.test('random and mutated DEFLATE streams, misplaced RSV1 and zip bombs against steam-key echo --deflate', async (t) => {
  t.comment(`seed ${SEED}: replay with FUZZ_SEED=${SEED}`);
  const server = await startEcho(['--deflate']);
  t.teardown(() => server.stop());
  const bombBytes = await bomb(1024);
  t.ok(bombBytes.length < 2 << 20, `the bomb: ${bombBytes.length} bytes on the wire, 1 GiB inflated`);
  const baseline = peakRssMiB(server.pid);

  let fuzzing = true;
  const good = [1, 2].map((i) => goodClient(server.url, SEED + i, () => !fuzzing));
  const prng = new Prng(SEED);
  const cases = Array.from({ length: CASES }, (_, i) => makeCase(prng, i, bombBytes));
  const failures: string[] = [];
  const endings = new Map<string, number>();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < cases.length) {
      const index = next++;
      const c = cases[index]!;
      const raw = await openRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': OFFER } });
      try {
        await raw.write(c.bytes);
        const frame = await raw.nextFrame(`case ${index}`, 15_000);
        let outcome: number | 'echo' | 'none';
        if (frame === null) outcome = 'none';
        else if (frame.opcode === OP.CLOSE) outcome = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        else outcome = 'echo';
        endings.set(`${c.what.replace(/\d+ bits/, 'n bits')}: ${outcome}`, (endings.get(`${c.what.replace(/\d+ bits/, 'n bits')}: ${outcome}`) ?? 0) + 1);
        if (!c.allowed.includes(outcome as number | 'echo')) failures.push(`case ${index} (${c.what}): ${outcome}, allowed ${c.allowed.join(', ')}`);
      } finally {
        raw.destroy();
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  fuzzing = false;
  t.comment([...endings].sort().map(([k, v]) => `${k} ×${v}`).join('\n'));
  t.same(failures.slice(0, 10), [], 'every case ended as it should');

  const peak = peakRssMiB(server.pid);
  t.comment(`server peak RSS ${baseline.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after ${Math.ceil(CASES / 6)} bombs of 1 GiB, ${CONCURRENCY} connections at a time`);
  t.ok(peak < baseline + 16 * 2 * CONCURRENCY + 200, 'peak RSS bounded by the message limit (16 MiB) per connection at a time, not by what the bombs inflate to');

  for (const [i, r] of (await Promise.all(good)).entries()) {
    t.same(r.bad, [], `good client ${i + 1}: all ${r.sent} echoes right, compressed both ways`);
    r.client.ws.close(1000);
    t.equal((await r.client.closed).code, 1000);
  }
  t.notOk(server.exited(), 'the process is still running');
  const { code } = await server.stop();
  t.equal(code, 0, 'exit code 0 on SIGTERM');
  t.equal(server.stderr(), '', 'nothing on stderr');
});
