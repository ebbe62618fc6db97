/**
 * The load generator of the compressed workload (bench/deflate.ts): a child
 * process that speaks the client side of WebSocket with permessage-deflate
 * (RFC 7692) over raw node:net sockets.
 *
 * It offers what Chromium offers (`permessage-deflate; client_max_window_bits`)
 * and sends messages compressed before timing starts: each one on its own,
 * with a fresh DEFLATE context, which is valid whatever the server agreed
 * (a sender may always choose not to refer to earlier messages, §7.2.1), so
 * sending costs it no zlib work. It reads only frame headers of the replies;
 * every connection first checks that one reply inflates to what was sent.
 *
 * Jobs arrive over IPC (ipc.ts): start, mark, stop, open, closeAll.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { ACCEPT, FrameCounter, maskedFrame, upgradeRequest } from './frames.js';
import { serveRequests } from './ipc.js';

/** RSV1 (RFC 7692 §6) on a text frame: a compressed text message. */
const COMPRESSED_TEXT = 0x40 | 0x1;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Chromium's offer, also the ws client's default one. */
export const OFFER = 'permessage-deflate; client_max_window_bits';

export type MessageKind = 'json' | 'text1m';

export interface DeflateWorkload {
  port: number;
  connections: number;
  /** Messages in flight per connection. */
  window: number;
  message: MessageKind;
}

export type DeflateJob =
  | { kind: 'start'; workload: DeflateWorkload; warmupMs: number }
  | { kind: 'mark' }
  | { kind: 'stop' }
  | { kind: 'open'; port: number; connections: number }
  | { kind: 'closeAll' };

export interface DeflateMark {
  /** Messages echoed since start. */
  operations: number;
  /** Payload bytes of the replies on the wire (compressed) since start. */
  wireBytes: number;
  /** performance.now() of this process, in ms. */
  time: number;
  /** This process's CPU time so far (user + system), in µs. */
  cpu: number;
}

export interface Started {
  /** The server's Sec-WebSocket-Extensions answer. */
  extensions: string;
  /** Bytes of one message before and after compression (the first of the pool for JSON). */
  size: number;
  compressed: number;
}

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

export const JSON_SIZE = 1024;
export const TEXT1M_SIZE = 1024 * 1024;
/** Distinct JSON messages sent in turn: the 32 KiB window holds ~30 of them, so replies do not compress to back-references to the same message. */
const JSON_POOL = 64;

/** A message compressed on its own (§7.2.1: sync flush, the 4-byte tail removed) in a masked frame with RSV1. */
function compressedFrame(text: string): { frame: Buffer; original: Buffer; compressed: number } {
  const original = Buffer.from(text, 'utf8');
  const deflated = deflateRawSync(original, { finishFlush: constants.Z_SYNC_FLUSH });
  if (!deflated.subarray(-4).equals(TAIL)) throw new Error('a sync flush ends with 00 00 ff ff');
  const payload = deflated.subarray(0, -4);
  return { frame: maskedFrame(COMPRESSED_TEXT, payload), original, compressed: payload.length };
}

/** The messages of a workload, as one buffer of frames back to back and each frame's offset. */
interface Ring {
  bytes: Buffer;
  offsets: number[];
  originals: Buffer[];
  compressed: number;
}

const rings = new Map<MessageKind, Ring>();
function ringFor(kind: MessageKind): Ring {
  let ring = rings.get(kind);
  if (ring) return ring;
  const texts = kind === 'json' ? Array.from({ length: JSON_POOL }, (_, i) => jsonText(i + 1, JSON_SIZE)) : [jsonText(1, TEXT1M_SIZE)];
  const frames = texts.map(compressedFrame);
  const offsets: number[] = [];
  let at = 0;
  for (const f of frames) {
    offsets.push(at);
    at += f.frame.length;
  }
  offsets.push(at);
  ring = { bytes: Buffer.concat(frames.map((f) => f.frame)), offsets, originals: frames.map((f) => f.original), compressed: frames[0]!.compressed };
  rings.set(kind, ring);
  return ring;
}

/** Every socket reads into this one buffer (node:net's `onread`); each read is consumed before the next. */
const READ_BUFFER = Buffer.allocUnsafe(1024 * 1024);

interface Client {
  socket: Socket;
  onBytes: (bytes: Buffer) => void;
  extensions: string;
}

/** TCP connect, the upgrade request with the deflate offer, a 101 that accepts it (§4.1, RFC 7692 §5). */
function openWebSocket(port: number, request: Buffer): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client: Client = {
      socket: connect({
        port,
        host: '127.0.0.1',
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array): boolean => {
            client.onBytes(Buffer.from(buf.buffer, buf.byteOffset, n));
            return true;
          },
        },
      }),
      onBytes: () => {},
      extensions: '',
    };
    const socket = client.socket;
    let head = '';
    const fail = (error: Error): void => {
      client.onBytes = () => {};
      socket.destroy();
      reject(error);
    };
    const onClose = (): void => fail(new Error('connection closed during the handshake'));
    socket.on('error', fail);
    socket.on('close', onClose);
    client.onBytes = (bytes) => {
      head += bytes.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.onBytes = () => {};
      socket.off('error', fail).off('close', onClose);
      socket.on('error', () => {}); // shows as missing throughput, if ever
      const extensions = /\r\nsec-websocket-extensions: *([^\r]*)/i.exec(head.slice(0, end + 2))?.[1] ?? '';
      if (!head.startsWith('HTTP/1.1 101 ') || !head.includes(ACCEPT)) fail(new Error(`handshake refused: ${head.slice(0, head.indexOf('\r\n'))}`));
      else if (!extensions.toLowerCase().startsWith('permessage-deflate')) fail(new Error(`the server did not agree permessage-deflate: '${extensions}'`));
      else if (end + 4 < head.length) fail(new Error('the server sent frames before any message'));
      else resolve(Object.assign(client, { extensions }));
    };
    socket.write(request);
  });
}

function requestWithOffer(port: number): Buffer {
  const plain = upgradeRequest(port, '/').toString('latin1');
  return Buffer.from(plain.replace(/\r\n\r\n$/, `\r\nSec-WebSocket-Extensions: ${OFFER}\r\n\r\n`), 'latin1');
}

async function openMany(port: number, count: number, parallel: number): Promise<Client[]> {
  const request = requestWithOffer(port);
  const opened: Client[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      opened.push(await openWebSocket(port, request));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return opened;
}

/**
 * Sends message `index` of the ring and checks the reply: one text frame with
 * RSV1 whose payload inflates (tail appended, §7.2.2) to what was sent. It is
 * the first compressed message of the connection, so it refers to nothing
 * earlier and inflates alone.
 */
function verifyEcho(client: Client, ring: Ring, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    client.onBytes = (bytes) => {
      parts.push(Buffer.from(bytes));
      const got = Buffer.concat(parts);
      if (got.length < 2) return;
      const len7 = got[1]! & 0x7f;
      const header = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
      if (got.length < header) return;
      const length = len7 === 126 ? got.readUInt16BE(2) : len7 === 127 ? Number(got.readBigUInt64BE(2)) : len7;
      if (got.length < header + length) return;
      client.onBytes = () => {};
      if (got[0] !== (0x80 | COMPRESSED_TEXT)) return reject(new Error(`the reply is not one compressed text frame (first byte 0x${got[0]!.toString(16)})`));
      let inflated: Buffer;
      try {
        // Z_SYNC_FLUSH: the stream does not end, it stops at the tail.
        inflated = inflateRawSync(Buffer.concat([got.subarray(header, header + length), TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
      } catch (error) {
        return reject(new Error(`the reply does not inflate: ${String(error)}`));
      }
      if (!inflated.equals(ring.originals[index]!)) reject(new Error('the server echoed different bytes'));
      else resolve();
    };
    client.socket.write(ring.bytes.subarray(ring.offsets[index]!, ring.offsets[index + 1]!));
  });
}

interface Running {
  counts(): { operations: number; wireBytes: number };
  stop(): void;
}

async function startEcho(job: DeflateWorkload): Promise<{ running: Running; started: Started }> {
  const ring = ringFor(job.message);
  const n = ring.originals.length;
  const conns = await openMany(job.port, job.connections, 100);
  await Promise.all(conns.map((conn, i) => verifyEcho(conn, ring, i % n)));

  const counters = conns.map(() => new FrameCounter());
  let running = true;
  conns.forEach((conn, i) => {
    const counter = counters[i]!;
    // The next message to send, cycling through the ring: a refill of k is at most two writes.
    let cursor = (i + 1) % n;
    const send = (k: number): void => {
      conn.socket.cork();
      while (k > 0) {
        const take = Math.min(k, n - cursor);
        conn.socket.write(ring.bytes.subarray(ring.offsets[cursor]!, ring.offsets[cursor + take]!));
        cursor = (cursor + take) % n;
        k -= take;
      }
      conn.socket.uncork();
    };
    conn.onBytes = (bytes) => {
      const done = counter.push(bytes);
      if (done > 0 && running) send(done);
    };
    send(job.window);
  });
  return {
    started: { extensions: conns[0]!.extensions, size: ring.originals[0]!.length, compressed: ring.compressed },
    running: {
      counts: () => ({
        operations: counters.reduce((sum, c) => sum + c.messages, 0),
        wireBytes: counters.reduce((sum, c) => sum + c.bytes, 0),
      }),
      stop: () => {
        running = false;
        for (const conn of conns) conn.socket.destroy();
      },
    },
  };
}

/**
 * What an idle connection does with what the server sends: a Pong for each
 * Ping (RFC 6455 §5.5.2), as any client would. steam-key's heartbeat pings
 * an idle connection and drops it when nothing comes back; --idle-wait may
 * outlast that. Pings are small and come alone, so each read holds whole frames.
 */
function answerPings(socket: Socket): (bytes: Buffer) => void {
  return (bytes) => {
    for (let pos = 0; pos + 2 <= bytes.length; ) {
      const opcode = bytes[pos]! & 0x0f;
      const length = bytes[pos + 1]! & 0x7f; // a control frame's payload is at most 125 bytes, unmasked from a server
      if (opcode === 0x9) socket.write(maskedFrame(0xa, bytes.subarray(pos + 2, pos + 2 + length)));
      pos += 2 + length;
    }
  };
}

let current: Running | null = null;
let idle: Client[] = [];

serveRequests(async (request) => {
  const job = request as DeflateJob;
  switch (job.kind) {
    case 'start': {
      if (current) throw new Error('a workload is already running');
      const { running, started } = await startEcho(job.workload);
      current = running;
      await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
      return started;
    }
    case 'mark': {
      if (!current) throw new Error('no workload is running');
      const { user, system } = process.cpuUsage();
      return { ...current.counts(), time: performance.now(), cpu: user + system } satisfies DeflateMark;
    }
    case 'stop':
      current?.stop();
      current = null;
      return {};
    case 'open': {
      // Each connection agrees deflate and echoes one JSON message (the server then holds whatever zlib state it keeps), then stays idle.
      const ring = ringFor('json');
      const opened = await openMany(job.port, job.connections, 100);
      for (let i = 0; i < opened.length; i += 100) {
        await Promise.all(opened.slice(i, i + 100).map((conn, j) => verifyEcho(conn, ring, (i + j) % ring.originals.length)));
      }
      for (const conn of opened) conn.onBytes = answerPings(conn.socket);
      idle.push(...opened);
      return { opened: opened.length };
    }
    case 'closeAll': {
      const all = idle;
      idle = [];
      await Promise.all(
        all.map(({ socket }) =>
          socket.destroyed ? undefined : new Promise<void>((resolve) => socket.once('close', () => resolve()).destroy()),
        ),
      );
      return {};
    }
  }
});
