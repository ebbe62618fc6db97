/**
 * The whole server as `steam-key serve` runs it — createApp with the
 * steam-user adapter — in front of the fake Steam, for end-to-end cases that
 * drive it over /ws as a page would. Only for *.cases.ts files run by
 * runWithTestCa (the process must trust the fake's test CA).
 */
import { createSteamUserPort } from '../../lib/steam/steam-user-port.js';
import { startFakeSteam, type FakeSteam, type FakeSteamOptions } from '../fake-steam/fake-steam.js';
import { startApp, type Running, type TestClient } from '../helpers/app.js';
import type { AppOptions, AppTimers } from '../../lib/app/server.js';
import type { ServerMessage } from '../../lib/app/protocol.js';

/** Short timers: each case takes well under a second of them. */
export const E2E_TIMERS: AppTimers = { pauseMs: 1, cooldownMs: 300, redeemTimeoutMs: 400, graceMs: 60_000 };

export interface E2E {
  steam: FakeSteam;
  run: Running;
}

/** What the helpers need of a tap test. */
interface Scope {
  teardown(fn: () => unknown): void;
}

export async function startE2E(
  t: Scope,
  fake: FakeSteamOptions,
  timers: Partial<AppTimers> = {},
  logOnTimeoutMs = 5_000,
  app: Partial<AppOptions> = {},
): Promise<E2E> {
  const steam = await startFakeSteam(fake);
  const all = { ...E2E_TIMERS, ...timers };
  // As bin/steam-key.ts wires it: the same redeem timeout for the adapter and the session.
  const run = await startApp({
    portFactory: () => createSteamUserPort({ httpProxy: steam.proxyUrl, redeemTimeoutMs: all.redeemTimeoutMs, logOnTimeoutMs }),
    timers: all,
    ...app,
  });
  // Last registered runs first: the app signs out of Steam while the fake still answers.
  t.teardown(() => steam.close());
  t.teardown(() => run.close());
  return { steam, run };
}

export type LoginMessage = Extract<ServerMessage, { type: 'login' }>;
export type KeyMessage = Extract<ServerMessage, { type: 'key' }>;

/** Sends `login` and returns every login event up to the first signed-in, signed-out or guard one. */
export async function login(client: TestClient, accountName: string, password: string): Promise<LoginMessage[]> {
  client.send({ type: 'login', accountName, password });
  return loginEvents(client);
}

/** Sends a guard code and returns the login events up to the next settled state. */
export async function guardCode(client: TestClient, code: string): Promise<LoginMessage[]> {
  client.send({ type: 'guard-code', code });
  return loginEvents(client);
}

async function loginEvents(client: TestClient): Promise<LoginMessage[]> {
  const events: LoginMessage[] = [];
  for (;;) {
    const message = await client.until('login');
    events.push(message);
    if (message.state !== 'signing-in') return events;
  }
}

/** Waits until key `n` is in `state` (e.g. done), skipping other messages. */
export function keyState(client: TestClient, n: number, state: string): Promise<KeyMessage> {
  return client.until('key', (m) => m.entry.n === n && m.entry.state === state);
}
