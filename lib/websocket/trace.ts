/**
 * Frame tracing: one line per frame in or out, for learning the protocol and
 * for debugging a peer. Off unless a trace function is given; then the cost
 * is one copy of at most PREVIEW_BYTES per frame.
 */
import { OPCODE_NAMES, Opcode } from './frame.js';

export interface FrameTrace {
  direction: 'in' | 'out';
  opcode: number;
  fin: boolean;
  /** RSV1–3 as 0b100, 0b010, 0b001 (RSV1: a compressed message, RFC 7692 §6); absent means 0. */
  rsv?: number;
  masked: boolean;
  /** The payload's length on the wire (compressed, for a compressed message). */
  length: number;
  /**
   * For a compressed message (RSV1): its length once inflated, with `preview`
   * showing the inflated bytes. Given on the one frame of a message we send,
   * and on a line of its own, after its frames, for one we receive.
   */
  inflated?: number;
  /** A continuation frame of a compressed message (only its first frame has RSV1): DEFLATE data too. */
  compressed?: boolean;
  /** The first bytes of the (unmasked) payload; the whole payload of a control frame. */
  preview: Buffer;
}

export type TraceFn = (frame: FrameTrace) => void;

/** Hooks whose failure was already printed. */
const reported = new WeakSet<TraceFn>();

/**
 * Calls a trace hook so that a hook that throws changes nothing: tracing is
 * for watching, and its bug must not close a connection, nor end the process
 * when it throws from the heartbeat's timer or a socket listener. The first
 * failure of each hook is printed on stderr, not one per frame.
 */
export function callTrace(trace: TraceFn, frame: FrameTrace): void {
  try {
    trace(frame);
  } catch (error) {
    if (reported.has(trace)) return;
    reported.add(trace);
    console.error('websocket trace hook failed (frames are handled as usual; its later failures are not printed):', error);
  }
}

/** Bytes of a data frame's payload kept for the preview; control frames are kept whole (≤ 125). */
export const PREVIEW_BYTES = 48;

const SHOWN_CHARS = 40;

function previewText(bytes: Buffer, length: number, binary: boolean): string {
  if (length === 0) return '';
  let shown: string;
  if (binary) {
    shown = bytes.subarray(0, 16).toString('hex').replace(/(..)(?!$)/g, '$1 ');
    if (length > 16) shown += ' …';
  } else {
    const text = bytes.toString('utf8');
    shown = JSON.stringify(text.length > SHOWN_CHARS ? text.slice(0, SHOWN_CHARS) : text);
    if (length > bytes.length || text.length > SHOWN_CHARS) shown += '…';
  }
  return ' ' + shown;
}

/**
 * Formats a frame as one line, e.g.
 * `<- TEXT   fin=1 mask=1 len=5 "Hello"` or `-> CLOSE  fin=1 mask=0 len=2 code=1000 reason=""`;
 * with permessage-deflate, `<- TEXT   fin=1 rsv1=1 mask=1 len=7 (compressed)` for a
 * compressed frame and `<- TEXT   fin=1 rsv1=1 mask=1 len=7 inflated=5 "Hello"` for the
 * message it carried.
 */
export function formatTrace(frame: FrameTrace): string {
  return formatTraceWith(frame, defaultPreview);
}

/**
 * Describes a data frame's payload (text, binary, continuation) for the
 * trace line; returns '' for nothing or a string starting with a space.
 * An application replaces the default where payloads carry secrets.
 */
export type DataPreview = (frame: FrameTrace) => string;

function defaultPreview(frame: FrameTrace): string {
  return previewText(frame.preview, frame.length, frame.opcode === Opcode.BINARY);
}

/** formatTrace with data-frame payloads described by `dataPreview`; control frames as always. */
export function formatTraceWith(frame: FrameTrace, dataPreview: DataPreview): string {
  const arrow = frame.direction === 'in' ? '<-' : '->';
  const name = (OPCODE_NAMES[frame.opcode] ?? `0x${frame.opcode.toString(16)}`).padEnd(6);
  const rsv = frame.rsv ?? 0;
  const bits = rsv === 0 ? '' : `${rsv & 4 ? ' rsv1=1' : ''}${rsv & 2 ? ' rsv2=1' : ''}${rsv & 1 ? ' rsv3=1' : ''}`;
  let line = `${arrow} ${name} fin=${frame.fin ? 1 : 0}${bits} mask=${frame.masked ? 1 : 0} len=${frame.length}`;
  if (frame.inflated !== undefined) {
    // A compressed message: its inflated length, and a preview of the inflated bytes.
    return line + ` inflated=${frame.inflated}` + dataPreview({ ...frame, length: frame.inflated });
  }
  if (frame.opcode === Opcode.CLOSE) {
    if (frame.preview.length >= 2) {
      const reason = frame.preview.subarray(2).toString('utf8');
      line += ` code=${frame.preview.readUInt16BE(0)} reason=${JSON.stringify(reason)}`;
    }
  } else if (frame.opcode === Opcode.PING || frame.opcode === Opcode.PONG) {
    line += previewText(frame.preview, frame.length, false);
  } else if ((rsv & 4) !== 0 || frame.compressed) {
    line += ' (compressed)'; // the bytes are DEFLATE data: the inflated message follows on its own line
  } else {
    line += dataPreview(frame);
  }
  return line;
}
