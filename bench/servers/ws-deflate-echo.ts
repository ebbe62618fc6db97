/**
 * ws with permessage-deflate, for `npm run bench`'s compressed metrics: an echo server
 * like ws-echo.ts, with ws's own defaults for compression (threshold 1 KiB,
 * context takeover, 10 zlib jobs at once).
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  console.log(`ws deflate echo server listening on ws://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
