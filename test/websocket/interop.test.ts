/**
 * Interoperability with an independent implementation: the `ws` package's
 * client (a dev dependency) against our router.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import { WebSocketRouter } from '../../lib/websocket/router.js';
import type { Channel } from '../../lib/websocket/channel.js';
import { waitFor } from '../helpers/raw-client.js';
import { echo, startServer } from '../helpers/server.js';

function open(url: string, protocols?: string[], options?: WebSocket.ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  return waitFor(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    }),
    'ws to open',
  );
}

const nextMessage = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  waitFor(new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))), 'a message');

const closeEvent = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  waitFor(new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))), 'close');

t.test('a ws client: handshake with subprotocol, echo of text, binary and a 2 MB message, ping, close codes both ways', async (t) => {
  const server = await startServer({
    limits: { maxMessageSize: 4 << 20, receiveHighWaterMark: 4 << 20, sendHighWaterMark: 4 << 20, closeTimeout: 200, heartbeatInterval: 0 },
    routes: {
      '/echo': [echo, { selectProtocol: (offered: string[]) => offered.find((p) => p === 'echo.v1') }],
      '/bye': async (ch: Channel) => ch.close(4321, 'server says bye'),
    },
  });
  t.teardown(() => server.close());
  const ws = await open(`ws://127.0.0.1:${server.port}/echo`, ['other', 'echo.v1']);
  t.equal(ws.protocol, 'echo.v1', 'ws accepted our Sec-WebSocket-Accept and subprotocol');

  ws.send('héllo');
  t.same(await nextMessage(ws), { data: Buffer.from('héllo'), isBinary: false });
  ws.send(Buffer.from([1, 2, 3]));
  t.same(await nextMessage(ws), { data: Buffer.from([1, 2, 3]), isBinary: true });
  const big = Buffer.alloc(2 << 20, 'z');
  ws.send(big);
  t.same((await nextMessage(ws)).data, big);

  const pong = waitFor(new Promise<Buffer>((resolve) => ws.once('pong', resolve)), 'pong');
  ws.ping('payload');
  t.same(await pong, Buffer.from('payload'));

  const channel = server.channels[0]!;
  const closed = closeEvent(ws);
  ws.close(4000, 'client says bye');
  t.same(await closed, { code: 4000, reason: '' }, 'our reply echoes the code');
  t.same(await waitFor(channel.closed, 'closed'), { code: 4000, reason: 'client says bye', wasClean: true });

  const ws2 = new WebSocket(`ws://127.0.0.1:${server.port}/bye`);
  t.same(await closeEvent(ws2), { code: 4321, reason: 'server says bye' });
  // closed reports the peer's Close frame: ws echoes our code and reason.
  t.same(await waitFor(server.channels[1]!.closed, 'closed'), { code: 4321, reason: 'server says bye', wasClean: true });
});

t.test('ws sees our handshake refusals', async (t) => {
  const server = await startServer({ allowOrigin: (origin) => origin !== 'https://evil.example', routes: { '/ws': echo } });
  t.teardown(() => server.close());
  const status = (url: string, options?: WebSocket.ClientOptions): Promise<number> =>
    waitFor(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, options);
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
          ws.terminate();
        });
        ws.once('open', () => reject(new Error('opened')));
        ws.once('error', () => {});
      }),
      'the refusal',
    );
  t.equal(await status(`ws://127.0.0.1:${server.port}/nope`), 404);
  t.equal(await status(`ws://127.0.0.1:${server.port}/ws`, { origin: 'https://evil.example' }), 403);
  t.equal(await status(`ws://127.0.0.1:${server.port}/ws`, { protocolVersion: 8 }), 426);
});

t.test('over TLS (wss): the router on a node:https server (§4.2.2 step 1, §10.6)', async (t) => {
  // The fake Steam's test certificate, issued to cm.fake-steam.test by the test CA.
  const fixture = (name: string): Buffer => readFileSync(new URL(`../fake-steam/fixtures/${name}`, import.meta.url));
  const server = createHttpsServer({ cert: fixture('server.pem'), key: fixture('server.key') });
  const router = new WebSocketRouter({ limits: { heartbeatInterval: 0, closeTimeout: 200 } }).route('/echo', echo).attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await router.closeAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  // ws hands TLS options to tls.connect, though its ClientOptions type does not list servername.
  const tlsOptions: WebSocket.ClientOptions & Pick<ConnectionOptions, 'servername'> = { ca: fixture('ca.pem'), servername: 'cm.fake-steam.test' };
  const ws = await open(`wss://127.0.0.1:${port}/echo`, undefined, tlsOptions);
  ws.send('over TLS ✓');
  t.same(await nextMessage(ws), { data: Buffer.from('over TLS ✓'), isBinary: false });
  const closed = closeEvent(ws);
  ws.close(1000);
  t.same(await closed, { code: 1000, reason: '' });
});
