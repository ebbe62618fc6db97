/**
 * Which pages may open the WebSocket (RFC 6455 §10.2): a browser sends the
 * page's origin with the handshake, and a page of another site open in the
 * same browser must not drive a session.
 */
import type { IncomingMessage } from 'node:http';

/** Whether a page from `origin` may open the WebSocket; `undefined`: no Origin header. */
export type OriginCheck = (origin: string | undefined, req: IncomingMessage) => boolean;

/**
 * Clients that send no Origin (not browsers), and pages served by this
 * server: an http: or https: origin (RFC 6454 §4; "null", file: or a
 * browser extension's scheme are not pages of ours) whose host is the
 * request's Host.
 */
export function sameOrigin(origin: string | undefined, req: IncomingMessage): boolean {
  if (origin === undefined) return true;
  const url = parseWebOrigin(origin);
  return url !== null && url.host === req.headers.host;
}

/**
 * The same origin as the page (sameOrigin), or one of `origins` — for a
 * reverse proxy that changes the Host header, or a page served elsewhere.
 * `origins` are serialised origins such as "https://keys.example.org". When
 * one of them names the request's host, its scheme is the only one let in
 * for that host: with `--origin https://keys.example.org`, a page of
 * http://keys.example.org (anyone on the path can write that one) is not.
 */
export function allowOrigins(origins: readonly string[]): OriginCheck {
  const allowed = new Set(origins.map(normaliseOrigin));
  const schemes = new Map<string, Set<string>>();
  for (const origin of allowed) {
    const url = parseWebOrigin(origin);
    if (url) schemes.set(url.host, (schemes.get(url.host) ?? new Set()).add(url.protocol));
  }
  return (origin, req) => {
    if (origin === undefined) return true;
    const url = parseWebOrigin(origin);
    if (url === null) return false;
    if (allowed.has(url.origin)) return true;
    const named = schemes.get(url.host);
    return (named === undefined || named.has(url.protocol)) && sameOrigin(origin, req);
  };
}

/** "HTTPS://Keys.Example.org:443" → "https://keys.example.org", as browsers send it; garbage stays as it is. */
export function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

/** The origin as a URL when it is an http: or https: one, else null. */
function parseWebOrigin(origin: string): URL | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null; // "null" (a file:// page, a sandbox) or garbage
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
}
