/**
 * The baseline for the compressed workload (bench/deflate.ts): an echo server
 * on `ws` with permessage-deflate on at ws's defaults — context takeover both
 * ways, a 1 KiB threshold, zlib's default level and memLevel, 10 zlib jobs at
 * a time — which are also `steam-key echo --deflate`'s defaults
 * (lib/websocket/deflate-offer.ts). Messages up to 16 MiB. Started with
 * WS_NO_BUFFER_UTIL=1 and WS_NO_UTF_8_VALIDATE=1, without native addons.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  console.log(`ws echo server (perMessageDeflate) listening on ws://127.0.0.1:${port}/`);
});

process.on('SIGTERM', () => process.exit(0));
