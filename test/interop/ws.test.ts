/**
 * Interop: the `ws` npm package (pure JS, no native addons) as a client of
 * the real `steam-key echo` binary.
 */
import { once } from 'node:events';
import t from 'tap';
import { startEcho } from './helpers.js';
import { content, contentBytes, FRAGMENTED_CASES, MESSAGE_CASES, PING_PAYLOADS, splitAt } from './messages.js';
import { openClient } from './ws-client.js';

const server = await startEcho();
t.teardown(() => server.stop());

t.test('ws client and steam-key echo', async (t) => {
  const client = await openClient(server.url);
  t.equal(client.ws.protocol, '', 'no subprotocol');
  t.equal(client.ws.extensions, '', 'no extension negotiated, though ws offered permessage-deflate');

  t.test('every message comes back with the same bytes and type', async (t) => {
    for (const c of MESSAGE_CASES) {
      client.ws.send(content(c));
      const got = await client.next();
      t.equal(got.isBinary, c.kind === 'binary', `${c.name}: ${c.kind}`);
      t.equal(got.data.length, c.size, `${c.name}: length`);
      t.ok(got.data.equals(contentBytes(c)), `${c.name}: same bytes`);
    }
  });

  t.test('pipelined messages come back in order', async (t) => {
    const small = MESSAGE_CASES.filter((c) => c.size <= 65536);
    const sent = Array.from({ length: 200 }, (_, i) => small[i % small.length]!);
    for (const c of sent) client.ws.send(content(c));
    let same = 0;
    for (const c of sent) {
      const got = await client.next();
      if (got.isBinary === (c.kind === 'binary') && got.data.equals(contentBytes(c))) same++;
    }
    t.equal(same, sent.length, `${sent.length} echoes in order, each with the right bytes and type`);
  });

  t.test('fragmented messages, with a ping between fragments (§5.4)', async (t) => {
    for (const c of FRAGMENTED_CASES) {
      const parts = splitAt(contentBytes(c), c.cuts);
      const interleaved = Buffer.from(`ping inside ${c.name}`);
      const pong = once(client.ws, 'pong') as Promise<[Buffer]>;
      parts.forEach((part, i) => {
        client.ws.send(part, { binary: c.kind === 'binary', fin: i === parts.length - 1 });
        if (i === 0) client.ws.ping(interleaved);
      });
      const [pongData] = await pong;
      t.ok(pongData.equals(interleaved), `${c.name}: pong for the ping between fragments carries its payload`);
      const got = await client.next();
      t.equal(got.isBinary, c.kind === 'binary', `${c.name} in ${parts.length} fragments: ${c.kind}`);
      t.ok(got.data.equals(contentBytes(c)), `${c.name}: same bytes`);
    }
  });

  t.test('ping gets a pong with the same payload (§5.5.2)', async (t) => {
    for (const payload of PING_PAYLOADS) {
      const pong = once(client.ws, 'pong') as Promise<[Buffer]>;
      client.ws.ping(payload);
      const [data] = await pong;
      t.ok(data.equals(payload), `pong payload equals the ${payload.length}-byte ping payload`);
    }
  });

  t.test('clean close: ws sees the server echo 1000 (§5.5.1)', async (t) => {
    client.ws.close(1000, 'done');
    const { code } = await client.closed;
    t.equal(code, 1000);
  });
});

t.test('the server process printed no error and exits cleanly on SIGTERM', async (t) => {
  const { code } = await server.stop();
  t.equal(code, 0, 'exit code 0');
  t.equal(server.stderr(), '', 'nothing on stderr');
});
