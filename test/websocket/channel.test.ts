/**
 * The Channel handlers consume: receive / for await / send / close / closed,
 * what a handler's return or throw does, and backpressure both ways.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import t from 'tap';
import { Channel, type Message, type RawMessage } from '../../lib/websocket/channel.js';
import type { CloseInfo } from '../../lib/websocket/connection.js';
import { resolveLimits, type Limits } from '../../lib/websocket/limits.js';
import { TextBytes } from '../../lib/websocket/text-bytes.js';
import { clientFrame, closePayload, OP, openClient, sleep, socketPair, tcpConnect, waitFor, type RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';
import { captureStderr } from '../helpers/stderr.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];
const FAST: Partial<Limits> = { closeTimeout: 200, heartbeatInterval: 0 };

async function setup(t: Tap, options: TestServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ ...options, limits: { ...FAST, ...options.limits } });
  t.teardown(() => server.close());
  return server;
}

async function client(t: Tap, server: TestServer, options: Parameters<typeof openClient>[1] = {}): Promise<RawClient> {
  const c = await openClient(server.port, options);
  t.teardown(() => c.destroy());
  return c;
}

/** A promise with its resolve function, for handing values out of a handler. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `condition` until it holds (a hang guard, not a timing assertion). */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  await waitFor(
    (async () => {
      while (!condition()) await sleep(5);
    })(),
    what,
  );
}

t.test('receive(): messages in order, text as string, binary as Buffer', async (t) => {
  const got = deferred<Message[]>();
  const server = await setup(t, {
    routes: { '*': async (ch) => got.resolve([(await ch.receive())!, (await ch.receive())!, (await ch.receive())!]) },
  });
  const c = await client(t, server);
  await c.sendText('first');
  await c.sendBinary(Buffer.from([1, 2, 3]));
  await c.sendText('');
  const [a, b, e] = await waitFor(got.promise, 'three messages');
  t.equal(a, 'first');
  t.ok(Buffer.isBuffer(b), 'binary arrives as a Buffer');
  t.same(b, Buffer.from([1, 2, 3]));
  t.equal(e, '', 'an empty text message is the empty string, not null');
});

t.test('receive() returns every queued message after the close, then null', async (t) => {
  const got = deferred<(Message | null)[]>();
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        await ch.closed; // take nothing until the connection is gone
        got.resolve([await ch.receive(), await ch.receive(), await ch.receive(), await ch.receive()]);
      },
    },
  });
  const c = await client(t, server);
  await c.write(Buffer.concat([clientFrame(OP.TEXT, 'x'), clientFrame(OP.TEXT, 'y'), clientFrame(OP.CLOSE, '')]));
  t.same(await waitFor(got.promise, 'receives'), ['x', 'y', null, null]);
});

t.test('for await started after the close still yields every message that arrived before the peer\'s Close (§5.5.1)', async (t) => {
  const got = deferred<Message[]>();
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        await ch.closed; // the closing handshake is over before the loop starts
        const all: Message[] = [];
        for await (const m of ch) all.push(m);
        got.resolve(all);
      },
    },
  });
  const c = await client(t, server);
  await c.write(Buffer.concat([clientFrame(OP.TEXT, 'x'), clientFrame(OP.BINARY, Buffer.from([7])), clientFrame(OP.CLOSE, ''), clientFrame(OP.TEXT, 'after the Close')]));
  t.same(await waitFor(got.promise, 'the loop'), ['x', Buffer.from([7])], 'both messages, nothing after the Close');
});

t.test('a pending receive() resolves null when the connection closes', async (t) => {
  const got = deferred<Message | null>();
  const server = await setup(t, { routes: { '*': async (ch) => got.resolve(await ch.receive()) } });
  const c = await client(t, server);
  await server.channel();
  c.destroy();
  t.equal(await waitFor(got.promise, 'receive'), null);
});

t.test('for await: every message, then the loop ends on close; break does not close', async (t) => {
  await t.test('until close', async (t) => {
    const got = deferred<Message[]>();
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          const all: Message[] = [];
          for await (const m of ch) all.push(m);
          got.resolve(all);
        },
      },
    });
    const c = await client(t, server);
    for (const m of ['a', 'b', 'c']) await c.sendText(m);
    await c.sendClose(1000);
    t.same(await waitFor(got.promise, 'the loop to end'), ['a', 'b', 'c']);
  });

  await t.test('break', async (t) => {
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          for await (const m of ch) {
            await ch.send(`got ${String(m)}`);
            break;
          }
          await ch.send('still open after break');
        },
      },
    });
    const c = await client(t, server);
    await c.sendText('one');
    t.equal(await c.nextText(), 'got one');
    t.equal(await c.nextText(), 'still open after break');
    t.equal((await c.nextClose())?.code, 1000, 'then the handler returned: 1000');
  });
});

t.test('send(): text, bytes, and a clear error for anything else', async (t) => {
  const results = deferred<unknown[]>();
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        const out: unknown[] = [];
        out.push(await ch.send('text ✓'));
        out.push(await ch.send(new Uint8Array([0, 255])));
        out.push(await ch.send(Buffer.from('buf')));
        try {
          // @ts-expect-error a number is not a message
          void ch.send(42);
        } catch (err) {
          out.push(err);
        }
        results.resolve(out);
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  t.match(await c.nextFrame(), { opcode: OP.TEXT, payload: Buffer.from('text ✓') });
  t.match(await c.nextFrame(), { opcode: OP.BINARY, payload: Buffer.from([0, 255]) }, 'a plain Uint8Array is binary');
  t.match(await c.nextFrame(), { opcode: OP.BINARY, payload: Buffer.from('buf') });
  const [r1, r2, r3, err] = await results.promise;
  t.same([r1, r2, r3], [true, true, true], 'send resolves true');
  t.type(err, TypeError);
});

t.test('close(): code and reason on the wire; second close is a no-op; invalid codes throw RangeError', async (t) => {
  const errors = deferred<unknown[]>();
  const states = deferred<string[]>();
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        const errs: unknown[] = [];
        for (const [code, reason] of [[999, ''], [1004, ''], [1006, ''], [1015, ''], [2500, ''], [5000, ''], [1000, 'x'.repeat(124)]] as const) {
          try {
            ch.close(code, reason);
          } catch (err) {
            errs.push(err);
          }
        }
        errors.resolve(errs);
        const seen = [ch.readyState];
        await ch.send('still open after the bad calls');
        ch.close(4123, 'first');
        seen.push(ch.readyState);
        ch.close(4999, 'second');
        ch.close();
        states.resolve(seen);
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  const errs = await errors.promise;
  t.equal(errs.length, 7, 'every invalid call threw');
  for (const err of errs) t.type(err, RangeError);
  t.equal(await c.nextText(), 'still open after the bad calls', 'a rejected close() leaves the channel open');
  const close = await c.nextClose();
  t.same({ code: close?.code, reason: close?.reason }, { code: 4123, reason: 'first' });
  t.same(await states.promise, ['open', 'closing']);
  await c.sendClose(4123);
  await waitFor(c.closedTcp, 'TCP close');
  t.equal(c.received.filter((f) => f.opcode === OP.CLOSE).length, 1, 'only one Close frame was sent');
  const channel = await server.channel();
  await waitFor(channel.closed, 'closed');
  t.equal(channel.readyState, 'closed');
});

t.test('messages that arrive after our Close are discarded, not queued: receive() gives null', async (t) => {
  // rfc6455.md, "Deliberately not done": reading is never paused after our
  // Close, so a queue would let the peer grow it without limit.
  const got = deferred<Message | null>();
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        ch.close(4000, 'done');
        got.resolve(await ch.receive());
      },
    },
  });
  const c = await client(t, server);
  t.equal((await c.nextClose())?.code, 4000);
  await c.write(Buffer.concat([clientFrame(OP.TEXT, 'too late'), clientFrame(OP.BINARY, Buffer.from([1])), clientFrame(OP.CLOSE, closePayload(4000))]));
  t.equal(await waitFor(got.promise, 'receive()'), null, 'nothing was delivered');
  t.match(await waitFor((await server.channel()).closed, 'closed'), { code: 4000, wasClean: true });
});

t.test('closed, closeCode, closeReason for each way a connection ends', async (t) => {
  const cases: [string, TestServerOptions['routes'], (c: RawClient) => Promise<void>, Partial<CloseInfo>][] = [
    ['the peer closes', undefined, (c) => c.sendClose(4000, 'peer says bye'), { code: 4000, reason: 'peer says bye', wasClean: true }],
    ['the peer closes without a code', undefined, (c) => c.sendClose(), { code: 1005, reason: '', wasClean: true }],
    ['we close, the peer answers', { '*': async (ch) => ch.close(4001, 'we say bye') }, async (c) => {
      await c.nextClose();
      await c.sendClose(4001);
    }, { code: 4001, wasClean: true }],
    ['we close, the peer never answers', { '*': async (ch) => ch.close(4002, 'we say bye') }, async () => {}, { code: 4002, reason: 'we say bye', wasClean: false }],
    ['the peer breaks a rule', undefined, (c) => c.write(clientFrame(OP.TEXT, 'x', { masked: false })), { code: 1002, wasClean: false }],
    ['the peer vanishes', undefined, async (c) => c.destroy(), { code: 1006, wasClean: false }],
  ];
  for (const [what, routes, act, expected] of cases) {
    await t.test(what, async (t) => {
      const holdOpen = { '*': async (ch: Channel) => void (await ch.closed) };
      const server = await setup(t, { routes: routes ?? holdOpen });
      const c = await client(t, server);
      const channel = await server.channel();
      t.equal(channel.closeCode, undefined, 'no code while open');
      t.equal(channel.closeReason, undefined);
      await act(c);
      const info = await waitFor(channel.closed, 'closed');
      t.match(info, expected);
      t.equal(channel.closeCode, info.code);
      t.equal(channel.closeReason, info.reason);
      t.equal(await channel.send('late'), false, 'send() after close resolves false');
      t.same(await channel.closed, info, 'closed stays resolved with the same info');
    });
  }
});

t.test('a handler that returns closes with 1000; one that throws closes with 1011 and the server lives on', async (t) => {
  const boom = new Error('boom');
  const server = await setup(t, {
    routes: {
      '/returns': async () => {},
      '/returns-sync': () => {},
      '/throws': () => {
        throw boom;
      },
      '/rejects': async (ch) => {
        await ch.receive();
        throw boom;
      },
      '/echo': async (ch) => {
        for await (const m of ch) await ch.send(m);
      },
    },
  });
  for (const [path, code] of [['/returns', 1000], ['/returns-sync', 1000], ['/throws', 1011], ['/rejects', 1011]] as const) {
    const c = await client(t, server, { path });
    if (path === '/rejects') await c.sendText('go');
    const close = await c.nextClose();
    t.equal(close?.code, code, `${path}: Close ${code}`);
    await c.sendClose(code);
    await waitFor(c.closedTcp, 'TCP close');
  }
  t.same(server.handlerErrors, [boom, boom], 'onHandlerError saw both errors');
  const c = await client(t, server, { path: '/echo' });
  await c.sendText('alive');
  t.equal(await c.nextText(), 'alive', 'the server still serves');
});

const boom = new Error('boom');
/** One route whose handler throws and one whose handler rejects, both with `boom`. */
const FAILING_ROUTES: TestServerOptions['routes'] = {
  '/throws': () => {
    throw boom;
  },
  '/rejects': async () => {
    throw boom;
  },
};

t.test('without onHandlerError, a handler that throws or rejects is reported on stderr and closed with 1011', async (t) => {
  const printed = captureStderr(t);
  const server = await setup(t, {
    onHandlerError: undefined, // the test server's default records errors; this one must not
    routes: FAILING_ROUTES,
  });
  for (const path of ['/throws', '/rejects']) {
    const c = await client(t, server, { path });
    t.equal((await c.nextClose())?.code, 1011, `${path}: Close 1011`);
  }
  t.same(server.handlerErrors, [], 'no hook was called');
  t.same(printed, [['websocket handler failed:', boom], ['websocket handler failed:', boom]], 'both errors went to stderr');
});

t.test('an onHandlerError that throws itself: both errors go to stderr, the connection closes with 1011, the server lives', async (t) => {
  const printed = captureStderr(t);
  const hookBoom = new Error('hook boom');
  const server = await setup(t, {
    onHandlerError: () => {
      throw hookBoom;
    },
    routes: FAILING_ROUTES,
  });
  for (const path of ['/throws', '/rejects']) {
    const c = await client(t, server, { path });
    t.equal((await c.nextClose())?.code, 1011, `${path}: Close 1011`);
  }
  t.same(printed, [
    ['websocket handler failed:', boom],
    ['onHandlerError failed:', hookBoom],
    ['websocket handler failed:', boom],
    ['onHandlerError failed:', hookBoom],
  ]);
  const c = await client(t, server, { path: '/rejects' });
  t.equal((await c.nextClose())?.code, 1011, 'and the server still serves');
});

t.test('outbound backpressure: await send() waits while the peer does not read, and nothing is lost', async (t) => {
  for (const [sendHighWaterMark, size] of [[64 * 1024, 16 * 1024], [1024, 4096]] as const) {
    await t.test(`sendHighWaterMark ${sendHighWaterMark}, messages of ${size} bytes`, async (t) => {
      let sent = 0;
      let pending = false;
      let stop = false;
      let maxBufferedAfterSend = 0;
      const done = deferred();
      const server = await setup(t, {
        limits: { sendHighWaterMark, maxBufferedAmount: 1 << 30 },
        routes: {
          '*': async (ch) => {
            const body = Buffer.alloc(size - 8, 0x61);
            while (!stop) {
              const header = Buffer.alloc(8);
              header.writeUInt32BE(sent, 0);
              pending = true;
              const ok = await ch.send(Buffer.concat([header, body]));
              pending = false;
              if (!ok) break;
              sent++;
              maxBufferedAfterSend = Math.max(maxBufferedAfterSend, ch.bufferedAmount);
            }
            done.resolve();
            await ch.closed;
          },
        },
      });
      const c = await client(t, server);
      c.pauseReading();
      const channel = await server.channel();
      // Eventually the kernel buffers are full and the handler waits in send().
      // (Without backpressure the loop would never yield long enough to be seen here.)
      await eventually(() => pending && channel.bufferedAmount > sendHighWaterMark, 'the handler to wait in send()');
      t.pass(`send() is waiting after ${sent} messages, ${channel.bufferedAmount} bytes unsent`);
      t.ok(maxBufferedAfterSend <= sendHighWaterMark, `send() resolved only with room to spare (max ${maxBufferedAfterSend})`);
      stop = true;
      c.resumeReading();
      await waitFor(done.promise, 'the waiting send() to resolve once the peer reads');
      const total = sent;
      for (let i = 0; i < total; i++) {
        const frame = await c.nextDataFrame();
        if (frame?.payload.readUInt32BE(0) !== i || frame.payload.length !== size) {
          t.fail(`message ${i} missing or out of order`);
          break;
        }
      }
      t.pass(`${total} messages (${(total * size) / 1e6} MB) arrived in order after the peer resumed reading`);
    });
  }
});

t.test('send backlog: a peer that leaves over sendHighWaterMark unread gets no more messages processed; reading resumes once it reads (pauseReadingOnSendBacklog)', async (t) => {
  for (const pauseReadingOnSendBacklog of [true, false]) {
    await t.test(`pauseReadingOnSendBacklog: ${pauseReadingOnSendBacklog}`, async (t) => {
      const sendHighWaterMark = 64 * 1024;
      const reply = Buffer.alloc(256 * 1024, 0x72);
      let handled = 0;
      const server = await setup(t, {
        limits: { sendHighWaterMark, pauseReadingOnSendBacklog, maxBufferedAmount: 1 << 30 },
        routes: {
          '*': async (ch) => {
            // Like the app's handler: each message gets a reply, and nothing awaits send().
            for await (const _ of ch) {
              handled++;
              void ch.send(reply);
            }
          },
        },
      });
      const accepted = new Promise<Socket>((resolve) => server.server.once('connection', resolve));
      const c = await client(t, server);
      const socket = await accepted; // the server's side
      c.pauseReading();
      const channel = await server.channel();

      // One request per write, each handled before the next, until the replies pile up.
      let sent = 0;
      while (channel.bufferedAmount <= sendHighWaterMark) {
        await c.sendText(`request ${sent++}`);
        await eventually(() => handled === sent, `request ${sent} to be handled`);
      }
      t.pass(`${channel.bufferedAmount} bytes unsent after ${sent} replies`);
      t.equal(socket.isPaused(), pauseReadingOnSendBacklog, pauseReadingOnSendBacklog ? 'the server stopped reading' : 'the server reads on');

      const before = handled;
      for (let i = 0; i < 20; i++) await c.sendText(`request ${sent++}`);
      if (pauseReadingOnSendBacklog) {
        // Written to the kernel; a paused socket emits no data, however long we wait.
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        t.equal(handled, before, 'none of the 20 requests sent meanwhile was processed');
        t.ok(socket.isPaused(), 'reading is still paused');
      } else {
        await eventually(() => handled === sent, 'the requests sent meanwhile to be processed');
        t.pass('they were processed although the peer reads nothing');
      }

      c.resumeReading();
      await eventually(() => handled === sent, 'every request to be processed once the peer reads');
      let replies = 0;
      while (replies < sent && (await c.nextDataFrame())?.payload.length === reply.length) replies++;
      t.equal(replies, sent, 'every reply arrived whole');
      t.notOk(socket.isPaused(), 'reading resumed by itself');
      t.equal(channel.readyState, 'open');
    });
  }
});

t.test('maxBufferedAmount: a peer that never reads is dropped (1006) instead of growing memory', async (t) => {
  const results: boolean[] = [];
  const server = await setup(t, {
    limits: { sendHighWaterMark: 64 * 1024, maxBufferedAmount: 512 * 1024 },
    routes: {
      '*': async (ch) => {
        const chunk = Buffer.alloc(64 * 1024);
        // Does not await send(): the peer's reading never slows this loop down.
        for (let i = 0; i < 4096 && ch.readyState === 'open'; i++) {
          void ch.send(chunk).then((ok) => results.push(ok));
          await new Promise((resolve) => setImmediate(resolve));
        }
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  c.pauseReading();
  const channel = await server.channel();
  t.match(await waitFor(channel.closed, 'the non-reading peer to be dropped'), { code: 1006, wasClean: false });
  await sleep(10);
  t.ok(results.includes(false), 'the send() that found the buffer over the limit returned false');
  t.ok(results.length < 4096, `dropped after ${results.length} sends, not after all of them`);
  c.resumeReading();
  await waitFor(c.closedTcp, 'the client to see the connection closed');
});

t.test('close() after the connection was dropped does not replace its 1006', async (t) => {
  // The drop destroys the socket at once, but 'close' fires later: in
  // between, readyState is 'closing' and a handler that sees it may return,
  // whereupon the router calls close(). The drop's 1006 must stand.
  const afterClose = deferred<string>();
  const server = await setup(t, {
    limits: { sendHighWaterMark: 1 << 30, maxBufferedAmount: 256 * 1024 },
    routes: {
      '*': async (ch) => {
        const chunk = Buffer.alloc(64 * 1024);
        while (await ch.send(chunk));
        ch.close(1000, 'done'); // before 'close' has fired
        afterClose.resolve(ch.readyState);
      },
    },
  });
  const c = await client(t, server);
  c.pauseReading();
  const channel = await server.channel();
  t.equal(await afterClose.promise, 'closing', 'close() was called before TCP had closed');
  t.match(await waitFor(channel.closed, 'the non-reading peer to be dropped'), { code: 1006, wasClean: false });
  c.resumeReading();
  await waitFor(c.closedTcp, 'the client to see the connection closed');
});

t.test('a send() waiting for room when the connection is dropped resolves false: its message never left', async (t) => {
  // destroy() discards Node's write buffer and calls the write callbacks
  // (with an error) before 'close': the callback that checks for room must
  // not take the emptied buffer for a drained one.
  const waiting = deferred<Promise<boolean>[]>();
  const server = await setup(t, {
    limits: { sendHighWaterMark: 64 * 1024, maxBufferedAmount: 512 * 1024 },
    routes: {
      '*': async (ch) => {
        const chunk = Buffer.alloc(64 * 1024);
        const unsettled = new Set<Promise<boolean>>();
        for (;;) {
          // Does not await send(): the loop goes on until the drop.
          const sent = ch.send(chunk);
          if (ch.readyState !== 'open') break; // this send dropped the peer
          unsettled.add(sent);
          void sent.then(() => unsettled.delete(sent));
          await new Promise((resolve) => setImmediate(resolve));
        }
        waiting.resolve([...unsettled]);
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  c.pauseReading();
  const channel = await server.channel();
  const pending = await waitFor(waiting.promise, 'the non-reading peer to be dropped');
  t.ok(pending.length > 0, `${pending.length} send() calls were waiting for room when the peer was dropped`);
  t.same(await waitFor(Promise.all(pending), 'the waiting send() calls to resolve'), pending.map(() => false), 'each resolves false');
  t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
});

t.test('inbound backpressure: a handler that does not receive() pauses reading and loses nothing', async (t) => {
  const release = deferred();
  const received = deferred<Message[]>();
  const server = await setup(t, {
    limits: { receiveHighWaterMark: 64 * 1024 },
    routes: {
      '*': async (ch) => {
        await release.promise;
        const all: Message[] = [];
        for await (const m of ch) all.push(m);
        received.resolve(all);
      },
    },
  });
  const c = await client(t, server);
  await server.channel();
  const size = 16 * 1024;
  let count = 0;
  let blocked = false;
  // Write until the server stops taking data (its kernel buffer is full
  // because it no longer reads), or give up at 96 MB.
  while (count * size < 96 * 1024 * 1024) {
    const payload = Buffer.alloc(size, count & 0xff);
    payload.writeUInt32BE(count, 0);
    const flushed = c.socket.write(clientFrame(OP.BINARY, payload));
    count++;
    if (!flushed) {
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => c.socket.once('drain', () => resolve(true))),
        sleep(300).then(() => false),
      ]);
      if (!drained) {
        blocked = true;
        break;
      }
    }
  }
  t.ok(blocked, `the server stopped reading while its handler did not receive (after ${count} messages, ${(count * size) / 1e6} MB)`);
  release.resolve();
  await waitFor(new Promise((resolve) => c.socket.once('drain', resolve)), 'the server to read again');
  await c.sendClose(1000);
  const all = await waitFor(received.promise, 'every message');
  t.equal(all.length, count, 'every message arrived');
  const wrong = all.findIndex((m, i) => !Buffer.isBuffer(m) || m.length !== size || m.readUInt32BE(0) !== i || m[size - 1] !== (i & 0xff));
  t.equal(wrong, -1, 'in order and intact');
});

t.test('inbound backpressure counts messages, not only bytes: empty messages also pause reading', async (t) => {
  const { peer, socket } = await socketPair(t);
  const channel = new Channel(socket, Buffer.alloc(0), { limits: resolveLimits({ receiveHighWaterMark: 16 * 1024, heartbeatInterval: 0 }) });
  const count = 20_000; // 120 KB on the wire, nothing but headers
  peer.write(Buffer.concat(Array.from({ length: count }, (_, i) => clientFrame(i % 2 ? OP.TEXT : OP.BINARY, ''))));
  await eventually(() => socket.isPaused(), 'reading to pause while nobody takes the messages');
  t.pass('reading paused with the queue full of empty messages');
  let taken = 0;
  while (taken < count && (await channel.receive())?.length === 0) taken++;
  t.equal(taken, count, 'every one of them arrives once the handler takes them');
  t.notOk(socket.isPaused(), 'and reading resumed');
});

t.test('close() while reading is paused still completes the closing handshake', async (t) => {
  const closeNow = deferred();
  const server = await setup(t, {
    limits: { receiveHighWaterMark: 16 * 1024 },
    routes: {
      '*': async (ch) => {
        await closeNow.promise; // never receives: reading pauses
        ch.close(4000, 'enough');
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  const channel = await server.channel();
  // Flood until the server stops reading.
  const chunk = clientFrame(OP.BINARY, Buffer.alloc(64 * 1024));
  for (let i = 0; i < 1536; i++) {
    if (c.socket.write(chunk)) continue;
    const drained = await Promise.race([new Promise<boolean>((r) => c.socket.once('drain', () => r(true))), sleep(300).then(() => false)]);
    if (!drained) break;
  }
  closeNow.resolve();
  t.equal((await c.nextClose())?.code, 4000);
  await c.sendClose(4000); // queued behind everything the server has not read yet
  t.match(await waitFor(channel.closed, 'the peer\'s Close to be read'), { code: 4000, wasClean: true });
});

t.test('remoteAddress; a Channel made on a socket that already closed reports 1006', async (t) => {
  const server = await setup(t, { routes: { '*': async (ch) => void (await ch.send(String(ch.remoteAddress))) } });
  const c = await client(t, server);
  t.equal(await c.nextText(), '127.0.0.1');

  const plain = createServer();
  const accepted = new Promise<Socket>((resolve) => plain.on('connection', resolve));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.teardown(() => plain.close());
  const peer = await tcpConnect((plain.address() as AddressInfo).port);
  const socket = await accepted;
  peer.destroy();
  await new Promise((resolve) => socket.once('close', resolve));
  const channel = new Channel(socket, Buffer.alloc(0), { limits: resolveLimits() });
  t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
  t.equal(await channel.receive(), null);
  t.equal(await channel.send('x'), false);
});

t.test('messages packed with the handshake, over receiveHighWaterMark, wait for the handler', async (t) => {
  const got = deferred<(Message | null)[]>();
  const server = await setup(t, {
    limits: { receiveHighWaterMark: 10 },
    routes: {
      '*': async (ch) => {
        got.resolve([await ch.receive(), await ch.receive(), await ch.receive()]);
        await ch.closed;
      },
    },
  });
  const after = Buffer.concat(['a'.repeat(20), 'b'.repeat(20), 'c'.repeat(20)].map((m) => clientFrame(OP.TEXT, m)));
  const c = await client(t, server, { after });
  const result = await Promise.race([got.promise, c.nextClose().then((close) => new Error(`closed with ${close?.code} ${close?.reason}`))]);
  t.same(result, ['a'.repeat(20), 'b'.repeat(20), 'c'.repeat(20)]);
});

t.test('once TCP is going away, readyState is not open and send() resolves false, even before the socket closes', async (t) => {
  // A Channel on a plain accepted socket (the handshake is the router's business),
  // allowHalfOpen like node:http's sockets. Our listeners run after the
  // connection's own, in the same tick, before 'close' is emitted.
  const pair = async (): Promise<{ peer: Socket; channel: Channel; socket: Socket }> => {
    const { peer, socket } = await socketPair(t);
    const channel = new Channel(socket, Buffer.alloc(0), { limits: resolveLimits({ heartbeatInterval: 0, closeTimeout: 200 }) });
    return { peer, channel, socket };
  };
  const check = async (t: Tap, channel: Channel, what: string): Promise<void> => {
    t.not(channel.readyState, 'open', `${what}: readyState is no longer open`);
    t.equal(await channel.send('into the void'), false, `${what}: send() resolves false`);
  };

  await t.test('the peer ends TCP without a Close frame', async (t) => {
    const { peer, channel, socket } = await pair();
    const seen = new Promise<void>((resolve) => socket.once('end', () => void check(t, channel, 'on the FIN').then(resolve)));
    peer.end();
    await waitFor(seen, 'the FIN');
    t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
  });

  await t.test('the peer resets the connection', async (t) => {
    const { peer, channel, socket } = await pair();
    const seen = new Promise<void>((resolve) => socket.once('error', () => void check(t, channel, 'on the reset').then(resolve)));
    peer.resetAndDestroy();
    await waitFor(seen, 'the reset');
    t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
  });

  await t.test('the socket is destroyed on our side', async (t) => {
    const { channel, socket } = await pair();
    socket.destroy();
    await check(t, channel, 'right after destroy()');
    t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
  });
});

t.test('a Close frame still in the socket\'s buffer when we drop the connection is not read: 1006, not clean', async (t) => {
  // receive() resumes reading, which Node does on the next tick; a send()
  // over maxBufferedAmount in between drops the connection. The bytes Node
  // had buffered while reading was paused must not be parsed after the drop.
  const { peer, socket } = await socketPair(t);
  const limits = resolveLimits({ heartbeatInterval: 0, closeTimeout: 60_000, receiveHighWaterMark: 10, maxBufferedAmount: 0 });
  const channel = new Channel(socket, Buffer.alloc(0), { limits });
  const firstRead = new Promise((resolve) => socket.once('data', resolve)); // runs after the channel's listener
  peer.write(clientFrame(OP.TEXT, 'x'.repeat(100)));
  await waitFor(firstRead, 'the message');
  t.ok(socket.isPaused(), 'the queue is over receiveHighWaterMark: reading paused');
  peer.write(clientFrame(OP.CLOSE, closePayload(4000, 'bye')));
  await eventually(() => socket.readableLength > 0, 'the Close frame to wait in the socket\'s buffer');
  const message = channel.receive(); // resumes reading
  void channel.send('a');
  void channel.send('b'); // over maxBufferedAmount (0): dropped
  t.not(channel.readyState, 'open', 'dropped');
  t.equal(await message, 'x'.repeat(100));
  t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false }, 'the drop\'s code stands');
  t.equal(await channel.receive(), null);
});

t.test('a send() whose write fails at once (the peer reset the connection) resolves false', async (t) => {
  // The reset reaches our kernel before Node reads it, so the write fails
  // at once and its callback runs before the socket is destroyed. The
  // message never left.
  const { peer, socket } = await socketPair(t);
  const limits = resolveLimits({ heartbeatInterval: 0, closeTimeout: 60_000, sendHighWaterMark: 0 });
  const channel = new Channel(socket, Buffer.alloc(0), { limits });
  peer.resetAndDestroy();
  t.notOk(socket.destroyed, 'Node has not read the reset yet');
  const sent = channel.send('into the reset'); // over sendHighWaterMark (0): waits for room
  await new Promise((resolve) => process.nextTick(resolve)); // the write, on the tick after send()
  t.ok(socket.errored, 'the write found the reset');
  t.equal(await waitFor(sent, 'send()'), false);
  t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false });
});

t.test('textAsBytes: text arrives as TextBytes (its UTF-8 bytes, however it was cut) and goes back out as text without a decode', async (t) => {
  const got: RawMessage[] = [];
  const server = await setup(t);
  server.router.route(
    '/bytes',
    async (ch) => {
      for await (const message of ch) {
        got.push(message);
        await ch.send(message);
      }
    },
    { textAsBytes: true },
  );
  const c = await client(t, server, { path: '/bytes' });
  const snowman = Buffer.from('a☃b€', 'utf8');
  // Cut inside the snowman: the receiver's check runs across fragments.
  await c.write(Buffer.concat([clientFrame(OP.TEXT, snowman.subarray(0, 2), { fin: false }), clientFrame(OP.CONT, snowman.subarray(2))]));
  await c.sendBinary(Buffer.from([0xff, 0xfe]));
  await c.sendText('');
  const echoed = [await c.nextDataFrame(), await c.nextDataFrame(), await c.nextDataFrame()];
  t.same(
    echoed.map((f) => [f?.opcode, f?.payload]),
    [[OP.TEXT, snowman], [OP.BINARY, Buffer.from([0xff, 0xfe])], [OP.TEXT, Buffer.alloc(0)]],
    'each comes back as it was sent, text as text',
  );
  t.ok(got[0] instanceof TextBytes, 'text is a TextBytes');
  t.same((got[0] as TextBytes).bytes, snowman);
  t.equal(String(got[0]), 'a☃b€', 'its toString() decodes it');
  t.ok(Buffer.isBuffer(got[1]) && !(got[1] instanceof TextBytes), 'binary is a Buffer');
  t.equal((got[2] as TextBytes).length, 0);
  // The bytes are still checked (§8.1): invalid UTF-8 fails the connection with 1007.
  await c.sendFrame(OP.TEXT, Buffer.from([0x61, 0xc3, 0x28]));
  t.match(await c.nextClose(), { code: 1007 });
  t.equal(got.length, 3, 'the invalid message never reached the handler');
});

t.test('TextBytes.from takes only valid UTF-8; send() sends it as text, a Uint8Array as binary', async (t) => {
  t.throws(() => TextBytes.from(Buffer.from([0xc3, 0x28])), TypeError);
  t.throws(() => TextBytes.from(Buffer.from([0xe2, 0x98])), TypeError, 'a character cut short is not valid either');
  const view = new Uint8Array([0x68, 0x69, 0x21]).subarray(0, 2);
  const server = await setup(t, {
    routes: {
      '*': async (ch) => {
        await ch.send(TextBytes.from(view));
        await ch.send(view);
      },
    },
  });
  const c = await client(t, server);
  t.match(await c.nextDataFrame(), { opcode: OP.TEXT, payload: Buffer.from('hi') });
  t.match(await c.nextDataFrame(), { opcode: OP.BINARY, payload: Buffer.from('hi') });
  t.throws(() => (server.channels[0] as Channel).send({ bytes: Buffer.from('x') } as unknown as TextBytes), TypeError, 'a look-alike is not text');
});

