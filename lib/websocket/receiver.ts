/**
 * The receiving half of a connection, without I/O: bytes in, events out
 * (in the sans-I/O style of python-websockets). It parses frames incrementally
 * from TCP chunks of any size — a frame split over many chunks, or many frames
 * packed in one — unmasks payloads, reassembles fragmented messages (§5.4)
 * in memory proportional to their size however they are cut, validates text
 * as UTF-8 while it arrives (§8.1), and enforces the message size limit.
 * Every rule it breaks throws a ProtocolError carrying the close code; the
 * connection turns that into a Close frame.
 */
import { isUtf8 } from 'node:buffer';
import { CloseCode, parseClosePayload } from './close.js';
import { ProtocolError } from './errors.js';
import { emptyHeader, isControl, Opcode, parseFrameHeader, RSV1 } from './frame.js';
import { applyMask } from './mask.js';
import { MessageBytes } from './message-bytes.js';
import { callTrace, PREVIEW_BYTES, type TraceFn } from './trace.js';
import { Utf8Validator } from './utf8.js';

export interface ReceiverSink {
  /** A whole message; a text message's bytes are valid UTF-8 (checked here), not yet decoded. */
  onMessage(data: Buffer, text: boolean): void;
  /**
   * A compressed message (RFC 7692 §6) arrived whole, still compressed:
   * parsing waits until resume() is called, so that what follows it is
   * handled after it (in order) and nothing more is buffered meanwhile.
   * Required with the `deflate` option (only then is RSV1 accepted).
   */
  onCompressedMessage?(opcode: number, payload: Buffer): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** A Close frame arrived; `code` is 1005 when it had no payload. Nothing is parsed after it. */
  onClose(code: number, reason: string): void;
}

export interface ReceiverOptions {
  /** A server requires masked frames, a client unmasked ones (§5.1). */
  expectMasked: boolean;
  /** Largest message, in bytes over all its fragments, before failing with 1009 (§7.4.1). */
  maxMessageSize: number;
  /** permessage-deflate was agreed: RSV1 marks a compressed message (RFC 7692 §6). */
  deflate?: boolean;
  trace?: TraceFn | undefined;
}

/** In #opcode, beside the message's opcode: the message is compressed (its first frame had RSV1). */
const COMPRESSED = 0x40;

/**
 * Deflate can make data a little larger (incompressible data goes into
 * stored blocks, 5 bytes of header each; zlib's deflateBound() allows about
 * 0.03% for its default settings, more for small memLevels): a compressed
 * message may take this much more than maxMessageSize on the wire, 0.4%
 * and 1 KiB. Its inflated size is held to maxMessageSize while it is inflated.
 */
function maxCompressedSize(maxMessageSize: number): number {
  return maxMessageSize + Math.ceil(maxMessageSize / 256) + 1024;
}

/** The longest header: 2 bytes, 8 of extended length, 4 of mask key (§5.2). */
const MAX_HEADER = 14;
const EMPTY = Buffer.alloc(0);

export class Receiver {
  readonly #sink: ReceiverSink;
  readonly #expectMasked: boolean;
  readonly #maxMessageSize: number;
  /** RSV bits a frame may have: RSV1 once permessage-deflate is agreed, else none. */
  readonly #allowedRsv: number;
  readonly #trace: TraceFn | undefined;

  // Input: the current chunk and how far it has been read.
  #buf: Buffer = EMPTY;
  #pos = 0;

  // The frame being read.
  readonly #header = emptyHeader();
  #inPayload = false;
  #remaining = 0;
  #read = 0;
  #control: Buffer[] = [];
  #preview: Buffer | null = null;

  // The data message being assembled (§5.4); #opcode is 0 between messages.
  #opcode = 0;
  #size = 0;
  /**
   * The message's payload when it came as one slice, as nearly every message
   * does: kept as it is, with no copy and no MessageBytes.
   */
  #whole: Buffer | null = null;
  /** The payload of a message that came in several slices (fragments or reads); reused. */
  #bytes: MessageBytes | null = null;
  /** Checks such a message's text slice by slice, as it arrives; reused. */
  #utf8: Utf8Validator | null = null;

  #stopped = false;
  /** A compressed message was handed to the sink: parse nothing more until resume(). */
  #waiting = false;
  /** Chunks pushed while waiting, in order. */
  #pending: Buffer[] | null = null;

  constructor(sink: ReceiverSink, options: ReceiverOptions) {
    this.#sink = sink;
    this.#expectMasked = options.expectMasked;
    this.#maxMessageSize = options.maxMessageSize;
    this.#allowedRsv = options.deflate === true ? RSV1 : 0;
    this.#trace = options.trace;
  }

  /** True once a Close frame was received or stop() was called: further input is ignored. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Ignore all further input (after a Close frame, or once the connection failed). */
  stop(): void {
    this.#stopped = true;
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#whole = null;
    this.#bytes = null;
    this.#utf8 = null;
    this.#control = [];
    this.#pending = null;
  }

  /** Payload bytes held of the data message not yet complete (its compressed bytes, if compressed). */
  get unfinished(): number {
    return this.#stopped ? 0 : this.#size;
  }

  /** Whether a compressed message is with the sink and parsing waits for resume(). */
  get waiting(): boolean {
    return this.#waiting;
  }

  /**
   * Parses on after a compressed message: the rest of the chunk it came in,
   * then what was pushed meanwhile, until done or the next compressed message.
   * Throws ProtocolError, like push().
   */
  resume(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (this.#stopped) return;
    this.#parse();
    if (this.#pos >= this.#buf.length) {
      this.#buf = EMPTY;
      this.#pos = 0;
    }
    const pending = this.#pending;
    this.#pending = null;
    if (pending === null) return;
    for (let i = 0; i < pending.length; i++) {
      if (this.#waiting) {
        // Another compressed message: keep the rest for the next resume().
        this.#pending = pending.slice(i);
        return;
      }
      this.push(pending[i]!);
    }
  }

  /** Feeds the next chunk read from the connection. Throws ProtocolError. */
  push(chunk: Buffer): void {
    if (this.#stopped || chunk.length === 0) return;
    if (this.#waiting) {
      (this.#pending ??= []).push(chunk);
      return;
    }
    if (this.#pos < this.#buf.length) {
      // Only part of a header can be left over (payload is consumed as it
      // arrives): join it with just enough of the new chunk to complete it.
      const left = this.#buf.subarray(this.#pos);
      const joined = Buffer.concat([left, chunk.subarray(0, MAX_HEADER - left.length)]);
      const size = parseFrameHeader(joined, 0, this.#header, this.#allowedRsv);
      if (size === 0) {
        this.#buf = joined; // still incomplete, so `joined` holds all of `chunk`
        this.#pos = 0;
        return;
      }
      this.#buf = chunk;
      this.#pos = size - left.length;
      this.#startFrame();
    } else {
      this.#buf = chunk;
      this.#pos = 0;
    }
    this.#parse();
    if (this.#pos >= this.#buf.length) {
      this.#buf = EMPTY; // do not keep a consumed chunk alive
      this.#pos = 0;
    }
  }

  #parse(): void {
    while (!this.#stopped && !this.#waiting) {
      const buf = this.#buf;
      if (!this.#inPayload) {
        const size = parseFrameHeader(buf, this.#pos, this.#header, this.#allowedRsv);
        if (size === 0) return;
        this.#pos += size;
        this.#startFrame();
        continue;
      }
      const available = buf.length - this.#pos;
      if (available === 0) return;
      const take = available < this.#remaining ? available : this.#remaining;
      const slice = buf.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      this.#remaining -= take;
      this.#payload(slice);
      if (this.#remaining === 0) this.#endFrame();
    }
  }

  /** Rules that depend on the frame's place in the stream (§5.1, §5.4) and on the size limit. */
  #startFrame(): void {
    const h = this.#header;
    if (h.masked !== this.#expectMasked) {
      throw new ProtocolError(
        CloseCode.PROTOCOL_ERROR,
        this.#expectMasked ? 'client frame is not masked' : 'server frame is masked',
      ); // §5.1
    }
    if (!isControl(h.opcode)) {
      if (h.opcode === Opcode.CONTINUATION) {
        if (this.#opcode === 0) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'continuation frame without a message to continue');
      } else {
        if (this.#opcode !== 0) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'new data frame inside a fragmented message');
        this.#opcode = h.opcode;
      }
      if (h.rsv !== 0) {
        // RFC 7692 §6: only a message's first frame may (and must) say it is compressed.
        if (h.opcode === Opcode.CONTINUATION) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'RSV1 set on a continuation frame');
        this.#opcode |= COMPRESSED;
      }
      // Checked against the announced length, before any of it is buffered.
      if (this.#size + h.payloadLength > ((this.#opcode & COMPRESSED) === 0 ? this.#maxMessageSize : maxCompressedSize(this.#maxMessageSize))) {
        throw new ProtocolError(CloseCode.MESSAGE_TOO_BIG, `message over ${this.#maxMessageSize} bytes`);
      }
    }
    this.#inPayload = true;
    this.#remaining = h.payloadLength;
    this.#read = 0;
    if (this.#trace) this.#preview = EMPTY;
    if (h.payloadLength === 0) this.#endFrame();
  }

  #payload(slice: Buffer): void {
    const h = this.#header;
    if (h.masked) applyMask(slice, h.maskKey, this.#read & 3);
    if (this.#preview !== null && this.#read < PREVIEW_BYTES) {
      this.#preview = Buffer.concat([this.#preview, slice.subarray(0, isControl(h.opcode) ? slice.length : PREVIEW_BYTES - this.#read)]);
    }
    this.#read += slice.length;

    if (isControl(h.opcode)) {
      this.#control.push(slice);
      return;
    }
    this.#size += slice.length;
    // The whole message in one slice, as nearly every message is: checked in
    // one go and kept as it is. Otherwise the bytes are kept by MessageBytes
    // and text is checked slice by slice, to fail at the first invalid byte (§8.1).
    // (Written out for each type: as methods shared by both, this cost ~7% more per message.)
    const whole = this.#size === slice.length && h.fin && slice.length === h.payloadLength;
    if (this.#opcode === Opcode.TEXT) {
      if (whole) {
        if (!isUtf8(slice)) throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'text message is not valid UTF-8');
        this.#whole = slice;
      } else {
        (this.#utf8 ??= new Utf8Validator()).write(slice);
        (this.#bytes ??= new MessageBytes()).push(slice);
      }
    } else if (whole) this.#whole = slice;
    else (this.#bytes ??= new MessageBytes()).push(slice);
  }

  #endFrame(): void {
    const h = this.#header;
    this.#inPayload = false;
    if (this.#preview !== null) {
      const compressed = h.opcode === Opcode.CONTINUATION && (this.#opcode & COMPRESSED) !== 0;
      callTrace(this.#trace!, { direction: 'in', opcode: h.opcode, fin: h.fin, rsv: h.rsv, masked: h.masked, length: h.payloadLength, ...(compressed ? { compressed } : {}), preview: this.#preview });
      this.#preview = null;
    }
    if (isControl(h.opcode)) {
      const parts = this.#control;
      const payload = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.#control = [];
      if (h.opcode === Opcode.PING) this.#sink.onPing(payload);
      else if (h.opcode === Opcode.PONG) this.#sink.onPong(payload);
      else {
        const { code, reason } = parseClosePayload(payload);
        this.stop(); // §5.5.1: nothing may follow a Close frame
        this.#sink.onClose(code, reason);
      }
      return;
    }
    if (!h.fin) return;
    const whole = this.#whole;
    if ((this.#opcode & COMPRESSED) !== 0) {
      const opcode = this.#opcode & 0xf;
      const payload = whole ?? this.#bytes?.take() ?? EMPTY;
      this.#whole = null;
      this.#opcode = 0;
      this.#size = 0;
      this.#waiting = true;
      this.#sink.onCompressedMessage!(opcode, payload);
      return;
    }
    const text = this.#opcode === Opcode.TEXT;
    // A message may not end inside a character.
    if (text && whole === null) this.#utf8?.end();
    const message = whole ?? this.#bytes?.take() ?? Buffer.alloc(0);
    this.#whole = null;
    this.#opcode = 0;
    this.#size = 0;
    this.#sink.onMessage(message, text);
  }
}
