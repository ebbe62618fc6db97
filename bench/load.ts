/**
 * The load generator: a child process of the bench that speaks the client
 * side of WebSocket over raw node:net sockets. Every byte it sends is built
 * before timing starts (masking included) and it reads only frame headers,
 * so per message it does far less than any server it drives; the raw TCP
 * echo run shows how far it can go.
 *
 * Jobs arrive over IPC (see ipc.ts): echo, handshake, open, closeAll.
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

/** `concurrency` loops, each doing one handshake after another (see oneHandshake). */
export interface HandshakeWorkload {
  kind: 'handshake';
  port: number;
  concurrency: number;
}

export type Workload = EchoWorkload | HandshakeWorkload;

/**
 * Requests: `start` a workload (resolves after its warm-up, traffic keeps
 * flowing), `mark` it (counters so far), `stop` it; `open` idle connections
 * and keep them until `closeAll`.
 */
export type Job =
  | { kind: 'start'; workload: Workload; warmupMs: number }
  | { kind: 'mark' }
  | { kind: 'stop' }
  | { kind: 'open'; port: number; connections: number }
  | { kind: 'closeAll' };

export interface Mark {
  /** Messages echoed, or handshakes completed, since start. */
  operations: number;
  /** Payload bytes echoed since start. */
  bytes: number;
  /** performance.now() of this process, in ms. */
  time: number;
  /** This process's CPU time so far (user + system), in µs: shows whether the load generator is the bottleneck. */
  cpu: number;
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
}

/** TCP connect, send the upgrade request, wait for a 101 with the right Sec-WebSocket-Accept (§4.1). */
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
            return true; // keep reading
          },
        },
      }),
      onBytes: () => {},
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
      if (end + 4 < head.length) fail(new Error('the server sent frames before any message'));
      else resolve(client);
    };
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.write(request);
  });
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
async function openMany(port: number, path: string, count: number, parallel: number): Promise<Client[]> {
  const request = upgradeRequest(port, path);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startEcho(job: EchoWorkload): Promise<Running> {
  const payload = patternPayload(job.size);
  const frame = maskedFrame(OP_BINARY, payload);
  // A window's worth of frames back to back: a refill of k messages is one
  // write of its first k frames, with no per-message work at all.
  const batch = Buffer.concat(Array.from({ length: job.window }, () => frame));
  const expected = job.raw ? frame : serverFrame(OP_BINARY, payload);

  const conns = await openMany(job.port, '/', job.connections, 100);
  await Promise.all(conns.map((conn) => verifyEcho(conn, frame, expected)));

  const counters = conns.map(() => new FrameCounter());
  let running = true;
  conns.forEach((conn, i) => {
    const counter = counters[i]!;
    conn.onBytes = (bytes) => {
      const done = counter.push(bytes);
      if (done > 0 && running) conn.socket.write(done === job.window ? batch : batch.subarray(0, done * frame.length));
    };
    conn.socket.on('error', () => {}); // shows as missing throughput, if ever
    conn.socket.write(batch);
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
  const client = await openWebSocket(port, request);
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

async function start(workload: Workload, warmupMs: number): Promise<Record<string, never>> {
  if (current) throw new Error('a workload is already running');
  current = workload.kind === 'echo' ? await startEcho(workload) : startHandshakes(workload);
  await sleep(warmupMs);
  return {};
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

async function open(port: number, connections: number): Promise<{ opened: number }> {
  const opened = await openMany(port, '/', connections, 200);
  for (const conn of opened) conn.socket.on('error', () => {});
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
      return open(job.port, job.connections);
    case 'closeAll':
      return closeAll();
  }
});
