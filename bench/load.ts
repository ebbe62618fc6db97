/**
 * The load generator: a child process of the bench that speaks the client
 * side of WebSocket over raw node:net sockets. Every byte it sends is built
 * before timing starts (masking included) and it reads only frame headers,
 * so per message it does far less than any server it drives; the raw TCP
 * echo run shows how far it can go.
 *
 * With permessage-deflate (RFC 7692) it offers what Chromium offers and sends
 * text compressed beforehand (deflate-frames.ts), so it does no zlib work
 * while timing either; it inflates only one reply per connection, to check it.
 *
 * Jobs arrive over IPC (see ipc.ts): start (an echo, compressed or not, or
 * handshakes), mark, stop, open, closeAll.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  ACCEPT,
  closeFrame,
  FrameCounter,
  maskedFrame,
  OP_BINARY,
  patternPayload,
  serverFrame,
  upgradeRequest,
} from './frames.js';
import { checkCompressedReply, compressedRing, OFFERS, ringOf, type MessageKind, type Offer, type Ring } from './deflate-frames.js';
import { serveRequests } from './ipc.js';

/** Echo traffic: every connection keeps `window` messages of `size` bytes in flight. */
export interface EchoWorkload {
  kind: 'echo';
  port: number;
  connections: number;
  window: number;
  size: number;
  /** The server is the raw TCP echo: it sends our masked frames back as they are. */
  raw: boolean;
}

/**
 * Compressed echo traffic: every connection agrees permessage-deflate (with
 * context takeover, as browsers ask) and keeps `window` compressed text
 * messages in flight, cycling through distinct ones (deflate-frames.ts).
 */
export interface DeflateEchoWorkload {
  kind: 'deflate-echo';
  port: number;
  connections: number;
  window: number;
  message: MessageKind;
}

/** `concurrency` loops, each doing one handshake after another (see oneHandshake). */
export interface HandshakeWorkload {
  kind: 'handshake';
  port: number;
  concurrency: number;
}

export type Workload = EchoWorkload | DeflateEchoWorkload | HandshakeWorkload;

/**
 * Requests: `start` a workload (resolves after its warm-up, traffic keeps
 * flowing), `mark` it (counters so far), `stop` it; `open` idle connections
 * and keep them until `closeAll` (with `deflate`, each agrees permessage-deflate
 * with that offer and echoes one compressed 1 KiB message first, so that the
 * server holds whatever zlib state it keeps).
 */
export type Job =
  | { kind: 'start'; workload: Workload; warmupMs: number }
  | { kind: 'mark' }
  | { kind: 'stop' }
  | { kind: 'open'; port: number; connections: number; deflate?: Offer }
  | { kind: 'closeAll' };

export interface Mark {
  /** Messages echoed, or handshakes completed, since start. */
  operations: number;
  /** Payload bytes of the replies since start (on the wire: compressed, for a compressed echo). */
  bytes: number;
  /** performance.now() of this process, in ms. */
  time: number;
  /** This process's CPU time so far (user + system), in µs: shows whether the load generator is the bottleneck. */
  cpu: number;
}

/** What `start` answers: for a compressed echo, the agreement and one message's size before and after compression. */
export interface Started {
  extensions?: string;
  size?: number;
  compressed?: number;
}

interface Running {
  counts(): { operations: number; bytes: number };
  stop(): Promise<void>;
}

/**
 * Every socket reads into this one buffer (node:net's `onread`): no Buffer is
 * allocated per read, and a large buffer means fewer read system calls.
 * Sharing it is safe because each read is consumed before the next callback.
 */
const READ_BUFFER = Buffer.allocUnsafe(1024 * 1024);

type OnBytes = (bytes: Buffer) => void;

/** A client socket whose received bytes go to a handler that can be swapped as the connection goes on. */
interface Client {
  socket: Socket;
  onBytes: OnBytes;
  /** The server's Sec-WebSocket-Extensions answer ('' if none). */
  extensions: string;
}

/**
 * TCP connect, send the upgrade request, wait for a 101 with the right
 * Sec-WebSocket-Accept (§4.1); with `deflate`, the request offers it and the
 * server must agree it (RFC 7692 §5).
 */
function openWebSocket(port: number, request: Buffer, deflate: boolean): Promise<Client> {
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
            return true; // keep reading
          },
        },
      }),
      onBytes: () => {},
      extensions: '',
    };
    const socket = client.socket;
    let head = '';
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onClose = (): void => fail(new Error('connection closed during the handshake'));
    const cleanup = (): void => {
      client.onBytes = () => {};
      socket.off('error', fail);
      socket.off('close', onClose);
    };
    client.onBytes = (bytes) => {
      head += bytes.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      cleanup();
      if (!head.startsWith('HTTP/1.1 101 ') || !head.includes(ACCEPT)) {
        fail(new Error(`handshake refused: ${head.slice(0, head.indexOf('\r\n'))}`));
        return;
      }
      client.extensions = /\r\nsec-websocket-extensions: *([^\r]*)/i.exec(head.slice(0, end + 2))?.[1] ?? '';
      if (deflate && !client.extensions.toLowerCase().startsWith('permessage-deflate')) {
        fail(new Error(`the server did not agree permessage-deflate: '${client.extensions}'`));
      } else if (end + 4 < head.length) fail(new Error('the server sent frames before any message'));
      else resolve(client);
    };
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.write(request);
  });
}

/** The upgrade request, offering permessage-deflate with `offer` if given. */
function requestFor(port: number, path: string, offer: Offer | undefined): Buffer {
  const plain = upgradeRequest(port, path);
  if (offer === undefined) return plain;
  return Buffer.from(plain.toString('latin1').replace(/\r\n\r\n$/, `\r\nSec-WebSocket-Extensions: ${OFFERS[offer]}\r\n\r\n`), 'latin1');
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
async function openMany(port: number, path: string, count: number, parallel: number, offer?: Offer): Promise<Client[]> {
  const request = requestFor(port, path, offer);
  const opened: Client[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      opened.push(await openWebSocket(port, request, offer !== undefined));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return opened;
}

/**
 * Sends one message and checks that exactly the expected bytes come back:
 * a benchmark of a server that echoes wrong bytes would measure nothing.
 */
function verifyEcho(client: Client, frame: Buffer, expected: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let have = 0;
    client.onBytes = (bytes) => {
      parts.push(Buffer.from(bytes)); // a copy: the read buffer is reused
      have += bytes.length;
      if (have < expected.length) return;
      client.onBytes = () => {};
      if (have > expected.length || !Buffer.concat(parts).equals(expected)) reject(new Error('the server echoed different bytes'));
      else resolve();
    };
    client.socket.write(frame);
  });
}

/**
 * Sends a compressed message (frame `index` of `ring`) and checks that the
 * reply inflates to it (deflate-frames.ts). It must be the connection's
 * first, or else the reply may refer to earlier ones.
 */
function verifyCompressedEcho(client: Client, ring: Ring, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    client.onBytes = (bytes) => {
      parts.push(Buffer.from(bytes)); // a copy: the read buffer is reused
      const got = Buffer.concat(parts);
      const counter = new FrameCounter();
      if (counter.push(got) === 0) return; // not one whole frame yet
      client.onBytes = () => {};
      const problem = checkCompressedReply(got, ring.originals[index]!);
      if (problem === null) resolve();
      else reject(new Error(problem));
    };
    client.socket.write(ring.bytes.subarray(ring.offsets[index]!, ring.offsets[index + 1]!));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startEcho(job: EchoWorkload): Promise<Running> {
  const payload = patternPayload(job.size);
  const frame = maskedFrame(OP_BINARY, payload);
  const expected = job.raw ? frame : serverFrame(OP_BINARY, payload);
  const conns = await openMany(job.port, '/', job.connections, 100);
  await Promise.all(conns.map((conn) => verifyEcho(conn, frame, expected)));
  // A window's worth of the same frame back to back: a refill of k messages
  // is one write of its first k frames, with no per-message work at all.
  return drive(conns, ringOf(Array.from({ length: job.window }, () => frame), [payload], payload.length), job.window, true);
}

async function startDeflateEcho(job: DeflateEchoWorkload): Promise<{ running: Running; started: Started }> {
  const ring = compressedRing(job.message);
  const n = ring.originals.length;
  const conns = await openMany(job.port, '/', job.connections, 100, 'takeover');
  await Promise.all(conns.map((conn, i) => verifyCompressedEcho(conn, ring, i % n)));
  return { running: drive(conns, ring, job.window, false), started: { extensions: conns[0]!.extensions, size: ring.size, compressed: ring.compressed } };
}

/**
 * Keeps `window` messages in flight on every connection: each reply's header
 * read sends the next message. `same`: the ring's frames are all alike, and
 * a refill of k is its first k; otherwise each connection cycles through the
 * ring, a refill of k being at most two writes.
 */
function drive(conns: Client[], ring: Ring, window: number, same: boolean): Running {
  const n = ring.offsets.length - 1;
  const counters = conns.map(() => new FrameCounter());
  let running = true;
  conns.forEach((conn, i) => {
    const counter = counters[i]!;
    const socket = conn.socket;
    let cursor = (i + 1) % n; // the first message went out in the check
    const send = (k: number): void => {
      if (same) return void socket.write(k === n ? ring.bytes : ring.bytes.subarray(0, ring.offsets[k]!));
      socket.cork();
      while (k > 0) {
        const take = Math.min(k, n - cursor);
        socket.write(ring.bytes.subarray(ring.offsets[cursor]!, ring.offsets[cursor + take]!));
        cursor = (cursor + take) % n;
        k -= take;
      }
      socket.uncork();
    };
    conn.onBytes = (bytes) => {
      const done = counter.push(bytes);
      if (done > 0 && running) send(done);
    };
    socket.on('error', () => {}); // shows as missing throughput, if ever
    send(window);
  });
  return {
    counts: () => {
      let operations = 0;
      let bytes = 0;
      for (const c of counters) {
        operations += c.messages;
        bytes += c.bytes;
      }
      return { operations, bytes };
    },
    stop: async () => {
      running = false;
      for (const conn of conns) conn.socket.destroy();
    },
  };
}

/**
 * One handshake as the bench defines it: TCP connect, upgrade request, the
 * 101 response, a Close frame (1000) sent, the server's Close frame received,
 * and the TCP connection closed (by the server first, as §7.1.1 says).
 */
async function oneHandshake(port: number, request: Buffer, close: Buffer): Promise<void> {
  const client = await openWebSocket(port, request, false);
  const socket = client.socket;
  await new Promise<void>((resolve, reject) => {
    const counter = new FrameCounter();
    client.onBytes = (bytes) => {
      counter.push(bytes);
      if (counter.closes > 0) socket.end();
    };
    socket.on('error', reject);
    socket.on('close', () => (counter.closes > 0 ? resolve() : reject(new Error('closed without a Close frame'))));
    socket.write(close);
  });
}

function startHandshakes(job: HandshakeWorkload): Running {
  // The raw TCP server answers a Close on this path (see servers/tcp-echo.ts); WebSocket servers ignore the path.
  const request = upgradeRequest(job.port, '/handshake');
  const close = closeFrame();
  let completed = 0;
  let running = true;
  let failure: unknown = null;
  const loop = async (): Promise<void> => {
    while (running) {
      await oneHandshake(job.port, request, close);
      completed++;
    }
  };
  const loops = Promise.all(Array.from({ length: job.concurrency }, loop)).catch((error: unknown) => {
    failure = error;
    running = false;
  });
  return {
    counts: () => {
      if (failure !== null) throw failure;
      return { operations: completed, bytes: 0 };
    },
    stop: async () => {
      running = false;
      await loops;
      if (failure !== null) throw failure;
    },
  };
}

let current: Running | null = null;

async function start(workload: Workload, warmupMs: number): Promise<Started> {
  if (current) throw new Error('a workload is already running');
  let started: Started = {};
  if (workload.kind === 'deflate-echo') ({ running: current, started } = await startDeflateEcho(workload));
  else current = workload.kind === 'echo' ? await startEcho(workload) : startHandshakes(workload);
  await sleep(warmupMs);
  return started;
}

function mark(): Mark {
  if (!current) throw new Error('no workload is running');
  const { user, system } = process.cpuUsage();
  return { ...current.counts(), time: performance.now(), cpu: user + system };
}

async function stop(): Promise<Record<string, never>> {
  const running = current;
  current = null;
  await running?.stop();
  return {};
}

let idle: Client[] = [];

async function open(port: number, connections: number, deflate: Offer | undefined): Promise<{ opened: number }> {
  const opened = await openMany(port, '/', connections, 200, deflate);
  for (const conn of opened) conn.socket.on('error', () => {});
  if (deflate !== undefined) {
    const ring = compressedRing('json');
    for (let i = 0; i < opened.length; i += 100) {
      await Promise.all(opened.slice(i, i + 100).map((conn, j) => verifyCompressedEcho(conn, ring, (i + j) % ring.originals.length)));
    }
  }
  idle.push(...opened);
  return { opened: opened.length };
}

async function closeAll(): Promise<Record<string, never>> {
  const all = idle;
  idle = [];
  await Promise.all(
    all.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', () => resolve());
          socket.destroy();
        }),
    ),
  );
  return {};
}

serveRequests(async (request) => {
  const job = request as Job;
  switch (job.kind) {
    case 'start':
      return start(job.workload, job.warmupMs);
    case 'mark':
      return mark();
    case 'stop':
      return stop();
    case 'open':
      return open(job.port, job.connections, job.deflate);
    case 'closeAll':
      return closeAll();
  }
});
