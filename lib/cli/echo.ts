/**
 * `steam-key echo`: a WebSocket echo server on every path — text back as
 * text, binary as binary — for conformance fuzzers, benchmarks and learners.
 */
import { createServer } from 'node:http';
import { ANY_PATH, formatTrace, httpServerOptions, WebSocketRouter, type RawMessage } from '../websocket/index.js';
import { intFlag, parseFlags } from './args.js';
import { listen, untilSignal } from './listen.js';

export const ECHO_USAGE = `Usage: steam-key echo [--port N] [--host H] [--deflate] [--trace]

A WebSocket echo server on every path: each text or binary message comes
back as it was sent. Messages up to 16 MiB (inflated, with --deflate).

  --port N    port to listen on (default 9001; 0 picks a free one)
  --host H    address to listen on (default 127.0.0.1)
  --deflate   accept permessage-deflate (RFC 7692) when a client offers it:
              messages of 1 KiB or more go back compressed
  --trace     print every frame in and out, one line each (with --deflate:
              rsv1=1 on compressed frames, and each compressed message's
              wire and inflated lengths)
  -h, --help  show this help`;

/** Echo limits: big messages for conformance suites and benchmarks. */
const ECHO_MAX_MESSAGE = 16 * 1024 * 1024;

export async function runEcho(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    trace: { type: 'boolean' },
    deflate: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(ECHO_USAGE);
    return 0;
  }
  const port = intFlag('port', values.port, 0, 65535) ?? 9001;
  const host = values.host ?? '127.0.0.1';
  const trace = values.trace ? (frame: Parameters<typeof formatTrace>[0]) => console.log(formatTrace(frame)) : undefined;

  const router = new WebSocketRouter({
    limits: {
      maxMessageSize: ECHO_MAX_MESSAGE,
      receiveHighWaterMark: ECHO_MAX_MESSAGE,
      sendHighWaterMark: ECHO_MAX_MESSAGE,
      maxBufferedAmount: 4 * ECHO_MAX_MESSAGE,
    },
    ...(trace ? { trace } : {}),
    ...(values.deflate ? { deflate: true } : {}),
  });
  // Text stays bytes (TextBytes): the echo never reads it, so decoding it to a string and encoding it back would be waste.
  router.route(ANY_PATH, async (channel) => {
    for (;;) {
      // next() rather than receive(), which wraps its promise's resolve in one more closure per wait.
      let result: IteratorResult<RawMessage, undefined> | null = await channel.next();
      if (result.done) return;
      const sent = channel.send(result.value);
      // A suspended async function keeps its variables: as `for await (const
      // message of channel)`, every idle connection would hold the last
      // message it echoed (~1 KiB each in the compressed bench; ws's echo holds none).
      result = null;
      await sent;
    }
  }, { textAsBytes: true });
  const server = createServer(httpServerOptions(router.limits), (req, res) => {
    if (!router.handleRequest(req, res)) {
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' });
      res.end('This is a WebSocket echo server: connect with a WebSocket client.\n');
    }
  });
  router.attach(server);

  const address = await listen(server, port, host);
  console.log(`echo server listening on ws://${address}/`);
  await untilSignal();
  server.close();
  await router.closeAll();
  return 0;
}
