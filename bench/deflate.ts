/**
 * permessage-deflate, steam-key echo against ws in the same run: throughput
 * and server CPU on compressed messages, and memory per compressed connection.
 *
 *   npm run build && node dist/bench/deflate.js [--connections 300] [--rounds 3] [--duration 2000] [--compare]
 *
 * Throughput: one ws client with perMessageDeflate (context takeover, ws's
 * defaults) sends JSON-like text, a few messages in flight, and counts the
 * echoes: 1 KiB messages (256 different ones, cycled) and 1 MiB ones.
 * Rounds interleave the servers (steam-key, ws, ws, steam-key, …); medians.
 *
 * Each server runs in its own process with bench/probe.js (after full GCs),
 * a fresh one per scenario. Two figures: heap + external, and RSS. Only RSS
 * sees zlib's own state: node:zlib mallocs it outside V8 and reports none of
 * it as external memory (a raw deflate context with the default window and
 * memLevel is ~250 KiB of RSS but ~16 KiB of "external", its output buffer).
 * The clients are ws clients in this process, so their own zlib contexts
 * are not counted. Per connection = (with N
 * connections − with none) ÷ N, for: idle after the handshake; after one
 * 4 KiB compressible message each way (both zlib contexts made), with
 * context takeover; and the same when the clients offer
 * server_no_context_takeover and client_no_context_takeover.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { Peer } from './ipc.js';
import type { MemorySample } from './probe.js';
import { formatNumber, median, table } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '2000' },
    compare: { type: 'boolean' },
  },
});
const ROUNDS = Number(flags.rounds);
const DURATION_MS = Number(flags.duration);
const N = Number(flags.connections);
const PROBE = new URL('./probe.js', import.meta.url).href;
const BIN = fileURLToPath(new URL('../bin/steam-key.js', import.meta.url));
const WS = fileURLToPath(new URL('./servers/ws-deflate-echo.js', import.meta.url));
const OURS = fileURLToPath(new URL('./servers/deflate-echo.js', import.meta.url));

interface Server {
  child: ChildProcess;
  probe: Peer;
  port: number;
}

function start(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', PROBE, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const probe = new Peer(child, args.join(' '));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve({ child, probe, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** A JSON-like text message: what compression is for. */
const MESSAGE = JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ id: i, type: 'key-status', key: `AAAAA-BBBBB-${String(i).padStart(5, '0')}`, state: 'redeemed' }))).slice(0, 4096);

async function open(port: number, noTakeover: boolean): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, {
    perMessageDeflate: noTakeover ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 } : { threshold: 0 },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  if (!ws.extensions.includes('permessage-deflate')) throw new Error('permessage-deflate was not agreed');
  return ws;
}

async function echoOnce(ws: WebSocket): Promise<void> {
  const reply = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(MESSAGE);
  await reply;
}

async function perConnection(server: Server, scenario: 'idle' | 'active' | 'active, no takeover'): Promise<[heap: number, rss: number]> {
  const before = await server.probe.call<MemorySample>({ kind: 'memory' });
  const clients: WebSocket[] = [];
  for (let i = 0; i < N; i++) clients.push(await open(server.port, scenario === 'active, no takeover'));
  if (scenario !== 'idle') for (const ws of clients) await echoOnce(ws);
  const after = await server.probe.call<MemorySample>({ kind: 'memory' });
  await Promise.all(clients.map((ws) => new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()))));
  return [(after.heapAndExternal - before.heapAndExternal) / N, (after.rss - before.rss) / N];
}

/** 256 different JSON-like texts of 1 KiB, and one of 1 MiB. */
function jsonText(seed: number, bytes: number): string {
  let text = '';
  for (let i = 0; text.length < bytes; i++) {
    const n = seed * 7919 + i;
    text += JSON.stringify({ id: n, type: 'key-status', key: `${(n * 2654435761 >>> 0).toString(36).toUpperCase()}-${(n * 40503 >>> 0).toString(36).toUpperCase()}`, state: ['redeemed', 'duplicate', 'invalid'][n % 3], app: 100000 + (n % 977), name: `Game ${n % 50}` }) + ',';
  }
  return text.slice(0, bytes);
}
const SMALL = Array.from({ length: 256 }, (_, i) => jsonText(i, 1024));
const LARGE = jsonText(99, 1 << 20);

interface Throughput {
  perSecond: number;
  cpuPerMessage: number;
}

/** Echoes `messages` (cycled) for DURATION_MS with `window` in flight; messages/s and server CPU µs per message. */
async function throughput(server: Server, messages: string[], window: number): Promise<Throughput> {
  const ws = await open(server.port, false);
  let sent = 0;
  let received = 0;
  let stop = false;
  const done = new Promise<void>((resolve) => {
    ws.on('message', () => {
      received++;
      if (!stop) ws.send(messages[sent++ % messages.length]!);
      else if (received === sent) resolve();
    });
  });
  for (let i = 0; i < window; i++) ws.send(messages[sent++ % messages.length]!);
  await new Promise((r) => setTimeout(r, 300)); // warm-up
  const cpu0 = await server.probe.call<number>({ kind: 'cpu' });
  const count0 = received;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, DURATION_MS));
  const count = received - count0;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = await server.probe.call<number>({ kind: 'cpu' });
  stop = true;
  await done;
  ws.close();
  return { perSecond: count / seconds, cpuPerMessage: (cpu1 - cpu0) / count };
}

const rows: string[][] = [];
{
  const names = ['steam-key', 'ws'] as const;
  const args: Record<(typeof names)[number], string[]> = { 'steam-key': [BIN, 'echo', '--port', '0', '--deflate'], ws: [WS] };
  const small: Record<string, Throughput[]> = { 'steam-key': [], ws: [] };
  const large: Record<string, Throughput[]> = { 'steam-key': [], ws: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const server = await start(args[name]);
      small[name]!.push(await throughput(server, SMALL, 32));
      large[name]!.push(await throughput(server, [LARGE], 2));
      server.child.kill('SIGTERM');
    }
  }
  const m = (list: Throughput[], key: keyof Throughput): number => median(list.map((x) => x[key]));
  const line = (what: string, ours: number, theirs: number, format: (x: number) => string): string[] => [what, format(ours), format(theirs), `${(ours / theirs).toFixed(2)}×`];
  const through: string[][] = [
    line('1 KiB JSON text echo, 32 in flight (msg/s)', m(small['steam-key']!, 'perSecond'), m(small.ws!, 'perSecond'), formatNumber),
    line('  server CPU per message (µs)', m(small['steam-key']!, 'cpuPerMessage'), m(small.ws!, 'cpuPerMessage'), formatNumber),
    line('1 MiB JSON text echo, 2 in flight (MB/s)', (m(large['steam-key']!, 'perSecond') * LARGE.length) / 1e6, (m(large.ws!, 'perSecond') * LARGE.length) / 1e6, formatNumber),
    line('  server CPU per message (µs)', m(large['steam-key']!, 'cpuPerMessage'), m(large.ws!, 'cpuPerMessage'), formatNumber),
  ];
  console.log(`compressed echo, medians of ${ROUNDS} rounds of ${DURATION_MS} ms (ws client with perMessageDeflate, context takeover)`);
  console.log(table([['', 'steam-key', 'ws', 'steam-key / ws'], ...through]));
  console.log('');
}

const servers: [string, string[]][] = [
  ['steam-key echo --deflate', [BIN, 'echo', '--port', '0', '--deflate']],
  ['ws (perMessageDeflate: true)', [WS]],
];
// --compare: steam-key with other options too (zlib's memLevel 8, as ws uses).
if (flags.compare) servers.push(['steam-key, memLevel 8', [OURS, JSON.stringify({ memLevel: 8 })]]);
const results = new Map<string, [number, number][]>();
for (const [name, args] of servers) {
  const figures: [number, number][] = [];
  for (const scenario of ['idle', 'active', 'active, no takeover'] as const) {
    const server = await start(args);
    figures.push(await perConnection(server, scenario));
    server.child.kill('SIGTERM');
  }
  results.set(name, figures);
}
const [ours, theirs] = [...results.values()] as [[number, number][], [number, number][]];
const kib = (bytes: number): string => `${formatNumber(bytes / 1024)} KiB`;
['idle after the handshake', 'after one 4 KiB message each way (context takeover)', 'the same, no context takeover'].forEach((what, i) => {
  const [oh, or] = ours[i]!;
  const [th, tr] = theirs[i]!;
  rows.push([what, kib(or), kib(tr), `${(or / tr).toFixed(2)}×`, kib(oh), kib(th)]);
});
console.log(`memory per compressed connection, ${N} connections (after full GCs, with N connections minus without, ÷ N)`);
for (const [name, figures] of [...results].slice(2)) {
  console.log(`${name}: RSS ${figures.map(([, rss]) => kib(rss)).join(' / ')}; heap+ext ${figures.map(([heap]) => kib(heap)).join(' / ')}`);
}
console.log(table([['', 'RSS steam-key', 'RSS ws', 'steam-key / ws', 'heap+ext steam-key', 'heap+ext ws'], ...rows]));
