/**
 * WebSocket routes on a plain node:http (or https) server: the upgrade
 * requests for a known path become Channels handed to that path's handler;
 * every other request stays with the server's own HTTP handler.
 *
 *   const router = new WebSocketRouter().route('/ws', async (ch) => { ... });
 *   router.attach(server);
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { Channel, type AnyChannel, type ChannelOptions, type Message, type RawMessage } from './channel.js';
import type { CloseInfo } from './connection.js';
import { CloseCode } from './close.js';
import { PerMessageDeflate } from './deflate.js';
import { negotiateDeflate, resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions } from './deflate-offer.js';
import { acceptResponse, rejectResponse, validateUpgrade } from './handshake.js';
import { resolveLimits, type Limits } from './limits.js';
import { Sweep } from './sweep.js';
import type { TraceFn } from './trace.js';

/** Handles one connection. When it returns the channel is closed (1000); when it throws, closed with 1011. */
export type ChannelHandler<M extends Message | RawMessage = Message> = (channel: Channel<M>, request: IncomingMessage) => void | Promise<void>;

export interface RouteOptions {
  /**
   * Picks a subprotocol from those the client offered (in its order of
   * preference, §4.2.2 step 5.4), or returns undefined to pick none.
   */
  selectProtocol?: (offered: string[], request: IncomingMessage) => string | undefined;
}

/** A route whose handler passes text on without reading it (an echo, a relay). */
export interface BytesRouteOptions extends RouteOptions {
  /** Deliver text messages as TextBytes: their UTF-8 bytes, validated, not decoded. */
  textAsBytes: true;
}

/** An application's refusal of an upgrade (RouterOptions.refuse). */
export interface Refusal {
  status: number;
  reason: string;
  headers?: Record<string, string>;
}

export interface RouterOptions {
  limits?: Partial<Limits>;
  /**
   * Refuses an upgrade for a reason of the application's own (a Host it does
   * not serve, a client over its limits), before the Origin check: returns
   * the HTTP status, a short reason and any headers (Retry-After) to answer
   * with, or undefined to go on.
   */
  refuse?: (request: IncomingMessage) => Refusal | undefined;
  /** Whether a page from `origin` may connect (§10.2); false answers 403. Default: any origin. */
  allowOrigin?: (origin: string | undefined, request: IncomingMessage) => boolean;
  /** Told about every frame in and out (trace.ts). If it throws, that is printed once and the frame goes on. */
  trace?: TraceFn;
  /**
   * Accept permessage-deflate (RFC 7692) when a client offers it: true for
   * the defaults, or options (deflate-offer.ts). Off by default: compression
   * costs memory and CPU per connection and mixes secrets with text a peer
   * may choose (docs/rfc7692.md).
   */
  deflate?: boolean | DeflateOptions;
  /** Called when a handler, refuse, allowOrigin or selectProtocol throws. Default: print to stderr. */
  onHandlerError?: (error: unknown, request: IncomingMessage) => void;
}

interface Route {
  handler: ChannelHandler<Message | RawMessage>;
  options: RouteOptions | BytesRouteOptions;
}

/** Matches any path. */
export const ANY_PATH = '*';

export class WebSocketRouter {
  readonly limits: Limits;
  readonly #routes = new Map<string, Route>();
  /** The open channels; one timer ticks their heartbeats. */
  readonly #channels: Sweep<AnyChannel>;
  readonly #options: RouterOptions;
  /**
   * The options of every channel without a subprotocol, with text as
   * strings and as bytes: channels keep a reference to theirs, so shared
   * objects save each connection fields.
   */
  readonly #channelOptions: ChannelOptions;
  readonly #bytesChannelOptions: ChannelOptions;
  /** permessage-deflate's options when it is on, else null. */
  readonly #deflate: ResolvedDeflateOptions | null;

  constructor(options: RouterOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.#channels = new Sweep<AnyChannel>(this.limits.heartbeatInterval, Channel.heartbeat);
    this.#options = options;
    this.#channelOptions = { limits: this.limits, trace: options.trace, onClosed: this.#forget };
    this.#bytesChannelOptions = { ...this.#channelOptions, textAsBytes: true };
    this.#deflate = options.deflate === undefined || options.deflate === false ? null : resolveDeflateOptions(options.deflate);
  }

  /**
   * Serves WebSocket connections to `path` (exact pathname, query ignored;
   * ANY_PATH for all). With `textAsBytes`, the handler's channel is a
   * Channel<RawMessage>.
   */
  route(path: string, handler: ChannelHandler, options?: RouteOptions): this;
  route(path: string, handler: ChannelHandler<RawMessage>, options: BytesRouteOptions): this;
  route(path: string, handler: ChannelHandler<Message> | ChannelHandler<RawMessage>, options: RouteOptions | BytesRouteOptions = {}): this {
    // The overloads tie the handler's type to textAsBytes, which decides what its channel delivers.
    this.#routes.set(path, { handler: handler as ChannelHandler<Message | RawMessage>, options });
    return this;
  }

  /** Takes the server's upgrade requests. */
  attach(server: Server): this {
    server.on('upgrade', this.handleUpgrade);
    return this;
  }

  /** The open channels, for broadcasting or shutting down. */
  get channels(): ReadonlySet<AnyChannel> {
    return this.#channels.members;
  }

  /**
   * Answers a plain HTTP request to a WebSocket path (one that did not ask to
   * upgrade) with 426 or 400 and returns true; returns false for other paths.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = pathOf(req);
    if (path === null || !this.#match(path)) return false;
    const result = validateUpgrade(req);
    const { status, reason, headers } = result.ok
      ? { status: 400, reason: 'Connection header must include Upgrade', headers: undefined }
      : result;
    const all: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', ...headers };
    // A 426 must say "Connection: Upgrade" (RFC 7230 §6.7), and Node leaves the
    // Connection header to us once we set it: add "close" as rejectResponse does.
    if (all.Connection) all.Connection += ', close';
    res.writeHead(status, all);
    res.end(reason + '\n');
    return true;
  }

  /** The server's 'upgrade' listener (§4.2). */
  readonly handleUpgrade = (req: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket; // node:http hands a net.Socket (or tls.TLSSocket) to 'upgrade'
    socket.on('error', ignore); // a reset during the handshake must not crash the server
    const result = validateUpgrade(req);
    if (!result.ok) return refuse(socket, result.status, result.reason, result.headers);
    const path = pathOf(req);
    if (path === null) return refuse(socket, 400, 'malformed request target');
    const route = this.#match(path);
    if (!route) return refuse(socket, 404, 'no WebSocket endpoint at this path');
    let refusal: Refusal | undefined;
    let allowed = false;
    let chosen: string | undefined;
    try {
      refusal = this.#options.refuse?.(req);
      if (refusal && !(Number.isInteger(refusal.status) && refusal.status >= 400 && refusal.status <= 599)) {
        throw new RangeError(`refuse() must answer with a 4xx or 5xx status, not ${refusal.status}`);
      }
      // §10.2: the Origin header tells which page opened the connection.
      allowed = refusal === undefined && (!this.#options.allowOrigin || this.#options.allowOrigin(result.origin, req));
      const select = route.options.selectProtocol;
      chosen = allowed && select && result.protocols.length > 0 ? select(result.protocols, req) : undefined;
    } catch (error) {
      // A bug in an application callback costs this handshake, not the server.
      (this.#options.onHandlerError ?? defaultOnError)(error, req);
      return refuse(socket, 500, 'internal error');
    }
    if (refusal) return refuse(socket, refusal.status, refusal.reason, refusal.headers);
    if (!allowed) return refuse(socket, 403, 'origin not allowed');
    // §4.2.2 step 5.4: the server must pick one of the offered values, or none.
    if (chosen !== undefined && !result.protocols.includes(chosen)) {
      return refuse(socket, 500, 'server chose a subprotocol the client did not offer');
    }
    const protocol = chosen ?? '';
    // RFC 7692 §5: the first offer we can honour, or none (no compression, never a failed handshake).
    const agreement = this.#deflate !== null && result.extensions.length > 0 ? negotiateDeflate(result.extensions, this.#deflate) : null;
    if (socket.destroyed) return;
    socket.removeListener('error', ignore);
    socket.write(acceptResponse(result.accept, protocol, agreement?.response));
    const shared = 'textAsBytes' in route.options && route.options.textAsBytes ? this.#bytesChannelOptions : this.#channelOptions;
    let options = protocol === '' ? shared : { ...shared, protocol };
    if (agreement !== null) options = { ...options, deflate: new PerMessageDeflate(agreement.params, this.#deflate!) };
    const channel: AnyChannel = new Channel(socket, head, options);
    if (channel.readyState !== 'closed') this.#channels.add(channel);
    this.#run(route.handler, channel, req);
  };

  /** Closes every channel with 1001 (going away, §7.4.1); resolves when all have closed. */
  async closeAll(code: number = CloseCode.GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    const all = [...this.#channels.members];
    for (const channel of all) channel.close(code, reason);
    await Promise.all(all.map((channel) => channel.closed));
  }

  /** One function for every channel, rather than a closure per connection. */
  readonly #forget = (_info: CloseInfo, channel: AnyChannel): void => {
    this.#channels.delete(channel);
  };

  #match(path: string): Route | undefined {
    return this.#routes.get(path) ?? this.#routes.get(ANY_PATH);
  }

  #run(handler: ChannelHandler<Message | RawMessage>, channel: AnyChannel, req: IncomingMessage): void {
    // While a handler runs (for the whole life of its connection), the
    // functions waiting for its end stay in memory. Bound functions cost
    // less than closures and the context they share (about 100 bytes less
    // per connection), and the request (about 1 KB with its headers) is kept
    // only when a hook will receive it.
    const hook = this.#options.onHandlerError;
    const failed = hook ? failedToHook.bind(channel, hook, req) : failedToStderr.bind(channel);
    let done: void | Promise<void>;
    try {
      done = handler(channel, req);
    } catch (error) {
      return failed(error);
    }
    if (done instanceof Promise) done.then(closeNormally.bind(channel), failed);
    else channel.close();
  }
}

function ignore(): void {}

function defaultOnError(error: unknown): void {
  console.error('websocket handler failed:', error);
}

/** The handler returned: close with 1000 (whatever it resolved to). */
function closeNormally(this: AnyChannel): void {
  this.close();
}

/** The handler threw or rejected: report it on stderr, close with 1011. */
function failedToStderr(this: AnyChannel, error: unknown): void {
  defaultOnError(error);
  this.close(CloseCode.INTERNAL_ERROR, 'internal error');
}

/** The handler threw or rejected: report it to the onHandlerError hook, close with 1011. */
function failedToHook(this: AnyChannel, hook: NonNullable<RouterOptions['onHandlerError']>, req: IncomingMessage, error: unknown): void {
  this.close(CloseCode.INTERNAL_ERROR, 'internal error');
  try {
    hook(error, req);
  } catch (hookError) {
    // A hook that fails must not take the server down (an unhandled rejection would).
    defaultOnError(error);
    console.error('onHandlerError failed:', hookError);
  }
}

/**
 * A request target made of plain segments (letters, digits, _ ~ -) and no
 * query is already its own pathname: URL's parser, a few per cent of a
 * handshake's CPU time, would return it unchanged.
 */
// Each segment starts with its slash: with an optional slash after a segment
// instead, a long segment followed by "?" backtracks exponentially (ReDoS).
const PLAIN_PATH = /^(?:\/[\w~-]+)*\/?$/;

/**
 * The pathname of the request target, or null when it cannot be parsed.
 * Origin-form ("/path?query", RFC 7230 §5.3.1) is appended to a base rather
 * than resolved against it: as a relative reference "//host/ws" names a host
 * (path "/ws") and "*" or "ws" would resolve to "/*" and "/ws".
 */
function pathOf(req: IncomingMessage): string | null {
  const target = req.url ?? '/';
  if (PLAIN_PATH.test(target)) return target;
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target).pathname;
  } catch {
    return null;
  }
}

/** Answers the handshake with an HTTP error and closes the connection once it is sent. */
function refuse(socket: Socket, status: number, reason: string, headers?: Record<string, string>): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.end(rejectResponse(status, reason, headers));
}
