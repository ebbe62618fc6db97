/**
 * One WebSocket connection on an upgraded socket: the only module that does
 * I/O. It feeds received bytes to the Receiver, answers pings (§5.5.2), runs
 * the closing handshake (§5.5.1, §7.1), pings idle peers, and sends frames
 * with backpressure. What happens to received messages is a subclass's job
 * (Channel queues them for the handler): it gets them through the hooks below.
 */
import type { Socket } from 'node:net';
import { CloseCode, encodeClosePayload, truncateUtf8 } from './close.js';
import type { PerMessageDeflate } from './deflate.js';
import { ProtocolError } from './errors.js';
import { headerSize, Opcode, writeFrameHeader } from './frame.js';
import type { Limits } from './limits.js';
import { Receiver, type ReceiverSink } from './receiver.js';
import { callTrace, PREVIEW_BYTES, type TraceFn } from './trace.js';
import { Utf8Validator } from './utf8.js';

export interface CloseInfo {
  /**
   * The code of the peer's Close frame (1005 if it had none); else the code we
   * closed or failed the connection with; else 1006 (TCP closed without a Close).
   */
  code: number;
  reason: string;
  /** True when both Close frames were exchanged before TCP closed (§7.1.4). */
  wasClean: boolean;
}

export interface ConnectionOptions {
  limits: Limits;
  /** Told about every frame in and out (trace.ts). If it throws, that is printed once and the frame goes on. */
  trace?: TraceFn | undefined;
  /**
   * permessage-deflate, when the handshake agreed it (RFC 7692): this
   * connection's codec. The options object is then the connection's own (the
   * router makes one per compressed connection), so that connections without
   * compression pay no field for it.
   */
  deflate?: PerMessageDeflate | undefined;
}

export type ReadyState = 'open' | 'closing' | 'closed';

/**
 * Payloads up to this size are copied, with their headers, into the one
 * buffer a flush writes; a larger payload is written from its own memory.
 */
const COPY_LIMIT = 16 * 1024;

/** A frame queued by sendMessage(), ping() or close() and not yet written. */
interface PendingFrame {
  opcode: number;
  data: string | Uint8Array;
  /** Payload bytes (UTF-8 bytes for a string). */
  length: number;
}

/** The frames of one tick, which #flush writes at its end. */
interface Outbox {
  frames: PendingFrame[];
  /** Their size on the wire (headers and payloads). */
  bytes: number;
  /** Of which headers and payloads that #flush copies into its buffer (all but large payloads). */
  copyBytes: number;
}

/** How the connection ends so far, and the timer that drops TCP if the closing handshake stalls. */
interface Ending {
  code: number;
  reason: string;
  timer: NodeJS.Timeout | null;
}

/*
 * The connection's state, as bits of one small integer: a field costs every
 * connection 8 bytes, and a server may hold a great many idle ones.
 */
/** Our Close frame is queued: readyState is 'closing' (§7.1.2), no data frame may follow (§5.5.1). */
const CLOSE_SENT = 1 << 0;
/** The peer's Close frame arrived. */
const CLOSE_RECEIVED = 1 << 1;
/** We ended our side of TCP (our FIN is on its way). */
const ENDED = 1 << 2;
/** TCP has closed: readyState is 'closed'. */
const CLOSED = 1 << 3;
/** Reading from the socket is paused by the subclass: its handler is behind (inbound backpressure). */
const PAUSED = 1 << 4;
/** Heartbeat: a whole interval passed without a byte from the peer, */
const SILENT = 1 << 5;
/** then it was pinged, and has not answered yet. */
const PINGED = 1 << 6;
/** Reading is paused because the peer is not reading: over sendHighWaterMark is unsent (limits.pauseReadingOnSendBacklog). */
const SEND_PAUSED = 1 << 7;
/** The peer broke a rule: parsing stopped, and the Close goes out at the end of this turn of the event loop (#failSoon). */
const FAILING = 1 << 8;
/** Reading is paused while a compressed message is inflated (permessage-deflate): what follows waits for it. */
const INFLATING = 1 << 9;
/** Reading is paused because the peer sent more than its read gate allows for now (limitReading). */
const THROTTLED = 1 << 10;

/**
 * Told the size of every read from a connection's socket; answers how long
 * (ms) to stop reading from it now, 0 to read on. An application's budget of
 * inbound bytes (per client address, say): the WebSocket layer holds no policy.
 *
 * `hold`, if given, is told after each read how many bytes of a message not
 * yet complete the connection holds (0 once it completes, and when the
 * connection closes); false refuses them, and the connection fails with 1013
 * (Try Again Later): a budget of memory shared with other connections.
 */
export interface ReadGate {
  take(bytes: number): number;
  hold?(bytes: number): boolean;
}

/** What a failed peer may still send after our Close before its FIN: the end of a frame, control frames. */
const AFTER_FAILURE_BYTES = 64 * 1024;

/** Where the shared socket listeners below find the socket's Connection. */
const kConnection = Symbol('websocket.connection');
type ConnectionSocket = Socket & { [kConnection]: Connection };

function ignoreError(): void {
  // ECONNRESET and friends: 'close' follows and reports 1006.
}

/**
 * Abstract, and extended rather than wrapped, so that a connection and its
 * Channel are one object: a wrapper plus an event-sink object would cost
 * every idle connection about 100 bytes more.
 */
export abstract class Connection<Options extends ConnectionOptions = ConnectionOptions> {
  readonly #socket: Socket;
  /** Kept, not copied: the router hands one options object to many connections. */
  readonly #options: Options;
  /**
   * Made when the first bytes arrive: a connection that only listens (many
   * idle clients of a push server) never pays for a parser's state.
   */
  #receiver: Receiver | null = null;
  /** State bits: CLOSE_SENT, CLOSE_RECEIVED, ENDED, CLOSED, PAUSED, SILENT, PINGED, SEND_PAUSED, FAILING (above). */
  #flags = 0;
  /** Made when closing begins (either side's Close, the peer's FIN, a drop). */
  #ending: Ending | null = null;
  /** Made by the first frame of a tick; a flush is scheduled then and takes it. */
  #outbox: Outbox | null = null;
  /** limitReading()'s gate, and the timer that ends a throttle. */
  #gate: ReadGate | null = null;
  /** Bytes read since our Close went out (#data). */
  #readAfterClose = 0;
  /** How many of those are read: all, after a close of ours (the peer's Close may wait behind data we left unread); a little after a failure. */
  #readAfterCloseLimit = Infinity;
  #throttleTimer: NodeJS.Timeout | null = null;

  /** Call start() at the end of the subclass's constructor. */
  constructor(socket: Socket, options: Options) {
    this.#socket = socket;
    this.#options = options;

    socket.setNoDelay(true);
    // The listeners are shared by every connection and find this one through
    // the socket: per-connection closures would cost an idle connection
    // about 60 bytes each.
    (socket as ConnectionSocket)[kConnection] = this;
    socket.on('data', Connection.#onData);
    socket.on('drain', Connection.#onDrain);
    socket.on('end', Connection.#onEnd);
    socket.on('error', ignoreError);
    socket.on('close', Connection.#onClose);
    // The codec hands frames back in order once compressed; a compression that outlives the socket sends nothing.
    options.deflate?.attach((opcode, data, original) => {
      if (!this.#has(CLOSED)) this.#queueFrame(opcode, data, original);
    });
    if (socket.destroyed) {
      // The client left during the handshake: 'close' already fired.
      process.nextTick(() => this.#closed());
    }
  }

  /**
   * Parses the frames that came in the handshake's packet (`head`). Not done
   * by the constructor: they may reach the subclass's hooks, which need its
   * fields, and those exist only once the base constructor has returned.
   */
  protected start(head: Buffer): void {
    if (head.length > 0 && !this.#socket.destroyed) this.#data(head);
  }

  // ---- hooks: what the subclass does with the connection's events --------

  /** A message arrived: binary, or text (`text`) as its bytes, which are valid UTF-8 but not yet decoded. */
  protected abstract handleMessage(data: Buffer, text: boolean): void;
  /** The buffered amount is back at or under the send high-water mark. */
  protected abstract handleDrain(): void;
  /** Called exactly once, when the TCP connection has closed. */
  protected abstract handleClose(info: CloseInfo): void;

  get readyState(): ReadyState {
    // §7.1.4: TCP is closing (the peer's FIN, a reset, a drop) but 'close' has
    // not fired yet: no longer open, though not yet closed.
    if (this.#has(CLOSED)) return 'closed';
    if (this.#has(CLOSE_SENT) || this.#has(ENDED) || this.#socket.destroyed) return 'closing';
    return 'open';
  }

  /** Whether any of these flag bits is set. */
  #has(bits: number): boolean {
    return (this.#flags & bits) !== 0;
  }

  /** Bytes accepted by send() and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return (this.#outbox?.bytes ?? 0) + this.#socket.writableLength + (this.#options.deflate?.queuedBytes ?? 0);
  }

  /** The options it was made with, the subclass's own included (one field for both). */
  protected get options(): Options {
    return this.#options;
  }

  /** For the subclass (Channel reads its receiveHighWaterMark). */
  protected get limits(): Limits {
    return this.#options.limits;
  }

  /** True while the buffered amount is above the send high-water mark: wait for handleDrain(). */
  protected get needsDrain(): boolean {
    return this.bufferedAmount > this.limits.sendHighWaterMark;
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /**
   * Queues a text (a string, or valid UTF-8 bytes with `text`) or binary
   * (bytes) message. Returns false, sending nothing, once a Close frame was
   * sent (§5.5.1: no data frame may follow it), once TCP is closing, or when
   * the peer has stopped reading for so long that the buffered amount passed
   * maxBufferedAmount (the connection is dropped).
   */
  protected sendMessage(data: string | Uint8Array, text: boolean = typeof data === 'string'): boolean {
    // §6.1 step 1: only in the OPEN state; it is 'closing' once our Close was sent.
    if (this.readyState !== 'open') return false;
    if (this.#droppedForNotReading()) return false;
    this.#writeFrame(text ? Opcode.TEXT : Opcode.BINARY, data);
    return true;
  }

  /** Sends a ping (§5.5.2); the pong is handled internally. */
  protected ping(payload: Uint8Array = Buffer.alloc(0)): void {
    if (payload.length > 125) throw new RangeError('a ping payload is at most 125 bytes (RFC 6455 §5.5)');
    if (this.readyState !== 'open') return;
    this.#writeFrame(Opcode.PING, payload);
  }

  /**
   * Starts the closing handshake (§7.1.2). Throws for a code that may not be
   * sent or a reason over 123 bytes. Does nothing once closing has begun,
   * by either side or by a dropped TCP connection: the code that closing
   * began with is the one `closed` reports.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    const payload = encodeClosePayload(code, reason);
    // A handler done with its last message: the failure's code is the one to send (§7.1.7).
    if (this.#has(FAILING)) return this.#fail();
    if (this.readyState !== 'open') return;
    this.#setCloseCode(code, reason);
    this.#sendClose(payload);
    this.#readOn();
  }

  /** Stops reading from the socket (inbound backpressure); the peer is not pinged meanwhile. */
  protected pause(): void {
    if (this.#has(PAUSED | CLOSE_SENT)) return;
    if (!this.#has(SEND_PAUSED)) this.#socket.pause();
    this.#flags |= PAUSED;
  }

  /** Undoes pause(); reading stays paused while the send backlog also pauses it. */
  protected resume(): void {
    if (!this.#has(PAUSED)) return;
    this.#flags &= ~PAUSED;
    if (!this.#has(SEND_PAUSED | INFLATING | THROTTLED)) this.#socket.resume();
  }

  /**
   * From now on, after each read, asks `gate` how long to stop reading (null:
   * no gate). The peer's bytes wait in TCP meanwhile, so what it can make
   * this server parse is the gate's rate; its silence is not held against
   * it by the heartbeat.
   */
  limitReading(gate: ReadGate | null): void {
    this.#gate = gate;
  }

  #throttle(ms: number): void {
    if (this.#has(THROTTLED | CLOSE_SENT | CLOSED)) return;
    this.#flags |= THROTTLED;
    this.#socket.pause();
    this.#throttleTimer = setTimeout(() => {
      this.#throttleTimer = null;
      this.#flags &= ~THROTTLED;
      if (!this.#has(PAUSED | SEND_PAUSED | INFLATING | CLOSED)) this.#socket.resume();
    }, ms);
    this.#throttleTimer.unref();
  }

  /**
   * Outbound backpressure on the peer's requests: while it leaves more than
   * sendHighWaterMark unread, read none of them (TCP pushes back on it).
   * Unlike pause(), this does not spare it the heartbeat: a peer that stays
   * over the mark for two to three intervals is dropped.
   */
  #pauseForBacklog(): void {
    if (this.#has(SEND_PAUSED | CLOSE_SENT) || !this.limits.pauseReadingOnSendBacklog) return;
    if (!this.#has(PAUSED)) this.#socket.pause();
    this.#flags |= SEND_PAUSED;
  }

  /** The backlog is back under sendHighWaterMark. */
  #resumeAfterBacklog(): void {
    if (!this.#has(SEND_PAUSED)) return;
    this.#flags &= ~SEND_PAUSED;
    if (!this.#has(PAUSED | INFLATING | THROTTLED)) this.#socket.resume();
  }

  /** Reads on whatever paused reading: once closing, the peer's Close frame and FIN must get through. */
  #readOn(): void {
    if (!this.#has(PAUSED | SEND_PAUSED | THROTTLED)) return;
    this.#endThrottle();
    this.#flags &= ~(PAUSED | SEND_PAUSED);
    this.#socket.resume();
  }

  // ---- what the parser found ----------------------------------------------

  /**
   * The Receiver's sink: made with the Receiver, so a connection that never
   * receives a byte pays for neither. A separate object rather than public
   * methods, which a Channel would show to every handler.
   */
  static readonly #Sink = class implements ReceiverSink {
    readonly #connection: Connection;
    constructor(connection: Connection) {
      this.#connection = connection;
    }
    onMessage(data: Buffer, text: boolean): void {
      this.#connection.#receivedMessage(data, text);
    }
    onCompressedMessage(opcode: number, payload: Buffer): void {
      this.#connection.#receivedCompressed(opcode, payload);
    }
    onPing(payload: Buffer): void {
      this.#connection.#receivedPing(payload);
    }
    onPong(): void {
      // Nothing to do: any received byte already counts as a sign of life.
    }
    onClose(code: number, reason: string): void {
      this.#connection.#receivedClose(code, reason);
    }
  };

  #receivedMessage(data: Buffer, text: boolean): void {
    // §7.1.2: after our Close frame, data may still arrive; nobody awaits it.
    if (!this.#has(CLOSE_SENT)) this.handleMessage(data, text);
  }

  /**
   * A compressed message (RFC 7692 §7.2.2): reading pauses and the receiver
   * waits while it is inflated, so that it is delivered before anything that
   * came after it, and a failure after it is seen only once it is delivered.
   */
  #receivedCompressed(opcode: number, payload: Buffer): void {
    const deflate = this.#options.deflate!; // the receiver sees RSV1 only when the codec exists
    if (!this.#has(PAUSED | SEND_PAUSED)) this.#socket.pause();
    this.#flags |= INFLATING;
    const text = opcode === Opcode.TEXT;
    deflate.decompress(payload, this.limits.maxMessageSize, text ? new Utf8Validator() : null, (error, data) => {
      this.#flags &= ~INFLATING;
      const receiver = this.#receiver;
      if (this.#has(CLOSED) || receiver === null) return;
      if (error !== null || receiver.stopped) {
        if (error !== null && !receiver.stopped) this.#failSoon(error);
        // Read on (the stopped receiver discards it all) so the peer's FIN is seen, as #fail does.
        if (!this.#has(PAUSED | SEND_PAUSED | THROTTLED)) this.#socket.resume();
        return;
      }
      const trace = this.#options.trace;
      if (trace) callTrace(trace, { direction: 'in', opcode, fin: true, rsv: 0b100, masked: true, length: payload.length, inflated: data.length, preview: data.subarray(0, PREVIEW_BYTES) });
      try {
        // A hook that throws fails the connection (1011), as in #data; it must not reach zlib's callback.
        this.#receivedMessage(data, text);
        if (!this.#has(PAUSED | SEND_PAUSED | THROTTLED)) this.#socket.resume();
        receiver.resume();
      } catch (err) {
        this.#failSoon(err);
      }
    });
  }

  #receivedPing(payload: Buffer): void {
    if (this.#has(CLOSE_SENT)) return;
    // Pongs are sent whether or not the peer reads them (a ping flood).
    if (this.#droppedForNotReading()) return;
    // §5.5.2: answer with a Pong carrying the same application data.
    this.#writeFrame(Opcode.PONG, payload);
  }

  #receivedClose(code: number, reason: string): void {
    this.#flags |= CLOSE_RECEIVED;
    this.#setCloseCode(code, reason);
    if (this.#has(CLOSE_SENT)) {
      // The answer to our Close: §7.1.1, the server closes TCP first.
      this.#endSocket();
      return;
    }
    // §5.5.1: answer with a Close frame, echoing the status code.
    this.#sendClose(encodeClosePayload(code));
  }

  // ---- socket events ------------------------------------------------------
  // `this` is the socket (see the constructor).

  static #onData(this: ConnectionSocket, chunk: Buffer): void {
    this[kConnection].#data(chunk);
  }

  static #onDrain(this: ConnectionSocket): void {
    Connection.#afterWrite(this[kConnection]);
  }

  static #afterWrite(connection: Connection): void {
    if (connection.#has(CLOSED) || connection.#broken() || connection.needsDrain) return;
    connection.#resumeAfterBacklog();
    connection.handleDrain();
  }

  /**
   * Whether the socket was destroyed or a write failed (a reset: Node
   * destroys it a tick later). Either empties the write buffer and runs its
   * callbacks before 'close': that is no room to send but messages lost,
   * and send() resolves false.
   */
  #broken(): boolean {
    return this.#socket.destroyed || this.#socket.errored !== null;
  }

  static #onEnd(this: ConnectionSocket): void {
    const connection = this[kConnection];
    // A failure is about to end TCP, after the replies to what the peer sent before it.
    if (connection.#has(FAILING)) return;
    // The peer closed its side of TCP; without a Close frame that is abnormal (1006).
    connection.#endSocket();
  }

  static #onClose(this: ConnectionSocket): void {
    this[kConnection].#closed();
  }

  #data(chunk: Buffer): void {
    // A resume() just before a destroy() still emits what Node had buffered
    // while paused: a dropped connection reads nothing more (its 1006 stands).
    if (this.#has(CLOSED) || this.#socket.destroyed) return;
    if (this.#has(CLOSE_SENT) && (this.#readAfterClose += chunk.length) > this.#readAfterCloseLimit) {
      // §7.1.7: a failed peer is owed no closing handshake; one that streams on instead (a 1 MB
      // paste on each of a thousand connections closed for holding too much) would be read and
      // discarded until the close timeout.
      this.#socket.destroy();
      return;
    }
    this.#flags &= ~(SILENT | PINGED); // any traffic shows the peer is alive
    // §5.1: a server MUST close the connection on an unmasked client frame.
    this.#receiver ??= new Receiver(new Connection.#Sink(this), {
      expectMasked: true,
      maxMessageSize: this.limits.maxMessageSize,
      deflate: this.#options.deflate !== undefined,
      trace: this.#options.trace,
    });
    try {
      this.#receiver.push(chunk);
    } catch (err) {
      this.#failSoon(err);
    }
    const gate = this.#gate;
    if (gate === null) return;
    if (gate.hold !== undefined && !gate.hold(this.#receiver.unfinished)) {
      // Failing drops what the receiver held (its unfinished is 0 from now on).
      this.#failSoon(new ProtocolError(CloseCode.TRY_AGAIN_LATER, 'too many bytes held in unfinished messages; try again later'));
      return;
    }
    const wait = gate.take(chunk.length);
    if (wait > 0) this.#throttle(wait);
  }

  #endThrottle(): void {
    if (this.#throttleTimer !== null) clearTimeout(this.#throttleTimer);
    this.#throttleTimer = null;
    this.#flags &= ~THROTTLED;
  }

  /**
   * One heartbeat tick, every limits.heartbeatInterval: the router's Sweep
   * (sweep.ts) ticks all its channels with one timer. Pings a peer silent for
   * a whole interval (§5.5.2) and drops it if it stays silent for one more.
   * Only received bytes count as signs of life: Node's socket timeout also
   * counts our own writes, so a peer that vanished would never be pinged
   * while the server keeps sending to it. While the handler's backpressure
   * pauses reading the peer's silence proves nothing; while the peer's own
   * backlog does (#pauseForBacklog), the silence is the peer's doing.
   */
  static heartbeat(this: void, connection: Connection): void {
    // A compressor unused for a whole interval gives its memory back (deflate.ts, trim).
    connection.#options.deflate?.trim();
    if (connection.#has(CLOSE_SENT | CLOSED)) return;
    if (connection.#has(PAUSED | THROTTLED)) connection.#flags &= ~(SILENT | PINGED);
    else if (!connection.#has(SILENT)) connection.#flags |= SILENT;
    else if (!connection.#has(PINGED)) {
      connection.#flags |= PINGED;
      connection.ping();
    } else connection.#drop('peer did not answer a ping');
  }

  #closed(): void {
    if (this.#has(CLOSED)) return;
    this.#flags |= CLOSED;
    this.#endThrottle();
    const ending = this.#ending;
    if (ending?.timer) clearTimeout(ending.timer);
    this.#receiver?.stop();
    this.#gate?.hold?.(0);
    this.#outbox = null;
    this.#options.deflate?.close(); // frees its zlib contexts now rather than at the next GC
    this.handleClose({
      code: ending?.code ?? CloseCode.ABNORMAL,
      reason: ending?.reason ?? '',
      // §7.1.4: both Close frames exchanged. Ours is queued at CLOSE_SENT and
      // has left only once our FIN has (a drop may discard it unsent).
      wasClean: this.#has(CLOSE_SENT) && this.#has(CLOSE_RECEIVED) && this.#socket.writableFinished,
    });
  }

  // ---- closing ------------------------------------------------------------

  #sendClose(payload: Buffer): void {
    this.#flags |= CLOSE_SENT;
    this.#writeFrame(Opcode.CLOSE, payload);
    this.#flush();
    if (this.#has(CLOSE_RECEIVED)) this.#endSocket();
    else this.#armCloseTimer();
  }

  /**
   * §7.1.7 Fail the WebSocket Connection, for a rule the peer broke (or a
   * hook that threw, 1011): parsing stops here, nothing after it is
   * processed. The Close frame waits for the end of this turn of the event
   * loop, so that what handlers send in reply to the messages of this same
   * read (their reactions run in the microtasks before it) goes out first, as
   * a peer that sent a good message and then a bad one expects; a failed peer
   * is not kept any longer than that.
   */
  #failSoon(err: unknown): void {
    this.#receiver?.stop();
    this.#readAfterCloseLimit = AFTER_FAILURE_BYTES;
    if (this.#has(CLOSE_SENT)) {
      // Our Close is out: nothing may follow it, and its code stands. Only TCP is left to close.
      this.#readOn();
      this.#endSocket();
      return;
    }
    const protocol = err instanceof ProtocolError;
    this.#setCloseCode(protocol ? err.closeCode : CloseCode.INTERNAL_ERROR, protocol ? truncateUtf8(err.message) : 'internal error');
    this.#flags |= FAILING;
    setImmediate(Connection.#failLater, this);
  }

  /** Shared by all connections, like the socket listeners. */
  static #failLater(connection: Connection): void {
    connection.#fail();
  }

  /** Sends the failure's Close frame (unless ours is out already), then closes TCP. */
  #fail(): void {
    if (!this.#has(FAILING)) return;
    this.#flags &= ~FAILING;
    if (this.#has(CLOSED) || this.#socket.destroyed) return; // dropped meanwhile
    if (!this.#has(CLOSE_SENT)) this.#sendClose(encodeClosePayload(this.#ending!.code, this.#ending!.reason));
    this.#readOn(); // keep reading (and discarding) so the peer's FIN is seen
    this.#endSocket();
  }

  /** Drops a peer that let more than maxBufferedAmount pile up unsent (messages or pongs); true if it did. */
  #droppedForNotReading(): boolean {
    if (this.bufferedAmount <= this.limits.maxBufferedAmount) return false;
    this.#drop(`peer is not reading: over ${this.limits.maxBufferedAmount} bytes unsent`);
    return true;
  }

  /** Drops the TCP connection at once, with no closing handshake (the peer is gone or not reading). */
  #drop(reason: string): void {
    if (this.#has(CLOSED)) return;
    this.#receiver?.stop(); // a drop while parsing (a ping flood): not one more frame
    this.#setCloseCode(CloseCode.ABNORMAL, reason);
    this.#socket.destroy();
  }

  #endSocket(): void {
    if (this.#has(ENDED)) return;
    const deflate = this.#options.deflate;
    if (deflate?.busy) {
      // Frames still being compressed go out before our FIN (the Close among them).
      deflate.whenIdle(() => this.#endSocket());
      this.#armCloseTimer();
      return;
    }
    this.#flags |= ENDED;
    this.#flush();
    this.#socket.end();
    this.#armCloseTimer();
  }

  #armCloseTimer(): void {
    const ending = (this.#ending ??= { code: CloseCode.ABNORMAL, reason: '', timer: null });
    ending.timer ??= setTimeout(() => this.#socket.destroy(), this.limits.closeTimeout);
  }

  /** The code and reason that closed reports, unless a later Close frame replaces them. */
  #setCloseCode(code: number, reason: string): void {
    if (this.#ending === null) this.#ending = { code, reason, timer: null };
    else {
      this.#ending.code = code;
      this.#ending.reason = reason;
    }
  }

  // ---- sending ------------------------------------------------------------

  /**
   * Queues a frame. With permessage-deflate, a data message worth it is
   * compressed first, and while one is, every frame waits behind it (order).
   */
  #writeFrame(opcode: number, data: string | Uint8Array): void {
    const deflate = this.#options.deflate;
    if (deflate !== undefined) deflate.send({ opcode, data, length: data.length });
    else this.#queueFrame(opcode, data, undefined);
  }

  /** `opcode` may carry RSV1_BIT; `original` is then the message's bytes before compression (for the trace). */
  #queueFrame(opcode: number, data: string | Uint8Array, original: Uint8Array | undefined): void {
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const size = headerSize(length, false);
    // Nothing is encoded yet: #flush writes all of this tick's frames into
    // one buffer, so a reply to a batch of small messages costs one
    // allocation, one copy of each payload and one system call.
    let outbox = this.#outbox;
    if (outbox === null) {
      outbox = this.#outbox = { frames: [], bytes: 0, copyBytes: 0 };
      process.nextTick(Connection.#flushLater, this);
    }
    outbox.frames.push({ opcode, data, length });
    outbox.bytes += size + length;
    outbox.copyBytes += length <= COPY_LIMIT ? size + length : size;
    const trace = this.#options.trace;
    if (trace) {
      if (original !== undefined) {
        // A compressed message: the preview shows what was compressed.
        const preview = Buffer.from(original.subarray(0, PREVIEW_BYTES));
        callTrace(trace, { direction: 'out', opcode: opcode & 0xf, fin: true, rsv: 0b100, masked: false, length, inflated: original.length, preview });
      } else {
        const body = typeof data === 'string' ? Buffer.from(data.slice(0, PREVIEW_BYTES)) : Buffer.from(data.subarray(0, opcode >= Opcode.CLOSE ? 125 : PREVIEW_BYTES));
        callTrace(trace, { direction: 'out', opcode, fin: true, masked: false, length, preview: body });
      }
    }
  }

  /** Shared by all connections, like the socket listeners. */
  static #flushLater(connection: Connection): void {
    connection.#flush();
  }

  #flush(): void {
    const outbox = this.#outbox;
    if (outbox === null) return; // already flushed in this tick (closing flushes at once)
    this.#outbox = null;
    const { frames, bytes: outBytes, copyBytes } = outbox;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;

    // Headers and small payloads go into `batch`; a large payload ends the
    // current piece of it and is written from its own memory.
    const batch = Buffer.allocUnsafe(copyBytes);
    const pieces: Uint8Array[] = [];
    let start = 0;
    let pos = 0;
    for (const { opcode, data, length } of frames) {
      pos += writeFrameHeader(batch, pos, opcode, true, length);
      if (length <= COPY_LIMIT) {
        if (typeof data === 'string') batch.write(data, pos, 'utf8');
        else batch.set(data, pos);
        pos += length;
      } else {
        pieces.push(batch.subarray(start, pos), typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        start = pos;
      }
    }
    if (pos > start) pieces.push(batch.subarray(start, pos));

    // Node emits 'drain' only after a write() that returned false, which never
    // happens while its buffer stays under writableHighWaterMark (16 KiB): with
    // a smaller sendHighWaterMark, send() would wait forever. So when this
    // flush leaves us above the mark, the last write's callback re-checks.
    const above = socket.writableLength + outBytes > this.limits.sendHighWaterMark;
    const afterWrite = above ? () => Connection.#afterWrite(this) : undefined;
    if (pieces.length === 1) socket.write(pieces[0]!, afterWrite);
    else {
      socket.cork();
      const last = pieces.length - 1;
      for (let i = 0; i < last; i++) socket.write(pieces[i]!);
      socket.write(pieces[last]!, afterWrite);
      socket.uncork();
    }
    if (this.#broken()) return;
    if (this.needsDrain) this.#pauseForBacklog();
    else {
      // Back under the mark: read on too. Without compression the last write's
      // callback would see to it (#afterWrite); with it, bytes waiting to be
      // compressed count as unsent but are no write, so this flush must.
      this.#resumeAfterBacklog();
      this.handleDrain();
    }
  }
}
