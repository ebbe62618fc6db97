/**
 * Preloaded into every server the bench starts
 * (`node --expose-gc --import probe.js <server>`): answers the bench's
 * requests over IPC: "memory" (process.memoryUsage() taken after full garbage
 * collections) and "cpu" (process.cpuUsage()). It only listens; the server's
 * own code runs unchanged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { serveRequests } from './ipc.js';

export interface MemorySample {
  /** Live JS heap plus memory outside it owned by JS objects (Buffers, ArrayBuffers). */
  heapAndExternal: number;
  rss: number;
}

/** Rounds of collections stop once one frees less than this. */
const SETTLED_BYTES = 64 * 1024;
const MAX_ROUNDS = 20;

async function collect(): Promise<MemorySample> {
  if (!globalThis.gc) throw new Error('the server was started without --expose-gc');
  // Collect until the heap stops shrinking: finalizers and weak callbacks of
  // one collection free more in the next, and V8 drops the bytecode of
  // functions that have not run for a few collections (module start-up code,
  // megabytes in a big dependency tree). A fixed number of rounds could leave
  // that for after the baseline and subtract it from the connections' cost.
  let last = Infinity;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    globalThis.gc({ type: 'major', execution: 'sync' });
    await sleep(10);
    const usage = process.memoryUsage();
    const now = usage.heapUsed + usage.external;
    if (round >= 3 && last - now < SETTLED_BYTES) return { heapAndExternal: now, rss: usage.rss };
    last = now;
  }
  const usage = process.memoryUsage();
  return { heapAndExternal: usage.heapUsed + usage.external, rss: usage.rss };
}

/** CPU time used by the server so far (user + system, all threads), in µs. */
async function cpuTime(): Promise<number> {
  const { user, system } = process.cpuUsage();
  return user + system;
}

if (process.send) {
  // The IPC channel must not keep a server alive once it has shut down.
  process.channel?.unref();
  serveRequests(async (request) => {
    const kind = (request as { kind?: string }).kind;
    if (kind === 'memory') return collect();
    if (kind === 'cpu') return cpuTime();
    throw new Error('unknown probe request');
  });
}
