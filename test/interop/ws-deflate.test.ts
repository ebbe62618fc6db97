/**
 * Interop, permessage-deflate (RFC 7692): the `ws` client with
 * perMessageDeflate against the real `steam-key echo --deflate` binary, in
 * both directions (ws compresses everything it sends, threshold 0; the
 * server compresses replies of 1 KiB or more), with and without context
 * takeover on each side.
 */
import { once } from 'node:events';
import t from 'tap';
import { startEcho } from './helpers.js';
import { content, contentBytes, FRAGMENTED_CASES, MESSAGE_CASES, splitAt } from './messages.js';
import { openClient } from './ws-client.js';

const server = await startEcho(['--deflate']);
t.teardown(() => server.stop());

/** [what, ws's perMessageDeflate options, the Sec-WebSocket-Extensions ws must see] */
const CONFIGS: [string, { serverNoContextTakeover?: boolean; clientNoContextTakeover?: boolean }, string][] = [
  ['context takeover both ways', {}, 'permessage-deflate'],
  ['no server context takeover', { serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
  ['no client context takeover', { clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
  ['no context takeover either way', { serverNoContextTakeover: true, clientNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
];

for (const [what, options, agreed] of CONFIGS) {
  t.test(`ws client with perMessageDeflate and steam-key echo --deflate: ${what}`, async (t) => {
    const client = await openClient(server.url, { perMessageDeflate: { ...options, threshold: 0 } });
    t.equal(client.ws.extensions, 'permessage-deflate', 'ws took the extension');
    t.equal(client.extensionsHeader, agreed, 'with the parameters agreed');

    // Compressible (the text pattern) and incompressible (the binary pattern), empty to 16 MiB inflated.
    for (const c of MESSAGE_CASES) {
      client.ws.send(content(c));
      const got = await client.next();
      t.equal(got.isBinary, c.kind === 'binary', `${c.name}: ${c.kind}`);
      t.ok(got.data.equals(contentBytes(c)), `${c.name}: same bytes`);
    }

    const small = MESSAGE_CASES.filter((c) => c.size <= 65536);
    const sent = Array.from({ length: 100 }, (_, i) => small[i % small.length]!);
    for (const c of sent) client.ws.send(content(c));
    let same = 0;
    for (const c of sent) {
      const got = await client.next();
      if (got.isBinary === (c.kind === 'binary') && got.data.equals(contentBytes(c))) same++;
    }
    t.equal(same, sent.length, 'pipelined: every echo in order, with the right bytes (the contexts stay in step)');

    for (const c of FRAGMENTED_CASES) {
      const parts = splitAt(contentBytes(c), c.cuts);
      const pong = once(client.ws, 'pong');
      parts.forEach((part, i) => {
        client.ws.send(part, { binary: c.kind === 'binary', fin: i === parts.length - 1 });
        if (i === 0) client.ws.ping('between');
      });
      await pong;
      const got = await client.next();
      t.ok(got.data.equals(contentBytes(c)), `${c.name}, compressed in ${parts.length} fragments: same bytes`);
    }

    client.ws.close(1000, 'done');
    t.equal((await client.closed).code, 1000);
  });
}

t.test('a ws client without perMessageDeflate gets no extension from the same server', async (t) => {
  const client = await openClient(server.url, { perMessageDeflate: false });
  t.equal(client.ws.extensions, '');
  t.equal(client.extensionsHeader, undefined);
  client.ws.send('x'.repeat(5000));
  t.equal((await client.next()).data.toString(), 'x'.repeat(5000));
  client.ws.close();
  await client.closed;
});

t.test('the server process printed no error and exits cleanly on SIGTERM', async (t) => {
  const { code } = await server.stop();
  t.equal(code, 0, 'exit code 0');
  t.equal(server.stderr(), '', 'nothing on stderr');
});
