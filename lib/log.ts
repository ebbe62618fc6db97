/**
 * One line per event, and never a secret. Events are a closed set of shapes
 * whose fields are codes, counts, times and short ids: there is no field a
 * password, guard code, refresh token, resume token or full key could slip
 * into. Keys appear masked after their first group (keyHint).
 *
 *   2025-05-01T10:00:00.000Z login-ok session=3f9a1c02
 *   2025-05-01T10:00:05.000Z key-result session=3f9a1c02 key=ABCDE-*****-***** status=activated eresult=1 detail=0
 *
 * The format: an ISO 8601 UTC time, the event name, then name=value fields.
 * A value that is not plain printable ASCII without spaces or quotes (an
 * Origin header someone sent) is written as a JSON string, so a line is
 * always one line and splits on spaces. README, "Logs", lists the events.
 */
import type { KeyStatus, SignedOutReason } from './steam/results.js';
import type { StallReason } from './steam/queue.js';

export type LogEvent =
  // The server
  | { event: 'listening'; url: string; demo: boolean }
  /** repeated: refusals of this origin and host left out of the log since its last line (one a minute). */
  | { event: 'origin-refused'; origin: string; host: string; repeated?: number }
  | { event: 'shutdown'; signal: string }
  | { event: 'stopped' }
  | { event: 'shutdown-timeout'; afterMs: number }
  | { event: 'shutdown-forced'; signal: string }
  // Sessions (the page's connection to one sign-in)
  | { event: 'session-opened'; session: string; client: string }
  /** holders: connections holding the session now. */
  | { event: 'session-resumed'; session: string; holders: number }
  /** The oldest of too many connections holding one session was let go. */
  | { event: 'session-replaced'; session: string }
  /** waitsForQueue: the grace period starts once the queue has nothing left to send by itself. */
  | { event: 'session-detached'; session: string; graceMs: number; waitsForQueue?: true }
  | { event: 'session-closed'; session: string; why: 'logged-out' | 'expired' | 'not-signed-in' | 'shutdown' }
  /** A session signed in to an account that had one here, and joined it with `keys` of its keys. */
  | { event: 'session-joined'; session: string; into: string; keys: number }
  /** No session was opened for `client`: its own share (address) or the server's (server) is used up. */
  | { event: 'sessions-full'; client: string; scope: 'address' | 'server' }
  // Steam
  | { event: 'login-started'; session: string }
  | { event: 'guard-requested'; session: string; kind: 'email' | 'authenticator'; lastCodeWrong: boolean }
  | { event: 'login-ok'; session: string }
  | { event: 'login-failed'; session: string; reason: SignedOutReason; eresult?: number }
  | { event: 'steam-disconnected'; session: string; eresult?: number }
  | { event: 'steam-logged-off'; session: string }
  | { event: 'steam-logoff-failed'; session: string }
  // Keys
  | { event: 'keys-added'; session: string; added: number; dropped: number }
  | { event: 'key-result'; session: string; key: string; status: KeyStatus; eresult?: number; detail?: number }
  | { event: 'queue-rate-limited'; session: string; until: string }
  | { event: 'queue-stalled'; session: string; by: StallReason }
  | { event: 'queue-resumed'; session: string }
  | { event: 'queue-cancelled'; session: string }
  | { event: 'protocol-error'; client?: string; session?: string; code: string }
  | { event: 'websocket-failed'; code: number; client?: string }
  // Limits (docs/sessions.md): what a client was refused
  | { event: 'connection-refused'; client: string; scope: 'address' | 'server' }
  | { event: 'sign-in-refused'; client: string; session: string; code: 'sign-in-limited' | 'steam-cooldown' };

export type Logger = (event: LogEvent) => void;

/** Discards everything. */
export const silentLogger: Logger = () => {};

const PLAIN = /^[\x21\x23-\x7e]*$/; // printable ASCII but space and "

/** `2025-05-01T10:00:00.000Z key-result session=3f9a1c02 key=ABCDE-*****-***** status=activated` */
export function formatLogEvent(event: LogEvent, time: Date): string {
  const fields = Object.entries(event)
    .filter(([name, value]) => name !== 'event' && value !== undefined)
    .map(([name, value]) => {
      const text = String(value);
      return `${name}=${PLAIN.test(text) && text !== '' ? text : JSON.stringify(text)}`;
    });
  return [time.toISOString(), event.event, ...fields].join(' ');
}

/** A Logger that writes each event as one line through `write` (e.g. console.log). */
export function lineLogger(write: (line: string) => void, now: () => number = Date.now): Logger {
  return (event) => write(formatLogEvent(event, new Date(now())));
}
