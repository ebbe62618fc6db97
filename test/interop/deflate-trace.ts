/**
 * Shared by the permessage-deflate interop tests: the messages every peer
 * exchanges with the echo server, what the server's --trace lines say about
 * each of them (compressed or not, wire and inflated lengths, RSV1 on which
 * frames), and the checks that turn those lines into assertions. The echoed
 * bytes themselves are checked by each test against the peer's own view.
 */
import type { Tap } from './helpers.js';
import { makeText, MAX_ECHO_MESSAGE, MESSAGE_CASES, type MessageCase } from './messages.js';

/** `steam-key echo --deflate` compresses what it sends from this many bytes (UTF-16 units for text) on. */
export const SERVER_THRESHOLD = 1024;

/** The incompressible binary sent twice: under context takeover, the second copy is back-references into the first. */
const REPEATED = 4000;

/** The cases without the two of 16 MiB, for the variants that need not repeat them. */
export function withoutBig(cases: readonly MessageCase[]): MessageCase[] {
  return cases.filter((c) => c.size < MAX_ECHO_MESSAGE);
}

/**
 * MESSAGE_CASES (multibyte text, binary, empty, 125/126/65535/65536 bytes and
 * 16 MiB; the text is highly compressible, the binary is an LCG's output and
 * does not compress, so 16 MiB of it compressed is a little over 16 MiB on
 * the wire, which the server must take), then the server's threshold from
 * both sides, then the same incompressible binary twice.
 */
export const DEFLATE_CASES: readonly MessageCase[] = [
  ...MESSAGE_CASES,
  { name: `binary of ${SERVER_THRESHOLD - 1} bytes, under the server's threshold`, kind: 'binary', size: SERVER_THRESHOLD - 1 },
  { name: `binary of ${SERVER_THRESHOLD} bytes, at the server's threshold`, kind: 'binary', size: SERVER_THRESHOLD },
  { name: `incompressible binary of ${REPEATED} bytes`, kind: 'binary', size: REPEATED },
  { name: `the same ${REPEATED} bytes again`, kind: 'binary', size: REPEATED },
];

/**
 * `cases` with `fragmented` put before the last four (the threshold pair and
 * the repeated pair), which must stay last: checkTrace compares the last two.
 */
export function withFragmented(cases: readonly MessageCase[], fragmented: readonly MessageCase[]): MessageCase[] {
  return [...cases.slice(0, -4), ...fragmented, ...cases.slice(-4)];
}

/** Whether the echo server sends this message back compressed. */
export function serverCompresses(c: MessageCase): boolean {
  const length = c.kind === 'text' ? makeText(c.size).length : c.size;
  return length >= SERVER_THRESHOLD;
}

export interface TracedFrame {
  opcode: string;
  fin: boolean;
  rsv1: boolean;
  length: number;
}

/** One data message as the trace shows it, in one direction. */
export interface TracedMessage {
  opcode: string;
  compressed: boolean;
  /** Payload bytes on the wire, all frames together. */
  wire: number;
  /** Bytes once inflated (the wire length for an uncompressed message). */
  size: number;
  frames: TracedFrame[];
}

const LINE = /^(<-|->) (TEXT|BINARY|CONT)\s+fin=([01])( rsv1=1)? mask=[01] len=(\d+)(?: inflated=(\d+))?/;

/**
 * Rebuilds the data messages of each direction from `--trace` lines
 * (trace.ts): a compressed message we receive is its frames, then a line of
 * its own with `inflated=`; one we send is a single frame with `inflated=`.
 */
export function tracedMessages(stdout: string): { in: TracedMessage[]; out: TracedMessage[] } {
  const result = { in: [] as TracedMessage[], out: [] as TracedMessage[] };
  const pending = { in: [] as TracedFrame[], out: [] as TracedFrame[] };
  for (const line of stdout.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const dir = m[1] === '<-' ? 'in' : 'out';
    const frame: TracedFrame = { opcode: m[2]!, fin: m[3] === '1', rsv1: m[4] !== undefined, length: Number(m[5]) };
    const inflated = m[6] === undefined ? null : Number(m[6]);
    const frames = pending[dir];
    if (dir === 'in' && inflated !== null) {
      // The line after a compressed message's frames: its wire and inflated lengths.
      result.in.push({ opcode: frame.opcode, compressed: true, wire: frame.length, size: inflated, frames: frames.splice(0) });
      continue;
    }
    frames.push(frame);
    if (!frame.fin) continue;
    const first = frames[0]!;
    if (dir === 'in' && first.rsv1) continue; // its inflated= line follows
    const wire = frames.reduce((sum, f) => sum + f.length, 0);
    result[dir].push({ opcode: first.opcode, compressed: first.rsv1, wire, size: inflated ?? wire, frames: frames.splice(0) });
  }
  return result;
}

/** What was agreed, each side's context takeover. */
export interface Takeover {
  /** The peer (client) keeps its compression context between messages. */
  client: boolean;
  /** The server keeps its compression context between messages. */
  server: boolean;
}

/** The parameters of a Sec-WebSocket-Extensions response, for checking what was agreed. */
export function agreedParams(header: string | null | undefined): Set<string> | null {
  if (!header) return null;
  const [name, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (name !== 'permessage-deflate') return null;
  return new Set(params.map((p) => p.split('=')[0]!));
}

/** Checks that the response header agreed permessage-deflate with exactly the context takeover expected. */
export function checkAgreement(t: Tap, header: string | null | undefined, takeover: Takeover): void {
  const params = agreedParams(header);
  t.ok(params, `permessage-deflate agreed: Sec-WebSocket-Extensions: ${header}`);
  t.equal(params?.has('server_no_context_takeover'), !takeover.server, `server_no_context_takeover ${takeover.server ? 'absent' : 'present'}`);
  t.equal(params?.has('client_no_context_takeover'), !takeover.client, `client_no_context_takeover ${takeover.client ? 'absent' : 'present'}`);
}

export interface TraceExpectations {
  takeover: Takeover;
  /**
   * Whether the peer compresses every message it sends (ws with threshold 0,
   * python-websockets): then each must arrive with RSV1. Otherwise only the
   * compressed ones are checked.
   */
  peerCompressesAll: boolean;
}

/**
 * The server's view of each echo in `cases`, from its trace: the message
 * came in with the right length (compressed, if the peer compresses all),
 * went out compressed exactly when it reaches the threshold, the compressible
 * text shrank, the incompressible binary did not under no context takeover,
 * and the repeated binary shrank to back-references exactly where that
 * direction keeps its context.
 */
export function checkTrace(t: Tap, stdout: string, cases: readonly MessageCase[], expect: TraceExpectations): void {
  const traced = tracedMessages(stdout);
  t.equal(traced.in.length, cases.length, `the trace shows ${cases.length} messages in`);
  t.equal(traced.out.length, cases.length, `the trace shows ${cases.length} messages out`);
  cases.forEach((c, i) => {
    const opcode = c.kind === 'text' ? 'TEXT' : 'BINARY';
    const got = traced.in[i];
    const sent = traced.out[i];
    if (!got || !sent) return;
    t.equal(got.opcode, opcode, `${c.name}: in as ${opcode}`);
    t.equal(got.size, c.size, `${c.name}: in, ${c.size} bytes once inflated`);
    if (expect.peerCompressesAll) t.ok(got.compressed, `${c.name}: in compressed (RSV1 on its first frame), ${got.wire} bytes on the wire`);
    if (got.compressed) {
      t.same(
        got.frames.map((f) => f.rsv1),
        got.frames.map((_, j) => j === 0),
        `${c.name}: RSV1 on the first of its ${got.frames.length} frames only (§6)`,
      );
    }
    t.equal(sent.opcode, opcode, `${c.name}: out as ${opcode}`);
    t.equal(sent.size, c.size, `${c.name}: out, ${c.size} bytes`);
    t.equal(sent.compressed, serverCompresses(c), `${c.name}: out ${serverCompresses(c) ? 'compressed' : 'uncompressed (under the threshold)'}, ${sent.wire} bytes on the wire`);
    if (sent.compressed && c.kind === 'text' && c.size >= 65535) {
      t.ok(sent.wire * 20 < c.size, `${c.name}: repetitive text out in ${sent.wire} bytes, under 5%`);
    }
    if (sent.compressed && c.kind === 'binary' && !expect.takeover.server) {
      t.ok(sent.wire >= c.size, `${c.name}: incompressible, out in ${sent.wire} bytes, no fewer`);
    }
  });
  // The last two messages are the same incompressible bytes.
  const [firstIn, secondIn] = traced.in.slice(-2);
  const [firstOut, secondOut] = traced.out.slice(-2);
  if (secondOut && firstOut) {
    if (expect.takeover.server) {
      t.ok(secondOut.wire < 100, `server context takeover: the repeated ${REPEATED} bytes went out in ${secondOut.wire} bytes, back-references into the previous message`);
    } else {
      t.ok(firstOut.wire >= REPEATED && secondOut.wire >= REPEATED, `server_no_context_takeover: both copies went out whole (${firstOut.wire} and ${secondOut.wire} bytes)`);
    }
  }
  if (secondIn && firstIn && secondIn.compressed) {
    if (expect.takeover.client) {
      t.ok(secondIn.wire < 100, `client context takeover: the repeated ${REPEATED} bytes came in as ${secondIn.wire} bytes of back-references, which the server resolved`);
    } else {
      t.ok(firstIn.wire >= REPEATED && secondIn.wire >= REPEATED, `client_no_context_takeover: both copies came in whole (${firstIn.wire} and ${secondIn.wire} bytes)`);
    }
  }
}

/**
 * The three agreements every peer is tested under. Only the first (what
 * every peer gets by default) exchanges the 16 MiB messages: their size
 * tests buffering, not the context, and each costs seconds of zlib.
 */
export const TAKEOVER_VARIANTS: readonly { name: string; takeover: Takeover; big: boolean }[] = [
  { name: 'context takeover both ways', takeover: { client: true, server: true }, big: true },
  { name: 'no context takeover either way', takeover: { client: false, server: false }, big: false },
  { name: 'server takeover only (client_no_context_takeover)', takeover: { client: false, server: true }, big: false },
];
