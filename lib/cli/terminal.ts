/**
 * Questions asked on the controlling terminal (/dev/tty), not on stdin:
 * stdin may be the keys (`steam-key redeem - < keys.txt`), and a password
 * must never be read from a pipe someone else fills. Secrets are read with
 * echo off (raw mode) and never leave this module except as the return value.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';

/** The user pressed Ctrl-C (or Ctrl-D on an empty line) at a prompt. */
export class PromptInterrupted extends Error {
  override name = 'PromptInterrupted';
}

/** The question was withdrawn (its `signal` aborted): the answer is not needed any more. */
export class PromptWithdrawn extends Error {
  override name = 'PromptWithdrawn';
}

export interface PromptOptions {
  echo: boolean;
  /** Aborting it withdraws the question: the prompt ends, and rejects with PromptWithdrawn. */
  signal?: AbortSignal;
}

export interface Terminal {
  /** Asks `question` and resolves with the line typed (without the newline). */
  prompt(question: string, options: PromptOptions): Promise<string>;
  /** Writes to the terminal (for messages that belong next to a prompt). */
  write(text: string): void;
  close(): void;
}

/** Opens the controlling terminal, or returns null when the process has none (cron, CI, ssh without -t). */
export function openTerminal(path = '/dev/tty'): Terminal | null {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return null; // ENXIO: no controlling terminal
  }
  let input: ReadStream;
  try {
    input = new ReadStream(fd);
  } catch {
    closeSync(fd);
    return null;
  }
  input.pause();
  input.on('error', () => {}); // EIO once the terminal is closed: a prompt then ends (TtyTerminal.prompt)
  return new TtyTerminal(fd, input);
}

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = new Set([0x08, 0x7f]);

class TtyTerminal implements Terminal {
  readonly #fd: number;
  readonly #input: ReadStream;
  #busy = false;
  #closed = false;

  constructor(fd: number, input: ReadStream) {
    this.#fd = fd;
    this.#input = input;
  }

  write(text: string): void {
    if (this.#closed) return;
    try {
      writeSync(this.#fd, text);
    } catch {
      // EIO: the terminal was closed (hung up). What was asked there can no longer be answered.
    }
  }

  prompt(question: string, options: PromptOptions): Promise<string> {
    if (options.signal?.aborted) return Promise.reject(new PromptWithdrawn('withdrawn'));
    if (this.#busy || this.#closed) return Promise.reject(new Error('terminal busy or closed'));
    const input = this.#input;
    // Raw mode turns echo off and hands us Ctrl-C as a byte instead of a signal; set it
    // before the question shows, or a quick typist's first characters would be echoed.
    try {
      input.setRawMode(true);
    } catch {
      return Promise.reject(new PromptInterrupted('the terminal was closed')); // EIO
    }
    this.#busy = true;
    this.write(question);
    return new Promise<string>((resolve, reject) => {
      let line = '';
      const onAbort = (): void => finish(new PromptWithdrawn('withdrawn'));
      const finish = (error: Error | null): void => {
        options.signal?.removeEventListener('abort', onAbort);
        input.off('data', onData);
        input.off('end', onGone);
        input.off('error', onGone);
        if (input.isRaw) input.setRawMode(false);
        input.pause();
        this.#busy = false;
        this.write('\n');
        if (error) reject(error);
        else resolve(line);
      };
      const onData = (chunk: Buffer): void => {
        // Bytes, not characters: a multi-byte UTF-8 character is kept whole by decoding at the end.
        for (const byte of chunk) {
          if (byte === 0x0d || byte === 0x0a) return finish(null);
          if (byte === CTRL_C || (byte === CTRL_D && line.length === 0)) return finish(new PromptInterrupted('interrupted'));
          if (BACKSPACE.has(byte)) {
            if (line.length > 0) {
              // Drop one whole UTF-8 character: its continuation bytes (10xxxxxx) and its lead byte.
              let cut = line.length - 1;
              while (cut > 0 && (line.charCodeAt(cut) & 0xc0) === 0x80) cut--;
              line = line.slice(0, cut);
              if (options.echo) this.write('\b \b');
            }
          } else if (byte === CTRL_U) {
            if (options.echo) this.write('\b \b'.repeat(line.length));
            line = '';
          } else if (byte >= 0x20) {
            line += String.fromCharCode(byte);
            if (options.echo) writeSync(this.#fd, Buffer.of(byte));
          }
        }
      };
      // The terminal was closed under the prompt: as good as Ctrl-C.
      const onGone = (): void => finish(new PromptInterrupted('the terminal was closed'));
      input.on('data', onData);
      input.on('end', onGone);
      input.on('error', onGone);
      options.signal?.addEventListener('abort', onAbort);
      input.resume();
    }).then((raw) => Buffer.from(raw, 'latin1').toString('utf8'));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#input.isRaw) this.#input.setRawMode(false);
    } catch {
      // the terminal is gone (EIO): nothing to restore
    }
    this.#input.destroy(); // closes the fd
  }
}

/** Which of standard input, output and error are a terminal (ask at start-up: a closed one no longer says). */
export function stdioOnTerminal(): number[] {
  return [0, 1, 2].filter((fd) => isatty(fd));
}

/**
 * Once the terminal was closed (SIGHUP), points the standard descriptors that
 * were on it at /dev/null. Node 20 puts a terminal back as it found it on
 * exit, and when that fails (EIO: there is no terminal any more) it aborts
 * instead of exiting with the run's status (nodejs/node#51519, fixed in later
 * Node by #58200); it leaves alone a descriptor that is another file by then.
 * Call it last: nothing is shown after it.
 */
export function releaseClosedTerminal(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
      const opened = openSync('/dev/null', fd === 0 ? 'r' : 'w'); // the lowest free number: `fd`
      if (opened !== fd) closeSync(opened);
    } catch {
      // nothing more to do for this one
    }
  }
}
