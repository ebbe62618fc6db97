/**
 * UTF-8 for text messages (RFC 6455 §5.6, §8.1): a text message whose bytes
 * are not valid UTF-8 fails the connection with 1007, and it fails as soon as
 * the first invalid byte arrives — not when the message is complete — so each
 * slice of payload is fed here as it is read.
 *
 * Only validation: the receiver keeps the bytes and decodes the whole message
 * once, so a message cut into a million fragments costs no string per
 * fragment. The bulk of each slice goes to node:buffer's `isUtf8` (SIMD);
 * only a character cut between two slices is followed here, byte by byte,
 * with the ranges of the Unicode Standard's Table 3-7 (well-formed UTF-8).
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { CloseCode } from './close.js';
import { ProtocolError } from './errors.js';

function invalid(): ProtocolError {
  return new ProtocolError(CloseCode.INVALID_PAYLOAD, 'text message is not valid UTF-8');
}

/** How many bytes a character with this lead byte has; 0 if it can lead none (80–C1, F5–FF). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xc2) return 0;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf5) return 4;
  return 0;
}

export class Utf8Validator {
  /** The lead byte of a character the last slice cut off, or 0 when none was. */
  #lead = 0;
  /** Bytes that character still needs (0 when none was cut off). */
  #missing = 0;
  /** Whether its next byte is its second (which has a narrower range after E0, ED, F0, F4). */
  #second = false;

  /** Checks the next slice of a message; throws ProtocolError 1007 if it cannot be UTF-8. */
  write(bytes: Uint8Array): void {
    const n = bytes.length;
    let start = 0;
    // The rest of a character the last slice cut off.
    while (this.#missing > 0 && start < n) this.#continue(bytes[start++]!);
    if (start === n) return;
    // A character this slice cuts off at its end: its lead is among the last three bytes.
    let end = n;
    for (let i = n - 1; i >= start && i >= n - 3; i--) {
      const b = bytes[i]!;
      if (b < 0x80) break; // ASCII: no character is cut off
      if (b >= 0xc0) {
        if (i + sequenceLength(b) > n) end = i;
        break;
      }
    }
    // Whole characters (or invalid bytes) in between.
    if (end > start && !isUtf8(start === 0 && end === n ? bytes : bytes.subarray(start, end))) throw invalid();
    if (end === n) return;
    // The cut-off character's first bytes must be a valid start of one.
    this.#lead = bytes[end]!;
    this.#missing = sequenceLength(this.#lead) - 1;
    this.#second = true;
    for (let i = end + 1; i < n; i++) this.#continue(bytes[i]!);
  }

  /** Ends the message; throws ProtocolError 1007 if it stopped inside a character. Resets for the next one. */
  end(): void {
    if (this.#missing === 0) return;
    this.#missing = 0;
    throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'text message ends inside a UTF-8 sequence');
  }

  /** One more byte of the character begun by #lead. */
  #continue(b: number): void {
    let low = 0x80;
    let high = 0xbf;
    if (this.#second) {
      this.#second = false;
      const lead = this.#lead;
      if (lead === 0xe0) low = 0xa0; // overlong
      else if (lead === 0xed) high = 0x9f; // UTF-16 surrogates
      else if (lead === 0xf0) low = 0x90; // overlong
      else if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    }
    if (b < low || b > high) {
      this.#missing = 0;
      throw invalid();
    }
    this.#missing--;
  }
}

/**
 * A text message's bytes, already checked as UTF-8, as a string. Text that
 * is all ASCII (most JSON) is decoded as ASCII: on Node 20 that is a copy,
 * where V8's UTF-8 decoder takes several ms per MiB even for ASCII
 * (docs/deflate-benchmarks.md); isAscii (SIMD) costs ~15 µs per MiB.
 */
export function decodeText(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}
