/**
 * The opening handshake, server side (RFC 6455 §4.2): pure functions from a
 * request's method, version and headers to a decision, and from a decision to
 * the bytes of the HTTP response. No sockets here.
 */
import * as crypto from 'node:crypto';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { parseExtensions, type ExtensionOffer } from './deflate-offer.js';

/** §1.3, §4.2.2: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only version this server speaks (§4.1, §4.4). */
export const WEBSOCKET_VERSION = '13';

/** §4.2.2 step 5.4: base64(SHA-1(key + GUID)). */
export function computeAccept(key: string): string {
  const input = key + WEBSOCKET_GUID;
  // One call without a Hash object where Node has it (≥ 20.12): a few per cent of a handshake's CPU time.
  return typeof crypto.hash === 'function'
    ? crypto.hash('sha1', input, 'base64')
    : crypto.createHash('sha1').update(input).digest('base64');
}

/** What the handshake needs from an HTTP request (an IncomingMessage fits). */
export interface UpgradeRequest {
  method?: string | undefined;
  httpVersion: string;
  headers: IncomingHttpHeaders;
}

export interface HandshakeAccept {
  ok: true;
  accept: string;
  /** The offered subprotocols, in the client's order of preference (§4.1, §11.3.4). */
  protocols: string[];
  /** The offered extensions, in the client's order (§9.1); the router may accept permessage-deflate. */
  extensions: ExtensionOffer[];
  origin: string | undefined;
}

export interface HandshakeReject {
  ok: false;
  status: number;
  reason: string;
  headers?: Record<string, string>;
}

export type HandshakeResult = HandshakeAccept | HandshakeReject;

function reject(status: number, reason: string, headers?: Record<string, string>): HandshakeReject {
  return headers ? { ok: false, status, reason, headers } : { ok: false, status, reason };
}

/** A header's value as one string ('' if absent); Node joins repeated headers with ", ". */
function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether a comma-separated header value (RFC 7230 §7) lists `token` (lower case), ignoring case. */
function hasToken(value: string, token: string): boolean {
  for (const item of value.split(',')) {
    if (item.trim().toLowerCase() === token) return true;
  }
  return false;
}

/** RFC 7230 §3.2.6 token, the syntax of a subprotocol name (§4.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Whether a Sec-WebSocket-Extensions value follows §9.1's ABNF:
 * 1#( token *( ";" token [ "=" ( token | quoted-string ) ] ) ), where a quoted
 * value must itself be a token once unescaped. Empty list elements are
 * allowed (RFC 7230 §7). This only refuses a malformed offer (§4.2.1: "any
 * violations of the ABNF grammar"); which extension to accept is the router's
 * choice (deflate-offer.ts).
 */
export function isValidExtensionOffer(value: string): boolean {
  return parseExtensions(value) !== null;
}

/** Base64 of exactly 16 bytes: 22 characters and "==" (§4.1, §11.3.1). */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Validates an upgrade request against §4.2.1. The checks run in order and
 * the first failure decides the answer: 405 for a method other than GET,
 * 400 for a malformed request, 426 with `Sec-WebSocket-Version: 13` for a
 * version we do not speak (§4.4). Path and Origin are the router's business.
 */
export function validateUpgrade(req: UpgradeRequest): HandshakeResult {
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
  if (req.method !== 'GET') return reject(405, 'WebSocket handshake must use GET', { Allow: 'GET' });
  const [major = 0, minor = 0] = req.httpVersion.split('.').map(Number);
  if (!(major > 1 || (major === 1 && minor >= 1))) return reject(400, 'WebSocket handshake needs HTTP/1.1');
  const h = req.headers;
  // Item 2: a Host header field.
  if (header(h, 'host') === '') return reject(400, 'missing Host header');
  // Item 3: an Upgrade header field containing "websocket" (case-insensitive).
  if (!hasToken(header(h, 'upgrade'), 'websocket')) {
    return reject(426, 'this resource only speaks WebSocket: send Upgrade: websocket', {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
    });
  }
  // Item 4: a Connection header field that includes the token "Upgrade".
  if (!hasToken(header(h, 'connection'), 'upgrade')) return reject(400, 'Connection header must include Upgrade');
  // Item 5: Sec-WebSocket-Key, base64 of a 16-byte nonce.
  const key = header(h, 'sec-websocket-key').trim();
  if (!KEY.test(key)) return reject(400, 'Sec-WebSocket-Key must be base64 of 16 bytes');
  // Item 6: Sec-WebSocket-Version 13; §4.4: otherwise say which version we speak.
  if (header(h, 'sec-websocket-version').trim() !== WEBSOCKET_VERSION) {
    return reject(426, 'unsupported WebSocket version: use 13', { 'Sec-WebSocket-Version': WEBSOCKET_VERSION });
  }
  // Item 8 (optional): Sec-WebSocket-Protocol, a list of distinct tokens.
  const protocols: string[] = [];
  const offered = header(h, 'sec-websocket-protocol');
  if (offered !== '') {
    for (const raw of offered.split(',')) {
      const name = raw.trim();
      if (!TOKEN.test(name) || protocols.includes(name)) return reject(400, 'malformed Sec-WebSocket-Protocol header');
      protocols.push(name);
    }
  }
  // Item 9 (optional): Sec-WebSocket-Extensions. A malformed value fails the handshake (§9.1).
  let extensions: ExtensionOffer[] = [];
  if (h['sec-websocket-extensions'] !== undefined) {
    const parsed = parseExtensions(header(h, 'sec-websocket-extensions'));
    if (parsed === null) return reject(400, 'malformed Sec-WebSocket-Extensions header');
    extensions = parsed;
  }
  // §4.2.2 step 4: "The origin is serialized to ASCII and converted to lowercase."
  const origin = h.origin?.toLowerCase();
  return { ok: true, accept: computeAccept(key), protocols, extensions, origin };
}

/**
 * The 101 response (§4.2.2 step 5). Sec-WebSocket-Extensions is sent only
 * with the extension the router accepted (permessage-deflate, one of the
 * client's offers, §9.1); without it RSV bits stay reserved (§5.2).
 */
export function acceptResponse(accept: string, protocol?: string, extensions?: string): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n` +
    (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    '\r\n'
  );
}

/** A complete HTTP error response with a short plain-text reason; the connection closes after it. */
export function rejectResponse(status: number, reason: string, headers: Record<string, string> = {}): string {
  const body = reason + '\n';
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  const all: Record<string, string> = {
    Connection: 'close',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  };
  // A 426 names the protocol to upgrade to (RFC 7231 §6.5.15) and keeps "Connection: Upgrade, close".
  if (all.Connection !== 'close') all.Connection = `${all.Connection}, close`;
  for (const [name, value] of Object.entries(all)) head += `${name}: ${value}\r\n`;
  return head + '\r\n' + body;
}
