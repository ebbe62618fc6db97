/**
 * Shared by the interop and robustness tests: the server under test (the
 * real `steam-key echo` binary, built by `npm test` before tap runs), and how
 * a test reports a peer that is not installed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type tap from 'tap';

/** A subtest's `t`, with the assertion plugins. */
export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0];

const BINARY = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));

/** How long the binary may take to start; a hang detector, not a speed check. */
const START_DEADLINE_MS = 20_000;

export interface EchoProcess {
  /** ws://127.0.0.1:PORT/ */
  url: string;
  port: number;
  /** The server's process id (to read its memory from /proc). */
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Whether the process has exited (it must not before stop()). */
  exited(): boolean;
  /** Sends SIGTERM and resolves with how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node [nodeArgs] dist/bin/steam-key.js echo --port 0 [args]` and
 * waits for its "listening" line.
 */
export async function startEcho(args: string[] = [], nodeArgs: string[] = []): Promise<EchoProcess> {
  const child = spawn(process.execPath, [...nodeArgs, BINARY, 'echo', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (stdout += s));
  child.stderr.on('data', (s: string) => (stderr += s));
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let exited = false;
  void exit.then(() => (exited = true));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "listening" line within ${START_DEADLINE_MS} ms`), START_DEADLINE_MS);
    const onData = (): void => {
      const match = /echo server listening on (ws:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match[1]!);
      }
    };
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`steam-key echo did not start: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }
    child.stdout.on('data', onData);
    void exit.then(([code, signal]) => fail(`exited (code ${code}, signal ${signal})`));
  });

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exited,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const [code, signal] = await exit;
      return { code, signal };
    },
  };
}

/**
 * Runs `fn` as subtest `name` when the peer is there (`missing` null).
 * Otherwise the subtest is skipped with a message naming what to install —
 * or fails, under CI=true, where every peer must be present.
 */
export function peerTest(
  t: Tap,
  name: string,
  missing: string | null,
  install: string,
  fn: (t: Tap) => Promise<void>,
): Promise<unknown> {
  if (missing === null) return t.test(name, fn);
  const message = `${missing}: install it with \`${install}\``;
  if (process.env.CI === 'true') {
    return t.test(name, async (t) => {
      t.fail(`${message} (CI=true: a missing peer fails the run)`);
    });
  }
  return t.test(name, { skip: message }, fn);
}

/** Resolves after `ms`; for tests that must let time pass (heartbeat), never to assert speed. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
