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
 * always one line and splits on spaces; a value longer than MAX_VALUE_CHARS
 * is cut. README, "Logs", lists the events.
 *
 * `client=` is the client address (lib/app/client-address.ts) of the
 * connection or request an event is about. Warnings a client can cause at
 * will (WARNINGS_FROM_CLIENTS) share one rate for the whole server
 * (limitClientWarnings), so no client can fill the disk.
 */
import type { Clock } from './steam/clock.js';
import type { KeyStatus, SignedOutReason } from './steam/results.js';
import type { StallReason } from './steam/queue.js';

export type LogEvent =
  // The server
  | { event: 'listening'; url: string; demo: boolean }
  | { event: 'origin-refused'; origin: string; host: string; client?: string }
  /** A Host this server does not answer to (DNS rebinding; lib/app/host-check.ts). */
  | { event: 'host-refused'; host: string; client?: string }
  /** Warnings from clients left out of the log since the last such line (limitClientWarnings). */
  | { event: 'log-suppressed'; count: number }
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
  | { event: 'connection-refused'; client: string; scope: 'address' | 'server' | 'rate' }
  | { event: 'sign-in-refused'; client: string; session: string; code: 'sign-in-limited' | 'steam-cooldown' }
  /** An address pasted past its rate (lib/app/address-rate.ts). */
  | { event: 'paste-refused'; client: string; session?: string; chars: number };

export type Logger = (event: LogEvent) => void;

/** Discards everything. */
export const silentLogger: Logger = () => {};

const PLAIN = /^[\x21\x23-\x7e]*$/; // printable ASCII but space and "

/**
 * A field's value is cut after this many characters: header values (an
 * Origin, a Host) come from clients, and a line should stay a line a
 * person reads, not 8 KB of someone's choosing.
 */
export const MAX_VALUE_CHARS = 200;

/** `2025-05-01T10:00:00.000Z key-result session=3f9a1c02 key=ABCDE-*****-***** status=activated` */
export function formatLogEvent(event: LogEvent, time: Date): string {
  const fields = Object.entries(event)
    .filter(([name, value]) => name !== 'event' && value !== undefined)
    .map(([name, value]) => {
      const whole = String(value);
      const text = whole.length > MAX_VALUE_CHARS ? `${whole.slice(0, MAX_VALUE_CHARS)}…(${whole.length} chars)` : whole;
      return `${name}=${PLAIN.test(text) && text !== '' ? text : JSON.stringify(text)}`;
    });
  return [time.toISOString(), event.event, ...fields].join(' ');
}

/** A Logger that writes each event as one line through `write` (e.g. console.log). */
export function lineLogger(write: (line: string) => void, now: () => number = Date.now): Logger {
  return (event) => write(formatLogEvent(event, new Date(now())));
}

/** The warnings any client can cause as often as it likes: refusals and broken messages. */
export const WARNINGS_FROM_CLIENTS: ReadonlySet<LogEvent['event']> = new Set([
  'origin-refused',
  'host-refused',
  'protocol-error',
  'websocket-failed',
  'connection-refused',
  'sessions-full',
  'sign-in-refused',
  'paste-refused',
] satisfies LogEvent['event'][]);

/** At most `count` lines at once, then `count` more every `perMs`. */
export interface WarningRate {
  count: number;
  perMs: number;
}

/** 30 a minute: a person reads every one; a flood costs under 20 MB of log a day. */
export const DEFAULT_WARNING_RATE: WarningRate = { count: 30, perMs: 60_000 };

export interface LimitedLogger {
  log: Logger;
  /** Writes the pending `log-suppressed` line now (at shutdown), if any. */
  flush(): void;
}

/**
 * `log` with one rate for the whole server on WARNINGS_FROM_CLIENTS (a token
 * bucket, so a quiet server logs a short burst in full); other events pass
 * untouched. What it leaves out is counted, and `perMs` after the first left
 * out one line `log-suppressed count=N` says how many: so a flood from any
 * number of clients costs at most `count` lines plus one per `perMs`.
 */
export function limitClientWarnings(log: Logger, clock: Clock, rate: WarningRate = DEFAULT_WARNING_RATE): LimitedLogger {
  let tokens = rate.count;
  let at = clock.now();
  let suppressed = 0;
  let cancel: (() => void) | null = null;
  const flush = (): void => {
    cancel?.();
    cancel = null;
    if (suppressed === 0) return;
    const count = suppressed;
    suppressed = 0;
    log({ event: 'log-suppressed', count });
  };
  return {
    log(event) {
      if (!WARNINGS_FROM_CLIENTS.has(event.event)) return log(event);
      const now = clock.now();
      tokens = Math.min(rate.count, tokens + ((now - at) * rate.count) / rate.perMs);
      at = now;
      if (tokens >= 1) {
        tokens--;
        return log(event);
      }
      suppressed++;
      cancel ??= clock.setTimeout(flush, rate.perMs);
    },
    flush,
  };
}
