/**
 * The permessage-deflate codecs alone, in one process, no sockets: ours
 * (lib/websocket/deflate.ts) against ws's (its lib/permessage-deflate.js,
 * an internal module, loaded by path). Each message is compressed with
 * context takeover, and an independently compressed copy is inflated (ours
 * checks UTF-8 while inflating; ws's result is checked with isUtf8 after).
 * CPU time (all threads, zlib's thread pool included) per message, medians.
 *
 *   npm run build && node dist/bench/deflate-codec.js [--rounds 5]
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { constants, deflateRawSync } from 'node:zlib';
import { resolveDeflateOptions } from '../lib/websocket/deflate-offer.js';
import { PerMessageDeflate } from '../lib/websocket/deflate.js';
import { Utf8Validator } from '../lib/websocket/utf8.js';
import { formatNumber, median, table } from './stats.js';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const ROUNDS = Number(flags.rounds);

interface WsCodec {
  accept(offers: object[]): void;
  compress(data: Buffer, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, callback: (error: Error | null, result?: Buffer) => void): void;
  cleanup(): void;
}
const require = createRequire(import.meta.url);
// Not in ws's exports: loaded by its file path (a measurement, not a dependency).
const WsPerMessageDeflate = require(join(dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js')) as new (options: object, isServer: boolean, maxPayload: number) => WsCodec;

let json = '';
for (let i = 0; json.length < 1 << 21; i++) json += JSON.stringify({ id: i, key: `K${((i * 2654435761) >>> 0).toString(36)}`, state: ['redeemed', 'duplicate', 'invalid'][i % 3] }) + ',';

const PARAMS = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

async function measure(size: number, count: number): Promise<[ours: number, ws: number]> {
  const messages = Array.from({ length: 16 }, (_, k) => Buffer.from(json.slice(k * 997, k * 997 + size)));
  const compressed = messages.map((m) => deflateRawSync(m, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4));
  const ours = async (): Promise<number> => {
    const c = new PerMessageDeflate(PARAMS, resolveDeflateOptions());
    const d = new PerMessageDeflate(PARAMS, resolveDeflateOptions());
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      await new Promise((r) => c.compress(messages[i % 16]!, r));
      await new Promise((r) => d.decompress(compressed[i % 16]!, 16 << 20, new Utf8Validator(), r));
    }
    const cpu = process.cpuUsage(cpu0);
    c.close();
    d.close();
    return (cpu.user + cpu.system) / count;
  };
  const theirs = async (): Promise<number> => {
    const c = new WsPerMessageDeflate({}, true, 0);
    c.accept([{}]);
    const d = new WsPerMessageDeflate({}, true, 0);
    d.accept([{}]);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      await new Promise((r) => c.compress(messages[i % 16]!, true, r));
      await new Promise<void>((r) => d.decompress(compressed[i % 16]!, true, (_e, b) => (isUtf8(b!), r())));
    }
    const cpu = process.cpuUsage(cpu0);
    c.cleanup();
    d.cleanup();
    return (cpu.user + cpu.system) / count;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) a.push(await ours()), b.push(await theirs());
    else b.push(await theirs()), a.push(await ours());
  }
  return [median(a), median(b)];
}

const rows: string[][] = [];
for (const [what, size, count] of [['1 KiB JSON text', 1024, 2000], ['1 MiB JSON text', 1 << 20, 20]] as const) {
  const [ours, ws] = await measure(size, count);
  rows.push([what, `${formatNumber(ours)} µs`, `${formatNumber(ws)} µs`, `${(ours / ws).toFixed(2)}×`]);
}
console.log(`codec CPU per message (compress + inflate), medians of ${ROUNDS} interleaved rounds`);
console.log(table([['', 'steam-key', 'ws', 'steam-key / ws'], ...rows]));
