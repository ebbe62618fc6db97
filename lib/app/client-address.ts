/**
 * Who is asking: the address every limit of a shared instance counts by
 * (docs/sessions.md, "Who is asking").
 *
 * It is the socket's remote address — or, only when that address is a proxy
 * the operator named (`--trust-proxy`), the last entry of X-Forwarded-For:
 * the one that proxy added itself. Earlier entries are whatever the client
 * sent, so trusting them would let anyone pick the address they are counted
 * as. A header that is missing or not an address leaves the proxy's own
 * address, which then counts for everyone behind it: a misconfigured proxy
 * makes the limits too tight, never open.
 *
 * Limits count IPv6 clients by their /64 block (one host or one home
 * usually gets a whole /64, and can pick any address in it); log lines show
 * the exact address (clientLogAddress).
 */
import type { IncomingMessage } from 'node:http';
import { addressBlock, canonicalIp, isLoopback } from './ip-address.js';

/** Stands in for a socket that has no remote address any more (it closed before we asked). */
export const UNKNOWN_ADDRESS = 'unknown';

/** The address limits count by: an IPv4 address, or an IPv6 /64 block such as "2001:db8:1:2::/64". */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const address = clientLogAddress(req, trustedProxies);
  return address === UNKNOWN_ADDRESS ? address : addressBlock(address);
}

/** The exact address, in canonical form (ip-address.ts), for log lines (`client=…`). */
export function clientLogAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = canonicalIp(req.socket.remoteAddress ?? '');
  if (peer === null) return UNKNOWN_ADDRESS;
  if (!trustedProxies.has(peer)) return peer;
  return forwardedFor(req.headers['x-forwarded-for']) ?? peer;
}

/**
 * A request from this machine itself: a loopback socket, and no sign of
 * having been forwarded (X-Forwarded-For, RFC 7239's Forwarded). A proxy on
 * the same machine connects over loopback too, so what it passes on from
 * outside says so in those headers.
 */
export function fromThisMachine(req: IncomingMessage): boolean {
  const peer = canonicalIp(req.socket.remoteAddress ?? '');
  return peer !== null && isLoopback(peer) && req.headers['x-forwarded-for'] === undefined && req.headers.forwarded === undefined;
}

/** The operator's proxy addresses in canonical form, for clientAddress. Throws on anything that is not an IP address. */
export function trustedProxySet(addresses: readonly string[]): ReadonlySet<string> {
  return new Set(
    addresses.map((text) => {
      const address = canonicalIp(text.trim());
      if (address === null) throw new RangeError(`not an IP address: '${text}'`);
      return address;
    }),
  );
}

/**
 * The last entry of X-Forwarded-For, canonical, or null when it is not an
 * address. Node joins repeated headers with ", ", so the last entry of the
 * last header is the one the nearest proxy wrote. Entries may be bracketed
 * IPv6 and may carry a port, as some proxies write them.
 */
function forwardedFor(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header.at(-1) : header;
  if (value === undefined) return null;
  const last = value.slice(value.lastIndexOf(',') + 1).trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(last);
  if (bracketed) return canonicalIp(bracketed[1]!);
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d{1,5}$/.exec(last);
  return canonicalIp(withPort ? withPort[1]! : last);
}
