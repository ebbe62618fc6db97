/**
 * Masking (RFC 6455 §5.3): byte i of the payload is XORed with byte (i mod 4)
 * of the 4-byte masking key. The same operation masks and unmasks.
 *
 * This runs over every received byte, so it works a 32-bit word at a time:
 * the bytes before the first 4-byte-aligned address are done one by one, the
 * aligned middle through a Uint32Array view, and the tail one by one again.
 */
import { endianness } from 'node:os';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Below this size the view set-up costs more than the byte loop saves. */
const WORD_THRESHOLD = 32;

/**
 * XORs `data` in place with `key`, starting at key byte `phase` (the number of
 * payload bytes of this frame already unmasked, mod 4) so a payload that
 * arrives in several slices can be unmasked slice by slice.
 */
export function applyMask(data: Uint8Array, key: Uint8Array, phase = 0): void {
  const length = data.length;
  let i = 0;
  if (length >= WORD_THRESHOLD) {
    // Align to the view's 4-byte boundary in the underlying ArrayBuffer.
    const head = (4 - (data.byteOffset & 3)) & 3;
    for (; i < head; i++) data[i]! ^= key[(i + phase) & 3]!;
    const words = (length - i) >>> 2;
    const k0 = key[(i + phase) & 3]!;
    const k1 = key[(i + phase + 1) & 3]!;
    const k2 = key[(i + phase + 2) & 3]!;
    const k3 = key[(i + phase + 3) & 3]!;
    const word = LITTLE_ENDIAN
      ? (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0
      : ((k0 << 24) | (k1 << 16) | (k2 << 8) | k3) >>> 0;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= word;
    i += words << 2;
  }
  for (; i < length; i++) data[i]! ^= key[(i + phase) & 3]!;
}
