/**
 * The client side of the wire, for the load generator: the upgrade request,
 * pre-masked frames (built once, before any timing) and a frame counter that
 * reads only the headers of what the server sends back.
 *
 * Written here from RFC 6455 without lib/websocket/ on purpose: if an
 * optimisation broke masking in the library, a bench that masked with the
 * same code could still round-trip and would not notice.
 */

/** The RFC 6455 §1.3 sample nonce and its Sec-WebSocket-Accept. Any valid key will do for a benchmark. */
export const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;

export function upgradeRequest(port: number, path: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${port}\r\n` +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${KEY}\r\n` +
      'Sec-WebSocket-Version: 13\r\n' +
      '\r\n',
    'latin1',
  );
}

/** A fixed masking key: the bench needs reproducible bytes, not unpredictability (§10.3 protects browsers). */
const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** One masked client frame (§5.2, §5.3), FIN set. */
export function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const header = 2 + lengthBytes + 4;
  const frame = Buffer.allocUnsafe(header + n);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (n < 126 ? n : n < 0x10000 ? 126 : 127);
  if (lengthBytes === 2) frame.writeUInt16BE(n, 2);
  if (lengthBytes === 8) frame.writeBigUInt64BE(BigInt(n), 2);
  MASK_KEY.copy(frame, 2 + lengthBytes);
  for (let i = 0; i < n; i++) frame[header + i] = payload[i]! ^ MASK_KEY[i & 3]!;
  return frame;
}

/** A payload whose bytes differ from position to position, so a mis-ordered echo is caught. */
export function patternPayload(size: number): Buffer {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
  return payload;
}

/** A Close frame with status 1000 (§5.5.1), masked. */
export function closeFrame(): Buffer {
  return maskedFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]));
}

/**
 * Counts the frames a server sends, reading only their headers and skipping
 * payloads, so that counting costs the load generator almost nothing per byte.
 * Accepts masked frames too, because the raw TCP echo sends ours back as they are.
 */
export class FrameCounter {
  /** Complete data messages (final data frames) received. */
  messages = 0;
  /** Payload bytes received. */
  bytes = 0;
  /** Close frames received. */
  closes = 0;

  #skip = 0;
  #fin = false;
  #opcode = 0;
  #carry: Buffer | null = null;

  /** Feeds one chunk; returns how many messages it completed. */
  push(chunk: Buffer): number {
    let buf = chunk;
    if (this.#carry !== null) {
      // A header was split between two reads: rare, so a copy is fine.
      buf = Buffer.concat([this.#carry, chunk]);
      this.#carry = null;
    }
    const before = this.messages;
    let pos = 0;
    while (pos < buf.length) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, buf.length - pos);
        pos += take;
        this.#skip -= take;
        this.bytes += take;
        if (this.#skip === 0) this.#endFrame();
        continue;
      }
      const available = buf.length - pos;
      if (available < 2) {
        this.#carry = Buffer.from(buf.subarray(pos));
        break;
      }
      const b1 = buf[pos + 1]!;
      const len7 = b1 & 0x7f;
      const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (available < size) {
        this.#carry = Buffer.from(buf.subarray(pos));
        break;
      }
      let length = len7;
      if (len7 === 126) length = buf.readUInt16BE(pos + 2);
      else if (len7 === 127) length = buf.readUInt32BE(pos + 2) * 0x1_0000_0000 + buf.readUInt32BE(pos + 6);
      this.#fin = (buf[pos]! & 0x80) !== 0;
      this.#opcode = buf[pos]! & 0x0f;
      pos += size;
      this.#skip = length;
      if (length === 0) this.#endFrame();
    }
    return this.messages - before;
  }

  #endFrame(): void {
    if (this.#opcode === OP_CLOSE) this.closes++;
    else if (this.#fin && this.#opcode < OP_CLOSE) this.messages++;
  }
}

/** One unmasked server frame (§5.2), FIN set: what a WebSocket server echoes back. */
export function serverFrame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + n);
  frame[0] = 0x80 | opcode;
  frame[1] = n < 126 ? n : n < 0x10000 ? 126 : 127;
  if (lengthBytes === 2) frame.writeUInt16BE(n, 2);
  if (lengthBytes === 8) frame.writeBigUInt64BE(BigInt(n), 2);
  frame.set(payload, 2 + lengthBytes);
  return frame;
}
