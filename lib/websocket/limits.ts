/**
 * Resource limits, on by default: a peer that sends garbage, sends slowly,
 * or stops reading can cost at most its own connection.
 */
import type { ServerOptions } from 'node:http';

export interface Limits {
  /** Largest message in bytes, over all its fragments; beyond it the connection closes with 1009. */
  maxMessageSize: number;
  /**
   * Received messages not yet taken by the handler, in bytes (each counted
   * with a few dozen bytes for its object, so that empty messages count too);
   * above it the connection stops reading from its socket (TCP pushes back on
   * the peer) until the handler catches up. Nothing is dropped.
   */
  receiveHighWaterMark: number;
  /** Unsent bytes above which `send()` waits for the socket to drain. */
  sendHighWaterMark: number;
  /**
   * While more than sendHighWaterMark bytes are unsent, also stop reading
   * from the socket, and read on by itself once they drain to the mark: a
   * peer that does not read our replies gets no more of its messages
   * processed (only those of reads already made), and TCP pushes back on
   * what it sends. It matters for a handler that does not await `send()`
   * (one that does stops taking messages anyway): its replies would pile up
   * until maxBufferedAmount drops the peer. Meanwhile
   * the heartbeat goes on (nothing is read, pongs included): a peer that
   * stays over the mark for two to three intervals is dropped. Off (false):
   * reading goes on whatever is unsent.
   */
  pauseReadingOnSendBacklog: boolean;
  /**
   * Unsent bytes above which the peer is deemed not to read at all: the
   * connection is dropped rather than letting server memory grow.
   */
  maxBufferedAmount: number;
  /**
   * Heartbeat period in milliseconds: a peer that sent nothing for one to two
   * periods is pinged, and dropped if it sends nothing in the next. 0 turns it off.
   */
  heartbeatInterval: number;
  /** Milliseconds to wait for the peer's Close frame and TCP close before dropping the connection. */
  closeTimeout: number;
  /** Milliseconds a client has to send the complete upgrade request (slow-header clients). */
  handshakeTimeout: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageSize: 1024 * 1024,
  receiveHighWaterMark: 1024 * 1024,
  sendHighWaterMark: 1024 * 1024,
  pauseReadingOnSendBacklog: true,
  maxBufferedAmount: 64 * 1024 * 1024,
  heartbeatInterval: 30_000,
  closeTimeout: 5_000,
  handshakeTimeout: 10_000,
});

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof Limits, number | boolean | undefined][]) {
    if (value === undefined) continue;
    if (typeof DEFAULT_LIMITS[name] === 'boolean') {
      if (typeof value !== 'boolean') throw new TypeError(`limit ${name} must be true or false, got ${value}`);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`limit ${name} must be a number ≥ 0, got ${value}`);
    }
    Object.assign(limits, { [name]: value });
  }
  return limits;
}

/**
 * Options for `http.createServer` that apply the handshake timeout: Node's
 * own header timer answers 408 and closes a connection whose request headers
 * are not complete in time, and the check runs often enough to matter.
 */
export function httpServerOptions(limits: Limits): ServerOptions {
  const timeout = limits.handshakeTimeout;
  return {
    headersTimeout: timeout,
    requestTimeout: Math.max(timeout, 30_000),
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeout / 4))),
    noDelay: true,
  };
}
