/**
 * The attackers of `npm run bench:hostile` (hostile.ts): a child process that
 * runs hostile clients of issue 13's kinds against `steam-key serve` over raw
 * node:net sockets, each kind from its own loopback addresses (127.0.0.0/8 is
 * all loopback on Linux), so the per-address limits let them in as they
 * would let in a botnet of that many addresses:
 *
 * - idle:       upgrade, then never send anything (no hello); reconnect when closed;
 * - nonreading: hello, then 1 MB add-keys of one repeated key, again and again, never reading;
 * - fragments:  hello, then a ~1 MB text in 1-byte fragments, again and again;
 * - signin:     hello, then a login with a wrong password as soon as the previous one is answered;
 * - upgrade:    upgrade requests with a foreign Host or an 8 KB foreign Origin (refused: log flood).
 *
 * A connection the server closes is opened again after a short pause.
 * Jobs arrive over IPC (ipc.ts): start, stats, stop.
 */
import { connect, type Socket } from 'node:net';
import { KEY, maskedFrame } from './frames.js';
import { serveRequests } from './ipc.js';

export const KINDS = ['idle', 'nonreading', 'fragments', 'signin', 'upgrade'] as const;
export type Kind = (typeof KINDS)[number];

export interface KindPlan {
  kind: Kind;
  /** Connections kept open (upgrade: requests in flight at any time). */
  connections: number;
  /** Source addresses; connection i uses addresses[i % length]. */
  addresses: string[];
}

export type AttackJob = { kind: 'start'; port: number; plans: KindPlan[] } | { kind: 'stats' } | { kind: 'stop' };

export interface KindStats {
  /** WebSocket connections open now (upgrade: 0). */
  open: number;
  /** Upgrades answered 101 (upgrade: requests answered, with any status). */
  upgrades: number;
  /** Connections the server closed or refused. */
  closedByServer: number;
  /** Messages sent (upgrade: requests sent). */
  messages: number;
  /** Bytes written. */
  bytesSent: number;
  /** Replies by HTTP status, for the upgrade flood. */
  statuses: Record<string, number>;
}

const OP_TEXT = 0x1;
const RECONNECT_MS = 250;
/** Source of the masked bytes: a fixed key, as in frames.ts. */
const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

const text = (value: unknown): Buffer => maskedFrame(OP_TEXT, Buffer.from(JSON.stringify(value), 'utf8'));
const HELLO = text({ type: 'hello', version: 2 });
/** ~1 MB of one key: the server lists the repeats (issue 13, finding 2). */
const ADD_KEYS = text({ type: 'add-keys', text: 'AAAAA-BBBBB-CCCCC\n'.repeat(55_000) });

/** A text of `size` bytes as 1-byte frames: FIN only on the last, continuation frames after the first (RFC 6455 §5.4). */
function fragmented(size: number): Buffer {
  const frame = 2 + 4 + 1;
  const out = Buffer.allocUnsafe(size * frame);
  for (let i = 0; i < size; i++) {
    const at = i * frame;
    out[at] = (i === size - 1 ? 0x80 : 0) | (i === 0 ? OP_TEXT : 0x0);
    out[at + 1] = 0x80 | 1;
    MASK_KEY.copy(out, at + 2);
    out[at + 6] = 0x78 /* 'x' */ ^ MASK_KEY[0]!;
  }
  return out;
}
let fragmentsMessage: Buffer | null = null;

function upgradeRequest(port: number, host: string, origin?: string): Buffer {
  return Buffer.from(
    `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
      (origin === undefined ? '' : `Origin: ${origin}\r\n`) +
      '\r\n',
    'latin1',
  );
}

/** Text messages out of a server's unmasked frames (small ones: the attackers only look at replies to login). */
class TextReader {
  #buf = Buffer.alloc(0);
  push(chunk: Buffer, onText: (text: string) => void): void {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      const len7 = b[1]! & 0x7f;
      const head = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
      if (b.length < head) return;
      const length = len7 === 126 ? b.readUInt16BE(2) : len7 === 127 ? Number(b.readBigUInt64BE(2)) : len7;
      if (b.length < head + length) return;
      if ((b[0]! & 0x0f) === OP_TEXT) onText(b.toString('utf8', head, head + length));
      this.#buf = b.subarray(head + length);
    }
  }
}

const stats = new Map<Kind, KindStats>();
const sockets = new Set<Socket>();
let running = false;

function statsOf(kind: Kind): KindStats {
  let s = stats.get(kind);
  if (!s) stats.set(kind, (s = { open: 0, upgrades: 0, closedByServer: 0, messages: 0, bytesSent: 0, statuses: {} }));
  return s;
}

function send(socket: Socket, s: KindStats, frame: Buffer): boolean {
  s.messages++;
  s.bytesSent += frame.length;
  return socket.write(frame);
}

/**
 * Keeps one WebSocket connection of `kind` open from `address`: upgrade, then
 * `onOpen`; when the server closes it (or refuses the upgrade), again.
 */
function keepOpen(port: number, kind: Kind, address: string, onOpen: (socket: Socket, s: KindStats) => void): void {
  if (!running) return;
  const s = statsOf(kind);
  const socket = connect({ port, host: '127.0.0.1', localAddress: address, noDelay: true });
  sockets.add(socket);
  let head = '';
  let upgraded = false;
  const onHead = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onHead);
    if (!head.startsWith('HTTP/1.1 101 ')) return void socket.destroy();
    upgraded = true;
    s.upgrades++;
    s.open++;
    const rest = Buffer.from(head.slice(end + 4), 'latin1');
    onOpen(socket, s);
    if (rest.length > 0) socket.emit('data', rest);
  };
  socket.on('data', onHead);
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    if (upgraded) s.open--;
    if (!running) return;
    s.closedByServer++;
    setTimeout(() => keepOpen(port, kind, address, onOpen), RECONNECT_MS);
  });
  socket.write(upgradeRequest(port, `127.0.0.1:${port}`));
}

/** Writes `frame` again each time the socket drains, for as long as it is open. */
function flood(socket: Socket, s: KindStats, frame: Buffer): void {
  const more = (): void => {
    while (running && !socket.destroyed && send(socket, s, frame));
  };
  socket.on('drain', more);
  more();
}

const openers: Record<Exclude<Kind, 'upgrade'>, (socket: Socket, s: KindStats) => void> = {
  idle: (socket) => {
    socket.on('data', () => {});
  },
  nonreading: (socket, s) => {
    send(socket, s, HELLO);
    // Read nothing from here on: the server's replies pile up in its own buffers.
    socket.pause();
    flood(socket, s, ADD_KEYS);
  },
  fragments: (socket, s) => {
    socket.on('data', () => {});
    send(socket, s, HELLO);
    fragmentsMessage ??= fragmented(1_000_000);
    flood(socket, s, fragmentsMessage);
  },
  signin: (socket, s) => {
    const reader = new TextReader();
    let n = 0;
    const login = (): void => {
      if (running && !socket.destroyed) send(socket, s, text({ type: 'login', accountName: `victim${n++ % 1000}`, password: 'not the password' }));
    };
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (message) => {
        // Again as soon as the last one is answered: a refusal (any error) or a failed sign-in.
        if (message.includes('"type":"error"') || message.includes('"signed-out"') && message.includes('"reason"')) login();
        else if (message.includes('"type":"welcome"')) login();
      }),
    );
    send(socket, s, HELLO);
  },
};

/** One upgrade request after another: a Host the server does not answer to, or a matching Host with a foreign 8 KB Origin. */
function upgradeLoop(port: number, address: string, i: number): void {
  if (!running) return;
  const s = statsOf('upgrade');
  const socket = connect({ port, host: '127.0.0.1', localAddress: address });
  sockets.add(socket);
  const request =
    i % 2 === 0
      ? upgradeRequest(port, `evil${i}-${s.messages}.example`)
      : upgradeRequest(port, `127.0.0.1:${port}`, `https://${'o'.repeat(8000)}${s.messages}.example`);
  let head = '';
  let counted = false;
  socket.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (!counted && head.includes('\r\n')) {
      counted = true;
      const status = head.slice(9, 12);
      s.statuses[status] = (s.statuses[status] ?? 0) + 1;
      s.upgrades++;
      socket.destroy();
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    if (!counted && running) s.closedByServer++;
    // setImmediate, not a loop: one refused request after another, as fast as the server answers.
    setImmediate(() => upgradeLoop(port, address, i));
  });
  s.messages++;
  s.bytesSent += request.length;
  socket.write(request);
}

function start(port: number, plans: KindPlan[]): Record<string, never> {
  running = true;
  for (const plan of plans) {
    statsOf(plan.kind);
    for (let i = 0; i < plan.connections; i++) {
      const address = plan.addresses[i % plan.addresses.length]!;
      if (plan.kind === 'upgrade') upgradeLoop(port, address, i);
      else keepOpen(port, plan.kind, address, openers[plan.kind]);
    }
  }
  return {};
}

async function stop(): Promise<Record<Kind, KindStats>> {
  running = false;
  const closing = [...sockets].map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : (socket.once('close', () => resolve()), socket.destroy()))));
  await Promise.all(closing);
  const result = Object.fromEntries(stats) as Record<Kind, KindStats>;
  stats.clear();
  return result;
}

serveRequests(async (request) => {
  const job = request as AttackJob;
  switch (job.kind) {
    case 'start':
      return start(job.port, job.plans);
    case 'stats':
      return Object.fromEntries(stats);
    case 'stop':
      return stop();
  }
});

// The bench that started this process is gone: stop attacking.
process.on('disconnect', () => process.exit(0));
