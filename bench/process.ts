/** What every benchmark script needs: a flag's number, and child processes started and stopped. */
import { spawn, type ChildProcess } from 'node:child_process';

/** A flag's value as a positive whole number; throws naming the flag. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, got '${value}'`);
  return n;
}

/** Node running `args`, with the hard limit of open files (many connections), and an IPC channel. */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, stdout: 'pipe' | 'inherit'): ChildProcess {
  return spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args], {
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
    env,
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
