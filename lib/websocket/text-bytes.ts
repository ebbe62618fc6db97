/**
 * A text message kept as its UTF-8 bytes, for handlers that pass text on
 * without reading it (an echo, a relay): the receiver has already checked
 * them (§8.1), and sending them back as text needs no encoding. Decoding a
 * 1 MiB message to a string and encoding it again costs about a tenth of a
 * compressed echo's CPU (docs/deflate-benchmarks.md).
 */
import { isUtf8 } from 'node:buffer';
import { decodeText } from './utf8.js';

export class TextBytes {
  private constructor(
    /** Valid UTF-8; do not modify it once sent. */
    readonly bytes: Buffer,
  ) {}

  /** Text from UTF-8 bytes; throws a TypeError if they are not valid UTF-8, as a text frame must be (§5.6). */
  static from(bytes: Uint8Array): TextBytes {
    if (!isUtf8(bytes)) throw new TypeError('text must be valid UTF-8 (RFC 6455 §5.6)');
    return new TextBytes(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /**
   * Text from bytes NOT checked here: for bytes already known to be valid
   * UTF-8 (the channel's, which the receiver checked as they arrived).
   */
  static unchecked(bytes: Buffer): TextBytes {
    return new TextBytes(bytes);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** The text as a string. */
  toString(): string {
    return decodeText(this.bytes);
  }
}
