/**
 * Preloaded into every server the bench starts
 * (`node --expose-gc --import probe.js <server>`): answers the bench's
 * requests over IPC: "memory" (process.memoryUsage() taken after full garbage
 * collections) and "cpu" (process.cpuUsage()). It only listens; the server's
 * own code runs unchanged.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { serveRequests } from './ipc.js';

export interface MemorySample {
  /** Live JS heap plus memory outside it owned by JS objects (Buffers, ArrayBuffers). */
  heapAndExternal: number;
  rss: number;
}

async function collect(): Promise<MemorySample> {
  if (!globalThis.gc) throw new Error('the server was started without --expose-gc');
  // Several rounds: finalizers and weak callbacks of one collection free more in the next.
  for (let i = 0; i < 4; i++) {
    globalThis.gc({ type: 'major', execution: 'sync' });
    await nextTurn();
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
