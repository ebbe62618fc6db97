import type { IncomingHttpHeaders } from 'node:http';
import t from 'tap';
import {
  acceptResponse,
  computeAccept,
  isValidExtensionOffer,
  rejectResponse,
  validateUpgrade,
  type UpgradeRequest,
} from '../../lib/websocket/handshake.js';

const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** A valid request as node:http presents it (lower-case header names). */
function request(headers: IncomingHttpHeaders = {}, method = 'GET', httpVersion = '1.1'): UpgradeRequest {
  const all: IncomingHttpHeaders = {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': SAMPLE_KEY,
    'sec-websocket-version': '13',
    ...headers,
  };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  return { method, httpVersion, headers: all };
}

t.test('RFC 6455 §1.3 sample: Sec-WebSocket-Accept of the sample nonce', async (t) => {
  t.equal(computeAccept(SAMPLE_KEY), SAMPLE_ACCEPT);
});

t.test('the §1.2 sample request is accepted', async (t) => {
  const result = validateUpgrade(
    request({ origin: 'http://example.com', 'sec-websocket-protocol': 'chat, superchat' }),
  );
  t.same(result, { ok: true, accept: SAMPLE_ACCEPT, protocols: ['chat', 'superchat'], extensions: [], origin: 'http://example.com' });
});

t.test('Connection and Upgrade: tokens, case-insensitive, in comma lists (§4.2.1 items 3–4)', async (t) => {
  const accepted: IncomingHttpHeaders[] = [
    { connection: 'upgrade' },
    { connection: 'UPGRADE' },
    { connection: 'keep-alive, Upgrade' },
    { connection: 'Upgrade,keep-alive' },
    { connection: ' keep-alive ,  upgrade ' },
    { upgrade: 'WebSocket' },
    { upgrade: 'websocket, h2c' },
    { host: 'localhost:8080' },
  ];
  for (const h of accepted) t.equal(validateUpgrade(request(h)).ok, true, JSON.stringify(h));
  for (const h of [{ connection: 'keep-alive' }, { connection: 'upgraded' }, { connection: undefined }, { connection: 'up grade' }]) {
    t.match(validateUpgrade(request(h)), { ok: false, status: 400, reason: /Connection/ }, `400 for ${JSON.stringify(h)}`);
  }
  for (const h of [{ upgrade: 'websockets' }, { upgrade: 'h2c' }, { upgrade: undefined }]) {
    t.match(validateUpgrade(request(h)), { ok: false, status: 426, headers: { Upgrade: 'websocket' } }, `not a WebSocket upgrade: ${JSON.stringify(h)}`);
  }
});

t.test('method and HTTP version (§4.2.1 item 1)', async (t) => {
  for (const method of ['POST', 'PUT', 'HEAD', 'CONNECT', 'get', undefined]) {
    t.match(validateUpgrade({ ...request(), method }), { ok: false, status: 405, headers: { Allow: 'GET' } }, `${method}: 405 Allow: GET`);
  }
  for (const v of ['1.0', '0.9', '']) {
    t.match(validateUpgrade(request({}, 'GET', v)), { ok: false, status: 400, reason: /HTTP\/1\.1/ }, `HTTP/${v}: 400`);
  }
  t.equal(validateUpgrade(request({}, 'GET', '2.0')).ok, true, 'HTTP/2.0 counts as "1.1 or higher"');
});

t.test('Host is required (§4.2.1 item 2)', async (t) => {
  t.match(validateUpgrade(request({ host: undefined })), { ok: false, status: 400, reason: /Host/ });
  t.match(validateUpgrade(request({ host: '' })), { ok: false, status: 400, reason: /Host/ });
});

t.test('Sec-WebSocket-Key must be base64 of 16 bytes (§4.2.1 item 5)', async (t) => {
  for (const key of ['AAAAAAAAAAAAAAAAAAAAAA==', 'x3JJHMbDL1EzLkh9GBhXDw==', '+/+/+/+/+/+/+/+/+/+/+w==', ` ${SAMPLE_KEY} `]) {
    t.equal(validateUpgrade(request({ 'sec-websocket-key': key })).ok, true, `accepts ${JSON.stringify(key)}`);
  }
  const bad = [
    undefined,
    '',
    'dGhlIHNhbXBsZSBub25jZQ', // padding missing
    'dGhlIHNhbXBsZSBub25jZQ=', // wrong padding
    'dGhlIHNhbXBsZSBub25jZQo=', // 17 bytes
    'dGhlIHNhbXBsZSBub25j', // 15 bytes
    'dGhlIHNhbXBsZSBub25jZ==', // 21 characters and "==": not base64 of any length
    'dGhlIHNhbXBsZSBub25jZQo==', // 23 characters and "=="
    'AAAAAAAAAAAAAAAAAAAAAAAA', // 18 bytes, no padding
    'dGhlIHNhbXBsZSBub25jZ!==', // not base64
    'dGhlIHNhbXBs ZSBub25jZQ==',
    `${SAMPLE_KEY}, ${SAMPLE_KEY}`, // sent twice
  ];
  for (const key of bad) {
    t.match(validateUpgrade(request({ 'sec-websocket-key': key })), { ok: false, status: 400, reason: /Sec-WebSocket-Key/ }, `400 for ${JSON.stringify(key)}`);
  }
});

t.test('a version other than 13 answers 426 with Sec-WebSocket-Version: 13 (§4.2.1 item 6, §4.4)', async (t) => {
  // '13, 13': Node joins a repeated header with ", " (§11.3.5: it MUST NOT appear more than once).
  for (const v of ['8', '12', '14', '', undefined, '13, 8', '13, 13', 'thirteen']) {
    t.match(
      validateUpgrade(request({ 'sec-websocket-version': v })),
      { ok: false, status: 426, headers: { 'Sec-WebSocket-Version': '13' } },
      `version ${JSON.stringify(v)}`,
    );
  }
  t.equal(validateUpgrade(request({ 'sec-websocket-version': ' 13 ' })).ok, true, 'whitespace around 13 is fine');
});

t.test('subprotocols: offered tokens in order; a malformed list is 400 (§4.1, §4.2.1 item 8)', async (t) => {
  t.match(validateUpgrade(request({ 'sec-websocket-protocol': 'b.v2,a, c-3' })), { ok: true, protocols: ['b.v2', 'a', 'c-3'] });
  t.match(validateUpgrade(request()), { ok: true, protocols: [] }, 'none offered');
  for (const bad of ['chat, chat', 'a b', 'chat,', 'a;b', '"quoted"', 'ch@t']) {
    t.match(validateUpgrade(request({ 'sec-websocket-protocol': bad })), { ok: false, status: 400, reason: /Protocol/ }, `400 for ${JSON.stringify(bad)}`);
  }
});

t.test('an extension offer is checked against the §9.1 ABNF, and never accepted', async (t) => {
  const good = [
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; client_max_window_bits=15, permessage-deflate',
    'x-webkit-deflate-frame',
    'foo, bar; baz=2',
    'mux; max-channels=4; flow-control, deflate-stream',
    'ext; p="token"',
    'ext; p="to\\ken"',
    ' foo ,, bar ',
  ];
  for (const value of good) {
    t.ok(isValidExtensionOffer(value), `valid: ${value}`);
    const result = validateUpgrade(request({ 'sec-websocket-extensions': value }));
    t.equal(result.ok, true, `accepted handshake with ${JSON.stringify(value)}`);
  }
  const bad = ['', ',', ';', 'foo;', 'foo; =1', 'foo; a=', 'foo; a="two words"', 'foo; a="a,b"', 'foo; a="unterminated', 'fo o', 'foo; a=b=c', 'é'];
  for (const value of bad) {
    t.notOk(isValidExtensionOffer(value), `malformed: ${JSON.stringify(value)}`);
    t.match(validateUpgrade(request({ 'sec-websocket-extensions': value })), { ok: false, status: 400, reason: /Extensions/ }, `400 for ${JSON.stringify(value)}`);
  }
});

t.test('the Origin is lowercased before anyone judges it (§4.2.2 step 4)', async (t) => {
  t.match(validateUpgrade(request({ origin: 'HTTPS://Good.Example:8443' })), { ok: true, origin: 'https://good.example:8443' });
  t.match(validateUpgrade(request()), { ok: true, origin: undefined }, 'no Origin: undefined (not a browser, §4.2.1 item 7)');
});

t.test('checks run in the documented order: method, version, host, upgrade, connection, key, ws version', async (t) => {
  const everythingWrong = request({ host: undefined, upgrade: undefined, connection: undefined, 'sec-websocket-key': 'x', 'sec-websocket-version': '8' }, 'POST', '1.0');
  t.match(validateUpgrade(everythingWrong), { status: 405 });
  t.match(validateUpgrade({ ...everythingWrong, method: 'GET' }), { status: 400, reason: /HTTP/ });
  t.match(validateUpgrade(request({ 'sec-websocket-key': 'x', 'sec-websocket-version': '8' })), { status: 400, reason: /Key/ });
});

t.test('nothing throws on odd header values (arrays from repeated headers, odd characters)', async (t) => {
  const odd: IncomingHttpHeaders[] = [
    { upgrade: ['websocket', 'x'] as unknown as string },
    { 'sec-websocket-protocol': ['chat', 'superchat'] as unknown as string },
    { connection: '\u0000\u00ff,,,,' },
    { 'sec-websocket-key': '\u0000'.repeat(24) },
    { 'sec-websocket-protocol': ',,,' },
  ];
  for (const h of odd) t.doesNotThrow(() => validateUpgrade(request(h)), JSON.stringify(h));
  t.match(validateUpgrade(request({ 'sec-websocket-protocol': ['chat', 'superchat'] as unknown as string })), { ok: true, protocols: ['chat', 'superchat'] }, 'repeated protocol headers form one list');
});

t.test('the 101 response (§4.2.2 step 5)', async (t) => {
  t.equal(
    acceptResponse(SAMPLE_ACCEPT),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}\r\n\r\n`,
  );
  t.match(acceptResponse(SAMPLE_ACCEPT, 'chat'), /\r\nSec-WebSocket-Protocol: chat\r\n\r\n$/);
  t.notMatch(acceptResponse(SAMPLE_ACCEPT, 'chat'), /Extensions/i, 'no extension is ever negotiated');
});

t.test('error responses: status line, short plain-text reason, Content-Length, close', async (t) => {
  const res = rejectResponse(400, 'missing Host header');
  const [head, body] = res.split('\r\n\r\n') as [string, string];
  t.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(head, /\r\nConnection: close(\r\n|$)/);
  t.match(head, /\r\nContent-Type: text\/plain; charset=utf-8(\r\n|$)/);
  t.equal(body, 'missing Host header\n');
  t.match(head, new RegExp(`\\r\\nContent-Length: ${Buffer.byteLength(body)}(\\r\\n|$)`));

  const upgrade = rejectResponse(426, 'use 13', { 'Sec-WebSocket-Version': '13' });
  t.match(upgrade, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
  t.match(upgrade, /\r\nSec-WebSocket-Version: 13\r\n/);
  const notWs = rejectResponse(426, 'speak WebSocket', { Upgrade: 'websocket', Connection: 'Upgrade' });
  t.match(notWs, /\r\nConnection: Upgrade, close\r\n/, 'a 426 keeps Connection: Upgrade and still closes');
  t.match(rejectResponse(405, 'GET only', { Allow: 'GET' }), /^HTTP\/1\.1 405 Method Not Allowed\r\n[^]*\r\nAllow: GET\r\n/);
  t.match(rejectResponse(599, 'odd'), /^HTTP\/1\.1 599 Error\r\n/);
  t.match(rejectResponse(400, 'é'), /Content-Length: 3\r\n/, 'length in bytes, not characters');
});
