/**
 * The built binary (dist/bin/steam-key.js, made by `npm test`'s build step)
 * as a child process: run it to completion, or start `serve` and wait for
 * its `listening` log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin/steam-key.js', import.meta.url));

/** The environment without any steam-key setting of the person running the tests. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STEAM_KEY_') && name !== 'STEAM_HTTP_PROXY'));
  return { ...env, ...extra };
}

function checkBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does) first`);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the binary to its end. */
export async function runBinary(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit & { stdout: string; stderr: string }> {
  checkBuilt();
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = await exited(child);
  return { ...exit, stdout, stderr };
}

function exited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

export interface Serving {
  child: ChildProcess;
  /** http://127.0.0.1:PORT/ from the listening line. */
  url: string;
  port: number;
  /** stdout lines so far (log and trace lines). */
  lines: string[];
  stderr: () => string;
  /** Resolves with the first stdout line (from the start) that matches. */
  logged(pattern: RegExp): Promise<string>;
  exit: Promise<Exit>;
  /** Sends a signal unless it has exited. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `steam-key serve ARGS` and resolves once it listens. Killed at the
 * end of the test if still running (pass t.teardown).
 */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}, teardown?: (fn: () => unknown) => void): Promise<Serving> {
  checkBuilt();
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = exited(child);
  let done = false;
  void exit.then(() => (done = true), () => (done = true));
  teardown?.(() => {
    if (!done) child.kill('SIGKILL');
    return exit;
  });
  const lines: string[] = [];
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of watchers.filter((w) => w.pattern.test(line))) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const logged = (pattern: RegExp): Promise<string> => {
    const found = lines.find((l) => pattern.test(l));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      watchers.push({ pattern, resolve });
      // A hang guard with the output in the message, not a timing assertion.
      void exit.then(() => setImmediate(() => reject(new Error(`exited before logging ${pattern}:\n${lines.join('\n')}\n${stderr}`))));
    });
  };
  const listening = await logged(/ listening url=/);
  const url = /url=(\S+)/.exec(listening)![1]!;
  return {
    child,
    url,
    port: Number(new URL(url).port),
    lines,
    stderr: () => stderr,
    logged,
    exit,
    kill(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
    },
  };
}
