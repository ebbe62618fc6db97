/**
 * A deliberately small WebSocket client for tests, on a raw TCP socket: it
 * sends whatever bytes a test crafts (masked client frames from encodeFrame,
 * or garbage), parses the server's frames with its own code (independent of
 * lib/websocket's parser), and reports when the server ends or closes TCP.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { encodeFrame } from '../../lib/websocket/frame.js';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** Generous upper bound for "eventually"; not a timing assertion. */
export const EVENTUALLY = 5_000;

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Bytes after the response head (frames that followed a 101). */
  rest: Buffer;
}

export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Request headers of a valid opening handshake (RFC 6455 §4.1). */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': SAMPLE_KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
}

export function requestText(path: string, headers: Record<string, string | null>, method = 'GET', version = '1.1'): string {
  let text = `${method} ${path} HTTP/${version}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== null) text += `${name}: ${value}\r\n`;
  return text + '\r\n';
}

/** Splits a response head from what follows; null while incomplete. */
function parseResponse(buf: Buffer): { head: HttpResponse; headEnd: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { head: { status, headers, body: '', rest: Buffer.alloc(0) }, headEnd: end + 4 };
}

/** `localAddress`: another loopback address (127.0.0.2…) is another client address to the server. */
export function tcpConnect(port: number, allowHalfOpen = false, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen, ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * A connected TCP pair without a handshake, for a Connection or Channel built
 * by hand: `socket` is the server's side (allowHalfOpen, like node:http's
 * sockets), `peer` the client's, its errors ignored. Both close at teardown.
 */
export async function socketPair(t: { teardown(fn: () => unknown): void }): Promise<{ peer: Socket; socket: Socket }> {
  const plain = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plain.close());
  const accepted = new Promise<Socket>((resolve) => plain.once('connection', resolve));
  const peer = await tcpConnect((plain.address() as AddressInfo).port);
  peer.on('error', () => {});
  t.teardown(() => peer.destroy());
  const socket = await accepted;
  t.teardown(() => socket.destroy());
  return { peer, socket };
}

/**
 * Sends raw request bytes and reads the whole HTTP response until the server
 * closes the connection (an error response closes it). Body is what followed
 * the head.
 */
export async function httpExchange(port: number, request: string | Buffer, localAddress?: string): Promise<HttpResponse & { closed: true }> {
  const socket = await tcpConnect(port, false, localAddress);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  socket.write(request);
  await waitFor(new Promise<void>((resolve) => socket.on('close', () => resolve())), 'server to close the connection');
  const all = Buffer.concat(chunks);
  const parsed = parseResponse(all);
  if (!parsed) throw new Error(`no complete HTTP response: ${JSON.stringify(all.toString('latin1'))}`);
  const body = all.subarray(parsed.headEnd);
  return { ...parsed.head, body: body.toString('utf8'), rest: body, closed: true };
}

/** A GET with headers fetch() will not send (Host); its status and body, read to the end. */
export function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

/** Rejects if `promise` has not settled within `ms` (a hang guard, not a timing assertion). */
export function waitFor<T>(promise: Promise<T>, what: string, ms = EVENTUALLY): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface OpenOptions {
  path?: string;
  headers?: Record<string, string>;
  /** Bytes sent in the same write as the handshake request (frames packed behind it). */
  after?: Buffer;
  /** Keep our side of TCP open after the server's FIN (Node ends it by default). */
  allowHalfOpen?: boolean;
  /** Connect from this local address (tcpConnect). */
  localAddress?: string;
}

/** Opens a WebSocket connection; rejects unless the server answers 101. */
export async function openClient(port: number, options: OpenOptions = {}): Promise<RawClient> {
  const socket = await tcpConnect(port, options.allowHalfOpen, options.localAddress);
  socket.on('error', () => {}); // a reset: 'close' follows and rejects below
  const request = Buffer.from(requestText(options.path ?? '/', upgradeHeaders(options.headers)), 'latin1');
  socket.write(options.after ? Buffer.concat([request, options.after]) : request);
  let buf = Buffer.alloc(0);
  const { head, headEnd } = await waitFor(
    new Promise<{ head: HttpResponse; headEnd: number }>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        const parsed = parseResponse(buf);
        if (!parsed) return;
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(parsed);
      };
      const onClose = (): void => reject(new Error(`closed during handshake: ${buf.toString('latin1')}`));
      socket.on('data', onData);
      socket.on('close', onClose);
    }),
    'the handshake response',
  );
  if (head.status !== 101) {
    socket.destroy();
    throw new Error(`handshake answered ${head.status}`);
  }
  return new RawClient(socket, head, buf.subarray(headEnd));
}

export interface SendFrameOptions {
  fin?: boolean;
  rsv?: number;
  /** Default true: a client must mask (§5.1). */
  masked?: boolean;
  maskKey?: Uint8Array;
}

/** Builds the bytes of one client frame, masked with a random key unless told otherwise. */
export function clientFrame(opcode: number, payload: Uint8Array | string = '', options: SendFrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = options;
  const maskKey = masked ? (options.maskKey ?? randomBytes(4)) : undefined;
  return encodeFrame(opcode, payload, maskKey ? { fin, rsv, maskKey } : { fin, rsv });
}

export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

export class RawClient {
  readonly socket: Socket;
  readonly response: HttpResponse;
  /** Every frame received, in order (also those already taken by nextFrame). */
  readonly received: ServerFrame[] = [];
  /** Answer pings with pongs (like a browser). Off by default so tests see the pings. */
  autoPong = false;

  #buf: Buffer;
  #queue: ServerFrame[] = [];
  #waiters: ((frame: ServerFrame | null) => void)[] = [];
  #tcpClosed = false;
  #serverEnded = false;
  readonly closedTcp: Promise<void>;
  /** Resolves when the server sent its TCP FIN (or the connection closed). */
  readonly serverEnded: Promise<void>;
  #protocolError: string | null = null;

  constructor(socket: Socket, response: HttpResponse, rest: Buffer) {
    this.socket = socket;
    this.response = response;
    this.#buf = Buffer.alloc(0);
    socket.on('error', () => {});
    let resolveEnded!: () => void;
    this.serverEnded = new Promise((resolve) => (resolveEnded = resolve));
    socket.on('end', () => {
      this.#serverEnded = true;
      resolveEnded();
    });
    this.closedTcp = new Promise((resolve) => {
      socket.on('close', () => {
        this.#tcpClosed = true;
        resolveEnded();
        for (const w of this.#waiters) w(null);
        this.#waiters = [];
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    if (rest.length > 0) this.#onData(rest);
  }

  get tcpClosed(): boolean {
    return this.#tcpClosed;
  }

  get serverHasEnded(): boolean {
    return this.#serverEnded;
  }

  /** Any violation by the server seen by the parser (masked frame, RSV set). */
  get protocolError(): string | null {
    return this.#protocolError;
  }

  write(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) resolve();
      else this.socket.write(bytes, () => resolve());
    });
  }

  sendFrame(opcode: number, payload: Uint8Array | string = '', options: SendFrameOptions = {}): Promise<void> {
    return this.write(clientFrame(opcode, payload, options));
  }

  sendText(text: string): Promise<void> {
    return this.sendFrame(OP.TEXT, text);
  }

  sendBinary(bytes: Uint8Array): Promise<void> {
    return this.sendFrame(OP.BINARY, bytes);
  }

  /** Sends a Close frame; no code means an empty payload. */
  sendClose(code?: number, reason = ''): Promise<void> {
    return this.sendFrame(OP.CLOSE, code === undefined ? '' : closePayload(code, reason));
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** The next frame from the server, or null once TCP closed with none left; `ms` is the hang guard. */
  nextFrame(what = 'a frame from the server', ms = EVENTUALLY): Promise<ServerFrame | null> {
    const frame = this.#queue.shift();
    if (frame) return Promise.resolve(frame);
    if (this.#tcpClosed) return Promise.resolve(null);
    return waitFor(new Promise((resolve) => this.#waiters.push(resolve)), what, ms);
  }

  /** The next data frame (skipping pings/pongs); null once TCP closed. */
  async nextDataFrame(): Promise<ServerFrame | null> {
    for (;;) {
      const frame = await this.nextFrame('a data frame');
      if (frame === null || (frame.opcode !== OP.PING && frame.opcode !== OP.PONG)) return frame;
    }
  }

  /** The next message as text (TEXT frame, fin) — fails on anything else. */
  async nextText(): Promise<string> {
    const frame = await this.nextDataFrame();
    if (!frame || frame.opcode !== OP.TEXT) throw new Error(`expected a text frame, got ${describe(frame)}`);
    return frame.payload.toString('utf8');
  }

  /**
   * Reads frames until the server's Close frame, skipping pings, pongs and
   * data; returns its code (null when the payload was empty) and reason, or
   * null if TCP closed without a Close frame.
   */
  async nextClose(): Promise<{ code: number | null; reason: string; skipped: ServerFrame[] } | null> {
    const skipped: ServerFrame[] = [];
    for (;;) {
      const frame = await this.nextFrame('a Close frame');
      if (frame === null) return null;
      if (frame.opcode !== OP.CLOSE) {
        skipped.push(frame);
        continue;
      }
      const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
      return { code, reason: frame.payload.subarray(2).toString('utf8'), skipped };
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const frame = this.#parseOne();
      if (!frame) return;
      this.received.push(frame);
      if (this.autoPong && frame.opcode === OP.PING) void this.sendFrame(OP.PONG, frame.payload);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.#queue.push(frame);
    }
  }

  /** A plain reading of RFC 6455 §5.2, written independently of lib/websocket/frame.ts. */
  #parseOne(): ServerFrame | null {
    const buf = this.#buf;
    if (buf.length < 2) return null;
    const b0 = buf[0]!;
    const b1 = buf[1]!;
    let length = b1 & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buf.length < 4) return null;
      length = buf.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) return null;
      length = Number(buf.readBigUInt64BE(2));
      offset = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | null = null;
    if (masked) {
      if (buf.length < offset + 4) return null;
      key = buf.subarray(offset, offset + 4);
      offset += 4;
    }
    if (buf.length < offset + length) return null;
    const payload = Buffer.from(buf.subarray(offset, offset + length));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    this.#buf = buf.subarray(offset + length);
    const frame = { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload };
    if (masked) this.#protocolError ??= 'server sent a masked frame (§5.1)';
    if (frame.rsv !== 0) this.#protocolError ??= 'server set RSV bits (§5.2)';
    return frame;
  }
}

export function describe(frame: ServerFrame | null): string {
  if (!frame) return 'TCP close';
  return `opcode ${frame.opcode} fin=${frame.fin} len=${frame.payload.length}`;
}
