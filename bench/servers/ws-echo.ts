/**
 * The baseline: an echo server on the `ws` package, configured like
 * `steam-key echo` (no compression, messages up to 16 MiB). The bench starts
 * it with WS_NO_BUFFER_UTIL=1 and WS_NO_UTF_8_VALIDATE=1 so that ws runs
 * without native addons, as steam-key does (unless --ws-native).
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  const address = wss.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  console.log(`ws echo server listening on ws://127.0.0.1:${port}/ (masking: ${masking()})`);
});
/** Which masking ws runs: bufferutil (with --ws-native, if installed), node:http's in newer Node versions, or its JavaScript loop. */
function masking(): string {
  if (!process.env.WS_NO_BUFFER_UTIL) {
    try {
      createRequire(import.meta.url).resolve('bufferutil');
      return 'bufferutil, native';
    } catch {
      // not installed: ws falls back as below
    }
  }
  return 'websocketMask' in http ? 'native node:http' : 'JavaScript';
}

process.on('SIGTERM', () => process.exit(0));
