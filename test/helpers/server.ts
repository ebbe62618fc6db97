/**
 * A test server: node:http on 127.0.0.1, port 0, with a WebSocketRouter. It
 * remembers every channel its handlers receive and tears everything down,
 * including upgraded sockets that server.close() would not end.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Channel } from '../../lib/websocket/channel.js';
import { httpServerOptions } from '../../lib/websocket/limits.js';
import { ANY_PATH, WebSocketRouter, type ChannelHandler, type RouteOptions, type RouterOptions } from '../../lib/websocket/router.js';
import { waitFor } from './raw-client.js';

export const echo: ChannelHandler = async (channel) => {
  for await (const message of channel) await channel.send(message);
};

export interface TestServerOptions extends RouterOptions {
  /** Path → handler; default: echo on every path. */
  routes?: Record<string, ChannelHandler | [ChannelHandler, RouteOptions]>;
  /** Plain HTTP handler; default answers 200 "http ok" after giving the router a chance. */
  http?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface TestServer {
  server: Server;
  router: WebSocketRouter;
  port: number;
  /** Channels in the order their handlers were called. */
  channels: Channel[];
  /** Resolves with the n-th channel (0-based) once its handler is called. */
  channel(n?: number): Promise<Channel>;
  /** Errors that handlers threw (via onHandlerError). */
  handlerErrors: unknown[];
  close(): Promise<void>;
}

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { routes = { [ANY_PATH]: echo }, http, ...routerOptions } = options;
  const handlerErrors: unknown[] = [];
  const router = new WebSocketRouter({
    onHandlerError: (error) => handlerErrors.push(error),
    ...routerOptions,
  });
  const channels: Channel[] = [];
  const waiting = new Map<number, (c: Channel) => void>();
  for (const [path, entry] of Object.entries(routes)) {
    const [handler, routeOptions] = Array.isArray(entry) ? entry : [entry, {}];
    router.route(
      path,
      (channel, req) => {
        const n = channels.push(channel) - 1;
        waiting.get(n)?.(channel);
        return handler(channel, req);
      },
      routeOptions,
    );
  }
  const server = createServer(httpServerOptions(router.limits), (req, res) => {
    if (http) return http(req, res);
    if (router.handleRequest(req, res)) return;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('http ok\n');
  });
  router.attach(server);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    router,
    port,
    channels,
    handlerErrors,
    channel(n = 0) {
      const existing = channels[n];
      if (existing) return Promise.resolve(existing);
      return waitFor(new Promise<Channel>((resolve) => waiting.set(n, resolve)), `server channel #${n}`);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
