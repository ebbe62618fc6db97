/**
 * `npm run bench:deflate-rounds`: the compressed workload, with the load generator of
 * `npm run bench` (raw sockets, every frame built beforehand) rather than a ws
 * client, so that the client does no zlib work at all (bench/deflate.ts drives
 * the servers with ws clients and also measures memory without context
 * takeover). `steam-key echo --deflate` against an echo server on `ws` with
 * perMessageDeflate at ws's defaults (servers/ws-deflate-echo.ts) in
 * interleaved rounds (steam-key, ws, ws, steam-key, …), each server in its own process (with probe.js for CPU and
 * memory), driven by deflate-load.ts, which sends pre-compressed messages and
 * reads only frame headers. Prints the median of every metric and the ratio
 * steam-key / ws.
 *
 *   node dist/bench/deflate-rounds.js [--rounds 5] [--duration 1500] [--warmup 300] [--idle 1000]
 *                                     [--idle-wait 200] [--only json1,json50,text1m,memory]
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DeflateJob, DeflateMark, DeflateWorkload, Started } from './deflate-load.js';
import { OFFER } from './deflate-load.js';
import { Peer } from './ipc.js';
import type { MemorySample } from './probe.js';
import { formatNumber, median, table } from './stats.js';
import { positiveInt, spawnNode, stop } from './process.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '1500' },
    warmup: { type: 'string', default: '300' },
    idle: { type: 'string', default: '1000' },
    'idle-wait': { type: 'string', default: '200' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'Usage: node dist/bench/deflate-rounds.js [--rounds N] [--duration MS] [--warmup MS] [--idle N] [--idle-wait MS] [--only m1,m2]\n' +
      'Metrics: json1 json50 text1m memory\n' +
      '--idle-wait MS: how long the idle connections stay idle before memory is sampled (default 200; steam-key frees\n' +
      '  a compressor left unused for a whole heartbeat interval, 30 s, so 65000 shows the memory after that).',
  );
  process.exit(0);
}
const ROUNDS = positiveInt('rounds', flags.rounds);
const DURATION_MS = positiveInt('duration', flags.duration);
const WARMUP_MS = positiveInt('warmup', flags.warmup);
const IDLE = positiveInt('idle', flags.idle);
const IDLE_WAIT_MS = positiveInt('idle-wait', flags['idle-wait']);

type ServerName = 'steam-key' | 'ws';
type MetricKey = 'json1' | 'json50' | 'text1m' | 'memory';

interface Metric {
  key: MetricKey;
  label: string;
  /** The load: connections, messages in flight on each, which message (not for memory). */
  load?: Omit<DeflateWorkload, 'port'>;
  /** Target ratio steam-key / ws: at least ws's throughput, at most ws's memory. */
  target: number;
  lowerIsBetter: boolean;
}

const METRICS: Metric[] = [
  { key: 'json1', label: '1 KiB JSON text, 1 conn, 64 in flight', load: { connections: 1, window: 64, message: 'json' }, target: 1, lowerIsBetter: false },
  { key: 'json50', label: '1 KiB JSON text, 50 conns, 16 in flight each', load: { connections: 50, window: 16, message: 'json' }, target: 1, lowerIsBetter: false },
  { key: 'text1m', label: '1 MiB JSON text, 1 conn, 4 in flight', load: { connections: 1, window: 4, message: 'text1m' }, target: 1, lowerIsBetter: false },
  { key: 'memory', label: `memory per idle compressed conn (heap+external)`, target: 1, lowerIsBetter: true },
];
const selected = flags.only ? new Set(flags.only.split(',')) : null;
for (const name of selected ?? []) if (!METRICS.some((m) => m.key === name)) throw new Error(`--only: unknown metric '${name}'`);
const active = METRICS.filter((m) => selected === null || selected.has(m.key));
// Memory first, on a fresh server: traffic leaves pools behind that would blur its baseline.
const runOrder = [...active.filter((m) => m.key === 'memory'), ...active.filter((m) => m.key !== 'memory')];

const samples = new Map<string, number[]>();
function record(server: ServerName, metric: string, value: number): void {
  const key = `${server}/${metric}`;
  samples.set(key, [...(samples.get(key) ?? []), value]);
}
const medianOf = (server: ServerName, metric: string): number => median(samples.get(`${server}/${metric}`) ?? []);

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const PROBE = new URL('./probe.js', import.meta.url).href;

/** `node args…` with the soft open-files limit raised to the hard one (see run.ts). */


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
    // The real binary, unchanged; probe.js only adds the memory and CPU probe.
    script = [here('../bin/steam-key.js'), 'echo', '--port', '0', '--deflate'];
  } else {
    script = [here('./servers/ws-deflate-echo.js')];
    env.WS_NO_BUFFER_UTIL = '1';
    env.WS_NO_UTF_8_VALIDATE = '1';
  }
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
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(banner)![1]);
  return { name, port, probe: new Peer(child, `${name} server`), child, banner };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Measurement {
  value: number;
  /** Messages per second (throughput metrics). */
  rate: number;
  cpuPerOp: number;
  serverBusy: number;
  loadBusy: number;
  /** Reply bytes on the wire per message (compressed). */
  wirePerOp: number;
  started?: Started;
}

async function measure(server: Server, metric: Metric, loads: Peer[]): Promise<Measurement> {
  if (metric.key === 'memory') return measureMemory(server, loads);
  const load = loads[0]!;
  const started = await load.call<Started>({ kind: 'start', workload: { ...metric.load!, port: server.port }, warmupMs: WARMUP_MS } satisfies DeflateJob);
  const cpu0 = await server.probe.call<number>({ kind: 'cpu' });
  const mark0 = await load.call<DeflateMark>({ kind: 'mark' } satisfies DeflateJob);
  await sleep(DURATION_MS);
  const mark1 = await load.call<DeflateMark>({ kind: 'mark' } satisfies DeflateJob);
  const cpu1 = await server.probe.call<number>({ kind: 'cpu' });
  await load.call({ kind: 'stop' } satisfies DeflateJob);
  const seconds = (mark1.time - mark0.time) / 1000;
  const operations = mark1.operations - mark0.operations;
  const rate = operations / seconds;
  return {
    // MB/s of messages as the application sees them (inflated), 10^6 bytes.
    value: metric.key === 'text1m' ? (rate * started.size) / 1e6 : rate,
    rate,
    cpuPerOp: (cpu1 - cpu0) / operations,
    serverBusy: (cpu1 - cpu0) / 1e6 / seconds,
    loadBusy: (mark1.cpu - mark0.cpu) / 1e6 / seconds,
    wirePerOp: (mark1.wireBytes - mark0.wireBytes) / operations,
    started,
  };
}

/**
 * Memory per idle compressed connection: IDLE connections that agreed
 * permessage-deflate and echoed one 1 KiB JSON message each (so each side's
 * zlib context exists, if the server keeps it), over the server's memory
 * after full GCs before they were opened. One connection is opened, used
 * and closed first, so that what the first compression loads once is not
 * counted.
 */
async function measureMemory(server: Server, loads: Peer[]): Promise<Measurement> {
  await loads[0]!.call({ kind: 'open', port: server.port, connections: 1 } satisfies DeflateJob);
  await loads[0]!.call({ kind: 'closeAll' } satisfies DeflateJob);
  const before = await server.probe.call<MemorySample>({ kind: 'memory' });
  const shares = loads.map((_, i) => Math.floor(IDLE / loads.length) + (i < IDLE % loads.length ? 1 : 0));
  await Promise.all(loads.map((l, i) => l.call({ kind: 'open', port: server.port, connections: shares[i]! } satisfies DeflateJob)));
  await sleep(IDLE_WAIT_MS);
  const after = await server.probe.call<MemorySample>({ kind: 'memory' });
  await Promise.all(loads.map((l) => l.call({ kind: 'closeAll' } satisfies DeflateJob)));
  record(server.name, 'memoryRss', (after.rss - before.rss) / IDLE);
  return { value: (after.heapAndExternal - before.heapAndExternal) / IDLE, rate: NaN, cpuPerOp: NaN, serverBusy: NaN, loadBusy: NaN, wirePerOp: NaN };
}

function describe(metric: Metric, m: Measurement): string {
  if (metric.key === 'memory') return `${metric.key}=${formatNumber(m.value)} B`;
  const busy = `server ${(m.serverBusy * 100).toFixed(0)}% load ${(m.loadBusy * 100).toFixed(0)}%`;
  return `${metric.key}=${formatNumber(m.value)}${metric.key === 'text1m' ? ' MB/s' : ' msg/s'} (${formatNumber(m.cpuPerOp)} µs/msg; ${formatNumber(m.wirePerOp)} B/reply on the wire; ${busy})`;
}

const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const started = Date.now();
  const wsVersion = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;
  console.log(
    `steam-key deflate bench: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ` +
      `load average ${loadAverage()}, ws ${wsVersion}`,
  );
  console.log(
    `${ROUNDS} rounds; each measurement ${WARMUP_MS} ms warm-up + ${DURATION_MS} ms; ${IDLE} idle connections for memory, ` +
      `sampled after ${IDLE_WAIT_MS} ms idle; ` +
      `the client offers '${OFFER}' and sends each message compressed on its own\n`,
  );
  const loads = [new Peer(spawnNode([here('./deflate-load.js')], process.env, 'inherit'), 'load generator'), new Peer(spawnNode([here('./deflate-load.js')], process.env, 'inherit'), 'load generator 2')];
  const agreed = new Map<ServerName, string>();
  let sizes: Started | undefined;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order: ServerName[] = round % 2 === 1 ? ['steam-key', 'ws'] : ['ws', 'steam-key'];
      for (const name of order) {
        const server = await startServer(name);
        if (round === 1) console.log(`  ${server.banner}`);
        const figures: string[] = [];
        try {
          for (const metric of runOrder) {
            const m = await measure(server, metric, loads);
            record(name, metric.key, m.value);
            for (const [k, v] of Object.entries({ rate: m.rate, cpu: m.cpuPerOp, serverBusy: m.serverBusy, loadBusy: m.loadBusy, wire: m.wirePerOp })) {
              record(name, `${metric.key}/${k}`, v);
            }
            if (m.started) agreed.set(name, m.started.extensions);
            if (m.started && metric.key === 'json1') sizes = m.started;
            figures.push(describe(metric, m));
          }
        } finally {
          await stop(server.child);
        }
        console.log(`round ${round} ${name.padEnd(9)} ${figures.join('\n                    ')}`);
      }
    }
  } finally {
    await Promise.all(loads.map((l) => stop(l.child)));
  }

  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const rows: string[][] = [['metric', 'steam-key', 'ws', 'ratio', 'target', 'met?']];
  for (const m of active) {
    const unit = m.key === 'memory' ? 'B' : m.key === 'text1m' ? 'MB/s' : 'msg/s';
    const ours = medianOf('steam-key', m.key);
    const theirs = medianOf('ws', m.key);
    const met = m.lowerIsBetter ? ours / theirs <= m.target : ours / theirs >= m.target;
    rows.push([`${m.label} (${unit})`, formatNumber(ours), formatNumber(theirs), ratio(ours, theirs), `${m.lowerIsBetter ? '≤' : '≥'} ${m.target}×`, met ? 'yes' : 'NO']);
    if (m.key === 'json1' || m.key === 'json50') {
      // MB/s of the application's bytes, for the same runs.
      const mb = (name: ServerName): number => (medianOf(name, m.key) * 1024) / 1e6;
      rows.push([`  the same in MB/s (inflated)`, formatNumber(mb('steam-key')), formatNumber(mb('ws')), ratio(mb('steam-key'), mb('ws')), '', '']);
    }
    if (m.key === 'text1m') {
      rows.push([`  the same in msg/s`, formatNumber(medianOf('steam-key', 'text1m/rate')), formatNumber(medianOf('ws', 'text1m/rate')), ratio(medianOf('steam-key', 'text1m/rate'), medianOf('ws', 'text1m/rate')), '', '']);
    }
    if (m.key === 'memory') {
      const rssOurs = medianOf('steam-key', 'memoryRss');
      const rssTheirs = medianOf('ws', 'memoryRss');
      rows.push(['memory per idle compressed conn (RSS) (B)', formatNumber(rssOurs), formatNumber(rssTheirs), ratio(rssOurs, rssTheirs), '', '']);
    }
  }
  console.log(`\nMedians over ${ROUNDS} rounds (ratio = steam-key / ws):\n`);
  console.log(table(rows));

  const throughput = active.filter((m) => m.key !== 'memory');
  if (throughput.length > 0) {
    const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
    const cpuRows: string[][] = [['metric', 'steam-key µs/msg', 'ws µs/msg', 'ws/steam-key', 'reply B on wire: sk', 'ws', 'busy: sk', 'ws', 'load gen (vs sk, ws)']];
    for (const m of throughput) {
      const cpu = (name: ServerName): number => medianOf(name, `${m.key}/cpu`);
      cpuRows.push([
        m.label,
        formatNumber(cpu('steam-key')),
        formatNumber(cpu('ws')),
        ratio(cpu('ws'), cpu('steam-key')),
        formatNumber(medianOf('steam-key', `${m.key}/wire`)),
        formatNumber(medianOf('ws', `${m.key}/wire`)),
        pct(medianOf('steam-key', `${m.key}/serverBusy`)),
        pct(medianOf('ws', `${m.key}/serverBusy`)),
        `${pct(medianOf('steam-key', `${m.key}/loadBusy`))}, ${pct(medianOf('ws', `${m.key}/loadBusy`))}`,
      ]);
    }
    console.log('\nServer CPU time (user + system, all threads, zlib\'s included) per message, reply size on the wire, and how busy each process was (100% = one core):\n');
    console.log(table(cpuRows));
  }
  if (sizes) console.log(`\nA 1 KiB JSON message: ${sizes.size} B, ${sizes.compressed} B compressed on its own by the client.`);
  for (const [name, header] of agreed) console.log(`${name} answered: Sec-WebSocket-Extensions: ${header}`);
  console.log(`\nLoad average at the end: ${loadAverage()}. Done in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
