import t from 'tap';
import { computeAccept } from '../../lib/websocket/handshake.js';

t.test('RFC 6455 §1.3 sample: Sec-WebSocket-Accept of the sample nonce', async (t) => {
  t.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});
