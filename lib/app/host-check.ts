/**
 * Which names the server answers to: a defence against DNS rebinding
 * (docs/sessions.md, "Requests the server refuses outright").
 *
 * A page on evil.example whose DNS name is made to point at 127.0.0.1 or a
 * LAN address is, to the browser, still evil.example: its requests carry
 * `Host: evil.example`, and its WebSocket an Origin with that same host, so
 * the Origin check (same host as Host) lets it in. Only the Host header
 * shows it: this server was never told it is called evil.example. So a
 * request passes only with a Host that is
 * - an IP literal (nobody rebinds a name onto a request for a bare address),
 * - `localhost` or a name under it (RFC 6761 §6.3: always the machine itself),
 * - the machine's host name (as `hostname` prints it, its first label, and
 *   that label under `.local`, for mDNS on a LAN),
 * - or a name the operator allowed (`--allow-host`, and the hosts of `--origin`).
 * Anything else is answered with 421 Misdirected Request (RFC 9110 §15.5.20:
 * "this server is not able to produce a response for this host").
 */
import { hostname } from 'node:os';
import { canonicalIp } from './ip-address.js';

/** Whether a request with this Host header may be served (a missing header passes: browsers always send one). */
export type HostCheck = (hostHeader: string | undefined) => boolean;

/** The allowlist for `allowedHosts` (names; see checkHostName) on a machine called `machineName`. */
export function hostAllowlist(allowedHosts: readonly string[], machineName: string = hostname()): HostCheck {
  const names = new Set<string>();
  for (const name of allowedHosts) {
    const host = checkHostName(name);
    if (host === null) throw new RangeError(`not a host name: '${name}'`);
    names.add(host);
  }
  const machine = checkHostName(machineName);
  if (machine !== null) {
    const first = machine.split('.')[0]!;
    names.add(machine).add(first).add(`${first}.local`);
  }
  return (header) => {
    if (header === undefined) return true;
    const host = hostOfHeader(header);
    if (host === null) return false;
    return host.ip || host.name === 'localhost' || host.name.endsWith('.localhost') || names.has(host.name);
  };
}

/**
 * A host name as the Host header carries it: lower case, IDNs in their
 * ASCII (punycode) form, no trailing dot; null for anything else (a port,
 * a path, a wildcard). IP literals are host names too ("[::1]" for IPv6).
 */
export function checkHostName(name: string): string | null {
  const host = hostOfHeader(name);
  return host === null || host.port ? null : host.name;
}

/** "Keys.Example.org.:443" → { name: 'keys.example.org', port: true, ip: false }; null if it is no host. */
function hostOfHeader(header: string): { name: string; ip: boolean; port: boolean } | null {
  // What URL's parser would take as a user, a path, a query or a fragment is not part of a Host.
  if (header === '' || header.length > 255 + 8 || /[\s/?#@\\]/.test(header)) return null;
  let url: URL;
  try {
    url = new URL(`http://${header}`);
  } catch {
    return null;
  }
  const port = url.port !== '' || /:\d*$/.test(header.replace(/^\[[^\]]*\]/, ''));
  if (url.hostname.startsWith('[')) return { name: url.hostname, ip: true, port };
  const name = url.hostname.replace(/\.$/, '');
  if (canonicalIp(name) !== null) return { name, ip: true, port };
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(name)) return null;
  return { name, ip: false, port };
}
