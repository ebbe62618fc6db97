/**
 * The permessage-deflate codec (RFC 7692 §7.2) on node:zlib, for one
 * connection: compresses what we send, inflates what we receive. With
 * context takeover (§7.1.1) a direction has its own zlib context, made on
 * first use (an idle connection holds none); our compressor is also freed
 * when it has been unused for a heartbeat interval (trim). Without context
 * takeover a direction borrows a reset context from a process-wide pool for
 * each message. zlib runs on libuv's thread pool; a process-wide Limiter
 * bounds the jobs in flight. One job per direction at a time: the connection
 * waits for each (which also keeps messages in order).
 *
 * A large message is inflated, or compressed, by a context of its own whose
 * output comes in chunks sized for it: node:zlib's 16 KiB chunks would cost
 * a 1 MiB message 64 round trips between the event loop and the thread pool
 * to inflate, ~8 ms where one takes ~2 (docs/deflate-benchmarks.md). With
 * context takeover it starts from the window — the last 2^bits bytes that
 * went through that direction, all that carries over from one message to the
 * next after a sync flush — set as a preset dictionary; the connection keeps
 * that window while it has no context of its own in that direction (zlib
 * does not hand out a context's window).
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { CloseCode } from './close.js';
import type { DeflateParams, ResolvedDeflateOptions } from './deflate-offer.js';
import { ProtocolError } from './errors.js';
import { RSV1_BIT } from './frame.js';
import type { Utf8Validator } from './utf8.js';

/** §7.2.1: the empty stored block a sync flush ends with, removed by the sender and appended by the receiver (§7.2.2). */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** §7.2.3.6: an empty DEFLATE block, what an empty compressed message may carry. */
const EMPTY_BLOCK = Buffer.from([0x00]);

/**
 * Runs at most `limit` jobs at once, the rest in the order they came. zlib
 * work goes to libuv's four threads; a burst of it from thousands of
 * connections would otherwise hold thousands of buffers in the queue for them.
 * (ws has the same, with 10 by default.)
 */
export class Limiter {
  readonly limit: number;
  #running = 0;
  #queue: (() => void)[] = [];
  #head = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Jobs started and not yet done. */
  get running(): number {
    return this.#running;
  }

  /** Starts `job` now or when a slot frees; it must call `done` exactly once. */
  run(job: (done: () => void) => void): void {
    if (this.#running < this.limit) {
      this.#running++;
      job(this.#done);
    } else this.#queue.push(() => job(this.#done));
  }

  readonly #done = (): void => {
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as () => void; // let it be collected
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      next(); // the slot passes straight to the next job
    } else this.#running--;
  };
}

/** One Limiter per concurrency value, shared by every connection of the process. */
const limiters = new Map<number, Limiter>();
export function limiterFor(concurrency: number): Limiter {
  let limiter = limiters.get(concurrency);
  if (limiter === undefined) limiters.set(concurrency, (limiter = new Limiter(concurrency)));
  return limiter;
}

export type Done = (error: ProtocolError | null, payload: Buffer) => void;

/** A frame to send, in the order send() was called (see PerMessageDeflate.send). */
export interface OutFrame {
  opcode: number;
  data: string | Uint8Array;
  /** Payload bytes, or UTF-16 units for a string: what the threshold and backpressure count. */
  length: number;
}

/**
 * Where PerMessageDeflate.send hands frames on, in order: for a compressed
 * one `opcode` has RSV1_BIT set and `original` holds the bytes it was made from.
 */
export type FrameWriter = (opcode: number, data: string | Uint8Array, original: Uint8Array | undefined) => void;

const NOTHING = Buffer.alloc(0);

/**
 * zlib's raw inflate would take a window of 8 bits, but a peer whose zlib
 * maps 8 to 9 (node:zlib does, so ws does) then sends distances a 256-byte
 * window cannot resolve: inflate with at least 9 (a larger window reads any
 * smaller one's output).
 */
function inflateWindow(bits: number): number {
  return Math.max(9, bits);
}

export class PerMessageDeflate {
  readonly params: DeflateParams;
  readonly options: ResolvedDeflateOptions;
  readonly #limiter: Limiter;
  #deflate: DeflateRaw | null = null;
  #inflate: InflateRaw | null = null;
  /**
   * While #inflate is null: the last bytes inflated (at most its window),
   * what the next message's inflater starts from. Empty at first and after
   * a message that ended the stream (BFINAL).
   */
  #window: Buffer = NOTHING;
  /** The same for what we compress, while #deflate is null: the last bytes we sent, which the peer's window holds. */
  #sentWindow: Buffer = NOTHING;
  /** Ends the compression or inflation in flight with an error (set while one runs): close() calls them. */
  #abortDeflate: (() => void) | null = null;
  #abortInflate: (() => void) | null = null;
  /** Our compressor compressed since the last trim(). */
  #deflateUsed = false;
  #closed = false;

  // The send queue: frames behind a compression in flight, oldest first.
  #queue: OutFrame[] | null = null;
  #queuedBytes = 0;
  #writer: FrameWriter | null = null;
  #idle: (() => void) | null = null;

  constructor(params: DeflateParams, options: ResolvedDeflateOptions) {
    this.params = params;
    this.options = options;
    this.#limiter = limiterFor(options.concurrency);
  }

  /** Whether a compression is in flight: every frame must queue behind it (send()). */
  get busy(): boolean {
    return this.#queue !== null;
  }

  /** Bytes queued by send() and not yet handed on (they count as buffered, for backpressure). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Sends `frame` through `writer` after every frame sent before it: data
   * frames worth it compressed (RSV1 set, RFC 7692 §6: it is a message's only
   * frame), the rest as they are. While nothing is in flight a frame not worth
   * compressing is handed on at once.
   */
  send(frame: OutFrame): void {
    const writer = this.#writer!;
    if (this.#queue === null) {
      if (frame.opcode >= 0x8 || !this.worthCompressing(frame.length)) return writer(frame.opcode, frame.data, undefined);
      this.#queue = [];
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#queue.length === 1) this.#pump();
  }

  /** Sets where send() hands frames on (the connection, once). */
  attach(writer: FrameWriter): void {
    this.#writer = writer;
  }

  /** Calls `fn` once nothing is queued (at once if nothing is). */
  whenIdle(fn: () => void): void {
    if (this.#queue === null) fn();
    else this.#idle = fn;
  }

  /** Hands on queued frames in order until one needs compressing, which resumes the pump when done. */
  #pump(): void {
    const queue = this.#queue;
    const writer = this.#writer!;
    while (queue !== null && queue.length > 0) {
      const frame = queue[0]!;
      if (frame.opcode >= 0x8 || !this.worthCompressing(frame.length)) {
        queue.shift();
        this.#queuedBytes -= frame.length;
        writer(frame.opcode, frame.data, undefined);
        continue;
      }
      const bytes = typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : frame.data;
      this.compress(bytes, (error, payload) => {
        if (this.#queue !== queue) return; // closed meanwhile
        queue.shift();
        this.#queuedBytes -= frame.length;
        if (error === null) writer(frame.opcode | RSV1_BIT, payload, bytes);
        this.#pump();
      });
      return;
    }
    if (queue === null) return;
    this.#queue = null;
    const idle = this.#idle;
    this.#idle = null;
    idle?.();
  }

  /** Whether a message of this length is worth compressing (text in UTF-16 units, near enough). */
  worthCompressing(length: number): boolean {
    return length >= this.options.threshold;
  }

  /**
   * §7.2.1: compresses one message with a sync flush and removes the 4-byte
   * tail; the result goes out in one frame with RSV1 set. Calls `done` once,
   * asynchronously (error: only if the codec was closed meanwhile).
   */
  compress(data: Uint8Array, done: Done): void {
    this.#limiter.run((release) => {
      if (this.#closed) {
        release();
        return done(new ProtocolError(CloseCode.INTERNAL_ERROR, 'compressor closed'), NOTHING);
      }
      const bits = this.params.serverMaxWindowBits;
      const takeover = !this.params.serverNoContextTakeover;
      // As in decompress: a compressor of its own for a large message, unless
      // the connection's own holds the window; else the connection's own, or
      // (§7.1.1.1: without context takeover any reset context will do) one from the shared pool.
      const once = data.length >= LARGE_MESSAGE && (!takeover || this.#deflate === null);
      const pool = !once && !takeover ? deflatePool(bits, this.options) : null;
      let deflate: DeflateRaw;
      if (once) deflate = makeDeflate(bits, this.options, outputChunkFor(data.length), takeover ? this.#sentWindow : NOTHING);
      else if (pool !== null) deflate = pool.take();
      else if (this.#deflate !== null) deflate = this.#deflate;
      else {
        deflate = this.#deflate = makeDeflate(bits, this.options, undefined, this.#sentWindow);
        this.#sentWindow = NOTHING; // the compressor holds it now
      }
      this.#deflateUsed = true;
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
      };
      const finish = (error: ProtocolError | null): void => {
        if (finished) return;
        finished = true;
        this.#abortDeflate = null;
        deflate.off('data', onData);
        release();
        if (once || (pool !== null && error !== null)) deflate.close(); // mid-job, a pooled one is not fit to share
        else pool?.give(deflate);
        if (error !== null) return done(error, NOTHING);
        if (once && takeover) this.#sentWindow = lastBytes(this.#sentWindow, Buffer.from(data.buffer, data.byteOffset, data.length), 1 << bits);
        let out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        // A chunk sized for the message may be much larger than what came out: keep no more than twice it.
        if (once && out.buffer.byteLength > 2 * out.length) out = Buffer.from(out);
        if (out.length >= 4 && out.subarray(-4).equals(DEFLATE_TAIL)) out = out.subarray(0, out.length - 4);
        // A flush with nothing new to write gives nothing; an empty block stands for it.
        if (out.length === 0) out = EMPTY_BLOCK;
        done(null, out);
      };
      this.#abortDeflate = () => finish(new ProtocolError(CloseCode.INTERNAL_ERROR, 'compressor closed'));
      deflate.on('data', onData);
      // One write, sync-flushed (the context's default flush): one trip to the thread pool.
      deflate.write(data, () => finish(null));
    });
  }

  /**
   * §7.2.2: inflates one message (the tail appended). Fails with 1009 as
   * soon as the output passes `maxSize` — zlib hands its output over in
   * chunks (16 KiB; up to 1 MiB for a large message, never much above
   * maxSize), so no more than one is ever held beyond the limit —
   * with 1007 for a stream that is not valid DEFLATE, and, given a validator,
   * with 1007 at the first chunk that is not UTF-8 (RFC 6455 §8.1). Calls
   * `done` once, asynchronously.
   */
  decompress(data: Buffer, maxSize: number, utf8: Utf8Validator | null, done: Done): void {
    this.#limiter.run((release) => {
      if (this.#closed) {
        release();
        return done(new ProtocolError(CloseCode.INTERNAL_ERROR, 'inflater closed'), NOTHING);
      }
      const bits = inflateWindow(this.params.clientMaxWindowBits);
      const takeover = !this.params.clientNoContextTakeover;
      // Which inflater: one of its own for a large message, unless the
      // connection's own holds the window (takeover after small messages);
      // else the connection's own (takeover), or a reset one from the pool
      // (§7.1.1.2: when the client starts each message afresh, any will do).
      const once = data.length >= LARGE_INPUT && (!takeover || this.#inflate === null);
      const pool = !once && !takeover ? inflatePool(bits, this.options.concurrency) : null;
      let inflate: InflateRaw;
      if (once) inflate = makeInflate(bits, chunkSizeFor(data.length, maxSize), takeover ? this.#window : NOTHING);
      else if (pool !== null) inflate = pool.take();
      else if (this.#inflate !== null) inflate = this.#inflate;
      else {
        inflate = this.#inflate = makeInflate(bits, undefined, this.#window);
        this.#window = NOTHING; // the inflater holds it now
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      const finish = (error: ProtocolError | null): void => {
        if (finished) return;
        finished = true;
        this.#abortInflate = null;
        inflate.off('data', onData);
        inflate.off('error', onError);
        release();
        // BFINAL ended the stream (§7.2.3.4): that context cannot go on, and the next message starts afresh.
        const ended = inflate.readableEnded;
        // After a failure a context is of no more use either.
        if (once) closeInflate(inflate);
        else if (pool === null) {
          if (error !== null || ended) this.#dropInflate();
        } else if (error !== null || ended) closeInflate(inflate);
        else pool.give(inflate);
        if (error !== null) return done(error, NOTHING);
        let out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        // A chunk sized for the message may be much larger than what came out: keep no more than twice the message.
        if (once && out.buffer.byteLength > 2 * out.length) out = Buffer.from(out);
        if (once && takeover) this.#window = ended ? NOTHING : lastBytes(this.#window, out, 1 << bits);
        done(null, out);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > maxSize) return finish(new ProtocolError(CloseCode.MESSAGE_TOO_BIG, `inflated message over ${maxSize} bytes`));
        if (utf8 !== null) {
          try {
            utf8.write(chunk);
          } catch (error) {
            return finish(error as ProtocolError); // Utf8Validator throws only ProtocolError
          }
        }
        chunks.push(chunk);
      };
      const onError = (): void => finish(new ProtocolError(CloseCode.INVALID_PAYLOAD, 'invalid DEFLATE data'));
      this.#abortInflate = () => finish(new ProtocolError(CloseCode.INTERNAL_ERROR, 'inflater closed'));
      inflate.on('data', onData);
      inflate.on('error', onError);
      // The tail joins a small message (one trip to the thread pool instead of two); a large one is not copied for it.
      const whole = data.length <= JOIN_LIMIT;
      if (!whole) inflate.write(data);
      inflate.write(whole ? Buffer.concat([data, DEFLATE_TAIL]) : DEFLATE_TAIL, (error) => {
        if (finished) return;
        if (error) return onError();
        if (utf8 !== null) {
          try {
            utf8.end();
          } catch (error) {
            return finish(error as ProtocolError);
          }
        }
        finish(null);
      });
    });
  }

  /**
   * Called once per heartbeat interval: frees our compressor if it compressed
   * nothing since the last call. Always allowed, whatever was agreed: a
   * compressor may start afresh at any message (the peer's inflater only
   * follows back-references, and a fresh one makes none), so a connection
   * that stopped sending gives its ~250 KiB back and pays one
   * less-compressed message if it sends again.
   */
  trim(): void {
    if (!this.#deflateUsed && this.#abortDeflate === null) {
      this.#dropDeflate();
      this.#sentWindow = NOTHING; // the next message starts afresh as well
    }
    this.#deflateUsed = false;
  }

  /** Whether this connection holds its own compressor (context takeover, used lately). For tests. */
  get holdsCompressor(): boolean {
    return this.#deflate !== null;
  }

  /** Frees both contexts and drops the send queue; jobs in flight end (their slots freed), later ones fail. For a closed connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = null;
    this.#queuedBytes = 0;
    this.#idle = null;
    this.#abortDeflate?.();
    this.#abortInflate?.();
    this.#dropDeflate();
    this.#dropInflate();
  }

  #dropDeflate(): void {
    const deflate = this.#deflate;
    this.#deflate = null;
    deflate?.close();
  }

  #dropInflate(): void {
    const inflate = this.#inflate;
    this.#inflate = null;
    if (inflate !== null) closeInflate(inflate);
  }
}

/** Messages up to this size are joined with the 4-byte tail before inflating. */
const JOIN_LIMIT = 64 * 1024;

/**
 * A compressed message this large (~100 KiB of JSON once inflated) gets an
 * inflater of its own: making one costs ~20 µs more than reusing one, and
 * saves a trip to the thread pool per 16 KiB of output.
 */
const LARGE_INPUT = 32 * 1024;
/** And a message this large, a compressor of its own (making one costs ~0.1 ms: it is ~256 KiB). */
const LARGE_MESSAGE = 128 * 1024;

/** zlib's default output chunk, and the largest one an inflater of its own gets. */
const DEFAULT_CHUNK = 16 * 1024;
const MAX_CHUNK = 1024 * 1024;

/**
 * Output chunks for a message `length` bytes compressed: room for 4 times
 * that (text rarely inflates more), so most large messages come out in one
 * or two chunks; never above MAX_CHUNK, nor much above `maxSize` (a zip bomb
 * fails at the limit holding at most one chunk more).
 */
function chunkSizeFor(length: number, maxSize: number): number {
  return Math.max(DEFAULT_CHUNK, Math.min(4 * length, MAX_CHUNK, maxSize + 1));
}

/** Output chunks for compressing `length` bytes: room for half of them (text compresses to a third or less). */
function outputChunkFor(length: number): number {
  return Math.max(DEFAULT_CHUNK, Math.min(length >>> 1, MAX_CHUNK));
}

/** The last `max` bytes of `before` followed by `after`, in memory of their own (a window). */
function lastBytes(before: Buffer, after: Buffer, max: number): Buffer {
  if (after.length >= max) return Buffer.from(after.subarray(after.length - max));
  const keep = Math.min(before.length, max - after.length);
  return Buffer.concat([before.subarray(before.length - keep), after], keep + after.length);
}

/**
 * Every write is sync-flushed (§7.2.1): a message is one write, its output
 * complete when the write's callback runs. A non-empty `dictionary` is what
 * the peer's window already holds: back-references may reach into it.
 */
function makeDeflate(windowBits: number, options: ResolvedDeflateOptions, chunkSize = DEFAULT_CHUNK, dictionary: Buffer = NOTHING): DeflateRaw {
  return createDeflateRaw({
    level: options.level,
    memLevel: options.memLevel,
    windowBits,
    flush: constants.Z_SYNC_FLUSH,
    chunkSize,
    ...(dictionary.length > 0 ? { dictionary } : {}),
  });
}

/** An inflater; a non-empty `dictionary` is the history it starts from (for raw DEFLATE, zlib's inflateSetDictionary stands for the bytes before the stream). */
function makeInflate(windowBits: number, chunkSize = DEFAULT_CHUNK, dictionary: Buffer = NOTHING): InflateRaw {
  return createInflateRaw({ windowBits, flush: constants.Z_SYNC_FLUSH, chunkSize, ...(dictionary.length > 0 ? { dictionary } : {}) });
}

function closeInflate(inflate: InflateRaw): void {
  inflate.on('error', ignore); // a job cut short may still report its error
  inflate.close();
}

/**
 * Reset contexts waiting for reuse. Without context takeover a context is
 * needed only while a job runs, and the Limiter lets at most `max` run at
 * once: so many contexts serve every such connection of the process. Making
 * one per message instead costs 2–8 times the CPU of a reset (measured:
 * docs/rfc7692.md), and keeping one per connection ~250 KiB each.
 */
export class ContextPool<T extends DeflateRaw | InflateRaw> {
  readonly #free: T[] = [];
  readonly #max: number;
  readonly #make: () => T;

  constructor(max: number, make: () => T) {
    this.#max = max;
    this.#make = make;
  }

  /** Contexts waiting. */
  get size(): number {
    return this.#free.length;
  }

  take(): T {
    return this.#free.pop() ?? this.#make();
  }

  /** Takes back a context whose job ended well: reset for the next, or closed if enough wait. */
  give(context: T): void {
    if (this.#free.length < this.#max) {
      context.reset();
      this.#free.push(context);
    } else context.close();
  }
}

const pools = new Map<string, ContextPool<DeflateRaw> | ContextPool<InflateRaw>>();

function deflatePool(windowBits: number, options: ResolvedDeflateOptions): ContextPool<DeflateRaw> {
  const key = `deflate ${windowBits} ${options.level} ${options.memLevel} ${options.concurrency}`;
  let pool = pools.get(key) as ContextPool<DeflateRaw> | undefined;
  if (pool === undefined) pools.set(key, (pool = new ContextPool(options.concurrency, () => makeDeflate(windowBits, options))));
  return pool;
}

function inflatePool(windowBits: number, concurrency: number): ContextPool<InflateRaw> {
  const key = `inflate ${windowBits} ${concurrency}`;
  let pool = pools.get(key) as ContextPool<InflateRaw> | undefined;
  if (pool === undefined) pools.set(key, (pool = new ContextPool(concurrency, () => makeInflate(windowBits))));
  return pool;
}

function ignore(): void {}
