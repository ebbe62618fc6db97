/**
 * One line per event, and never a secret. Events are a closed set of shapes
 * whose fields are codes, counts and short ids: there is no free-text field
 * a password, guard code, resume token or full key could slip into. Keys
 * appear as their first group only (keyHint).
 *
 *   2025-05-01T10:00:00.000Z login-ok session=3f9a1c02
 */
import type { KeyStatus } from './steam/results.js';
import type { LoginFailure } from './steam/port.js';

export type LogEvent =
  | { event: 'listening'; url: string; demo: boolean }
  | { event: 'session-opened'; session: string }
  | { event: 'session-resumed'; session: string }
  | { event: 'session-replaced'; session: string }
  | { event: 'session-detached'; session: string; graceMs: number }
  | { event: 'session-closed'; session: string; why: 'logged-out' | 'expired' | 'shutdown' }
  | { event: 'sessions-full'; limit: number }
  | { event: 'login-started'; session: string }
  | { event: 'guard-requested'; session: string; kind: 'email' | 'authenticator'; lastCodeWrong: boolean }
  | { event: 'login-ok'; session: string }
  | { event: 'login-failed'; session: string; reason: LoginFailure; eresult?: number }
  | { event: 'steam-disconnected'; session: string; eresult?: number }
  | { event: 'keys-added'; session: string; added: number; dropped: number }
  | { event: 'key-result'; session: string; key: string; status: KeyStatus; eresult?: number; detail?: number }
  | { event: 'queue-cancelled'; session: string }
  | { event: 'protocol-error'; session?: string; code: string }
  | { event: 'websocket-failed'; code: number };

export type Logger = (event: LogEvent) => void;

/** Discards everything. */
export const silentLogger: Logger = () => {};

/** `2025-05-01T10:00:00.000Z key-result session=3f9a1c02 key=ABCDE-… status=activated` */
export function formatLogEvent(event: LogEvent, time: Date): string {
  const fields = Object.entries(event)
    .filter(([name, value]) => name !== 'event' && value !== undefined)
    .map(([name, value]) => `${name}=${String(value)}`);
  return [time.toISOString(), event.event, ...fields].join(' ');
}

/** A Logger that writes each event as one line through `write` (e.g. console.log). */
export function lineLogger(write: (line: string) => void, now: () => number = Date.now): Logger {
  return (event) => write(formatLogEvent(event, new Date(now())));
}
