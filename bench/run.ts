/**
 * `npm run bench`: steam-key's echo server against an echo server on `ws`,
 * in interleaved rounds (steam-key, ws, ws, steam-key, …), each server in its
 * own process, driven by a separate load-generator process. A raw TCP echo
 * run each round shows the load generator's ceiling. Prints the median of
 * every metric over the rounds and the ratio steam-key / ws.
 *
 *   node dist/bench/run.js [--rounds 5] [--duration 1500] [--warmup 300]
 *                          [--window 128] [--idle 10000] [--only small1,large,...]
 *                          [--sweep 8,32,128,512 | --sweep none] [--cpu-prof DIR] [--ws-native]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job, Mark, Workload } from './load.js';
import { Peer } from './ipc.js';
import type { MemorySample } from './probe.js';
import { formatNumber, median, table } from './stats.js';
import { positiveInt, spawnNode, stop } from './process.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '1500' },
    warmup: { type: 'string', default: '300' },
    window: { type: 'string', default: '128' },
    sweep: { type: 'string', default: '8,32,128,512' },
    idle: { type: 'string', default: '10000' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'ws-native': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'Usage: node dist/bench/run.js [--rounds N] [--duration MS] [--warmup MS] [--window N] [--idle N] [--only m1,m2]\n' +
      '                              [--sweep W1,W2,… | --sweep none] [--cpu-prof DIR]\n' +
      '--window N: messages in flight per connection for the 64 B metrics (default 128).\n' +
      '--sweep: after the rounds, one pass of the 1-connection 64 B echo at each of these windows.\n' +
      'Metrics: small1 small100 large handshake memory\n' +
      '--cpu-prof DIR writes a V8 CPU profile of each server run into DIR/steam-key and DIR/ws (open it in Chrome DevTools).\n' +
      '--ws-native adds a third server to every round: ws with its C masking addon, bufferutil, which must be\n' +
      '  installed (npm install --no-save bufferutil). The targets stay against plain ws.',
  );
  process.exit(0);
}
const ROUNDS = positiveInt('rounds', flags.rounds);
const DURATION_MS = positiveInt('duration', flags.duration);
const WARMUP_MS = positiveInt('warmup', flags.warmup);
const WINDOW = positiveInt('window', flags.window);
const SWEEP = flags.sweep === 'none' ? [] : flags.sweep.split(',').map((w) => positiveInt('sweep', w));
let IDLE = positiveInt('idle', flags.idle);
if (flags['ws-native'] && !resolvesFromWs('bufferutil')) {
  console.error('--ws-native needs bufferutil, which ws loads if it is installed: npm install --no-save bufferutil');
  process.exit(2);
}

/** Whether ws would find `name` (it loads its optional addons with a plain require). */
function resolvesFromWs(name: string): boolean {
  try {
    createRequire(createRequire(import.meta.url).resolve('ws')).resolve(name);
    return true;
  } catch {
    return false;
  }
}


const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const STEAM_KEY_BIN = here('../bin/steam-key.js');
const PROBE = new URL('./probe.js', import.meta.url).href;
const LOAD = here('./load.js');

type ServerName = 'steam-key' | 'ws' | 'ws-native' | 'raw';
/** The WebSocket servers of each round, steam-key first; the raw echo is not one. */
const WEBSOCKET_SERVERS: ServerName[] = flags['ws-native'] ? ['steam-key', 'ws', 'ws-native'] : ['steam-key', 'ws'];
type MetricKey = 'small1' | 'small100' | 'large' | 'handshake' | 'memory';

interface Metric {
  key: MetricKey;
  label: string;
  unit: string;
  /** Target ratio steam-key / ws. */
  target: number;
  /** True when a lower figure is better (memory): the ratio must be at most the target. */
  lowerIsBetter: boolean;
}

const METRICS: Metric[] = [
  { key: 'small1', label: `64 B echo, 1 conn, ${WINDOW} in flight`, unit: 'msg/s', target: 2, lowerIsBetter: false },
  { key: 'small100', label: `64 B echo, 100 conns, ${WINDOW} in flight each`, unit: 'msg/s', target: 2, lowerIsBetter: false },
  { key: 'large', label: '1 MiB echo, 1 conn, 4 in flight', unit: 'MB/s', target: 3, lowerIsBetter: false },
  { key: 'handshake', label: 'handshakes (open+close), 16 at a time', unit: '/s', target: 1.3, lowerIsBetter: false },
  { key: 'memory', label: 'memory per idle conn (heap+external)', unit: 'B', target: 0.8, lowerIsBetter: true },
];
const selected = flags.only ? new Set(flags.only.split(',')) : null;
for (const name of selected ?? []) {
  if (!METRICS.some((m) => m.key === name)) throw new Error(`--only: unknown metric '${name}'`);
}
const active = METRICS.filter((m) => selected === null || selected.has(m.key));
// Memory first, on a fresh server: traffic leaves caches and pools behind that would blur its baseline.
const runOrder = [...active.filter((m) => m.key === 'memory'), ...active.filter((m) => m.key !== 'memory')];

/** Figures per server and metric, one per round; plus the RSS view of memory. */
const samples = new Map<string, number[]>();
function record(server: ServerName, metric: string, value: number): void {
  const key = `${server}/${metric}`;
  samples.set(key, [...(samples.get(key) ?? []), value]);
}
const medianOf = (server: ServerName, metric: string): number => median(samples.get(`${server}/${metric}`) ?? []);

// ---- processes ------------------------------------------------------------

/**
 * Runs `node args…` through sh with the soft open-files limit raised to the
 * hard limit (10,000 idle connections need 10,000 descriptors on each side).
 */


interface Server {
  name: ServerName;
  port: number;
  probe: Peer;
  child: ChildProcess;
  banner: string;
}

async function startServer(name: ServerName): Promise<Server> {
  const env = { ...process.env };
  let script: string[];
  if (name === 'steam-key') {
    // The real binary, unchanged; probe.js only adds the memory probe.
    script = [STEAM_KEY_BIN, 'echo', '--port', '0'];
  } else if (name === 'ws') {
    script = [here('./servers/ws-echo.js')];
    env.WS_NO_BUFFER_UTIL = '1';
    env.WS_NO_UTF_8_VALIDATE = '1';
  } else if (name === 'ws-native') {
    script = [here('./servers/ws-echo.js')];
  } else {
    script = [here('./servers/tcp-echo.js')];
  }
  if (flags['cpu-prof'] && name !== 'raw') script.unshift('--cpu-prof', `--cpu-prof-dir=${flags['cpu-prof']}/${name}`);
  const child = spawnNode(['--expose-gc', '--import', PROBE, ...script], env, 'pipe');
  const banner = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${name} server did not start: ${text}`)), 10_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      if (/listening on ws:\/\/127\.0\.0\.1:\d+/.test(text)) {
        clearTimeout(timer);
        resolve(text.trim().split('\n')[0]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} server exited (${code}): ${text}`)));
  });
  if (name === 'ws-native' && !banner.includes('bufferutil')) {
    await stop(child);
    // Installed but not loaded (a broken build, say): ws falls back to its JavaScript loop without a word.
    throw new Error(`--ws-native: ws did not load bufferutil; the server said: ${banner}`);
  }
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(banner)![1]);
  return { name, port, probe: new Peer(child, `${name} server`), child, banner };
}

function startLoadGenerator(): Peer {
  return new Peer(spawnNode([LOAD], process.env, 'inherit'), 'load generator');
}

// ---- one measurement ------------------------------------------------------

interface Measurement {
  /** The metric's figure (msg/s, MB/s, handshakes/s, bytes per connection). */
  value: number;
  /** Server CPU time (user + system) per operation, in µs; NaN for memory. */
  cpuPerOp: number;
  /** Fraction of one core the server and the load generator used during the measurement. */
  serverBusy: number;
  loadBusy: number;
}

function workloadFor(server: Server, metric: Exclude<MetricKey, 'memory'>, window: number): Workload {
  const port = server.port;
  const raw = server.name === 'raw';
  switch (metric) {
    case 'small1':
      return { kind: 'echo', port, raw, connections: 1, window, size: 64 };
    case 'small100':
      return { kind: 'echo', port, raw, connections: 100, window, size: 64 };
    case 'large':
      return { kind: 'echo', port, raw, connections: 1, window: 4, size: 1024 * 1024 };
    case 'handshake':
      return { kind: 'handshake', port, concurrency: 16 };
  }
}

async function measure(server: Server, metric: MetricKey, loads: Peer[], window = WINDOW, durationMs = DURATION_MS): Promise<Measurement> {
  if (metric === 'memory') return measureMemory(server, loads);
  const load = loads[0]!;
  await load.call({ kind: 'start', workload: workloadFor(server, metric, window), warmupMs: WARMUP_MS } satisfies Job);
  const cpu0 = await server.probe.call<number>({ kind: 'cpu' });
  const mark0 = await load.call<Mark>({ kind: 'mark' } satisfies Job);
  await sleep(durationMs);
  const mark1 = await load.call<Mark>({ kind: 'mark' } satisfies Job);
  const cpu1 = await server.probe.call<number>({ kind: 'cpu' });
  await load.call({ kind: 'stop' } satisfies Job);
  const seconds = (mark1.time - mark0.time) / 1000;
  const operations = mark1.operations - mark0.operations;
  const value = metric === 'large' ? (mark1.bytes - mark0.bytes) / 1e6 / seconds : operations / seconds;
  return {
    value,
    cpuPerOp: (cpu1 - cpu0) / operations,
    serverBusy: (cpu1 - cpu0) / 1e6 / seconds,
    loadBusy: (mark1.cpu - mark0.cpu) / 1e6 / seconds,
  };
}

/**
 * Memory per idle connection: the server's memory after full GCs with
 * IDLE connections open, minus the same before they were opened, over IDLE.
 * The connections are spread over the load generators.
 */
async function measureMemory(server: Server, loads: Peer[]): Promise<Measurement> {
  const before = await server.probe.call<MemorySample>({ kind: 'memory' });
  const shares = loads.map((_, i) => Math.floor(IDLE / loads.length) + (i < IDLE % loads.length ? 1 : 0));
  await Promise.all(loads.map((l, i) => l.call({ kind: 'open', port: server.port, connections: shares[i]! } satisfies Job)));
  await sleep(200);
  const after = await server.probe.call<MemorySample>({ kind: 'memory' });
  await Promise.all(loads.map((l) => l.call({ kind: 'closeAll' } satisfies Job)));
  record(server.name, 'memoryRss', (after.rss - before.rss) / IDLE);
  return { value: (after.heapAndExternal - before.heapAndExternal) / IDLE, cpuPerOp: NaN, serverBusy: NaN, loadBusy: NaN };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(metric: MetricKey, m: Measurement): string {
  if (metric === 'memory') return `${metric}=${formatNumber(m.value)}`;
  const busy = `server ${(m.serverBusy * 100).toFixed(0)}% load ${(m.loadBusy * 100).toFixed(0)}%`;
  return `${metric}=${formatNumber(m.value)} (${formatNumber(m.cpuPerOp)} µs/op; ${busy})`;
}

// ---- main -------------------------------------------------------------------

function openFilesLimit(): number {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

/**
 * One connection, 64 B messages, at several windows: below some window the
 * figure measures the round trip of one batch (two process wake-ups), not
 * the server, and a server that writes each reply at once overlaps with its
 * client while one that joins the replies of a read does not. One pass.
 */
async function sweep(loads: Peer[]): Promise<string[][]> {
  const rows: string[][] = [['messages in flight', 'steam-key msg/s', 'ws msg/s', 'ratio', 'steam-key µs/op', 'ws µs/op']];
  const byName = new Map<ServerName, Measurement[]>();
  for (const name of ['steam-key', 'ws'] as const) {
    const server = await startServer(name);
    try {
      const results: Measurement[] = [];
      for (const window of SWEEP) results.push(await measure(server, 'small1', loads, window, Math.min(DURATION_MS, 1000)));
      byName.set(name, results);
    } finally {
      await stop(server.child);
    }
  }
  SWEEP.forEach((window, i) => {
    const ours = byName.get('steam-key')![i]!;
    const theirs = byName.get('ws')![i]!;
    rows.push([String(window), formatNumber(ours.value), formatNumber(theirs.value), `${(ours.value / theirs.value).toFixed(2)}×`, formatNumber(ours.cpuPerOp), formatNumber(theirs.cpuPerOp)]);
  });
  return rows;
}

let sweepRows: string[][] | null = null;

async function main(): Promise<void> {
  const started = Date.now();
  const require = createRequire(import.meta.url);
  const wsVersion = (require('ws/package.json') as { version: string }).version;
  const limit = openFilesLimit();
  if (active.some((m) => m.key === 'memory') && IDLE + 200 > limit) {
    const reduced = Math.max(100, limit - 200);
    console.log(`note: the open-files hard limit is ${limit}; using ${reduced} idle connections instead of ${IDLE}`);
    IDLE = reduced;
  }
  console.log(
    `steam-key bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ` +
      `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ws ${wsVersion}, open files ≤ ${limit}`,
  );
  console.log(
    `${ROUNDS} rounds; each measurement ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms; window ${WINDOW} messages per connection; ` +
      `${IDLE} idle connections for memory\n`,
  );

  // Two load generators: throughput jobs use the first; idle connections are spread over both.
  const loads = [startLoadGenerator(), startLoadGenerator()];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate who goes first, so a drift in machine load favours neither.
      const order: ServerName[] = [...(round % 2 === 1 ? WEBSOCKET_SERVERS : [...WEBSOCKET_SERVERS].reverse()), 'raw'];
      for (const name of order) {
        const server = await startServer(name);
        if (round === 1) console.log(`  ${server.banner}`);
        const figures: string[] = [];
        try {
          for (const metric of runOrder) {
            const m = await measure(server, metric.key, loads);
            record(name, metric.key, m.value);
            record(name, `${metric.key}/cpu`, m.cpuPerOp);
            record(name, `${metric.key}/serverBusy`, m.serverBusy);
            record(name, `${metric.key}/loadBusy`, m.loadBusy);
            figures.push(describe(metric.key, m));
          }
        } finally {
          await stop(server.child);
        }
        console.log(`round ${round} ${name.padEnd(9)} ${figures.join('\n                ')}`);
      }
    }
    if (SWEEP.length > 0) sweepRows = await sweep(loads);
  } finally {
    await Promise.all(loads.map((l) => stop(l.child)));
  }

  const native = flags['ws-native'] === true;
  const ratioOf = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  /** With --ws-native: ws + bufferutil's figure, steam-key / it, and it / plain ws. */
  const nativeCells = (metric: string): string[] => {
    if (!native) return [];
    const n = medianOf('ws-native', metric);
    return [formatNumber(n), ratioOf(medianOf('steam-key', metric), n), ratioOf(n, medianOf('ws', metric))];
  };
  const rows: string[][] = [
    ['metric', 'steam-key', 'ws', 'ratio', 'target', 'met?', ...(native ? ['ws+bufferutil', 'ratio to it', 'its ratio to ws'] : [])],
  ];
  for (const m of active) {
    const ours = medianOf('steam-key', m.key);
    const theirs = medianOf('ws', m.key);
    const ratio = ours / theirs;
    const met = m.lowerIsBetter ? ratio <= m.target : ratio >= m.target;
    rows.push([`${m.label} (${m.unit})`, formatNumber(ours), formatNumber(theirs), ratioOf(ours, theirs), `${m.lowerIsBetter ? '≤' : '≥'} ${m.target}×`, met ? 'yes' : 'NO', ...nativeCells(m.key)]);
    if (m.key === 'memory') {
      const rssOurs = medianOf('steam-key', 'memoryRss');
      const rssTheirs = medianOf('ws', 'memoryRss');
      rows.push(['memory per idle conn (RSS, for information) (B)', formatNumber(rssOurs), formatNumber(rssTheirs), ratioOf(rssOurs, rssTheirs), '', '', ...nativeCells('memoryRss')]);
    }
  }
  const against = native
    ? 'ratio = steam-key / plain ws, the targets are against it; then ws with its C masking addon, steam-key / it, and it / plain ws'
    : 'ratio = steam-key / ws';
  console.log(`\nMedians over ${ROUNDS} rounds (${against}):\n`);
  console.log(table(rows));

  const throughput = active.filter((m) => m.key !== 'memory');
  if (throughput.length > 0) {
    // Server CPU per operation does not depend on who else uses the machine's
    // cores, nor on whether the load generator kept the server busy.
    const cpuRows: string[][] = [
      [
        'metric',
        'steam-key µs/op',
        'ws µs/op',
        'ws/steam-key',
        ...(native ? ['ws+bufferutil µs/op', 'it/steam-key'] : []),
        'busy: steam-key',
        'ws',
        `load gen (vs ${native ? 'sk, ws, ws+bu' : 'sk, ws'})`,
      ],
    ];
    const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
    for (const m of throughput) {
      const ours = medianOf('steam-key', `${m.key}/cpu`);
      const theirs = medianOf('ws', `${m.key}/cpu`);
      cpuRows.push([
        m.label,
        formatNumber(ours),
        formatNumber(theirs),
        ratioOf(theirs, ours),
        ...(native ? [formatNumber(medianOf('ws-native', `${m.key}/cpu`)), ratioOf(medianOf('ws-native', `${m.key}/cpu`), ours)] : []),
        pct(medianOf('steam-key', `${m.key}/serverBusy`)),
        pct(medianOf('ws', `${m.key}/serverBusy`)),
        WEBSOCKET_SERVERS.map((n) => pct(medianOf(n, `${m.key}/loadBusy`))).join(', '),
      ]);
    }
    console.log('\nServer CPU time (user + system) per operation, and how busy each process was (100% = one core):\n');
    console.log(table(cpuRows));

    // Is the load generator the bottleneck? Its own CPU use says so directly;
    // the raw TCP echo shows how far it gets against a server doing no
    // WebSocket work (where that server, not the load generator, may saturate).
    const lines = throughput.map((m) => {
      const raw = medianOf('raw', m.key);
      const best = Math.max(...WEBSOCKET_SERVERS.map((n) => medianOf(n, m.key)));
      const busiest = Math.max(...[...WEBSOCKET_SERVERS, 'raw' as const].map((n) => medianOf(n, `${m.key}/loadBusy`)));
      return (
        `  ${m.key.padEnd(9)} load generator at most ${pct(busiest)} busy; against the raw echo ` +
        `${formatNumber(raw)} ${m.unit} = ${(raw / best).toFixed(1)}× the faster WebSocket server ` +
        `(raw echo server ${pct(medianOf('raw', `${m.key}/serverBusy`))} busy)`
      );
    });
    console.log(`\nThe load generator (100% = one core) and the raw TCP echo (a Node server doing no WebSocket work):\n${lines.join('\n')}`);
  }

  if (active.some((m) => m.key === 'memory')) {
    // The floor under both servers: what Node itself holds for an open socket.
    const raw = medianOf('raw', 'memory');
    const extra = (name: ServerName): string => formatNumber(medianOf(name, 'memory') - raw);
    console.log(
      `\nMemory per idle connection of the raw TCP echo (a node:net socket and a one-line echo): ${formatNumber(raw)} B; ` +
        `steam-key adds ${extra('steam-key')} B to it, ws ${extra('ws')} B.`,
    );
  }

  if (sweepRows) {
    console.log('\nOne connection, 64 B messages, by messages in flight (one pass; below ~100 in flight one batch bounces');
    console.log('between two sleeping processes and the figure is mostly their wake-up time, see README):\n');
    console.log(table(sweepRows));
  }
  console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
