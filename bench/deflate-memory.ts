/**
 * Memory per compressed connection (permessage-deflate), steam-key echo
 * against ws in the same run:
 *
 *   npm run build && node dist/bench/deflate-memory.js [--connections 300]
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
import { formatNumber, table } from './stats.js';

const { values: flags } = parseArgs({ options: { connections: { type: 'string', default: '300' }, compare: { type: 'boolean' } } });
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

const rows: string[][] = [];
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
