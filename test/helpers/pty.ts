/**
 * Runs a command under a pseudo-terminal (test/helpers/run-in-pty.py, Python's
 * standard `pty` module: no native addon), so tests can answer the prompts
 * a person would type at, and press Ctrl-C.
 *
 *   const run = runInPty('pipe', [process.execPath, 'dist/bin/steam-key.js', 'redeem'], { env });
 *   await run.screen.waitFor(/Password: /);
 *   run.type('secret\r');
 *   await run.stdout.waitFor(/activated/);
 *   const code = await run.exit;
 *
 * 'pipe' mode: the command's stdin/stdout/stderr are pipes (`run.stdin`,
 * `run.stdout`, `run.stderr`) and only /dev/tty is the terminal (`run.screen`).
 * 'pty' mode: all of them are the terminal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Duplex, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('./run-in-pty.py', import.meta.url));

/** Debian's python3 if there, else the first on PATH; null without one that has `pty`. */
export function findPython(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (candidate.startsWith('/') && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-c', 'import pty, termios, fcntl'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return null;
}

/** Text that keeps arriving, and a way to wait for a pattern in it. */
export class Transcript {
  text = '';
  #waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  #ended = false;
  #endWaiters: (() => void)[] = [];

  append(chunk: string): void {
    this.text += chunk;
    for (const waiter of [...this.#waiters]) {
      const match = waiter.pattern.exec(this.text);
      if (match) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  }

  end(): void {
    this.#ended = true;
    for (const w of this.#endWaiters) w();
  }

  /** Resolves with the first match of `pattern` in everything so far; rejects if the stream ends without one. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    const match = pattern.exec(this.text);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve };
      this.#waiters.push(waiter);
      const onEnd = (): void => {
        if (!this.#waiters.includes(waiter)) return;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`ended without ${pattern}; got:\n${this.text}`));
      };
      if (this.#ended) onEnd();
      else this.#endWaiters.push(onEnd);
    });
  }
}

export interface PtyRun {
  child: ChildProcess;
  /** What the command wrote to the terminal. */
  screen: Transcript;
  stdout: Transcript;
  stderr: Transcript;
  stdin: Writable;
  /** Types on the terminal ('\r' is Enter, '\x03' is Ctrl-C). */
  type(text: string): void;
  /** Closes the terminal, as closing its window does: the kernel sends the command SIGHUP. */
  hangUp(): void;
  /** Kills the command with SIGKILL: no handler runs, nothing is flushed (a crash, `kill -9`). */
  kill9(): void;
  /** The command's exit status (128 + N after signal N). */
  exit: Promise<number>;
}

export function runInPty(
  python: string,
  mode: 'pty' | 'pipe',
  command: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): PtyRun {
  const child = spawn(python, [HELPER, mode, ...command], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const terminal = child.stdio[3] as Duplex;
  const screen = new Transcript();
  const stdout = new Transcript();
  const stderr = new Transcript();
  terminal.setEncoding('utf8').on('data', (chunk: string) => screen.append(chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => stdout.append(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.append(chunk));
  terminal.on('error', () => {}); // the helper exits while we still write: nothing to do
  const exit = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      for (const t of [screen, stdout, stderr]) t.end();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  return {
    child,
    screen,
    stdout,
    stderr,
    stdin: child.stdin!,
    type: (text) => void terminal.write(text),
    hangUp: () => void child.kill('SIGHUP'), // run-in-pty.py closes the terminal's master side
    kill9: () => void child.kill('SIGUSR1'), // run-in-pty.py kills the command with SIGKILL
    exit,
  };
}
