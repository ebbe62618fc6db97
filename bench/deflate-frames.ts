/**
 * The compressed side of the load generator's wire (RFC 7692): JSON-like
 * text, compressed before any timing, in masked frames with RSV1, and the
 * check that a reply inflates to what was sent. Each message is compressed
 * on its own, with a fresh DEFLATE context: valid whatever the server
 * agreed (a sender may always choose not to refer to earlier messages,
 * §7.2.1), so sending costs the load generator no zlib work.
 *
 * Written with node:zlib and frames.ts, not lib/websocket/ (see frames.ts).
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { maskedFrame } from './frames.js';

/** RSV1 (RFC 7692 §6) on a text frame: a compressed text message. */
export const COMPRESSED_TEXT = 0x40 | 0x1;
/** §7.2.1: the tail a sync flush ends with, removed by the sender, appended by the receiver. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** What the client offers: Chromium's offer (also the ws client's), or the same asking for no context takeover either way (§7.1.1). */
export const OFFERS = {
  takeover: 'permessage-deflate; client_max_window_bits',
  'no-takeover': 'permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover',
} as const;
export type Offer = keyof typeof OFFERS;

export type MessageKind = 'json' | 'text1m';

/** A 31-bit LCG: the same messages every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff);
}

const LETTERS = 'ABCDEFGHJKLMNPQRSTVWXYZ23456789';

/**
 * `size` bytes of ASCII JSON like the app's own replies: a list of keys, each
 * with a random-looking code, a status and an app id (so it compresses about
 * as well as real traffic, ~3×, not like a repeated string), padded to size.
 */
export function jsonText(seed: number, size: number): string {
  const next = lcg(seed);
  const code = (): string => Array.from({ length: 3 }, () => Array.from({ length: 5 }, () => LETTERS[next() % LETTERS.length]).join('')).join('-');
  const statuses = ['redeemed', 'already-owned', 'invalid', 'rate-limited', 'duplicate'];
  let text = `{"type":"keys-added","batch":${seed},"keys":[`;
  const end = '],"note":"';
  for (let i = 0; ; i++) {
    const entry = `${i === 0 ? '' : ','}{"key":"${code()}","status":"${statuses[next() % statuses.length]}","app":${100000 + (next() % 900000)}}`;
    if (text.length + entry.length + end.length + 2 > size) break;
    text += entry;
  }
  text += end;
  return text + 'x'.repeat(size - text.length - 2) + '"}';
}

/** Distinct 1 KiB messages sent in turn: the 32 KiB window holds ~30 of them, so replies do not shrink to back-references to the same message. */
const JSON_POOL = 64;

/** Messages to send, as one buffer of frames back to back (frame i is bytes[offsets[i], offsets[i+1])), with what each must echo as. */
export interface Ring {
  bytes: Buffer;
  offsets: number[];
  originals: Buffer[];
  /** Bytes of the first message, and of its compressed payload. */
  size: number;
  compressed: number;
}

/** `frames` back to back. */
export function ringOf(frames: Buffer[], originals: Buffer[], compressed: number): Ring {
  const offsets = [0];
  for (const f of frames) offsets.push(offsets[offsets.length - 1]! + f.length);
  return { bytes: Buffer.concat(frames), offsets, originals, size: originals[0]!.length, compressed };
}

const rings = new Map<MessageKind, Ring>();

/** The compressed messages of a workload (built once per process, before timing). */
export function compressedRing(kind: MessageKind): Ring {
  let ring = rings.get(kind);
  if (ring) return ring;
  const texts = kind === 'json' ? Array.from({ length: JSON_POOL }, (_, i) => jsonText(i + 1, 1024)) : [jsonText(1, 1024 * 1024)];
  const originals = texts.map((text) => Buffer.from(text, 'utf8'));
  const payloads = originals.map((original) => {
    const deflated = deflateRawSync(original, { finishFlush: constants.Z_SYNC_FLUSH });
    if (!deflated.subarray(-4).equals(TAIL)) throw new Error('a sync flush ends with 00 00 ff ff');
    return deflated.subarray(0, -4);
  });
  ring = ringOf(payloads.map((p) => maskedFrame(COMPRESSED_TEXT, p)), originals, payloads[0]!.length);
  rings.set(kind, ring);
  return ring;
}

/**
 * Why `reply` (whole server frames) is not one compressed text message that
 * inflates, tail appended (§7.2.2), to `original`. Only for a reply that
 * refers to no earlier message: a connection's first, or any without context
 * takeover. Null when it is.
 */
export function checkCompressedReply(reply: Buffer, original: Buffer): string | null {
  if (reply[0] !== (0x80 | COMPRESSED_TEXT)) return `the reply is not one compressed text frame (first byte 0x${reply[0]!.toString(16)})`;
  const len7 = reply[1]! & 0x7f;
  const header = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
  const length = len7 === 126 ? reply.readUInt16BE(2) : len7 === 127 ? Number(reply.readBigUInt64BE(2)) : len7;
  if (header + length !== reply.length) return 'the server sent more than one frame';
  try {
    // Z_SYNC_FLUSH: the stream does not end, it stops at the tail.
    const inflated = inflateRawSync(Buffer.concat([reply.subarray(header), TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
    return inflated.equals(original) ? null : 'the server echoed different bytes';
  } catch (error) {
    return `the reply does not inflate: ${String(error)}`;
  }
}
