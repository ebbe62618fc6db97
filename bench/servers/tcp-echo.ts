/**
 * The ceiling: a raw node:net echo. It answers the upgrade request with a
 * canned 101 and then sends every byte back as it came (our masked frames
 * included), so the load generator runs exactly as against a WebSocket
 * server while the server does the least work Node allows. On the path
 * /handshake it instead answers the client's first frame with a Close and
 * closes, for the handshake ceiling. Not a WebSocket server: do not reuse.
 */
import { createServer } from 'node:net';
import { ACCEPT } from '../frames.js';

const RESPONSE =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`;
const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  let head = '';
  const onHead = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onHead);
    socket.write(RESPONSE);
    if (head.startsWith('GET /handshake ')) {
      socket.once('data', () => socket.end(CLOSE_1000));
    } else {
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) socket.write(rest);
      // No flow control: the load generator bounds what is in flight. The
      // chunks of one event-loop turn go out in one writev, as a server that
      // answers whole messages would write them, not one system call each.
      let corked = false;
      const uncork = (): void => {
        corked = false;
        socket.uncork();
      };
      socket.on('data', (chunk: Buffer) => {
        if (!corked) {
          corked = true;
          socket.cork();
          setImmediate(uncork);
        }
        socket.write(chunk);
      });
    }
  };
  socket.on('data', onHead);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'string' || address === null ? 0 : address.port;
  console.log(`raw TCP echo listening on ws://127.0.0.1:${port}/`);
});
process.on('SIGTERM', () => process.exit(0));
