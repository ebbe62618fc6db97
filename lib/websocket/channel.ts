/**
 * The event-queue wrapper that handlers consume:
 *
 *   for await (const message of channel) await channel.send(message);
 *
 * Received messages wait in a queue until the handler takes them with
 * `receive()` or `for await`; when too many bytes wait, the connection stops
 * reading and TCP slows the peer down. `send()` resolves when there is room
 * to send more, so a handler that awaits it never outruns a slow reader.
 */
import type { Socket } from 'node:net';
import { Connection, type CloseInfo, type ConnectionEvents } from './connection.js';
import type { Limits } from './limits.js';
import type { TraceFn } from './trace.js';

/** A text message arrives as a string, a binary message as a Buffer. */
export type Message = string | Buffer;

export interface ChannelOptions {
  limits: Limits;
  /** The subprotocol agreed in the handshake, or ''. */
  protocol?: string;
  trace?: TraceFn | undefined;
  /** Called once the connection has closed (the router uses it to forget the channel). */
  onClosed?: (info: CloseInfo) => void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const SENT = Promise.resolve(true);
const NOT_SENT = Promise.resolve(false);

function weight(message: Message): number {
  return message.length; // bytes, or UTF-16 units for text: near enough for flow control
}

export class Channel implements AsyncIterable<Message> {
  readonly protocol: string;
  readonly #receiveHighWater: number;
  readonly #onClosed: ((info: CloseInfo) => void) | undefined;
  #queue: Message[] = [];
  #queuedBytes = 0;
  #readers: ((message: Message | null) => void)[] = [];
  #writers: ((sent: boolean) => void)[] = [];
  #closeInfo: CloseInfo | null = null;
  #closed: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;
  readonly #connection: Connection;

  constructor(socket: Socket, head: Buffer, options: ChannelOptions) {
    this.protocol = options.protocol ?? '';
    this.#receiveHighWater = options.limits.receiveHighWaterMark;
    this.#onClosed = options.onClosed;
    const events: ConnectionEvents = {
      message: (m) => this.#onMessage(m),
      drain: () => this.#onDrain(),
      close: (info) => this.#onClose(info),
    };
    this.#connection = new Connection(socket, head, events, { limits: options.limits, trace: options.trace });
    // Messages that came in the handshake's packet were queued before #connection was set.
    if (this.#queuedBytes > this.#receiveHighWater) this.#connection.pause();
  }

  /** The next message, or null once the connection is closed and every received message was taken. */
  receive(): Promise<Message | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#closeInfo) return Promise.resolve(null);
    return new Promise((resolve) => this.#readers.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<Message, undefined> {
    return {
      next: (): Promise<IteratorResult<Message, undefined>> => {
        if (this.#queue.length > 0) return Promise.resolve({ done: false, value: this.#take() });
        if (this.#closeInfo) return Promise.resolve(DONE);
        return new Promise((resolve) => {
          this.#readers.push((m) => resolve(m === null ? DONE : { done: false, value: m }));
        });
      },
      // Leaving a for-await loop early does not close the channel.
      return: (): Promise<IteratorResult<Message, undefined>> => Promise.resolve(DONE),
    };
  }

  /**
   * Sends a text (string) or binary (bytes) message. Resolves to true once
   * there is room to send more (at once, unless the peer reads slower than
   * the handler writes), or to false if the channel is closing or closed and
   * the message was dropped. Never rejects. Do not modify `data` afterwards.
   */
  send(data: string | Uint8Array): Promise<boolean> {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError('send() takes a string (text) or a Uint8Array/Buffer (binary)');
    }
    if (!this.#connection.send(data)) return NOT_SENT;
    if (!this.#connection.needsDrain) return SENT;
    return new Promise((resolve) => this.#writers.push(resolve));
  }

  /** Starts the closing handshake (default 1000, §7.4.1). Throws RangeError for a code that may not be sent. */
  close(code?: number, reason?: string): void {
    this.#connection.close(code, reason);
  }

  /** Resolves once the connection has closed, with the close code and reason. */
  get closed(): Promise<CloseInfo> {
    if (!this.#closed) {
      this.#closed = this.#closeInfo
        ? Promise.resolve(this.#closeInfo)
        : new Promise((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  get readyState(): 'open' | 'closing' | 'closed' {
    return this.#connection.readyState;
  }

  /** The close code, once closed (see CloseInfo). */
  get closeCode(): number | undefined {
    return this.#closeInfo?.code;
  }

  get closeReason(): string | undefined {
    return this.#closeInfo?.reason;
  }

  /** Bytes passed to send() and not yet handed to the operating system. */
  get bufferedAmount(): number {
    return this.#connection.bufferedAmount;
  }

  get remoteAddress(): string | undefined {
    return this.#connection.remoteAddress;
  }

  #take(): Message {
    const message = this.#queue.shift()!;
    this.#queuedBytes -= weight(message);
    if (this.#queuedBytes <= this.#receiveHighWater / 2) this.#connection.resume();
    return message;
  }

  #onMessage(message: Message): void {
    const reader = this.#readers.shift();
    if (reader) {
      reader(message);
      return;
    }
    this.#queue.push(message);
    this.#queuedBytes += weight(message);
    // Optional chaining: undefined while the Connection constructor parses `head`.
    if (this.#queuedBytes > this.#receiveHighWater) this.#connection?.pause();
  }

  #onDrain(): void {
    if (this.#writers.length === 0) return;
    const writers = this.#writers;
    this.#writers = [];
    for (const resolve of writers) resolve(true);
  }

  #onClose(info: CloseInfo): void {
    this.#closeInfo = info;
    for (const resolve of this.#readers) resolve(null);
    for (const resolve of this.#writers) resolve(false);
    this.#readers = [];
    this.#writers = [];
    this.#resolveClosed?.(info);
    this.#onClosed?.(info);
  }
}
