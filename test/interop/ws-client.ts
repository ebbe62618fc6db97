/**
 * The `ws` package as a client peer, without its optional native addons
 * (bufferutil, utf-8-validate): the variables must be set before ws loads,
 * hence the dynamic import.
 */
import type WS from 'ws';

process.env.WS_NO_BUFFER_UTIL = '1';
process.env.WS_NO_UTF_8_VALIDATE = '1';
const { default: WebSocket } = await import('ws');

export { WebSocket };

export interface Received {
  data: Buffer;
  isBinary: boolean;
}

export interface WsClient {
  ws: WS;
  /** The next message received, in order. Rejects if the connection closes first. */
  next(): Promise<Received>;
  /** Payloads of the pongs received, in order. */
  pongs: Buffer[];
  /** The close code and reason ws observed (1006 when TCP closed without a Close frame). */
  closed: Promise<{ code: number; reason: string }>;
  /** The 101 response's Sec-WebSocket-Extensions (ws.extensions names only the extensions). */
  extensionsHeader: string | undefined;
}

/** Connects and resolves once open; every message is queued for next(). */
export async function openClient(url: string, options: WS.ClientOptions = {}): Promise<WsClient> {
  // maxPayload 0: no client-side limit, the server's limit is what is tested.
  const ws = new WebSocket(url, { maxPayload: 0, ...options });
  const queue: Received[] = [];
  const waiters: { resolve: (m: Received) => void; reject: (e: Error) => void }[] = [];
  const pongs: Buffer[] = [];
  let closedInfo: { code: number; reason: string } | null = null;
  let extensionsHeader: string | undefined;
  ws.once('upgrade', (response) => {
    const value = response.headers['sec-websocket-extensions'];
    extensionsHeader = Array.isArray(value) ? value.join(', ') : value;
  });

  ws.on('message', (data: WS.RawData, isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const message = { data: buf, isBinary };
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.push(message);
  });
  ws.on('pong', (data: Buffer) => pongs.push(data));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code: number, reason: Buffer) => {
      closedInfo = { code, reason: reason.toString('utf8') };
      for (const w of waiters.splice(0)) w.reject(new Error(`connection closed (${code}) before the next message`));
      resolve(closedInfo);
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {}); // reported through 'close'

  return {
    ws,
    pongs,
    closed,
    extensionsHeader,
    next() {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (closedInfo) return Promise.reject(new Error(`connection closed (${closedInfo.code})`));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
  };
}
