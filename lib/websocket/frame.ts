/**
 * The frame codec (RFC 6455 §5.2): pure functions over bytes, no I/O.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 */
import { CloseCode } from './close.js';
import { ProtocolError } from './errors.js';
import { applyMask } from './mask.js';

/** Opcodes (§5.2, §11.8). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

export const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x0: 'CONT',
  0x1: 'TEXT',
  0x2: 'BINARY',
  0x8: 'CLOSE',
  0x9: 'PING',
  0xa: 'PONG',
};

/** Control frames have the high bit of the opcode set (§5.5). */
export function isControl(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** RSV1 in the `rsv` field: "Per-Message Compressed" once permessage-deflate is agreed (RFC 7692 §6). */
export const RSV1 = 0b100;

/** RSV1 in a frame's first byte; OR it into an opcode given to writeFrameHeader to set it. */
export const RSV1_BIT = 0x40;

/** Control frames carry at most 125 bytes (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Largest length a frame header can carry without the top bit of the 64-bit form (§5.2). */
const MAX_SAFE_LENGTH = Number.MAX_SAFE_INTEGER;

/** A decoded frame header. Parsing writes into one so the hot path allocates nothing. */
export interface FrameHeader {
  fin: boolean;
  /** RSV1..RSV3 as the three bits 0b100, 0b010, 0b001. */
  rsv: number;
  opcode: number;
  masked: boolean;
  payloadLength: number;
  /** Valid when `masked`; four bytes. */
  maskKey: Uint8Array;
}

export function emptyHeader(): FrameHeader {
  return { fin: false, rsv: 0, opcode: 0, masked: false, payloadLength: 0, maskKey: new Uint8Array(4) };
}

/**
 * Parses the frame header that starts at `buf[offset]` into `out`.
 * Returns the header's length in bytes, or 0 when `buf` does not yet hold the
 * whole header. Throws ProtocolError (1002) for a header no endpoint may
 * accept: reserved bits set beyond `allowedRsv` (§5.2; 0b100 once
 * permessage-deflate is agreed), RSV1 on a control frame (RFC 7692 §6), an unknown opcode (§5.2), a
 * fragmented or oversized control frame (§5.5), or a 64-bit length with its
 * most significant bit set (§5.2).
 */
export function parseFrameHeader(buf: Uint8Array, offset: number, out: FrameHeader, allowedRsv = 0): number {
  const available = buf.length - offset;
  if (available < 2) return 0;
  const b0 = buf[offset]!;
  const b1 = buf[offset + 1]!;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;
  const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  if (available < size) return 0;

  const fin = (b0 & 0x80) !== 0;
  const rsv = (b0 >>> 4) & 0x7;
  const opcode = b0 & 0x0f;
  // §5.2: "MUST be 0 unless an extension is negotiated": permessage-deflate
  // (RFC 7692 §6) gives RSV1 a meaning, only on data frames.
  if (rsv !== 0) {
    if ((rsv & ~allowedRsv) !== 0) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'reserved bits set without an extension');
    if ((opcode & 0x8) !== 0) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'RSV1 set on a control frame'); // RFC 7692 §6
  }
  if (OPCODE_NAMES[opcode] === undefined) {
    throw new ProtocolError(CloseCode.PROTOCOL_ERROR, `reserved opcode 0x${opcode.toString(16)}`);
  }
  if (isControl(opcode)) {
    if (!fin) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'fragmented control frame'); // §5.5
    if (len7 > MAX_CONTROL_PAYLOAD) {
      throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'control frame payload over 125 bytes'); // §5.5
    }
  }

  let pos = offset + 2;
  let payloadLength = len7;
  if (len7 === 126) {
    payloadLength = (buf[pos]! << 8) | buf[pos + 1]!;
    pos += 2;
  } else if (len7 === 127) {
    const high = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
    const low = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
    // §5.2: "the most significant bit MUST be 0".
    if (high & 0x80000000) throw new ProtocolError(CloseCode.PROTOCOL_ERROR, '64-bit payload length with top bit set');
    payloadLength = high * 0x1_0000_0000 + low;
    // Beyond 2^53 a JS number cannot count the bytes; no limit allows this much anyway.
    if (payloadLength > MAX_SAFE_LENGTH) throw new ProtocolError(CloseCode.MESSAGE_TOO_BIG, 'payload length too large');
    pos += 8;
  }
  if (masked) {
    const key = out.maskKey;
    key[0] = buf[pos]!;
    key[1] = buf[pos + 1]!;
    key[2] = buf[pos + 2]!;
    key[3] = buf[pos + 3]!;
  }
  out.fin = fin;
  out.rsv = rsv;
  out.opcode = opcode;
  out.masked = masked;
  out.payloadLength = payloadLength;
  return size;
}

/** Bytes a header takes for a payload of `length` (§5.2: the minimal length form). */
export function headerSize(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header into `target` at `offset` and returns its length.
 * Uses the minimal length encoding (§5.2). `opcode` may carry RSV1_BIT (a
 * compressed message's frame, RFC 7692 §6). With `maskKey`, sets MASK and
 * writes the key (client-to-server frames, §5.3).
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  fin: boolean,
  length: number,
  maskKey?: Uint8Array,
): number {
  let pos = offset;
  target[pos++] = (fin ? 0x80 : 0) | opcode;
  const maskBit = maskKey ? 0x80 : 0;
  if (length < 126) {
    target[pos++] = maskBit | length;
  } else if (length < 0x10000) {
    target[pos++] = maskBit | 126;
    target[pos++] = length >>> 8;
    target[pos++] = length & 0xff;
  } else {
    target[pos++] = maskBit | 127;
    const high = Math.floor(length / 0x1_0000_0000);
    const low = length >>> 0;
    target[pos++] = high >>> 24;
    target[pos++] = (high >>> 16) & 0xff;
    target[pos++] = (high >>> 8) & 0xff;
    target[pos++] = high & 0xff;
    target[pos++] = low >>> 24;
    target[pos++] = (low >>> 16) & 0xff;
    target[pos++] = (low >>> 8) & 0xff;
    target[pos++] = low & 0xff;
  }
  if (maskKey) {
    target[pos++] = maskKey[0]!;
    target[pos++] = maskKey[1]!;
    target[pos++] = maskKey[2]!;
    target[pos++] = maskKey[3]!;
  }
  return pos - offset;
}

export interface EncodeOptions {
  fin?: boolean;
  /** Mask the payload with this key (what a client must do, §5.3). */
  maskKey?: Uint8Array;
  /** Raw RSV bits (0–7) — only for tests that need to send invalid frames. */
  rsv?: number;
}

/**
 * Encodes one whole frame into a new buffer. The payload is copied (and
 * masked in the copy when a key is given). Convenient for tests and small
 * frames; the connection's send path writes headers in place instead.
 */
export function encodeFrame(opcode: number, payload: Uint8Array | string, options: EncodeOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const { fin = true, maskKey, rsv = 0 } = options;
  const size = headerSize(body.length, maskKey !== undefined);
  const frame = Buffer.allocUnsafe(size + body.length);
  writeFrameHeader(frame, 0, opcode, fin, body.length, maskKey);
  frame[0] = frame[0]! | ((rsv & 0x7) << 4);
  frame.set(body, size);
  if (maskKey) applyMask(frame.subarray(size), maskKey);
  return frame;
}
