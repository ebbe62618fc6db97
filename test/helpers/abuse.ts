/**
 * What the attack tests (test/abuse/) share: clients of the real binary from
 * distinct loopback addresses (Linux routes all of 127.0.0.0/8 to lo, so
 * 127.0.0.2 and 127.0.0.3 are two client addresses to the server), an honest
 * client that signs in to the demo Steam and redeems, and the server's
 * memory as the kernel counts it.
 */
import { readFileSync } from 'node:fs';
import { TestClient } from './app.js';
import type { Serving } from './binary.js';
import { DEMO_PASSWORD } from '../../lib/steam/demo-port.js';
import type { ServerMessage } from '../../lib/app/protocol.js';

/** The n-th client address: 127.0.0.(n+1), never 127.0.0.1 (the server's own). */
export function address(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new RangeError(`no test address ${n}`);
  return `127.0.0.${n + 1}`;
}

/** A WebSocket client of `serving`'s /ws from `localAddress`. */
export function clientFrom(serving: Serving, localAddress: string): Promise<TestClient> {
  return TestClient.connect(`${serving.url.replace('http', 'ws')}ws`, { localAddress });
}

/** Signs in to the demo account `demo` (serve --demo) and returns the login message that settled it. */
export async function signInDemo(client: TestClient): Promise<Extract<ServerMessage, { type: 'login' }>> {
  client.send({ type: 'login', accountName: 'demo', password: DEMO_PASSWORD });
  return client.until('login', (m) => m.state !== 'signing-in');
}

/** Pastes `keys`, then waits for each to be done; returns key → status. */
export async function redeem(client: TestClient, keys: readonly string[]): Promise<Record<string, string | undefined>> {
  client.send({ type: 'add-keys', text: keys.join('\n') });
  const added = await client.until('keys-added');
  const numbers = new Map(added.added.map((entry) => [entry.n, entry.key]));
  const statuses: Record<string, string | undefined> = {};
  while (Object.keys(statuses).length < numbers.size) {
    const { entry } = await client.until('key', (m) => m.entry.state === 'done' && numbers.has(m.entry.n));
    statuses[entry.key] = entry.result?.status;
  }
  return statuses;
}

/** A field of /proc/PID/status in KiB (VmHWM: the peak resident set; VmRSS: now). */
export function procStatusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const found = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!found) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(found[1]);
}
