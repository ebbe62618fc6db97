/**
 * Close codes and the Close frame's payload (RFC 6455 §5.5.1, §7.4).
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from './errors.js';

/** Status codes defined by RFC 6455 §7.4.1 (and 1012–1014 from the IANA registry). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Reserved: never on the wire. Reported when a Close frame had no payload. */
  NO_STATUS: 1005,
  /** Reserved: never on the wire. Reported when the TCP connection ended without a Close frame. */
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
} as const;

/** Longest reason that fits a control frame: 125 bytes minus the 2-byte code (§5.5). */
export const MAX_REASON_BYTES = 123;

/**
 * Whether `code` may appear in a Close frame on the wire, sent or received
 * (§7.4.1, §7.4.2): 1000–1003 and 1007–1014 are defined; 1004 is reserved;
 * 1005, 1006 and 1015 must never be sent; 3000–4999 belong to libraries and
 * applications; everything else is invalid.
 */
export function isValidWireCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

export interface CloseFrameBody {
  code: number;
  reason: string;
}

/**
 * Parses a received Close frame's payload (§5.5.1): empty means "no status"
 * (1005); a single byte cannot hold a code (1002); the code must be valid on
 * the wire (1002); the reason must be UTF-8 (§8.1, 1007).
 */
export function parseClosePayload(payload: Uint8Array): CloseFrameBody {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS, reason: '' };
  if (payload.length === 1) {
    throw new ProtocolError(CloseCode.PROTOCOL_ERROR, 'close frame payload of 1 byte');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidWireCode(code)) {
    throw new ProtocolError(CloseCode.PROTOCOL_ERROR, `invalid close code ${code}`);
  }
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes)) {
    throw new ProtocolError(CloseCode.INVALID_PAYLOAD, 'close reason is not valid UTF-8');
  }
  return { code, reason: Buffer.from(reasonBytes.buffer, reasonBytes.byteOffset, reasonBytes.length).toString('utf8') };
}

/**
 * Builds the payload of a Close frame we send. `code` NO_STATUS builds the
 * empty payload (a Close without a status, §5.5.1). Throws for a code that
 * must not be sent or a reason that does not fit a control frame: those are
 * programming errors of the caller, not of the peer.
 */
export function encodeClosePayload(code: number = CloseCode.NORMAL, reason = ''): Buffer {
  if (code === CloseCode.NO_STATUS) {
    if (reason !== '') throw new TypeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidWireCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  const reasonLength = Buffer.byteLength(reason);
  if (reasonLength > MAX_REASON_BYTES) {
    throw new RangeError(`close reason is ${reasonLength} bytes; at most ${MAX_REASON_BYTES} fit (RFC 6455 §5.5)`);
  }
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number = MAX_REASON_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end);
}
