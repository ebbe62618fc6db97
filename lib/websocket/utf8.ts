/**
 * UTF-8 for text messages (RFC 6455 §5.6, §8.1): a text message whose bytes
 * are not valid UTF-8 fails the connection with 1007, and it fails as soon as
 * the first invalid byte arrives — not when the message is complete — so each
 * slice of payload is fed here as it is read.
 *
 * TextDecoder with `fatal` and `stream` does exactly that: `decode(bytes,
 * { stream: true })` throws at the earliest byte that cannot start or continue
 * a character, and the final `decode()` throws when the message ends inside a
 * character.
 */
import { CloseCode } from './close.js';
import { ProtocolError } from './errors.js';

export class Utf8Stream {
  // ignoreBOM: a leading U+FEFF is message content, not a byte-order mark.
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  /** Decodes the next slice of a message; throws ProtocolError 1007 on invalid bytes. */
  write(bytes: Uint8Array): string {
    try {
      return this.#decoder.decode(bytes, { stream: true });
    } catch {
      throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'text message is not valid UTF-8');
    }
  }

  /** Ends the message; throws ProtocolError 1007 if it stopped inside a character. Resets the stream. */
  end(): string {
    try {
      return this.#decoder.decode();
    } catch {
      throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'text message ends inside a UTF-8 sequence');
    }
  }
}
