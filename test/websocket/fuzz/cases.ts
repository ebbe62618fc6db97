/**
 * Fuzz cases for a WebSocket server: what a client sends (an upgrade request,
 * then frames) and what the server must do about it. Each case is built from
 * its own seed alone, so one failing case can be replayed by itself.
 *
 * Categories:
 * - valid: well-formed frames (fragments, pings, pongs, multibyte text), then
 *   a Close once every echo arrived: every echo, pong and the Close code exact.
 * - targeted: valid frames, then one violation with a known close code
 *   (RFC 6455 §5.1, §5.2, §5.4, §5.5, §5.5.1, §7.4, §8.1, the 16 MiB limit).
 * - mutated: valid frames with random damage (bits, lengths, opcodes, masks,
 *   truncation, shuffles): any valid close code, or a TCP close.
 * - random: a valid upgrade, then random bytes.
 * - handshake: a broken or random upgrade request.
 */
import { createHash } from 'node:crypto';
import { encodeFrame, Opcode } from '../../../lib/websocket/frame.js';
import { caseSeed, Prng } from './prng.js';

export interface Message {
  kind: 'text' | 'binary';
  bytes: Buffer;
}

export type Category = 'valid' | 'targeted' | 'mutated' | 'random' | 'handshake';

export interface Expectation {
  /** The data messages the server must echo, in order. */
  messages: Message[];
  /** The pings sent: the pongs must carry these payloads, in order (§5.5.2). */
  pings: Buffer[];
  /** Pings sent with the violation: those before it may be answered too, after `pings`, in order. */
  extraPings: Buffer[];
  /**
   * When the echoes may stop early, but stay in order: the peer's own Close
   * came right behind the messages (the server answers it at once). Not for
   * a violation: the replies to the messages read before it go out before
   * the Close, also when it comes in the same read.
   */
  prefixOnly: boolean;
  /** The code the server's Close frame must carry; null for a Close with no payload. */
  close: number | null;
}

export interface FuzzCase {
  index: number;
  seed: number;
  category: Category;
  what: string;
  /** Sec-WebSocket-Key of the request ('' if it has none). */
  key: string;
  request: Buffer;
  /** A valid upgrade: the server must answer 101 with the right Sec-WebSocket-Accept. */
  validRequest: boolean;
  /** Send the request alone and wait for the response before any frame. */
  waitForResponse: boolean;
  body: Buffer;
  /** Sent after body: at once, or (waitForEchoes) once every expected echo and pong arrived. */
  tail: Buffer;
  waitForEchoes: boolean;
  /** Send FIN after everything: for streams that may stop anywhere, even inside a frame. */
  halfClose: boolean;
  expect: Expectation | null;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.2.2: base64(SHA-1(key + GUID)), computed here without the code under test. */
export function expectedAccept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

// ---- valid content ----------------------------------------------------

/** 1- to 4-byte characters, the edges of each length, NUL, BOM, U+FFFD, the last code point. */
const CHARS = [
  'a', 'Z', ' ', '\n', '~', '\u0000', '\u007f', '\u0080', 'é', 'ß', '\u07ff', '\u0800', '€', '世',
  '\ufeff', '\ufffd', '\uffff', '😀', '\u{10000}', '\u{10ffff}',
];

function randomText(prng: Prng, bytes: number): string {
  let text = '';
  let size = 0;
  while (size < bytes) {
    const ch = prng.pick(CHARS);
    text += ch;
    size += Buffer.byteLength(ch);
  }
  return text;
}

/** Mostly small payloads, often at the edges of the length encodings (§5.2), a few up to 70 KB. */
function messageSize(prng: Prng): number {
  const r = prng.int(100);
  if (r < 55) return prng.int(31);
  if (r < 80) return prng.range(31, 300);
  if (r < 96) return prng.pick([125, 126, 127, 125, 126, 127, 65535, 65536]) + prng.range(-1, 1);
  return prng.range(300, 70_000);
}

function randomMessage(prng: Prng): Message {
  const size = messageSize(prng);
  return prng.chance(0.5)
    ? { kind: 'text', bytes: Buffer.from(randomText(prng, size), 'utf8') }
    : { kind: 'binary', bytes: prng.bytes(size) };
}

function maskKey(prng: Prng): Buffer {
  return prng.chance(0.1) ? Buffer.alloc(4) : prng.bytes(4);
}

interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  masked?: boolean;
}

/** A client frame: masked with a random key unless told otherwise (§5.3). */
function frame(prng: Prng, opcode: number, payload: Uint8Array, options: FrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = options;
  return encodeFrame(opcode, payload, { fin, rsv, maskKey: masked ? maskKey(prng) : undefined });
}

/** A header with any length in any form (7, 16 or 64 bits), minimal or not, then the payload (masked if a key is given). */
function rawFrame(b0: number, length: bigint, form: 7 | 16 | 64, key: Buffer | null, payload: Buffer): Buffer {
  const ext = form === 7 ? 0 : form === 16 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (key ? 4 : 0));
  head[0] = b0;
  const len7 = form === 7 ? Number(length & 0x7fn) : form === 16 ? 126 : 127;
  head[1] = (key ? 0x80 : 0) | len7;
  if (form === 16) head.writeUInt16BE(Number(length & 0xffffn), 2);
  if (form === 64) head.writeBigUInt64BE(BigInt.asUintN(64, length), 2);
  const body = Buffer.from(payload);
  if (key) {
    key.copy(head, 2 + ext);
    for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  }
  return Buffer.concat([head, body]);
}

interface Stream {
  frames: Buffer[];
  messages: Message[];
  pings: Buffer[];
}

function controlFrame(prng: Prng, s: Stream): void {
  if (prng.chance(0.7)) {
    const payload = prng.bytes(prng.chance(0.2) ? 125 : prng.int(20));
    s.frames.push(frame(prng, Opcode.PING, payload));
    s.pings.push(payload);
  } else {
    // §5.5.3: an unsolicited pong is allowed and needs no answer.
    s.frames.push(frame(prng, Opcode.PONG, prng.bytes(prng.int(20))));
  }
}

/** Fragments cut at random byte offsets (inside characters too; empty ones too), control frames between (§5.4). */
function fragmented(prng: Prng, s: Stream, message: Message): void {
  const count = prng.range(2, 6);
  const cuts = Array.from({ length: count - 1 }, () => prng.int(message.bytes.length + 1)).sort((a, b) => a - b);
  const bounds = [0, ...cuts, message.bytes.length];
  for (let i = 0; i < count; i++) {
    const opcode = i === 0 ? (message.kind === 'text' ? Opcode.TEXT : Opcode.BINARY) : Opcode.CONTINUATION;
    s.frames.push(frame(prng, opcode, message.bytes.subarray(bounds[i], bounds[i + 1]), { fin: i === count - 1 }));
    if (i < count - 1 && prng.chance(0.3)) controlFrame(prng, s);
  }
  s.messages.push(message);
}

/** `count` valid items: whole messages, fragmented messages, pings, pongs. */
function validStream(prng: Prng, count: number): Stream {
  const s: Stream = { frames: [], messages: [], pings: [] };
  for (let i = 0; i < count; i++) {
    const r = prng.int(10);
    if (r < 5) {
      const m = randomMessage(prng);
      s.frames.push(frame(prng, m.kind === 'text' ? Opcode.TEXT : Opcode.BINARY, m.bytes));
      s.messages.push(m);
    } else if (r < 7) fragmented(prng, s, randomMessage(prng));
    else controlFrame(prng, s);
  }
  return s;
}

// ---- the upgrade request ----------------------------------------------

function upgradeRequest(key: string, lines: string[] = []): string {
  return (
    'GET /fuzz?x=1 HTTP/1.1\r\n' +
    'Host: 127.0.0.1\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    lines.map((l) => l + '\r\n').join('') +
    '\r\n'
  );
}

// ---- violations with a known close code ---------------------------------

interface Fault {
  frames: Buffer[];
  /** Pings among the frames (before the violation, or between its fragments). */
  pings?: Buffer[];
  /** The close code the server must send; null for "a Close with no payload". */
  code: number | null;
  what: string;
  /** Not a violation: a valid Close from the peer, which the server answers. */
  peerClose?: true;
}

const RESERVED_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf];
const INVALID_UTF8 = [
  [0x80], // lone continuation byte
  [0xbf],
  [0xc0, 0x80], // overlong
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80], // overlong
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xf0, 0x80, 0x80, 0x80], // overlong
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xf5],
  [0xfe],
  [0xff],
  [0xe2, 0x82, 0x41], // sequence cut by an ASCII byte
];
const TRUNCATED_UTF8 = [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
const INVALID_CLOSE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999];
/** Over the echo server's 16 MiB limit, up to 2^63 - 1. */
const TOO_BIG = [16n * 1024n * 1024n + 1n, 1n << 31n, 1n << 32n, (1n << 32n) + 5n, (1n << 53n) - 1n, 1n << 53n, (1n << 63n) - 1n];

const DATA_OPCODES = [Opcode.TEXT, Opcode.BINARY];
const CONTROL_OPCODES = [Opcode.CLOSE, Opcode.PING, Opcode.PONG];

function textWithInvalid(prng: Prng, invalid: number[], atEnd: boolean): Buffer {
  const before = Buffer.from(randomText(prng, prng.int(40)), 'utf8');
  const after = atEnd ? Buffer.alloc(0) : Buffer.from(randomText(prng, prng.int(40)), 'utf8');
  return Buffer.concat([before, Buffer.from(invalid), after]);
}

/** A text message in one frame or in fragments (pings between), so the invalid bytes may span a fragment boundary. */
function textFrames(prng: Prng, bytes: Buffer): Pick<Fault, 'frames' | 'pings'> {
  const s: Stream = { frames: [], messages: [], pings: [] };
  if (prng.chance(0.4)) s.frames.push(frame(prng, Opcode.TEXT, bytes));
  else fragmented(prng, s, { kind: 'text', bytes });
  return { frames: s.frames, pings: s.pings };
}

const FAULTS: ((prng: Prng) => Fault)[] = [
  (prng) => {
    const rsv = prng.range(1, 7);
    const opcode = prng.pick([...DATA_OPCODES, Opcode.PING, Opcode.PONG]);
    return { frames: [frame(prng, opcode, Buffer.from('abc'), { rsv })], code: 1002, what: `RSV bits ${rsv} set on opcode ${opcode} (§5.2)` };
  },
  (prng) => {
    const opcode = prng.pick(RESERVED_OPCODES);
    return { frames: [frame(prng, opcode, prng.bytes(prng.int(20)))], code: 1002, what: `reserved opcode 0x${opcode.toString(16)} (§5.2)` };
  },
  (prng) => {
    const opcode = prng.pick([...DATA_OPCODES, ...CONTROL_OPCODES]);
    const payload = opcode === Opcode.CLOSE ? Buffer.from([0x03, 0xe8]) : Buffer.from('hi');
    return { frames: [frame(prng, opcode, payload, { masked: false })], code: 1002, what: `unmasked client frame, opcode ${opcode} (§5.1)` };
  },
  (prng) => {
    const opcode = prng.pick(CONTROL_OPCODES);
    const size = prng.range(126, 300);
    return { frames: [frame(prng, opcode, prng.bytes(size))], code: 1002, what: `control frame ${opcode} of ${size} bytes (§5.5)` };
  },
  (prng) => {
    const opcode = prng.pick(CONTROL_OPCODES);
    return { frames: [frame(prng, opcode, Buffer.alloc(0), { fin: false })], code: 1002, what: `fragmented control frame ${opcode} (§5.5)` };
  },
  (prng) => ({
    frames: [frame(prng, Opcode.CONTINUATION, prng.bytes(prng.int(10)), { fin: prng.chance(0.5) })],
    code: 1002,
    what: 'continuation frame with no message to continue (§5.4)',
  }),
  (prng) => {
    const first = prng.pick(DATA_OPCODES);
    const frames = [frame(prng, first, Buffer.from('start'), { fin: false })];
    const pings = prng.chance(0.5) ? [Buffer.from('p')] : [];
    for (const p of pings) frames.push(frame(prng, Opcode.PING, p));
    frames.push(frame(prng, prng.pick(DATA_OPCODES), Buffer.from('new'), { fin: prng.chance(0.5) }));
    return { frames, pings, code: 1002, what: 'new data frame inside a fragmented message (§5.4)' };
  },
  (prng) => ({
    ...textFrames(prng, textWithInvalid(prng, prng.pick(INVALID_UTF8), false)),
    code: 1007,
    what: 'invalid UTF-8 in a text message (§8.1)',
  }),
  (prng) => ({
    ...textFrames(prng, textWithInvalid(prng, prng.pick(TRUNCATED_UTF8), true)),
    code: 1007,
    what: 'text message ending inside a UTF-8 sequence (§8.1)',
  }),
  (prng) => ({ frames: [frame(prng, Opcode.CLOSE, prng.bytes(1))], code: 1002, what: 'Close with a 1-byte payload (§5.5.1)' }),
  (prng) => {
    const code = prng.pick(INVALID_CLOSE_CODES);
    const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(prng.chance(0.5) ? 'why' : '')]);
    return { frames: [frame(prng, Opcode.CLOSE, payload)], code: 1002, what: `Close with code ${code}, not valid on the wire (§7.4)` };
  },
  (prng) => {
    const payload = Buffer.concat([Buffer.from([0x03, 0xe8]), textWithInvalid(prng, prng.pick([...INVALID_UTF8, ...TRUNCATED_UTF8]), prng.chance(0.3))]);
    return { frames: [frame(prng, Opcode.CLOSE, payload.subarray(0, 125))], code: 1007, what: 'Close reason not UTF-8 (§5.5.1, §8.1)' };
  },
  (prng) => {
    const length = (1n << 63n) | BigInt(prng.int(1000));
    return {
      frames: [rawFrame(0x80 | prng.pick(DATA_OPCODES), length, 64, maskKey(prng), prng.bytes(prng.int(10)))],
      code: 1002,
      what: '64-bit length with the most significant bit set (§5.2)',
    };
  },
  (prng) => {
    const length = prng.pick(TOO_BIG);
    return {
      frames: [rawFrame(0x80 | Opcode.BINARY, length, 64, maskKey(prng), prng.bytes(prng.int(10)))],
      code: 1009,
      what: `a frame of ${length} bytes, over the 16 MiB limit (§7.4.1)`,
    };
  },
  (prng) => {
    const first = prng.int(100);
    const rest = 16n * 1024n * 1024n - BigInt(first) + 1n + BigInt(prng.int(3));
    const opcode = prng.pick(DATA_OPCODES);
    return {
      frames: [
        frame(prng, opcode, Buffer.alloc(first, 0x61), { fin: false }),
        rawFrame(0x80 | Opcode.CONTINUATION, rest, 64, maskKey(prng), Buffer.alloc(0)),
      ],
      code: 1009,
      what: 'fragments adding up to more than 16 MiB (§7.4.1)',
    };
  },
  (prng) => {
    const code = prng.chance(0.5) ? prng.pick(VALID_CLOSE_CODES) : prng.range(3000, 4999);
    const reason = Buffer.from(randomText(prng, prng.int(40)), 'utf8'); // at most 43 bytes: fits (§5.5)
    const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]);
    return { frames: [frame(prng, Opcode.CLOSE, payload)], code, peerClose: true, what: `a valid Close with code ${code}: the server echoes the code (§5.5.1)` };
  },
  (prng) => ({ frames: [frame(prng, Opcode.CLOSE, Buffer.alloc(0))], code: null, peerClose: true, what: 'a Close with no payload: the answer has none either (§5.5.1)' }),
];

// ---- random damage ------------------------------------------------------

/** The parts of a frame this module built: first byte, mask key (or null), unmasked payload. */
function openFrame(buf: Buffer): { b0: number; key: Buffer | null; payload: Buffer } | null {
  if (buf.length < 2) return null;
  const len7 = buf[1]! & 0x7f;
  const masked = (buf[1]! & 0x80) !== 0;
  const start = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
  const key = masked ? buf.subarray(start, start + 4) : null;
  const payload = Buffer.from(buf.subarray(start + (masked ? 4 : 0)));
  if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return { b0: buf[0]!, key: key ? Buffer.from(key) : null, payload };
}

const INTERESTING_LENGTHS = [0n, 1n, 2n, 125n, 126n, 127n, 65535n, 65536n, 1n << 24n, 1n << 31n, 1n << 32n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

type FrameMutation = (prng: Prng, frames: Buffer[]) => string;

const FRAME_MUTATIONS: FrameMutation[] = [
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames[i] = Buffer.from(frames[i]!);
    frames[i]![0] = frames[i]![0]! | (prng.range(1, 7) << 4);
    return `RSV bits on frame ${i}`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    const opcode = prng.int(16);
    frames[i] = Buffer.from(frames[i]!);
    frames[i]![0] = (frames[i]![0]! & 0xf0) | opcode;
    return `opcode ${opcode} on frame ${i}`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames[i] = Buffer.from(frames[i]!);
    frames[i]![0] = frames[i]![0]! ^ 0x80;
    return `FIN flipped on frame ${i}`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    const f = openFrame(frames[i]!);
    if (!f) return 'nothing';
    frames[i] = rawFrame(f.b0, BigInt(f.payload.length), f.payload.length < 126 ? 7 : f.payload.length < 65536 ? 16 : 64, null, f.payload);
    return `frame ${i} sent unmasked`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames[i] = Buffer.from(frames[i]!);
    frames[i]![1] = frames[i]![1]! ^ 0x80;
    return `MASK bit flipped on frame ${i} (rest unchanged)`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    const f = openFrame(frames[i]!);
    if (!f) return 'nothing';
    const length = prng.chance(0.7) ? prng.pick(INTERESTING_LENGTHS) : BigInt(f.payload.length + prng.range(-3, 3)) & ((1n << 64n) - 1n);
    const form = length < 126n && prng.chance(0.7) ? 7 : length < 65536n && prng.chance(0.7) ? 16 : 64;
    frames[i] = rawFrame(f.b0, length, form, f.key, f.payload);
    return `frame ${i} claims ${length} bytes in the ${form}-bit form`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames[i] = frames[i]!.subarray(0, prng.int(frames[i]!.length));
    return `frame ${i} cut short`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames.splice(i, 1);
    return `frame ${i} dropped`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    frames.splice(i, 0, frames[i]!);
    return `frame ${i} sent twice`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length);
    const j = prng.int(frames.length);
    [frames[i], frames[j]] = [frames[j]!, frames[i]!];
    return `frames ${i} and ${j} swapped`;
  },
  (prng, frames) => {
    const i = prng.int(frames.length + 1);
    frames.splice(i, 0, prng.bytes(prng.range(1, 20)));
    return `random bytes before frame ${i}`;
  },
];

type ByteMutation = (prng: Prng, bytes: Buffer) => [Buffer, string];

const BYTE_MUTATIONS: ByteMutation[] = [
  (prng, bytes) => {
    const out = Buffer.from(bytes);
    const n = prng.range(1, 8);
    for (let k = 0; k < n && out.length > 0; k++) out[prng.int(out.length)] ^= 1 << prng.int(8);
    return [out, `${n} bits flipped`];
  },
  (prng, bytes) => {
    const at = prng.int(bytes.length + 1);
    return [Buffer.concat([bytes.subarray(0, at), prng.bytes(prng.range(1, 16)), bytes.subarray(at)]), `bytes inserted at ${at}`];
  },
  (prng, bytes) => {
    const at = prng.int(bytes.length + 1);
    const n = prng.range(1, 16);
    return [Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + n)]), `${n} bytes deleted at ${at}`];
  },
  (prng, bytes) => {
    const at = prng.int(bytes.length + 1);
    return [bytes.subarray(0, at), `cut at ${at} of ${bytes.length}`];
  },
];

// ---- broken upgrade requests --------------------------------------------

const BAD_REQUESTS: ((prng: Prng, key: string) => string)[] = [
  (_, key) => upgradeRequest(key).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
  (_, key) => upgradeRequest(key).replace(`Sec-WebSocket-Key: ${key}\r\n`, ''),
  (prng) => upgradeRequest(prng.pick(['abc', '', 'AAAAAAAAAAAAAAAAAAAAAA==x', '!!!!!!!!!!!!!!!!!!!!!!==', 'dGhlIHNhbXBsZSBub25jZQ'])),
  (_, key) => upgradeRequest(key).replace('Upgrade: websocket', 'Upgrade: h2c'),
  (_, key) => upgradeRequest(key).replace('Connection: Upgrade\r\n', 'Connection: keep-alive\r\n'),
  (_, key) => upgradeRequest(key).replace('Host: 127.0.0.1\r\n', ''),
  (_, key) => upgradeRequest(key).replace('GET ', 'POST '),
  (_, key) => upgradeRequest(key).replace('HTTP/1.1', 'HTTP/1.0'),
  (_, key) => upgradeRequest(key).replace('/fuzz?x=1', '*'),
  (_, key) => upgradeRequest(key, [`X-Big: ${'x'.repeat(20_000)}`]),
  (_, key) => upgradeRequest(key, ['Sec-WebSocket-Protocol: a, a']),
  (_, key) => upgradeRequest(key, ['Bad Header Line']),
  (_, key) => upgradeRequest(key).slice(0, -2), // never ends
  (_, key) => 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + upgradeRequest(key), // a plain request first, on the same connection
  (prng, key) => {
    const bytes = Buffer.from(upgradeRequest(key), 'latin1');
    const n = prng.range(1, 4);
    for (let k = 0; k < n; k++) bytes[prng.int(bytes.length)] ^= 1 << prng.int(8);
    return bytes.toString('latin1');
  },
  (prng) => prng.bytes(prng.int(300)).toString('latin1'),
  (prng) => 'GET / HTTP/1.1\r\n' + prng.bytes(prng.int(200)).toString('latin1'),
];

// ---- a case from its seed -----------------------------------------------

export function makeCase(runSeed: number, index: number): FuzzCase {
  const seed = caseSeed(runSeed, index);
  const prng = new Prng(seed);
  const key = prng.bytes(16).toString('base64');
  const base = {
    index,
    seed,
    key,
    request: Buffer.from(upgradeRequest(key), 'latin1'),
    validRequest: true,
    waitForResponse: prng.chance(0.5),
    tail: Buffer.alloc(0),
    waitForEchoes: false,
    halfClose: false,
    expect: null,
  };
  const r = prng.int(100);

  if (r < 10) {
    const s = validStream(prng, prng.range(1, 5));
    const code = prng.pick(VALID_CLOSE_CODES);
    const close = frame(prng, Opcode.CLOSE, Buffer.from([code >> 8, code & 0xff]));
    // After the Close nothing more is read (§5.5.1): trailing junk must not matter.
    const junk = prng.chance(0.3) ? prng.bytes(prng.range(1, 50)) : Buffer.alloc(0);
    return {
      ...base,
      category: 'valid',
      what: `${s.frames.length} valid frames, then Close ${code}${junk.length ? ' and junk' : ''}`,
      body: Buffer.concat(s.frames),
      tail: Buffer.concat([close, junk]),
      waitForEchoes: true,
      expect: { messages: s.messages, pings: s.pings, extraPings: [], prefixOnly: false, close: code },
    };
  }
  if (r < 50) {
    const s = validStream(prng, prng.range(0, 3));
    const fault = prng.pick(FAULTS)(prng);
    const junk = prng.chance(0.3) ? prng.bytes(prng.range(1, 50)) : Buffer.alloc(0);
    const waitForEchoes = prng.chance(0.5);
    return {
      ...base,
      category: 'targeted',
      what: `${s.frames.length} valid frames, then ${fault.what}${junk.length ? ', then junk' : ''}`,
      body: Buffer.concat(s.frames),
      tail: Buffer.concat([...fault.frames, junk]),
      waitForEchoes,
      expect: { messages: s.messages, pings: s.pings, extraPings: fault.pings ?? [], prefixOnly: !waitForEchoes && fault.peerClose === true, close: fault.code },
    };
  }
  if (r < 80) {
    const s = validStream(prng, prng.range(1, 5));
    if (prng.chance(0.3)) s.frames.push(frame(prng, Opcode.CLOSE, Buffer.from([0x03, 0xe8])));
    const what: string[] = [];
    const frameMutations = prng.range(0, 2);
    for (let k = 0; k < frameMutations && s.frames.length > 0; k++) what.push(prng.pick(FRAME_MUTATIONS)(prng, s.frames));
    let bytes: Buffer = Buffer.concat(s.frames);
    const byteMutations = frameMutations === 0 ? prng.range(1, 3) : prng.range(0, 1);
    for (let k = 0; k < byteMutations; k++) {
      const [out, desc] = prng.pick(BYTE_MUTATIONS)(prng, bytes);
      bytes = out;
      what.push(desc);
    }
    return { ...base, category: 'mutated', what: what.join('; ') || 'unchanged', body: bytes, halfClose: true };
  }
  if (r < 90) {
    return { ...base, category: 'random', what: 'random bytes after a valid upgrade', body: prng.bytes(prng.range(1, 600)), halfClose: true };
  }
  const bad = prng.int(BAD_REQUESTS.length);
  const request = Buffer.from(BAD_REQUESTS[bad]!(prng, key), 'latin1');
  // A broken request may still be a valid upgrade (a flipped bit in Host): then frames follow.
  const s = validStream(prng, prng.range(0, 2));
  return {
    ...base,
    category: 'handshake',
    what: `broken upgrade request #${bad}`,
    request,
    validRequest: false,
    waitForResponse: false,
    body: Buffer.concat(s.frames),
    halfClose: true,
  };
}
