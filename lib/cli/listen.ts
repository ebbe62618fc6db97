/** Starting a server and naming the address it took. */
import type { Server } from 'node:http';

/** Listens and resolves with "host:port" ("[::1]:port" for IPv6), the port resolved if 0 was asked. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') return String(address);
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * SIGINT and SIGTERM, counted: `nth(1)` resolves on the first, `nth(2)` on
 * the second. While watched, neither signal kills the process (Node's
 * default); dispose() gives them back.
 */
export interface SignalWatch {
  nth(n: number): Promise<NodeJS.Signals>;
  dispose(): void;
}

export function watchSignals(): SignalWatch {
  const seen: NodeJS.Signals[] = [];
  const waiting: { n: number; resolve: (signal: NodeJS.Signals) => void }[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    seen.push(signal);
    for (const w of waiting.filter((w) => w.n <= seen.length)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(seen[w.n - 1]!);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    nth(n) {
      if (seen.length >= n) return Promise.resolve(seen[n - 1]!);
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
