/**
 * steam-key's echo with permessage-deflate options given as JSON in argv[2]
 * (default: the defaults), for bench/deflate.ts to compare settings.
 * Otherwise as `steam-key echo --deflate`.
 */
import { createServer } from 'node:http';
import { ANY_PATH, httpServerOptions, WebSocketRouter, type DeflateOptions } from '../../lib/websocket/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as DeflateOptions;
const router = new WebSocketRouter({ deflate: options, limits: { maxMessageSize: 16 * 1024 * 1024 } });
router.route(ANY_PATH, async (channel) => {
  for await (const message of channel) await channel.send(message);
});
const server = createServer(httpServerOptions(router.limits));
router.attach(server);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  console.log(`deflate echo ${JSON.stringify(options)} listening on ws://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
