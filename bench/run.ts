/**
 * `npm run bench`: steam-key's echo server against an echo server on `ws`,
 * in interleaved rounds (steam-key, ws, ws, steam-key, …), each server in its
 * own process, driven by a separate load-generator process. A raw TCP echo
 * run each round shows the load generator's ceiling. Then the same with
 * permessage-deflate (RFC 7692): `steam-key echo --deflate` against ws with
 * `perMessageDeflate: true`, on compressed JSON-like text. Prints the median
 * of every metric over the rounds and the ratio steam-key / ws.
 *
 *   node dist/bench/run.js [--rounds 5] [--duration 1500] [--warmup 300]
 *                          [--window 128] [--idle 10000] [--deflate-idle 1000] [--only small1,large,...]
 *                          [--sweep 8,32,128,512 | --sweep none] [--cpu-prof DIR] [--ws-native]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job, Mark, Started, Workload } from './load.js';
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
    'deflate-idle': { type: 'string', default: '1000' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'ws-native': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'Usage: node dist/bench/run.js [--rounds N] [--duration MS] [--warmup MS] [--window N] [--idle N] [--deflate-idle N]\n' +
      '                              [--only m1,m2] [--sweep W1,W2,… | --sweep none] [--cpu-prof DIR]\n' +
      '--window N: messages in flight per connection for the 64 B metrics (default 128).\n' +
      '--idle N, --deflate-idle N: idle connections for memory, without and with compression (default 10000, 1000).\n' +
      '--sweep: after the rounds, one pass of the 1-connection 64 B echo at each of these windows.\n' +
      'Metrics: small1 small100 large handshake memory (no compression);\n' +
      '         deflate-json1 deflate-json50 deflate-1m deflate-memory deflate-memory-nct (permessage-deflate)\n' +
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
const DEFLATE_IDLE = positiveInt('deflate-idle', flags['deflate-idle']);
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

type ServerName = 'steam-key' | 'ws' | 'ws-native' | 'raw' | 'steam-key-deflate' | 'ws-deflate';
/** The WebSocket servers of each round, steam-key first; the raw echo is not one. */
const WEBSOCKET_SERVERS: ServerName[] = flags['ws-native'] ? ['steam-key', 'ws', 'ws-native'] : ['steam-key', 'ws'];
/** The same with permessage-deflate: `steam-key echo --deflate` and ws with perMessageDeflate (its defaults). */
const DEFLATE_SERVERS: ServerName[] = ['steam-key-deflate', 'ws-deflate'];
type MetricKey = 'small1' | 'small100' | 'large' | 'handshake' | 'memory' | DeflateKey;
type DeflateKey = 'deflate-json1' | 'deflate-json50' | 'deflate-1m' | 'deflate-memory' | 'deflate-memory-nct';

interface Metric {
  key: MetricKey;
  label: string;
  unit: string;
  /** Target ratio steam-key / ws. */
  target: number;
  /** True when a lower figure is better (memory): the ratio must be at most the target. */
  lowerIsBetter: boolean;
  /** Measured on the compressing servers (DEFLATE_SERVERS). */
  deflate?: boolean;
}

const METRICS: Metric[] = [
  { key: 'small1', label: `64 B echo, 1 conn, ${WINDOW} in flight`, unit: 'msg/s', target: 2, lowerIsBetter: false },
  { key: 'small100', label: `64 B echo, 100 conns, ${WINDOW} in flight each`, unit: 'msg/s', target: 2, lowerIsBetter: false },
  { key: 'large', label: '1 MiB echo, 1 conn, 4 in flight', unit: 'MB/s', target: 3, lowerIsBetter: false },
  { key: 'handshake', label: 'handshakes (open+close), 16 at a time', unit: '/s', target: 1.3, lowerIsBetter: false },
  { key: 'memory', label: 'memory per idle conn (heap+external)', unit: 'B', target: 0.8, lowerIsBetter: true },
  // Issue 15's targets: at least ws's throughput, at most its memory per connection.
  { key: 'deflate-json1', label: 'deflate: 1 KiB JSON text, 1 conn, 64 in flight', unit: 'msg/s', target: 1, lowerIsBetter: false, deflate: true },
  { key: 'deflate-json50', label: 'deflate: 1 KiB JSON text, 50 conns, 16 in flight each', unit: 'msg/s', target: 1, lowerIsBetter: false, deflate: true },
  { key: 'deflate-1m', label: 'deflate: 1 MiB JSON text, 1 conn, 4 in flight', unit: 'MB/s', target: 1, lowerIsBetter: false, deflate: true },
  { key: 'deflate-memory', label: 'deflate: memory per idle compressed conn (heap+external)', unit: 'B', target: 1, lowerIsBetter: true, deflate: true },
  { key: 'deflate-memory-nct', label: 'deflate: the same, no context takeover either way', unit: 'B', target: 1, lowerIsBetter: true, deflate: true },
];
const isMemory = (key: MetricKey): boolean => key === 'memory' || key === 'deflate-memory' || key === 'deflate-memory-nct';
/**
 * A 1 MiB compressed message takes ~25 ms of CPU: 300 ms of warm-up would be
 * a dozen messages, with the JIT still compiling the server's code.
 */
const warmupFor = (key: MetricKey): number => (key === 'deflate-1m' ? Math.max(WARMUP_MS, 1000) : WARMUP_MS);
const selected = flags.only ? new Set(flags.only.split(',')) : null;
for (const name of selected ?? []) {
  if (!METRICS.some((m) => m.key === name)) throw new Error(`--only: unknown metric '${name}'`);
}
const active = METRICS.filter((m) => selected === null || selected.has(m.key));
// Memory first, on a fresh server: traffic leaves caches and pools behind that would blur its baseline.
const runOrder = [...active.filter((m) => isMemory(m.key)), ...active.filter((m) => !isMemory(m.key))];
const plainActive = active.some((m) => !m.deflate);
const deflateActive = active.some((m) => m.deflate);
/** Which servers a metric compares: steam-key's and ws's figures (and, with --ws-native, ws + bufferutil's). */
const oursFor = (m: Metric): ServerName => (m.deflate ? 'steam-key-deflate' : 'steam-key');
const theirsFor = (m: Metric): ServerName => (m.deflate ? 'ws-deflate' : 'ws');

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
  if (name === 'steam-key' || name === 'steam-key-deflate') {
    // The real binary, unchanged; probe.js only adds the memory probe.
    script = [STEAM_KEY_BIN, 'echo', '--port', '0', ...(name === 'steam-key-deflate' ? ['--deflate'] : [])];
  } else if (name === 'ws' || name === 'ws-deflate') {
    script = [here(name === 'ws' ? './servers/ws-echo.js' : './servers/ws-deflate-echo.js')];
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
  /** Operations per second, and reply payload bytes on the wire per operation (compressed, with deflate). */
  rate: number;
  wirePerOp: number;
  /** Server CPU time (user + system) per operation, in µs; NaN for memory. */
  cpuPerOp: number;
  /** Fraction of one core the server and the load generator used during the measurement. */
  serverBusy: number;
  loadBusy: number;
}

function workloadFor(server: Server, metric: Exclude<MetricKey, 'memory' | 'deflate-memory' | 'deflate-memory-nct'>, window: number): Workload {
  const port = server.port;
  const raw = server.name === 'raw';
  switch (metric) {
    case 'deflate-json1':
      return { kind: 'deflate-echo', port, connections: 1, window: 64, message: 'json' };
    case 'deflate-json50':
      return { kind: 'deflate-echo', port, connections: 50, window: 16, message: 'json' };
    case 'deflate-1m':
      return { kind: 'deflate-echo', port, connections: 1, window: 4, message: 'text1m' };
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

/** What the compressing servers answered, and one 1 KiB message's size before and after compression. */
const agreed = new Map<ServerName, Started>();

async function measure(server: Server, metric: MetricKey, loads: Peer[], window = WINDOW, durationMs = DURATION_MS): Promise<Measurement> {
  if (metric === 'memory' || metric === 'deflate-memory' || metric === 'deflate-memory-nct') return measureMemory(server, metric, loads);
  const load = loads[0]!;
  const started = await load.call<Started>({ kind: 'start', workload: workloadFor(server, metric, window), warmupMs: warmupFor(metric) } satisfies Job);
  if (started.extensions !== undefined && metric !== 'deflate-1m') agreed.set(server.name, started);
  const cpu0 = await server.probe.call<number>({ kind: 'cpu' });
  const mark0 = await load.call<Mark>({ kind: 'mark' } satisfies Job);
  await sleep(durationMs);
  const mark1 = await load.call<Mark>({ kind: 'mark' } satisfies Job);
  const cpu1 = await server.probe.call<number>({ kind: 'cpu' });
  await load.call({ kind: 'stop' } satisfies Job);
  const seconds = (mark1.time - mark0.time) / 1000;
  const operations = mark1.operations - mark0.operations;
  const rate = operations / seconds;
  let value = rate;
  if (metric === 'large') value = (mark1.bytes - mark0.bytes) / 1e6 / seconds;
  // Compressed: MB/s of text as the application sees it (inflated), 10^6 bytes.
  if (metric === 'deflate-1m') value = (rate * started.size!) / 1e6;
  return {
    value,
    rate,
    wirePerOp: (mark1.bytes - mark0.bytes) / operations,
    cpuPerOp: (cpu1 - cpu0) / operations,
    serverBusy: (cpu1 - cpu0) / 1e6 / seconds,
    loadBusy: (mark1.cpu - mark0.cpu) / 1e6 / seconds,
  };
}

/**
 * Memory per idle connection: the server's memory after full GCs with
 * `count` connections open, minus the same before they were opened, over
 * `count`. The connections are spread over the load generators. Compressed
 * ones agree permessage-deflate and echo one 1 KiB JSON message each first
 * (so each side's zlib contexts exist, if the server keeps them); one such
 * connection is opened and closed before the baseline, so that what the first
 * compression loads once is not counted. Only RSS sees zlib's own state
 * (node:zlib reports none of it to V8); heap + external sees its output buffers.
 */
async function measureMemory(server: Server, metric: 'memory' | 'deflate-memory' | 'deflate-memory-nct', loads: Peer[]): Promise<Measurement> {
  const deflate = metric === 'memory' ? undefined : metric === 'deflate-memory' ? 'takeover' : 'no-takeover';
  const count = deflate === undefined ? IDLE : DEFLATE_IDLE;
  if (deflate !== undefined) {
    await loads[0]!.call({ kind: 'open', port: server.port, connections: 1, deflate } satisfies Job);
    await loads[0]!.call({ kind: 'closeAll' } satisfies Job);
  }
  const before = await server.probe.call<MemorySample>({ kind: 'memory' });
  const shares = loads.map((_, i) => Math.floor(count / loads.length) + (i < count % loads.length ? 1 : 0));
  await Promise.all(loads.map((l, i) => l.call({ kind: 'open', port: server.port, connections: shares[i]!, ...(deflate ? { deflate } : {}) } satisfies Job)));
  await sleep(200);
  const after = await server.probe.call<MemorySample>({ kind: 'memory' });
  await Promise.all(loads.map((l) => l.call({ kind: 'closeAll' } satisfies Job)));
  record(server.name, `${metric}Rss`, (after.rss - before.rss) / count);
  return { value: (after.heapAndExternal - before.heapAndExternal) / count, rate: NaN, wirePerOp: NaN, cpuPerOp: NaN, serverBusy: NaN, loadBusy: NaN };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(metric: MetricKey, m: Measurement): string {
  if (isMemory(metric)) return `${metric}=${formatNumber(m.value)}`;
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
    `${ROUNDS} rounds; each measurement ${WARMUP_MS} ms warm-up (${warmupFor('deflate-1m')} ms for deflate-1m) + ${DURATION_MS} ms; ` +
      `window ${WINDOW} messages per connection; ${IDLE} idle connections for memory, ${DEFLATE_IDLE} for compressed memory\n`,
  );

  // Two load generators: throughput jobs use the first; idle connections are spread over both.
  const loads = [startLoadGenerator(), startLoadGenerator()];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate who goes first, so a drift in machine load favours neither.
      const flip = (names: ServerName[]): ServerName[] => (round % 2 === 1 ? names : [...names].reverse());
      const order: ServerName[] = [...(plainActive ? [...flip(WEBSOCKET_SERVERS), 'raw' as const] : []), ...(deflateActive ? flip(DEFLATE_SERVERS) : [])];
      for (const name of order) {
        // Each memory metric on a fresh server: the connections of an earlier one may still be
        // closing (ws frees a connection's zlib streams some ticks after its socket closed).
        const sessions: Metric[][] = [];
        for (const metric of runOrder.filter((m) => (m.deflate === true) === DEFLATE_SERVERS.includes(name))) {
          if (sessions.length === 0 || isMemory(metric.key)) sessions.push([metric]);
          else sessions[sessions.length - 1]!.push(metric);
        }
        const figures: string[] = [];
        for (const [i, session] of sessions.entries()) {
          const server = await startServer(name);
          if (round === 1 && i === 0) console.log(`  ${server.banner}`);
          try {
            for (const metric of session) {
              const m = await measure(server, metric.key, loads);
              record(name, metric.key, m.value);
              for (const [what, value] of Object.entries({ cpu: m.cpuPerOp, serverBusy: m.serverBusy, loadBusy: m.loadBusy, rate: m.rate, wire: m.wirePerOp })) {
                record(name, `${metric.key}/${what}`, value);
              }
              figures.push(describe(metric.key, m));
            }
          } finally {
            await stop(server.child);
          }
        }
        console.log(`round ${round} ${name.padEnd(17)} ${figures.join('\n                          ')}`);
      }
    }
    if (SWEEP.length > 0 && plainActive) sweepRows = await sweep(loads);
  } finally {
    await Promise.all(loads.map((l) => stop(l.child)));
  }

  const native = flags['ws-native'] === true;
  const ratioOf = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  /** With --ws-native: ws + bufferutil's figure, steam-key / it, and it / plain ws. */
  const nativeCells = (metric: string, deflate = false): string[] => {
    if (!native) return [];
    if (deflate) return ['', '', '']; // ws + bufferutil runs only uncompressed
    const n = medianOf('ws-native', metric);
    return [formatNumber(n), ratioOf(medianOf('steam-key', metric), n), ratioOf(n, medianOf('ws', metric))];
  };
  const rows: string[][] = [
    ['metric', 'steam-key', 'ws', 'ratio', 'target', 'met?', ...(native ? ['ws+bufferutil', 'ratio to it', 'its ratio to ws'] : [])],
  ];
  /** A row for information under a metric: no target. */
  const infoRow = (m: Metric, label: string, figure: (name: ServerName) => number): string[] => {
    const [ours, theirs] = [figure(oursFor(m)), figure(theirsFor(m))];
    return [label, formatNumber(ours), formatNumber(theirs), ratioOf(ours, theirs), '', '', ...nativeCells(`${m.key}Rss`, m.deflate)];
  };
  for (const m of active) {
    const ours = medianOf(oursFor(m), m.key);
    const theirs = medianOf(theirsFor(m), m.key);
    const ratio = ours / theirs;
    const met = m.lowerIsBetter ? ratio <= m.target : ratio >= m.target;
    rows.push([`${m.label} (${m.unit})`, formatNumber(ours), formatNumber(theirs), ratioOf(ours, theirs), `${m.lowerIsBetter ? '≤' : '≥'} ${m.target}×`, met ? 'yes' : 'NO', ...nativeCells(m.key, m.deflate)]);
    if (m.key === 'memory') rows.push(infoRow(m, 'memory per idle conn (RSS, for information) (B)', (n) => medianOf(n, 'memoryRss')));
    if (m.key === 'deflate-memory' || m.key === 'deflate-memory-nct') rows.push(infoRow(m, '  the same, RSS (zlib\'s contexts are outside V8\'s count) (B)', (n) => medianOf(n, `${m.key}Rss`)));
    // 1 KiB = 1,024 bytes of text per message, as the application sees it (inflated).
    if (m.key === 'deflate-json1' || m.key === 'deflate-json50') rows.push(infoRow(m, '  the same in MB/s (inflated)', (n) => (medianOf(n, m.key) * 1024) / 1e6));
    if (m.key === 'deflate-1m') rows.push(infoRow(m, '  the same in msg/s', (n) => medianOf(n, `${m.key}/rate`)));
  }
  const against = native
    ? 'ratio = steam-key / plain ws, the targets are against it; then ws with its C masking addon, steam-key / it, and it / plain ws'
    : 'ratio = steam-key / ws';
  console.log(`\nMedians over ${ROUNDS} rounds (${against}):\n`);
  console.log(table(rows));

  const throughput = active.filter((m) => !isMemory(m.key));
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
      const ours = medianOf(oursFor(m), `${m.key}/cpu`);
      const theirs = medianOf(theirsFor(m), `${m.key}/cpu`);
      const nativeCpu = m.deflate ? ['', ''] : [formatNumber(medianOf('ws-native', `${m.key}/cpu`)), ratioOf(medianOf('ws-native', `${m.key}/cpu`), ours)];
      cpuRows.push([
        m.label,
        formatNumber(ours),
        formatNumber(theirs),
        ratioOf(theirs, ours),
        ...(native ? nativeCpu : []),
        pct(medianOf(oursFor(m), `${m.key}/serverBusy`)),
        pct(medianOf(theirsFor(m), `${m.key}/serverBusy`)),
        (m.deflate ? DEFLATE_SERVERS : WEBSOCKET_SERVERS).map((n) => pct(medianOf(n, `${m.key}/loadBusy`))).join(', '),
      ]);
    }
    console.log('\nServer CPU time (user + system, all threads: zlib\'s included) per operation, and how busy each process was (100% = one core):\n');
    console.log(table(cpuRows));

    const compressed = throughput.filter((m) => m.deflate);
    if (compressed.length > 0) {
      const wire = compressed.map((m) => `  ${m.key}: steam-key ${formatNumber(medianOf('steam-key-deflate', `${m.key}/wire`))} B, ws ${formatNumber(medianOf('ws-deflate', `${m.key}/wire`))} B`);
      console.log(`\nCompressed replies, payload bytes on the wire per message:\n${wire.join('\n')}`);
      const json = agreed.get('steam-key-deflate');
      if (json?.size !== undefined) console.log(`A 1 KiB JSON message: ${json.size} B, ${json.compressed} B compressed on its own by the load generator.`);
      for (const name of DEFLATE_SERVERS) if (agreed.has(name)) console.log(`${name} answered: Sec-WebSocket-Extensions: ${agreed.get(name)!.extensions}`);
    }

    // Is the load generator the bottleneck? Its own CPU use says so directly;
    // the raw TCP echo shows how far it gets against a server doing no
    // WebSocket work (where that server, not the load generator, may saturate).
    const lines = throughput.filter((m) => !m.deflate).map((m) => {
      const raw = medianOf('raw', m.key);
      const best = Math.max(...WEBSOCKET_SERVERS.map((n) => medianOf(n, m.key)));
      const busiest = Math.max(...[...WEBSOCKET_SERVERS, 'raw' as const].map((n) => medianOf(n, `${m.key}/loadBusy`)));
      return (
        `  ${m.key.padEnd(9)} load generator at most ${pct(busiest)} busy; against the raw echo ` +
        `${formatNumber(raw)} ${m.unit} = ${(raw / best).toFixed(1)}× the faster WebSocket server ` +
        `(raw echo server ${pct(medianOf('raw', `${m.key}/serverBusy`))} busy)`
      );
    });
    if (lines.length > 0) console.log(`\nThe load generator (100% = one core) and the raw TCP echo (a Node server doing no WebSocket work):\n${lines.join('\n')}`);
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
  console.log(`\nLoad average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Done in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
