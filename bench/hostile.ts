/**
 * `npm run bench:hostile` (issue 13): one honest client signs in and redeems
 * keys through the fake Steam (test/fake-steam, in this process) on the real
 * binary (`node dist/bin/steam-key.js serve`, a fresh process per run), once
 * with no one else on the server ("quiet") and once while hostile clients of
 * every kind of issue 13 run from other loopback addresses in separate
 * processes (hostile-load.ts). Quiet and hostile runs alternate over the
 * rounds (quiet, hostile, then hostile, quiet, …). Prints the honest
 * client's latencies (median and worst) in both, their ratio, the server's
 * peak RSS (VmHWM) and what the attackers achieved. Figures, no assertions.
 *
 *   node dist/bench/hostile.js [--rounds 3] [--connections 250] [--upgrades 50] [--keys 20]
 *                              [--per-address 50] [--kinds idle,nonreading,fragments,signin,upgrade]
 *                              [--processes 2] [--ramp 12000] [--settle 2000] [--deadline 90000] [--serve-flag=--x=y]...
 *
 * Each kind comes from its own loopback addresses, at most --per-address
 * connections each (the server's cap per address by default), so 1,000
 * connections come from 20 addresses. The server runs with its default limits
 * (plus --pause 0 and any --serve-flag): note that the sessions and sign-ins
 * it allows in all are shared, so enough addresses can use them up (the
 * README, "Under attack").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startFakeSteam, type KeyScript } from '../test/fake-steam/fake-steam.js';
import { KINDS, type AttackJob, type Kind, type KindPlan, type KindStats } from './hostile-load.js';
import { Peer } from './ipc.js';
import { formatNumber, median, table } from './stats.js';
import { positiveInt } from './process.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '250' },
    upgrades: { type: 'string', default: '50' },
    keys: { type: 'string', default: '20' },
    'per-address': { type: 'string', default: '50' },
    kinds: { type: 'string', default: KINDS.join(',') },
    processes: { type: 'string', default: '2' },
    ramp: { type: 'string', default: '12000' },
    settle: { type: 'string', default: '2000' },
    deadline: { type: 'string', default: '90000' },
    'serve-flag': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'Usage: node dist/bench/hostile.js [--rounds N] [--connections N] [--upgrades N] [--keys N] [--per-address N]\n' +
      '                                  [--kinds k1,k2] [--processes N] [--ramp MS] [--settle MS] [--serve-flag=--flag=value]...\n' +
      `--connections N: WebSocket connections of each kind that holds some (${KINDS.filter((k) => k !== 'upgrade').join(', ')}; default 250 each),\n` +
      '  or per kind: --connections idle=750,signin=250\n' +
      '--upgrades N: refused upgrade requests in flight at any time (default 50)\n' +
      '--per-address N: connections per loopback source address (default 50, the server\'s default cap per address)\n' +
      '--ramp MS: wait at most this long for the attackers\' connections to be open; --settle MS: then this long\n' +
      '--deadline MS: the honest client gives up after this long in a run (default 90000); the run is reported as such\n' +
      '--serve-flag: one more flag for steam-key serve (repeat it), e.g. --serve-flag=--max-sessions=200',
  );
  process.exit(0);
}

const ROUNDS = positiveInt('rounds', flags.rounds);
/** --connections 250, or per kind: --connections idle=750,signin=250 (kinds not named: 250). */
const CONNECTIONS: Partial<Record<Kind, number>> = {};
let connectionsDefault = 250;
for (const item of flags.connections.split(',')) {
  const [name, value] = item.includes('=') ? item.split('=') : [undefined, item];
  if (name === undefined) connectionsDefault = positiveInt('connections', value!);
  else if ((KINDS as readonly string[]).includes(name)) CONNECTIONS[name as Kind] = positiveInt('connections', value!);
  else throw new Error(`--connections: unknown kind '${name}'`);
}
const connectionsOf = (kind: Kind): number => CONNECTIONS[kind] ?? connectionsDefault;
const UPGRADES = positiveInt('upgrades', flags.upgrades);
const KEYS = positiveInt('keys', flags.keys);
const PER_ADDRESS = positiveInt('per-address', flags['per-address']);
const PROCESSES = positiveInt('processes', flags.processes);
const RAMP_MS = positiveInt('ramp', flags.ramp);
const SETTLE_MS = Number(flags.settle);
const DEADLINE_MS = positiveInt('deadline', flags.deadline);
/** A /healthz that takes longer counts as unanswered. */
const HEALTH_TIMEOUT_MS = 5_000;
const ACTIVE = flags.kinds.split(',').map((k) => {
  if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: unknown kind '${k}' (${KINDS.join(', ')})`);
  return k as Kind;
});
const SERVE_FLAGS = flags['serve-flag'];

const BIN = fileURLToPath(new URL('../bin/steam-key.js', import.meta.url));
const LOAD = fileURLToPath(new URL('./hostile-load.js', import.meta.url));
const HONEST = { accountName: 'honest', password: 'an honest password' };
/** Progress on stderr with HOSTILE_DEBUG=1. */
const debug = process.env.HOSTILE_DEBUG ? (line: string) => console.error(`[${new Date().toISOString().slice(11, 23)}] ${line}`) : () => {};

/** Every process this bench started: a crash must not leave attackers flooding a server nobody stops. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// ---- the fake Steam --------------------------------------------------------

/** K keys, every fifth answered 50 ms late (a slow Steam), the others at once. */
const KEY_LIST = Array.from({ length: KEYS }, (_, i) => `H${String(i).padStart(4, '0')}-BENCH-KEYSS`);
const keyScripts: Record<string, KeyScript> = Object.fromEntries(
  KEY_LIST.map((key, i) => [key, { ...(i % 5 === 4 ? { delayMs: 50 } : {}), packages: [{ id: 10_000 + i, name: `Bench Game ${i}` }] }]),
);
const steam = await startFakeSteam({ accounts: [HONEST], keys: keyScripts });

// ---- the server ------------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  /** Log lines and bytes the server wrote on stdout. */
  log: { lines: number; bytes: number };
}

/** The environment without the steam-key settings of whoever runs the bench. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STEAM_KEY_') && name !== 'STEAM_HTTP_PROXY'));
  return { ...env, NODE_EXTRA_CA_CERTS: steam.caPath };
}

async function startServer(): Promise<Server> {
  const args = [BIN, 'serve', '--port', '0', '--pause', '0', '--steam-proxy', steam.proxyUrl, ...SERVE_FLAGS];
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() }));
  const log = { lines: 0, bytes: 0 };
  let head = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      log.bytes += chunk.length;
      for (const byte of chunk) if (byte === 0x0a) log.lines++;
      if (head.length < 4096) {
        head += chunk.toString('utf8');
        const found = / listening url=http:\/\/127\.0\.0\.1:(\d+)/.exec(head);
        if (found) resolve(Number(found[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`steam-key serve exited (${code}):\n${head}\n${stderr}`)));
  });
  return { child, port, log };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The peak resident set size of a process so far, in bytes (Linux: VmHWM). */
function peakRss(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : NaN;
}

interface Health {
  connections: number;
  sessions: number;
  ms: number;
  /** Requests not answered within HEALTH_TIMEOUT_MS. */
  unanswered: number;
}

/** /healthz from 127.0.0.1, which shows the counts to the machine itself; how long it took. */
function health(port: number): Promise<Health> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.0.1', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => {
        clearTimeout(timer);
        const parsed = JSON.parse(body) as { connections?: number; sessions?: number };
        resolve({ connections: parsed.connections ?? NaN, sessions: parsed.sessions ?? NaN, ms: performance.now() - started, unanswered: 0 });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ connections: NaN, sessions: NaN, ms: HEALTH_TIMEOUT_MS, unanswered: 1 });
    }, HEALTH_TIMEOUT_MS);
    req.on('error', (error) => (clearTimeout(timer), reject(error)));
    req.end();
  });
}

// ---- the honest client -----------------------------------------------------

interface HonestResult {
  /** Upgrade and hello → welcome, ms. */
  connectMs: number;
  /** login sent → signed-in, ms (with any waits the server asked for). */
  signInMs: number;
  /** Refusals before the sign-in got through, by error code. */
  refusals: Record<string, number>;
  /** Per key: redeeming → done, ms. */
  keyMs: number[];
  /** add-keys sent → the last key done, ms. */
  batchMs: number;
  /** Set when the client gave up (DEADLINE_MS): at which step. */
  failed?: string;
}

interface ServerMessage {
  type: string;
  state?: string;
  code?: string;
  retryAt?: number;
  reason?: string;
  entry?: { n: number; state: string };
}

/** The page's part, as a script: hello, sign in with a password, paste KEYS keys, wait for every result, sign out. */
async function honestRun(port: number): Promise<HonestResult> {
  const result: HonestResult = { connectMs: NaN, signInMs: NaN, refusals: {}, keyMs: [], batchMs: NaN };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress: '127.0.0.1' });
  const deadline = setTimeout(() => ws.emit('give-up'), DEADLINE_MS);
  try {
    await honestSteps(ws, result);
  } catch (error) {
    result.failed = (error as Error).message;
    ws.on('error', () => {}); // terminate() reports an unfinished handshake as an error
    try {
      ws.terminate();
    } catch {
      // ws throws when the handshake has not even started; nothing is open then
    }
  } finally {
    clearTimeout(deadline);
  }
  return result;
}

async function honestSteps(ws: WebSocket, result: HonestResult): Promise<void> {
  const started = performance.now();
  let gaveUp: ((error: Error) => void) | null = null;
  const givingUp = new Promise<never>((_, reject) => (gaveUp = reject));
  givingUp.catch(() => {});
  let step = 'connecting';
  ws.once('give-up', () => gaveUp!(new Error(`gave up after ${DEADLINE_MS / 1000} s, ${step}`)));
  ws.on('error', (error) => gaveUp!(error));
  const within = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, givingUp]);
  const waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  const onMessage = (m: ServerMessage): void => {
    keyEvent?.(m);
    const i = waiters.findIndex((w) => w.test(m));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  };
  let keyEvent: ((m: ServerMessage) => void) | null = null;
  ws.on('message', (data) => onMessage(JSON.parse(String(data)) as ServerMessage));
  // events.once rejects when 'error' comes first: after giving up, that must not be an unhandled rejection.
  const closed = once(ws, 'close');
  closed.catch(() => {});
  const opened = once(ws, 'open');
  opened.catch(() => {});
  const next = (test: (m: ServerMessage) => boolean): Promise<ServerMessage> => new Promise((resolve) => waiters.push({ test, resolve }));
  await within(opened);
  step = 'waiting for welcome';
  const welcome = next((m) => m.type === 'welcome');
  ws.send(JSON.stringify({ type: 'hello', version: 2 }));
  await within(welcome);
  debug('honest: welcome');
  result.connectMs = performance.now() - started;

  const refusals = result.refusals;
  const loginSent = performance.now();
  step = 'signing in';
  for (;;) {
    const answer = next((m) => (m.type === 'login' && (m.state === 'signed-in' || m.state === 'signed-out')) || m.type === 'error');
    ws.send(JSON.stringify({ type: 'login', ...HONEST }));
    const m = await within(answer);
    debug(`honest: sign-in answer ${JSON.stringify(m).slice(0, 200)}`);
    if (m.type === 'login' && m.state === 'signed-in') break;
    const code = m.code ?? `signed-out:${m.reason}`;
    refusals[code] = (refusals[code] ?? 0) + 1;
    // As the page would: wait for the time the server names, or a second.
    await within(sleep(m.retryAt !== undefined ? Math.max(0, m.retryAt - Date.now()) + 10 : 1_000));
  }
  result.signInMs = performance.now() - loginSent;

  const sentAt = new Map<number, number>();
  const keyMs = result.keyMs;
  let lastDone = 0;
  const allDone = new Promise<void>((resolve) => {
    keyEvent = (m) => {
      if (m.type !== 'key' || !m.entry) return;
      if (m.entry.state === 'redeeming') sentAt.set(m.entry.n, performance.now());
      else if (m.entry.state === 'done') {
        lastDone = performance.now();
        keyMs.push(lastDone - (sentAt.get(m.entry.n) ?? NaN));
        if (keyMs.length === KEYS) resolve();
      }
    };
  });
  const batchStart = performance.now();
  step = 'redeeming';
  ws.send(JSON.stringify({ type: 'add-keys', id: 1, text: KEY_LIST.join('\n') }));
  await within(allDone);
  result.batchMs = lastDone - batchStart;

  step = 'signing out';
  ws.send(JSON.stringify({ type: 'logout' }));
  await within(closed);
}

// ---- the attackers ---------------------------------------------------------

/** The plans of each attacking process: every kind its own addresses, 127.0.(10 + kind).(1…). */
function plans(): KindPlan[][] {
  const byProcess: KindPlan[][] = Array.from({ length: Math.min(PROCESSES, ACTIVE.length) }, () => []);
  ACTIVE.forEach((kind, k) => {
    const connections = kind === 'upgrade' ? UPGRADES : connectionsOf(kind);
    const count = Math.ceil(connections / PER_ADDRESS);
    const addresses = Array.from({ length: count }, (_, i) => `127.0.${10 + KINDS.indexOf(kind)}.${i + 1}`);
    byProcess[k % byProcess.length]!.push({ kind, connections, addresses });
  });
  return byProcess;
}
const PLANS = plans();
/** Connections the attackers try to keep open (the upgrade flood holds none). */
const HELD = ACTIVE.filter((k) => k !== 'upgrade').reduce((sum, kind) => sum + connectionsOf(kind), 0);

function startAttackers(): Peer[] {
  return PLANS.map((_, i) => new Peer(track(spawn(process.execPath, [LOAD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })), `attackers ${i}`));
}

async function stopAttackers(peers: Peer[]): Promise<Partial<Record<Kind, KindStats>>> {
  const all: Partial<Record<Kind, KindStats>> = {};
  for (const peer of peers) {
    Object.assign(all, await peer.call<Record<Kind, KindStats>>({ kind: 'stop' } satisfies AttackJob));
    const exited = once(peer.child, 'exit');
    peer.child.kill('SIGTERM');
    await exited;
  }
  return all;
}

// ---- one run ---------------------------------------------------------------

type Mode = 'quiet' | 'hostile';

interface Run {
  mode: Mode;
  honest: HonestResult;
  peakRss: number;
  /** The largest counts /healthz showed during the honest client's run, and its slowest answer. */
  health: Health;
  log: { lines: number; bytes: number };
  /** Seconds the attackers ran. */
  attackS: number;
  attackers: Partial<Record<Kind, KindStats>>;
  /** Password sign-ins of other accounts than the honest one that reached the fake Steam. */
  foreignSignIns: number;
}

async function runOnce(mode: Mode): Promise<Run> {
  const server = await startServer();
  const logStart = steam.log.length;
  const peers = mode === 'hostile' ? startAttackers() : [];
  const attackStart = performance.now();
  try {
    await Promise.all(peers.map((peer, i) => peer.call({ kind: 'start', port: server.port, plans: PLANS[i]! } satisfies AttackJob)));
    if (mode === 'hostile') {
      // Until the attackers hold what they can (idle ones are let in up to the per-address cap).
      for (;;) {
        const h = await health(server.port);
        debug(`ramp: ${JSON.stringify(h)}`);
        if (performance.now() - attackStart > RAMP_MS || h.connections >= HELD * 0.95) break;
        await sleep(250);
      }
      await sleep(SETTLE_MS);
    }
    const seen: Health = { connections: 0, sessions: 0, ms: 0, unanswered: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const h = await health(server.port);
        debug(`during: ${JSON.stringify(h)}`);
        if (h.unanswered === 0) seen.connections = Math.max(seen.connections, h.connections);
        if (h.unanswered === 0) seen.sessions = Math.max(seen.sessions, h.sessions);
        seen.ms = Math.max(seen.ms, h.ms);
        seen.unanswered += h.unanswered;
        await sleep(500);
      }
    })();
    const honest = await honestRun(server.port);
    sampling = false;
    await sampler;
    const peak = peakRss(server.child.pid!);
    const attackers = await stopAttackers(peers);
    const attackS = (performance.now() - attackStart) / 1000;
    const foreignSignIns = steam.log.slice(logStart).filter((e) => e.type === 'auth' && e.accountName !== HONEST.accountName).length;
    return { mode, honest, peakRss: peak, health: seen, log: server.log, attackS, attackers, foreignSignIns };
  } finally {
    for (const peer of peers) if (peer.child.exitCode === null) peer.child.kill('SIGKILL');
    await stopServer(server);
  }
}

// ---- the report ------------------------------------------------------------

const MiB = 1024 * 1024;
const ms = (v: number): string => `${formatNumber(v)} ms`;
const ratio = (hostile: number, quiet: number): string => (Number.isFinite(hostile / quiet) ? `${(hostile / quiet).toFixed(2)}×` : 'n/a');

function report(runs: Run[]): void {
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
  const rows: string[][] = [['honest client', 'quiet median', 'hostile median', 'ratio', 'quiet worst', 'hostile worst', 'ratio']];
  const figure = (label: string, pick: (r: Run) => number[], format: (v: number) => string): void => {
    // A run where the honest client gave up has no figure for the steps it did not reach: listed below the table.
    const q = of('quiet').flatMap(pick).filter(Number.isFinite);
    const h = of('hostile').flatMap(pick).filter(Number.isFinite);
    const [qm, hm, qw, hw] = [median(q), median(h), Math.max(...q), Math.max(...h)];
    rows.push([label, format(qm), format(hm), ratio(hm, qm), format(qw), format(hw), ratio(hw, qw)]);
  };
  figure('connect (upgrade + hello → welcome)', (r) => [r.honest.connectMs], ms);
  figure('sign-in (login → signed-in)', (r) => [r.honest.signInMs], ms);
  figure(`per key (redeeming → done), ${KEYS} keys a run`, (r) => r.honest.keyMs, ms);
  figure(`whole batch (add-keys → last key done)`, (r) => [r.honest.batchMs], ms);
  figure('server peak RSS (VmHWM)', (r) => [r.peakRss / MiB], (v) => `${formatNumber(v)} MiB`);
  figure('/healthz answer, slowest in a run', (r) => [r.health.ms], ms);
  figure(`/healthz unanswered in ${HEALTH_TIMEOUT_MS / 1000} s, a run`, (r) => [r.health.unanswered], (v) => formatNumber(v));
  figure('server log', (r) => [r.log.bytes / 1024], (v) => `${formatNumber(v)} KiB`);
  console.log(table(rows));

  const hostile = of('hostile');
  console.log('');
  console.log(
    `While the honest client ran, the /healthz answers showed up to ${hostile.map((r) => r.health.connections).join(', ')} WebSocket connections ` +
      `and ${hostile.map((r) => r.health.sessions).join(', ')} sessions (each hostile run; 0 when none came within ${HEALTH_TIMEOUT_MS / 1000} s); ` +
      `the attackers ran ${formatNumber(median(hostile.map((r) => r.attackS)))} s a run.`,
  );
  for (const r of runs.filter((r) => r.honest.failed !== undefined)) {
    console.log(`In a ${r.mode} run the honest client ${r.honest.failed} (${r.honest.keyMs.length} of ${KEYS} keys done).`);
  }
  const refusals = runs.filter((r) => Object.keys(r.honest.refusals).length > 0);
  for (const r of refusals) console.log(`The honest sign-in was refused in a ${r.mode} run first: ${JSON.stringify(r.honest.refusals)}`);
  const kindRows: string[][] = [['attackers (last hostile run)', 'open at the end', 'upgraded', 'closed by the server', 'messages sent', 'MB sent', 'answers']];
  const last = hostile.at(-1)!;
  for (const kind of ACTIVE) {
    const s = last.attackers[kind];
    if (!s) continue;
    const answers = Object.entries(s.statuses).map(([status, n]) => `${n}× ${status}`).join(', ');
    kindRows.push([kind, String(s.open), String(s.upgrades), String(s.closedByServer), String(s.messages), formatNumber(s.bytesSent / 1e6), answers || '-']);
  }
  console.log('');
  console.log(table(kindRows));
  console.log(`Sign-ins of the attackers that reached the fake Steam: ${hostile.map((r) => r.foreignSignIns).join(', ')} (each hostile run).`);
}

// ---- main ------------------------------------------------------------------

const layout = PLANS.flat()
  .map((p) => `${p.kind} ${p.connections} from ${p.addresses.length} address${p.addresses.length === 1 ? '' : 'es'}`)
  .join(', ');
console.log(`steam-key serve ${['--pause', '0', ...SERVE_FLAGS].join(' ')} against the fake Steam; ${ROUNDS} rounds (quiet and hostile alternating)`);
console.log(`hostile clients (${PLANS.length} processes): ${layout}`);
console.log(`${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start, Node ${process.version}`);
const started = performance.now();
const runs: Run[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order: Mode[] = round % 2 === 0 ? ['quiet', 'hostile'] : ['hostile', 'quiet'];
    for (const mode of order) {
      const run = await runOnce(mode);
      runs.push(run);
      console.error(
        `round ${round + 1} ${mode}${run.honest.failed ? ` (${run.honest.failed})` : ''}: sign-in ${ms(run.honest.signInMs)}, per key median ${ms(median(run.honest.keyMs))} worst ${ms(Math.max(...run.honest.keyMs))}, ` +
          `peak RSS ${formatNumber(run.peakRss / MiB)} MiB, ${run.health.connections} connections, load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
  }
  console.log('');
  report(runs);
  console.log('');
  console.log(`${formatNumber((performance.now() - started) / 1000)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`);
} finally {
  await steam.close();
}
// The fake Steam's timers and the CM connections steam-user left behind would keep the process alive.
process.exit(0);
