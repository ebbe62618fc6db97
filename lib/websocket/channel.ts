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
import { Connection, type CloseInfo, type ConnectionOptions } from './connection.js';
import type { Limits } from './limits.js';
import { TextBytes } from './text-bytes.js';
import { decodeText } from './utf8.js';

/** A text message arrives as a string, a binary message as a Buffer. */
export type Message = string | Buffer;
/** With the `textAsBytes` option, a text message arrives as its bytes (TextBytes) instead. */
export type RawMessage = TextBytes | Buffer;

export interface ChannelOptions extends ConnectionOptions {
  /**
   * All but heartbeatInterval: the heartbeat is ticked by whoever holds the
   * channels (WebSocketRouter, through Connection.heartbeat).
   */
  limits: Limits;
  /** The subprotocol agreed in the handshake, or ''. */
  protocol?: string;
  /** Called once the connection has closed (the router uses it to forget the channel). */
  onClosed?: (info: CloseInfo, channel: AnyChannel) => void;
  /** Deliver text as TextBytes, not decoded (a Channel<RawMessage>): for handlers that pass it on. */
  textAsBytes?: boolean;
}

type Result<M> = IteratorResult<M, undefined>;
/**
 * Inside, a message is either kind: typing the queue by M would make
 * Channel<Message> no Channel<Message | RawMessage>, which the router holds.
 */
type Received = Message | RawMessage;
type Reader = (result: Result<Received>) => void;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const SENT = Promise.resolve(true);
const NOT_SENT = Promise.resolve(false);

/**
 * What a queued message costs besides its payload (its object, its slot in
 * the queue), roughly: without it, empty messages would weigh nothing, and a
 * peer could queue them without end while the handler is busy.
 */
const MESSAGE_OVERHEAD = 64;

function weight(message: Message | RawMessage): number {
  // Bytes, or UTF-16 units for a string: near enough for flow control.
  return message.length + MESSAGE_OVERHEAD;
}

/**
 * Received messages not yet taken, oldest first, and their weight. Taking
 * advances `#head` instead of calling shift(), which moves the rest of the
 * array: ~35 ns a message when a read brought a hundred.
 */
class Inbox {
  readonly #items: (Received | undefined)[] = [];
  #head = 0;
  /** The weight of the messages waiting. */
  bytes = 0;

  get empty(): boolean {
    return this.#head === this.#items.length;
  }

  push(message: Received): void {
    this.#items.push(message);
    this.bytes += weight(message);
  }

  /** The oldest message; only when not empty. */
  take(): Received {
    const items = this.#items;
    const message = items[this.#head]!;
    items[this.#head++] = undefined; // taken: let it be collected
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      // A reader that never quite catches up: drop the taken slots now and then.
      items.splice(0, this.#head);
      this.#head = 0;
    }
    this.bytes -= weight(message);
    return message;
  }
}

/**
 * A Connection (protocol and I/O, connection.ts) that queues what it
 * receives. It extends Connection rather than wrapping one so that each
 * WebSocket costs a single object: an idle server holds thousands.
 * `M` is RawMessage when it was made with `textAsBytes`, else Message.
 */
export class Channel<M extends Message | RawMessage = Message>
  extends Connection<ChannelOptions>
  implements AsyncIterableIterator<M, undefined>
{
  /**
   * Like #moreReaders and #writers, made on first use: an idle channel needs
   * none, and each field costs every connection 8 bytes.
   */
  #inbox: Inbox | null = null;
  /**
   * Pending next() and receive() calls, oldest first: each resolves with the
   * next message or DONE. There is nearly always at most one (a for-await
   * loop), so the oldest has a field of its own: an array would grow to 17
   * slots, about 150 bytes per idle connection, on its first push.
   */
  #reader: Reader | null = null;
  #moreReaders: Reader[] | null = null;
  #writers: ((sent: boolean) => void)[] | null = null;
  #closeInfo: CloseInfo | null = null;
  #closed: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;

  constructor(socket: Socket, head: Buffer, options: ChannelOptions) {
    super(socket, options);
    this.start(head);
  }

  /** The subprotocol agreed in the handshake (§4.2.2 step 5.4), or ''. */
  get protocol(): string {
    return this.options.protocol ?? '';
  }

  /** The next message, or null once the connection is closed and every received message was taken. */
  receive(): Promise<M | null> {
    if (this.#hasQueued()) return Promise.resolve(this.#take());
    if (this.#closeInfo) return Promise.resolve(null);
    return new Promise((resolve) => this.#addReader((result) => resolve(result.done ? null : (result.value as M))));
  }

  /**
   * The channel is its own iterator: an iterator object per for-await loop
   * would cost every idle connection 32 bytes, and it would hold nothing but
   * the channel.
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The iterator protocol's next(): the next message, or done once closed and drained. */
  next(): Promise<Result<M>> {
    if (this.#hasQueued()) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#closeInfo) return Promise.resolve(DONE);
    // The promise's own resolve function waits in the queue: no wrapper closure per wait.
    return new Promise((resolve) => this.#addReader(resolve as Reader));
  }

  /** Leaving a for-await loop early (break, throw) does not close the channel. */
  return(): Promise<Result<M>> {
    return Promise.resolve(DONE);
  }

  /**
   * Sends a text (string or TextBytes) or binary (bytes) message. Resolves to
   * true once there is room to send more (at once, unless the peer reads
   * slower than the handler writes), or to false if the channel is closing
   * or closed and the message was dropped. Never rejects. Do not modify
   * `data` afterwards.
   */
  send(data: string | TextBytes | Uint8Array): Promise<boolean> {
    let sent: boolean;
    if (typeof data === 'string' || data instanceof Uint8Array) sent = this.sendMessage(data);
    else if (data instanceof TextBytes) sent = this.sendMessage(data.bytes, true);
    else throw new TypeError('send() takes a string or TextBytes (text), or a Uint8Array/Buffer (binary)');
    if (!sent) return NOT_SENT;
    if (!this.needsDrain) return SENT;
    return new Promise((resolve) => (this.#writers ??= []).push(resolve));
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

  /** The close code, once closed (see CloseInfo). */
  get closeCode(): number | undefined {
    return this.#closeInfo?.code;
  }

  get closeReason(): string | undefined {
    return this.#closeInfo?.reason;
  }

  #addReader(reader: Reader): void {
    if (this.#reader === null) this.#reader = reader;
    else (this.#moreReaders ??= []).push(reader);
  }

  #shiftReader(): Reader | null {
    const reader = this.#reader;
    if (reader !== null) this.#reader = this.#moreReaders?.shift() ?? null;
    return reader;
  }

  #hasQueued(): boolean {
    return this.#inbox !== null && !this.#inbox.empty;
  }

  /** M is what options.textAsBytes makes (the router types the handler by it): the one cast of M. */
  #take(): M {
    const inbox = this.#inbox!;
    const message = inbox.take() as M;
    if (inbox.bytes <= this.limits.receiveHighWaterMark / 2) this.resume();
    return message;
  }

  // ---- Connection's hooks -------------------------------------------------

  protected override handleMessage(data: Buffer, text: boolean): void {
    const message = text ? (this.options.textAsBytes ? TextBytes.unchecked(data) : decodeText(data)) : data;
    const reader = this.#shiftReader();
    if (reader) {
      reader({ done: false, value: message });
      return;
    }
    const inbox = (this.#inbox ??= new Inbox());
    inbox.push(message);
    if (inbox.bytes > this.limits.receiveHighWaterMark) this.pause();
  }

  protected override handleDrain(): void {
    const writers = this.#writers;
    if (writers === null) return;
    this.#writers = null;
    for (const resolve of writers) resolve(true);
  }

  protected override handleClose(info: CloseInfo): void {
    this.#closeInfo = info;
    for (let reader = this.#shiftReader(); reader; reader = this.#shiftReader()) reader(DONE);
    const writers = this.#writers ?? [];
    this.#writers = null;
    for (const resolve of writers) resolve(false);
    this.#resolveClosed?.(info);
    this.options.onClosed?.(info, this);
  }
}

/** A channel of either kind (text as strings, or as TextBytes). */
export type AnyChannel = Channel<Message | RawMessage>;
