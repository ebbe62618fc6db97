/**
 * Request/response over a child process's IPC channel: the bench's only
 * conversation with its servers (memory probes) and load generators (jobs).
 */
import type { ChildProcess } from 'node:child_process';

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** The parent's side: send a request, get a promise of the child's answer. */
export class Peer {
  readonly child: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(child: ChildProcess, name: string) {
    this.child = child;
    child.on('message', (message: Reply) => {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`${name} exited (${signal ?? code})`));
      this.#pending.clear();
    });
  }

  call<T>(request: object): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }
}

/** The child's side: answer each request with the handler's result (or its error). */
export function serveRequests(handler: (request: unknown) => Promise<unknown>): void {
  process.on('message', (message: { id: number; request: unknown }) => {
    handler(message.request).then(
      (result) => process.send?.({ id: message.id, result }),
      (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}
