/**
 * Runs a test file in a child Node process that trusts the fake Steam's test
 * CA. Node reads NODE_EXTRA_CA_CERTS only when it starts, and steam-user's
 * TLS connections go through a proxy agent that takes no `ca` option, so the
 * only way to make the real steam-user trust the fake is to start a process
 * with it. The child's TAP output is this process's output, and its exit code
 * this process's.
 *
 *   // test/x/thing.test.ts
 *   runWithTestCa(new URL('./thing.cases.ts', import.meta.url));
 *   runWithTestCa(new URL('./thing.cases.ts', import.meta.url), { DEBUG: 'x:*' });  // more environment
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CA_PATH } from './fake-steam.js';

export function runWithTestCa(casesFile: URL, env: NodeJS.ProcessEnv = {}): void {
  // process.execArgv carries tap's TypeScript loader.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(casesFile)], {
    stdio: 'inherit',
    env: { ...process.env, ...env, NODE_EXTRA_CA_CERTS: CA_PATH },
  });
  // If the runner stops this process (a timeout), stop the child too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}
