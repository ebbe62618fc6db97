/**
 * The messages every interop peer exchanges with the echo server.
 *
 * Each peer (ws here, peer.py, browser-peer.js) builds the same content from
 * the same short recipe rather than receiving it, and reports the SHA-256 of
 * what came back; the tests compare that hash with the one of the content
 * built here. So a peer whose recipe drifted, or an echo that changed one
 * byte, fails the test.
 */
import { createHash } from 'node:crypto';

export type Kind = 'text' | 'binary';

export interface MessageCase {
  name: string;
  kind: Kind;
  /** Bytes on the wire (UTF-8 bytes for text). */
  size: number;
}

/** A message a peer sends in fragments, cut at these byte offsets of its content. */
export interface FragmentedCase extends MessageCase {
  cuts: number[];
}

/** Characters of 1, 2, 3 and 4 UTF-8 bytes (the emoji are surrogate pairs in JS), and a NUL. */
export const TEXT_PATTERN = 'Grüße, 世界! € 😀🎉 ñ\u0000 end ';

/** The largest message `steam-key echo` takes: 16 MiB. */
export const MAX_ECHO_MESSAGE = 16 * 1024 * 1024;

/**
 * `bytes` bytes of UTF-8 text: TEXT_PATTERN repeated, then as many of its
 * characters as still fit whole, then '.' up to the exact size.
 */
export function makeText(bytes: number): string {
  const patternBytes = Buffer.byteLength(TEXT_PATTERN);
  const whole = Math.floor(bytes / patternBytes);
  let text = TEXT_PATTERN.repeat(whole);
  let used = whole * patternBytes;
  for (const ch of TEXT_PATTERN) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    text += ch;
    used += n;
  }
  return text + '.'.repeat(bytes - used);
}

/** Length of the repeating block of binary content: a prime, so it never lines up with the 4-byte mask. */
export const BINARY_BLOCK = 65521;

/** `bytes` bytes: a block from a 31-bit LCG (seed 1, byte = bits 16–23), repeated. */
export function makeBinary(bytes: number): Buffer {
  const block = Buffer.allocUnsafe(Math.min(bytes, BINARY_BLOCK));
  let x = 1;
  for (let i = 0; i < block.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    block[i] = (x >>> 16) & 0xff;
  }
  if (bytes <= BINARY_BLOCK) return block;
  const out = Buffer.allocUnsafe(bytes);
  for (let pos = 0; pos < bytes; pos += BINARY_BLOCK) block.copy(out, pos, 0, Math.min(BINARY_BLOCK, bytes - pos));
  return out;
}

export function content(c: MessageCase): string | Buffer {
  return c.kind === 'text' ? makeText(c.size) : makeBinary(c.size);
}

export function contentBytes(c: MessageCase): Buffer {
  const data = content(c);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Boundary sizes of the three length encodings (§5.2), empty, and the echo server's maximum. */
const SIZES = [0, 125, 126, 65535, 65536, MAX_ECHO_MESSAGE];

export const MESSAGE_CASES: readonly MessageCase[] = [
  { name: 'text with multibyte characters', kind: 'text', size: Buffer.byteLength(TEXT_PATTERN) },
  { name: 'short binary', kind: 'binary', size: 100 },
  ...SIZES.flatMap((size): MessageCase[] => [
    { name: `text of ${size} bytes`, kind: 'text', size },
    { name: `binary of ${size} bytes`, kind: 'binary', size },
  ]),
];

/**
 * Fragmented messages (§5.4). The text is cut inside characters (byte 3 is
 * inside 'ü', byte 10 inside '世') and has empty fragments (first, and a
 * repeated cut); a peer that can only cut text between characters moves each
 * cut back to the start of its character.
 */
export const FRAGMENTED_CASES: readonly FragmentedCase[] = [
  { name: 'fragmented text', kind: 'text', size: 1000, cuts: [0, 1, 1, 3, 10, 500, 999] },
  { name: 'fragmented binary', kind: 'binary', size: 65536, cuts: [1, 125, 126, 65535] },
];

/** Splits `bytes` at the case's cuts: cuts.length + 1 parts. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(bytes.subarray(start, cut));
    start = cut;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

/** Ping payloads: empty, some UTF-8 text, and the 125-byte maximum of a control frame (§5.5). */
export const PING_PAYLOADS: readonly Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('ping ✓', 'utf8'),
  makeBinary(125),
];

/** What a peer written in another language reports for each message it got back. */
export interface EchoReport {
  name: string;
  kind: Kind;
  length: number;
  sha256: string;
  /** The peer's own byte-for-byte comparison with what it sent. */
  equal: boolean;
}
