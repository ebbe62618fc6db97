/**
 * The router on a real node:http server: the opening handshake as a client
 * sees it on the wire (§4.2), routing by path, Origin, subprotocols, plain
 * HTTP requests, malformed requests and the handshake timeout.
 */
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel } from '../../lib/websocket/channel.js';
import { httpServerOptions, resolveLimits } from '../../lib/websocket/limits.js';
import { WebSocketRouter } from '../../lib/websocket/router.js';
import {
  httpExchange,
  openClient,
  requestText,
  SAMPLE_KEY,
  socketPair,
  tcpConnect,
  upgradeHeaders,
  waitFor,
  type HttpResponse,
} from '../helpers/raw-client.js';
import { echo, startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function setup(t: Tap, options: TestServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ ...options, limits: { closeTimeout: 200, heartbeatInterval: 0, ...options.limits } });
  t.teardown(() => server.close());
  return server;
}

const ask = (server: TestServer, path: string, headers: Record<string, string | null>, method = 'GET', version = '1.1'): Promise<HttpResponse> =>
  httpExchange(server.port, requestText(path, headers, method, version));

/** Headers of a valid upgrade, with some replaced (null removes one). */
const withHeaders = (changes: Record<string, string | null>): Record<string, string | null> => ({ ...upgradeHeaders(), ...changes });

t.test('a valid handshake: 101 with the right Sec-WebSocket-Accept (§4.2.2)', async (t) => {
  const server = await setup(t, { routes: { '/ws': echo } });
  const c = await openClient(server.port, { path: '/ws' });
  t.teardown(() => c.destroy());
  t.equal(c.response.status, 101);
  t.equal(c.response.headers['upgrade']?.toLowerCase(), 'websocket');
  t.equal(c.response.headers['connection']?.toLowerCase(), 'upgrade');
  t.equal(c.response.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'the §1.3 sample key gives the §1.3 sample accept');
  t.notOk('sec-websocket-protocol' in c.response.headers, 'no subprotocol when none was offered');
  t.notOk('sec-websocket-extensions' in c.response.headers, 'no extension');
  await c.sendText('works');
  t.equal(await c.nextText(), 'works');
});

t.test('an offered extension is not accepted: no Sec-WebSocket-Extensions, frames keep RSV clear (§4.2.2, §9)', async (t) => {
  const server = await setup(t);
  const c = await openClient(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' } });
  t.teardown(() => c.destroy());
  t.equal(c.response.status, 101);
  t.notOk('sec-websocket-extensions' in c.response.headers, 'the server lists no extension');
  await c.sendText('x'.repeat(1000)); // compressible: a deflating server would set RSV1
  t.match(await c.nextFrame(), { opcode: 0x1, rsv: 0, payload: Buffer.from('x'.repeat(1000)) });
  const bad = await ask(server, '/', withHeaders({ 'Sec-WebSocket-Extensions': 'permessage-deflate; =15' }));
  t.equal(bad.status, 400, 'a malformed offer is refused (§9.1)');
  t.match(bad.body, /Extensions/);
});

t.test('Connection/Upgrade token lists and case are accepted on the wire', async (t) => {
  const server = await setup(t);
  const variants: Record<string, string>[] = [{ Connection: 'keep-alive, Upgrade' }, { Connection: 'upgrade' }, { Upgrade: 'WebSocket' }, { Connection: 'Upgrade, HTTP2-Settings' }];
  for (const changes of variants) {
    const c = await openClient(server.port, { headers: changes }).catch((err: Error) => err);
    t.notOk(c instanceof Error, `101 for ${JSON.stringify(changes)}`);
    if (!(c instanceof Error)) c.destroy();
  }
});

t.test('bad requests get the documented status, a short plain-text reason, and the connection closed', async (t) => {
  const server = await setup(t, { routes: { '/ws': echo } });
  const cases: [string, Promise<HttpResponse>, number, RegExp, Record<string, string>?][] = [
    ['version 8', ask(server, '/ws', withHeaders({ 'Sec-WebSocket-Version': '8' })), 426, /version/i, { 'sec-websocket-version': '13' }],
    ['no version', ask(server, '/ws', withHeaders({ 'Sec-WebSocket-Version': null })), 426, /version/i, { 'sec-websocket-version': '13' }],
    ['POST', ask(server, '/ws', withHeaders({}), 'POST'), 405, /GET/, { allow: 'GET' }],
    ['HTTP/1.0', ask(server, '/ws', withHeaders({}), 'GET', '1.0'), 400, /HTTP\/1\.1/],
    ['no Host', ask(server, '/ws', withHeaders({ Host: null })), 400, /Host/],
    ['no key', ask(server, '/ws', withHeaders({ 'Sec-WebSocket-Key': null })), 400, /Sec-WebSocket-Key/],
    ['a short key', ask(server, '/ws', withHeaders({ 'Sec-WebSocket-Key': 'c2hvcnQ=' })), 400, /Sec-WebSocket-Key/],
    ['a key sent twice', httpExchange(server.port, requestText('/ws', withHeaders({})).replace('\r\n\r\n', `\r\nSec-WebSocket-Key: ${SAMPLE_KEY}\r\n\r\n`)), 400, /Sec-WebSocket-Key/],
    ['Upgrade: h2c', ask(server, '/ws', withHeaders({ Upgrade: 'h2c' })), 426, /WebSocket/, { upgrade: 'websocket' }],
    ['a malformed protocol list', ask(server, '/ws', withHeaders({ 'Sec-WebSocket-Protocol': 'a, a' })), 400, /Protocol/],
    ['an unknown path', ask(server, '/nope', withHeaders({})), 404, /path/],
    ['a path that only ends like a route', ask(server, '//evil/ws', withHeaders({})), 404, /path/],
    ['the asterisk form', ask(server, '*', withHeaders({})), 400, /target/],
  ];
  for (const [what, response, status, reason, headers] of cases) {
    const res = await response;
    t.equal(res.status, status, `${what}: ${status}`);
    t.match(res.body, reason, `${what}: reason ${JSON.stringify(res.body.trim())}`);
    t.ok(res.body.length < 200 && res.body.endsWith('\n'), `${what}: a short line of text`);
    t.match(res.headers['content-type'] ?? '', /^text\/plain/, `${what}: plain text`);
    if (headers) t.match(res.headers, headers, `${what}: headers`);
  }
});

t.test('Origin (§10.2): a disallowed origin is refused with 403', async (t) => {
  const seen: (string | undefined)[] = [];
  const server = await setup(t, {
    allowOrigin: (origin) => {
      seen.push(origin);
      return origin === 'https://good.example';
    },
  });
  const good = await openClient(server.port, { headers: { Origin: 'https://good.example' } });
  good.destroy();
  const bad = await ask(server, '/', withHeaders({ Origin: 'https://evil.example' }));
  t.equal(bad.status, 403);
  t.match(bad.body, /origin/);
  const none = await ask(server, '/', withHeaders({}));
  t.equal(none.status, 403, 'no Origin is up to the callback too');
  t.same(seen, ['https://good.example', 'https://evil.example', undefined]);
});

t.test('refuse: the application refuses an upgrade with its own status, before the Origin check', async (t) => {
  const originsSeen: (string | undefined)[] = [];
  const boom = new Error('refuse bug');
  const server = await setup(t, {
    refuse: (req) => {
      if (req.headers.host === 'boom.example') throw boom;
      if (req.headers.host === 'odd.example') return { status: 200, reason: 'not a refusal' };
      return req.headers.host === 'evil.example' ? { status: 421, reason: 'not this host' } : undefined;
    },
    allowOrigin: (origin) => {
      originsSeen.push(origin);
      return true;
    },
  });
  const refused = await ask(server, '/', withHeaders({ Host: 'evil.example', Origin: 'https://evil.example' }));
  t.equal(refused.status, 421);
  t.match(refused.headers.connection ?? '', /close/);
  t.match(refused.body, /not this host/);
  t.same(originsSeen, [], 'the Origin check is not asked about a refused request');
  const passed = await openClient(server.port, { headers: { Origin: 'https://good.example' } });
  t.equal(passed.response.status, 101, 'undefined lets the handshake go on');
  passed.destroy();
  t.same(originsSeen, ['https://good.example']);
  t.equal((await ask(server, '/', withHeaders({ Host: 'boom.example' }))).status, 500, 'a throwing hook costs the handshake');
  t.equal((await ask(server, '/', withHeaders({ Host: 'odd.example' }))).status, 500, 'a status that is no refusal is a bug in the hook');
  t.equal(server.handlerErrors.length, 2);
  t.equal(server.handlerErrors[0], boom);
});

t.test('subprotocols: the callback sees the offer in order and picks one or none (§4.2.2)', async (t) => {
  const offers: string[][] = [];
  const server = await setup(t, {
    routes: {
      '/pick': [
        async (ch: Channel) => {
          await ch.send(`protocol=${ch.protocol}`);
          await ch.closed;
        },
        {
          selectProtocol: (offered: string[]) => {
            offers.push(offered);
            return offered.find((p) => p.startsWith('v2.')) ;
          },
        },
      ],
      '/bad-pick': [echo, { selectProtocol: () => 'not-offered' }],
      '/no-callback': [async (ch: Channel) => void (await ch.send(`protocol=${ch.protocol}`)), {}],
    },
  });
  const chosen = await openClient(server.port, { path: '/pick', headers: { 'Sec-WebSocket-Protocol': 'v1.chat, v2.chat, v2.old' } });
  t.equal(chosen.response.headers['sec-websocket-protocol'], 'v2.chat');
  t.equal(await chosen.nextText(), 'protocol=v2.chat', 'channel.protocol');
  chosen.destroy();

  const none = await openClient(server.port, { path: '/pick', headers: { 'Sec-WebSocket-Protocol': 'v1.chat' } });
  t.notOk('sec-websocket-protocol' in none.response.headers, 'no pick: no header');
  t.equal(await none.nextText(), 'protocol=');
  none.destroy();
  t.same(offers, [['v1.chat', 'v2.chat', 'v2.old'], ['v1.chat']]);

  const notOffered = await ask(server, '/bad-pick', withHeaders({ 'Sec-WebSocket-Protocol': 'a, b' }));
  t.equal(notOffered.status, 500, 'the server may only pick an offered protocol');

  const noCallback = await openClient(server.port, { path: '/no-callback', headers: { 'Sec-WebSocket-Protocol': 'chat' } });
  t.notOk('sec-websocket-protocol' in noCallback.response.headers, 'without a callback nothing is picked');
  noCallback.destroy();
});

t.test('a throwing allowOrigin or selectProtocol callback answers 500 and the server lives on', async (t) => {
  const boom = new Error('callback bug');
  const server = await setup(t, {
    allowOrigin: (origin) => {
      if (origin === 'https://boom.example') throw boom;
      return true;
    },
    routes: {
      '/ws': echo,
      '/proto': [echo, { selectProtocol: () => { throw boom; } }],
    },
  });
  t.equal((await ask(server, '/ws', withHeaders({ Origin: 'https://boom.example' }))).status, 500);
  t.equal((await ask(server, '/proto', withHeaders({ 'Sec-WebSocket-Protocol': 'chat' }))).status, 500);
  t.same(server.handlerErrors, [boom, boom], 'reported through onHandlerError');
  const c = await openClient(server.port, { path: '/ws' });
  await c.sendText('alive');
  t.equal(await c.nextText(), 'alive');
  c.destroy();
});

t.test('routing: each path to its handler; query ignored; ANY_PATH as a fallback', async (t) => {
  const tag = (name: string) => async (ch: Channel) => {
    await ch.send(name);
    await ch.closed;
  };
  const server = await setup(t, { routes: { '/a': tag('a'), '/b': tag('b'), '*': tag('any') } });
  for (const [path, expected] of [['/a', 'a'], ['/b?x=1', 'b'], ['/a/', 'any'], ['/c', 'any'], ['http://127.0.0.1/b', 'b']]) {
    const c = await openClient(server.port, { path });
    t.equal(await c.nextText(), expected, `${path} → ${expected}`);
    c.destroy();
  }
});

t.test('paths the quick path check declines: long segments with a query, "//", dot segments', async (t) => {
  // A long segment then "?" once made the path check backtrack exponentially:
  // this test then never finished (tap's timeout fails it).
  const long = 'GetCMListForConnect'.repeat(4);
  const server = await setup(t, { routes: { [`/v1/${long}/`]: async (ch) => void (await ch.send('long')), '/ws': async (ch) => void (await ch.send('ws')) } });
  const cases: Array<[string, string]> = [[`/v1/${long}/?cmtype=websockets&x=${long}`, 'long'], ['/a/../ws', 'ws'], ['/ws?', 'ws']];
  for (const [path, expected] of cases) {
    const c = await openClient(server.port, { path });
    t.equal(await c.nextText(), expected, path);
    c.destroy();
  }
  const r = await ask(server, `/${long}${long}/x?y`, withHeaders({}));
  t.equal(r.status, 404, 'an unknown long path with a query: 404, at once');
});

t.test('plain HTTP requests stay with the HTTP handler; handleRequest answers those to a WebSocket path', async (t) => {
  const server = await setup(t, { routes: { '/ws': echo } });
  const plain = await ask(server, '/index.html', { Host: 'x', Connection: 'close' });
  t.equal(plain.status, 200);
  t.match(plain.body, /http ok/);
  const wsPlain = await ask(server, '/ws', { Host: 'x', Connection: 'close' });
  t.equal(wsPlain.status, 426, 'a plain GET to a WebSocket path: 426');
  t.equal(wsPlain.headers['upgrade'], 'websocket');
  t.match(wsPlain.headers['connection'] ?? '', /upgrade/i, 'Upgrade is named in Connection (RFC 7230 §6.7)');
  const noConnection = await ask(server, '/ws', { Host: 'x', Upgrade: 'websocket', 'Sec-WebSocket-Key': SAMPLE_KEY, 'Sec-WebSocket-Version': '13', Connection: 'close' });
  t.equal(noConnection.status, 400, 'Upgrade without "Connection: Upgrade": 400');
  t.match(noConnection.body, /Connection/);
  const post = await ask(server, '/ws', { Host: 'x', Connection: 'close', 'Content-Length': '0' }, 'POST');
  t.equal(post.status, 405);
  t.equal(post.headers['allow'], 'GET');
});

t.test('malformed request lines and headers crash nothing', async (t) => {
  const server = await setup(t);
  const garbage = [
    'HELLO\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nNo colon here\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    '\u0000\u0001\u0002\r\n\r\n',
    'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${'A'.repeat(20000)}\r\n\r\n`,
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \u00ff\u00fe\r\nSec-WebSocket-Version: 13\r\n\r\n',
  ];
  for (const request of garbage) {
    const res = await httpExchange(server.port, Buffer.from(request, 'latin1')).catch((err: Error) => err);
    if (res instanceof Error) t.match(res.message, /no complete HTTP response/, 'closed without a response');
    else t.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(request.slice(0, 30))}: ${res.status}`);
  }
  const c = await openClient(server.port);
  await c.sendText('still up');
  t.equal(await c.nextText(), 'still up');
  c.destroy();
});

t.test('a socket error while a refusal is being written (the client reset) is absorbed, not thrown', async (t) => {
  // node:http takes its own 'error' listener off a socket it hands to
  // 'upgrade': without the router's, an ECONNRESET in this window would be an
  // unhandled 'error' event and take the process down.
  const { socket } = await socketPair(t);
  const router = new WebSocketRouter({ limits: { heartbeatInterval: 0 } }).route('/', echo);
  const req = {
    method: 'GET',
    httpVersion: '1.1',
    url: '/',
    headers: { host: 'x', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': SAMPLE_KEY, 'sec-websocket-version': '8' },
  } as unknown as IncomingMessage; // the fields the handshake reads
  router.handleUpgrade(req, socket, Buffer.alloc(0)); // refused with 426, written with end()
  t.notOk(socket.destroyed, 'the refusal is still on its way');
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  t.doesNotThrow(() => socket.emit('error', reset), 'the reset is absorbed');
});

t.test('handshake timeout: a client too slow with its headers gets 408 and is disconnected', async (t) => {
  const limits = resolveLimits({ handshakeTimeout: 300 });
  const server = createServer(httpServerOptions(limits), (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  for (const partial of ['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n', '']) {
    const socket = await tcpConnect(port);
    t.teardown(() => socket.destroy());
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.write(partial);
    await waitFor(new Promise((resolve) => socket.on('close', resolve)), 'the slow client to be disconnected');
    if (partial) t.match(data, /^HTTP\/1\.1 408 /, 'partial headers: 408');
    else t.pass(`a client that sends nothing is disconnected${data ? ` (${data.split('\r\n')[0]})` : ''}`);
  }
});

t.test('the router tracks open channels and closeAll() closes them with 1001', async (t) => {
  const server = await setup(t, { routes: { '*': async (ch: Channel) => void (await ch.closed) } });
  const a = await openClient(server.port);
  const b = await openClient(server.port);
  t.teardown(() => (a.destroy(), b.destroy()));
  await server.channel(1);
  t.equal(server.router.channels.size, 2);
  a.autoPong = b.autoPong = true;
  const done = server.router.closeAll();
  for (const c of [a, b]) {
    const close = await c.nextClose();
    t.equal(close?.code, 1001);
    await c.sendClose(1001);
  }
  await waitFor(done, 'closeAll');
  t.equal(server.router.channels.size, 0, 'closed channels are forgotten');
});

t.test('an upgraded connection outlives the HTTP server\'s header and request timeouts', async (t) => {
  const server = await setup(t, { limits: { handshakeTimeout: 100 } });
  const c = await openClient(server.port);
  t.teardown(() => c.destroy());
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.notOk(c.tcpClosed, 'still connected');
  await c.sendText('late');
  t.equal(await c.nextText(), 'late');
});
