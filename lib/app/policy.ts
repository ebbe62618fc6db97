/**
 * Every limit a shared instance sets on its clients, with its default, in
 * one place (docs/sessions.md, "What one client may spend"). `createApp`
 * takes a Partial<ServerPolicy>; `steam-key serve` has a flag and an
 * environment variable for each (README, "Running an instance for other
 * people"). The defaults are far above what a household uses and far below
 * what would hurt the server.
 */
import { DEFAULT_SIGN_IN_LIMITS, type Rate, type SignInLimits } from './sign-in-limits.js';
import { trustedProxySet } from './client-address.js';
import { checkRate } from './token-bucket.js';
import { checkHostName } from './host-check.js';

export interface ServerPolicy extends SignInLimits {
  /** Open WebSocket connections, for the whole server. */
  maxConnections: number;
  /** Open WebSocket connections of one client address. */
  maxConnectionsPerAddress: number;
  /** New WebSocket connections of one client address (address-rate.ts). */
  newConnectionsPerAddress: Rate;
  /** Sessions (anonymous and signed-in alike), for the whole server. */
  maxSessions: number;
  /** Sessions made by one client address. */
  maxSessionsPerAddress: number;
  /** Connections holding one session; one more evicts the oldest. */
  connectionsPerSession: number;
  /** A connection that has not sent `hello` by then is closed (1008). */
  firstMessageTimeoutMs: number;
  /** How long a session that never signed in outlives its last connection. */
  anonymousGraceMs: number;
  /** A session that has not signed in by then ends, held or not. */
  signInDeadlineMs: number;
  /** Characters of add-keys text one client address may send (address-rate.ts). */
  pasteCharsPerAddress: Rate;
  /** Bytes the server reads from one client address's WebSocket connections, all together (read-budget.ts). */
  readBytesPerAddress: Rate;
  /** Bytes one client address's connections may hold in messages not yet complete (unfinished-bytes.ts). */
  maxUnfinishedBytesPerAddress: number;
  /** The same, for the whole server. */
  maxUnfinishedBytes: number;
  /** Proxies whose X-Forwarded-For names the client (IP addresses; client-address.ts). */
  trustedProxies: readonly string[];
  /** Host names the server answers to besides its own (host-check.ts). */
  allowedHosts: readonly string[];
}

export const DEFAULT_POLICY: Readonly<ServerPolicy> = Object.freeze({
  // A connection costs a few KB; a person has a few tabs on a few devices.
  maxConnections: 2_000,
  maxConnectionsPerAddress: 50,
  // Its whole share at once, then one a second: a page opens one on load and one after a drop.
  newConnectionsPerAddress: { count: 60, perMs: 60_000 },
  // A signed-in session holds a Steam client (several MB): the server's cap of protocol 1.
  maxSessions: 100,
  maxSessionsPerAddress: 10,
  connectionsPerSession: 8,
  firstMessageTimeoutMs: 10_000,
  anonymousGraceMs: 30_000,
  signInDeadlineMs: 15 * 60_000,
  // Three pastes of the largest size at once, then one every 3 min: finding the keys in 1 MB takes
  // a few hundred ms of the server's one thread.
  pasteCharsPerAddress: { count: 3_000_000, perMs: 10 * 60_000 },
  // 1 MiB at once (a page's largest paste), then 256 KiB/s: a page sends a few KB a
  // minute; parsing a flood costs the server's one thread, whatever it turns out to hold.
  readBytesPerAddress: { count: 1024 * 1024, perMs: 4_000 },
  // One of the largest messages (1 MiB) at once per address, 16 in all: whatever arrives on a
  // thousand slow connections, the server's memory for messages on their way stays small beside
  // what its sessions need (npm run bench:hostile).
  maxUnfinishedBytesPerAddress: 1024 * 1024,
  maxUnfinishedBytes: 16 * 1024 * 1024,
  ...DEFAULT_SIGN_IN_LIMITS,
  trustedProxies: [],
  allowedHosts: [],
});

const COUNTS = [
  'maxConnections',
  'maxConnectionsPerAddress',
  'maxSessions',
  'maxSessionsPerAddress',
  'connectionsPerSession',
  'maxUnfinishedBytesPerAddress',
  'maxUnfinishedBytes',
] as const satisfies readonly (keyof ServerPolicy)[];
const DURATIONS = [
  'firstMessageTimeoutMs',
  'anonymousGraceMs',
  'signInDeadlineMs',
  'signInBackoffMs',
  'signInBackoffMaxMs',
  'steamCooldownMs',
] as const satisfies readonly (keyof ServerPolicy)[];
const RATES = ['newConnectionsPerAddress', 'signInsPerSession', 'signInsPerAddress', 'signInsPerServer', 'pasteCharsPerAddress', 'readBytesPerAddress'] as const satisfies readonly (keyof ServerPolicy)[];

/**
 * The defaults with `overrides` on top, checked: a count below 1, a negative
 * or fractional duration, a trusted proxy that is not an IP address or a
 * host that is not a host name throws a RangeError naming the field.
 * Trusted proxies come back in canonical form (ip-address.ts), host names
 * in lower case.
 */
export function resolvePolicy(overrides: Partial<ServerPolicy> = {}): ServerPolicy {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<ServerPolicy>;
  const policy: ServerPolicy = { ...DEFAULT_POLICY, ...defined };
  for (const name of COUNTS) {
    if (!Number.isSafeInteger(policy[name]) || policy[name] < 1) throw new RangeError(`${name} must be a whole number of at least 1, got ${policy[name]}`);
  }
  for (const name of DURATIONS) {
    if (!Number.isSafeInteger(policy[name]) || policy[name] < 0) throw new RangeError(`${name} must be a whole number of milliseconds, got ${policy[name]}`);
  }
  for (const name of RATES) {
    checkRate(name, policy[name]);
    policy[name] = { count: policy[name].count, perMs: policy[name].perMs };
  }
  let trustedProxies: string[];
  try {
    trustedProxies = [...trustedProxySet(policy.trustedProxies)];
  } catch (error) {
    throw new RangeError(`trustedProxies: ${(error as Error).message}`);
  }
  return {
    ...policy,
    trustedProxies,
    allowedHosts: policy.allowedHosts.map((name) => {
      const host = checkHostName(name);
      if (host === null) throw new RangeError(`allowedHosts: not a host name: '${name}'`);
      return host;
    }),
  };
}
