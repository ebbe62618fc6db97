/**
 * `steam-key serve --trace`: a frame trace that is safe to leave in a log.
 * The /ws messages carry secrets both ways — the password and guard code in,
 * the resume token and whole keys out — so a data frame shows only its
 * message type, when its first bytes name one of the protocol's types, and
 * never any of its payload. Control frames show as usual (their payloads are
 * heartbeat bytes and close reasons the server or browser picks).
 */
import { Opcode } from '../websocket/frame.js';
import { formatTraceWith, type FrameTrace } from '../websocket/index.js';
import { CLIENT_TYPES, SERVER_TYPES } from './protocol.js';

const KNOWN_TYPES: ReadonlySet<string> = new Set<string>([...CLIENT_TYPES, ...SERVER_TYPES]);
/** The type member, when it comes first as encode() and the page's JSON.stringify write it. */
const LEADING_TYPE = /^\s*\{\s*"type"\s*:\s*"([a-z-]{1,20})"/;

/** The payload description: the message type if known, and a note that the rest is hidden. */
export function redactedPreview(frame: FrameTrace): string {
  if (frame.length === 0) return '';
  if (frame.opcode === Opcode.TEXT) {
    const type = LEADING_TYPE.exec(frame.preview.toString('latin1'))?.[1];
    // Only a known type is shown: a client could put anything in that field.
    if (type !== undefined && KNOWN_TYPES.has(type)) return ` type=${type} (payload hidden)`;
  }
  return ' (payload hidden)';
}

/** One trace line per frame, payloads hidden. */
export function formatRedactedTrace(frame: FrameTrace): string {
  return formatTraceWith(frame, redactedPreview);
}
