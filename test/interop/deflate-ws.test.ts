/**
 * Interop, permessage-deflate (RFC 7692): the `ws` client with
 * `perMessageDeflate` against the real `steam-key echo --deflate --trace`.
 * ws compresses every message it sends (threshold 0), so each echo checks
 * our inflate on the way in and our deflate on the way out (ws inflates it);
 * the server's trace shows what was compressed and how much.
 */
import { once } from 'node:events';
import t from 'tap';
import { startEcho, type Tap } from './helpers.js';
import { checkAgreement, checkTrace, DEFLATE_CASES, TAKEOVER_VARIANTS, tracedMessages, withFragmented, withoutBig } from './deflate-trace.js';
import { content, contentBytes, FRAGMENTED_CASES, makeBinary, MAX_ECHO_MESSAGE, splitAt, type FragmentedCase, type MessageCase } from './messages.js';
import { WebSocket, type Received } from './ws-client.js';
import type WS from 'ws';

/** Connects with the given perMessageDeflate option; every message is queued for next(). */
async function open(
  url: string,
  perMessageDeflate: WS.PerMessageDeflateOptions | false,
): Promise<{ ws: WS; next(): Promise<Received>; extensions: string | undefined }> {
  // maxPayload 0: no client-side limit, the server's is what is tested.
  const ws = new WebSocket(url, { maxPayload: 0, perMessageDeflate });
  // The response's header itself: ws.extensions names the extensions only, without their parameters.
  let extensions: string | undefined;
  ws.once('upgrade', (res) => (extensions = res.headers['sec-websocket-extensions']));
  const queue: Received[] = [];
  const waiters: ((m: Received) => void)[] = [];
  ws.on('message', (data: WS.RawData, isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const waiter = waiters.shift();
    if (waiter) waiter({ data: buf, isBinary });
    else queue.push({ data: buf, isBinary });
  });
  await once(ws, 'open');
  return {
    ws,
    extensions,
    next: () => {
      const queued = queue.shift();
      return queued ? Promise.resolve(queued) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

const isFragmented = (c: MessageCase): c is FragmentedCase => 'cuts' in c;

for (const variant of TAKEOVER_VARIANTS) {
  t.test(`ws client, ${variant.name}`, async (t: Tap) => {
    const server = await startEcho(['--deflate', '--trace']);
    t.teardown(() => server.stop());
    const client = await open(server.url, {
      threshold: 0, // compress every message, the empty one too (§7.2.3.6)
      serverNoContextTakeover: !variant.takeover.server,
      clientNoContextTakeover: !variant.takeover.client,
    });
    checkAgreement(t, client.extensions, variant.takeover);
    t.equal(client.ws.extensions, 'permessage-deflate', 'ws took it: ws.extensions names it');

    const cases = variant.big ? DEFLATE_CASES : withoutBig(DEFLATE_CASES);
    const sequence = withFragmented(cases, FRAGMENTED_CASES);
    for (const c of sequence) {
      if (isFragmented(c)) {
        // Each fragment compressed on its own with a sync flush, RSV1 on the first only; a ping (never compressed) between them.
        const parts = splitAt(contentBytes(c), c.cuts);
        const pong = once(client.ws, 'pong');
        parts.forEach((part, i) => {
          client.ws.send(part, { binary: c.kind === 'binary', fin: i === parts.length - 1, compress: true });
          if (i === 0) client.ws.ping('between fragments');
        });
        await pong;
      } else {
        client.ws.send(content(c));
      }
      const got = await client.next();
      t.equal(got.isBinary, c.kind === 'binary', `${c.name}: came back as ${c.kind}`);
      t.ok(got.data.equals(contentBytes(c)), `${c.name}: same ${c.size} bytes back`);
    }
    client.ws.close(1000, 'done');
    const [code] = (await once(client.ws, 'close')) as [number];
    t.equal(code, 1000, 'clean close');

    const { code: exit } = await server.stop();
    t.equal(exit, 0, 'the server exits cleanly on SIGTERM');
    t.equal(server.stderr(), '', 'nothing on stderr');
    checkTrace(t, server.stdout(), sequence, { takeover: variant.takeover, peerCompressesAll: true });
    const traced = tracedMessages(server.stdout()).in;
    for (const c of FRAGMENTED_CASES) {
      const m = traced[sequence.indexOf(c)];
      t.equal(m?.frames.length, c.cuts.length + 1, `${c.name}: came in as ${c.cuts.length + 1} frames, as ws sent it`);
    }
  });
}

t.test('a ws client that does not offer permessage-deflate gets plain frames from echo --deflate', async (t) => {
  const server = await startEcho(['--deflate', '--trace']);
  t.teardown(() => server.stop());
  const client = await open(server.url, false);
  t.equal(client.extensions, undefined, 'no Sec-WebSocket-Extensions in the response');
  const big = DEFLATE_CASES.find((c) => c.kind === 'text' && c.size === 65536)!;
  client.ws.send(content(big));
  const got = await client.next();
  t.ok(got.data.equals(contentBytes(big)), 'the 64 KiB text comes back');
  client.ws.close(1000);
  await once(client.ws, 'close');
  await server.stop();
  const traced = tracedMessages(server.stdout());
  t.same(
    [...traced.in, ...traced.out].map((m) => m.compressed),
    [false, false],
    'neither direction compressed: the server never compresses for a client that did not agree to it',
  );
});

t.test('16 MiB of incompressible bytes, sent uncompressed, come back compressed and whole', async (t) => {
  const server = await startEcho(['--deflate', '--trace']);
  t.teardown(() => server.stop());
  const client = await open(server.url, { threshold: 0 });
  const data = makeBinary(MAX_ECHO_MESSAGE);
  // compress: false: in as it is, out compressed (the other direction of DEFLATE_CASES' 16 MiB binary).
  client.ws.send(data, { compress: false });
  const got = await client.next();
  t.ok(got.isBinary && got.data.equals(data), 'the same 16 MiB back');
  client.ws.close(1000);
  await once(client.ws, 'close');
  await server.stop();
  const traced = tracedMessages(server.stdout());
  t.equal(traced.in[0]?.compressed, false, 'in uncompressed');
  t.equal(traced.out[0]?.compressed, true, `out compressed: ${traced.out[0]?.wire} bytes on the wire for ${MAX_ECHO_MESSAGE}`);
});
