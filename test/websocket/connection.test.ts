/**
 * One connection over real sockets (127.0.0.1, port 0): framing over TCP,
 * protocol errors and their close codes on the wire, ping/pong, the closing
 * handshake, limits and the heartbeat. The peer is the raw test client.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import type { Channel } from '../../lib/websocket/channel.js';
import { Connection, type CloseInfo } from '../../lib/websocket/connection.js';
import { resolveLimits, type Limits } from '../../lib/websocket/limits.js';
import { clientFrame, closePayload, EVENTUALLY, OP, openClient, sleep, socketPair, waitFor, type RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

const FAST: Partial<Limits> = { closeTimeout: 200, heartbeatInterval: 0 };

async function setup(t: Tap, options: TestServerOptions = {}): Promise<TestServer> {
  const server = await startServer({ ...options, limits: { ...FAST, ...options.limits } });
  t.teardown(() => server.close());
  return server;
}
/** The type of a subtest's `t`. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

async function client(t: Tap, server: TestServer, options: Parameters<typeof openClient>[1] = {}): Promise<RawClient> {
  const c = await openClient(server.port, options);
  t.teardown(() => c.destroy());
  return c;
}

/** A handler that does nothing until the peer closes (keeps the connection open). */
const idle = async (channel: Channel): Promise<void> => {
  await channel.closed;
};

/**
 * A Connection without a Channel's queue, on a socket from socketPair():
 * its protected controls made public, what it receives handed to `onMessage`,
 * and its end as a promise. The heartbeat is off: a test ticks it itself.
 */
class BareConnection extends Connection {
  onMessage: (data: string | Buffer) => void = () => {};
  #resolveClosed!: (info: CloseInfo) => void;
  readonly closedInfo = new Promise<CloseInfo>((resolve) => (this.#resolveClosed = resolve));
  constructor(socket: Socket, limits: Partial<Limits> = {}) {
    super(socket, { limits: resolveLimits({ heartbeatInterval: 0, closeTimeout: 100, ...limits }) });
  }
  override pause(): void {
    super.pause();
  }
  override resume(): void {
    super.resume();
  }
  protected override handleMessage(data: Buffer, text: boolean): void {
    this.onMessage(text ? data.toString('utf8') : data);
  }
  protected override handleDrain(): void {}
  protected override handleClose(info: CloseInfo): void {
    this.#resolveClosed(info);
  }
}

/** One heartbeat tick, as the router's Sweep gives each interval; returns the bytes it queued (they show at once in bufferedAmount, the flush comes a tick later). */
function tick(connection: Connection): number {
  const before = connection.bufferedAmount;
  Connection.heartbeat(connection);
  return connection.bufferedAmount - before;
}

t.test('echoes text and binary; server frames are unmasked, FIN set, RSV clear', async (t) => {
  const server = await setup(t);
  const c = await client(t, server);
  const bin = randomBytes(70_000);
  await c.sendText('Hello');
  await c.sendBinary(bin);
  await c.sendText('');
  await c.sendText('κόσμε');
  t.match(await c.nextFrame(), { opcode: OP.TEXT, fin: true, masked: false, rsv: 0, payload: Buffer.from('Hello') });
  t.match(await c.nextFrame(), { opcode: OP.BINARY, fin: true, masked: false, payload: bin });
  t.match(await c.nextFrame(), { opcode: OP.TEXT, payload: Buffer.alloc(0) });
  t.equal(await c.nextText(), 'κόσμε');
  t.equal(c.protocolError, null, 'every server frame was a valid server frame');
});

t.test('frames sent in the same TCP write as the handshake are not lost', async (t) => {
  const server = await setup(t);
  const after = Buffer.concat([clientFrame(OP.TEXT, 'one'), clientFrame(OP.TEXT, 'two'), clientFrame(OP.PING, 'p')]);
  const c = await client(t, server, { after });
  t.equal(await c.nextText(), 'one');
  t.equal(await c.nextText(), 'two');
  t.same(c.received.map((f) => f.opcode).sort(), [OP.TEXT, OP.TEXT, OP.PONG].sort());
});

t.test('frames written one byte per TCP write arrive intact', async (t) => {
  const server = await setup(t);
  const c = await client(t, server);
  c.socket.setNoDelay(true);
  const stream = Buffer.concat([
    clientFrame(OP.TEXT, 'split'),
    clientFrame(OP.BINARY, randomBytes(200)),
    clientFrame(OP.TEXT, 'frag-', { fin: false }),
    clientFrame(OP.PING, 'mid'),
    clientFrame(OP.CONT, 'ment'),
  ]);
  for (const byte of stream) {
    await c.write(Buffer.from([byte]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.equal(await c.nextText(), 'split');
  t.equal((await c.nextDataFrame())?.payload.length, 200);
  t.equal(await c.nextText(), 'frag-ment');
  t.ok(c.received.some((f) => f.opcode === OP.PONG && f.payload.toString() === 'mid'), 'the ping between fragments was answered');
});

t.test('automatic pong carries the ping\'s payload (§5.5.2), also between fragments', async (t) => {
  const server = await setup(t);
  const c = await client(t, server);
  const payload = randomBytes(125);
  await c.sendFrame(OP.PING, payload);
  t.match(await c.nextFrame(), { opcode: OP.PONG, fin: true, payload });
  await c.sendFrame(OP.PING, '');
  t.match(await c.nextFrame(), { opcode: OP.PONG, payload: Buffer.alloc(0) });
  await c.sendFrame(OP.TEXT, 'a', { fin: false });
  await c.sendFrame(OP.PING, 'between');
  t.match(await c.nextFrame(), { opcode: OP.PONG, payload: Buffer.from('between') }, 'answered before the message completes');
  await c.sendFrame(OP.CONT, 'b');
  t.equal(await c.nextText(), 'ab');
  await c.sendFrame(OP.PONG, 'unsolicited');
  await c.sendText('still fine');
  t.equal(await c.nextText(), 'still fine', 'an unsolicited pong is ignored');
});

/** Sends `bytes`, then expects a Close with `code`, then TCP closed by the server, and `closed` to report it. */
async function expectFailure(t: Tap, bytes: Buffer | Buffer[], code: number, what: string): Promise<void> {
  const server = await setup(t, { routes: { '*': idle } });
  const c = await client(t, server);
  const channel = await server.channel();
  for (const b of Array.isArray(bytes) ? bytes : [bytes]) await c.write(b);
  const close = await c.nextClose();
  t.equal(close?.code, code, `${what}: Close ${code}`);
  await waitFor(c.serverEnded, 'the server to end TCP');
  await waitFor(c.closedTcp, 'TCP to close');
  t.match(await channel.closed, { code, wasClean: false }, `${what}: closed reports ${code}`);
}

t.test('protocol errors fail the connection with 1002 (§5.2, §5.4, §5.5, §7.1.7)', async (t) => {
  const cases: [string, Buffer | Buffer[]][] = [
    ['an unmasked client frame (§5.1)', clientFrame(OP.TEXT, 'x', { masked: false })],
    ['RSV1 set', clientFrame(OP.TEXT, 'x', { rsv: 4 })],
    ['RSV3 set', clientFrame(OP.BINARY, 'x', { rsv: 1 })],
    ['reserved data opcode 0x3', clientFrame(0x3, 'x')],
    ['reserved control opcode 0xB', clientFrame(0xb, 'x')],
    ['a ping of 126 bytes', clientFrame(OP.PING, Buffer.alloc(126))],
    ['a fragmented ping', clientFrame(OP.PING, 'x', { fin: false })],
    ['a continuation without a start', clientFrame(OP.CONT, 'x')],
    ['a new text frame inside a fragmented message', [clientFrame(OP.TEXT, 'a', { fin: false }), clientFrame(OP.TEXT, 'b')]],
    ['a new binary frame inside a fragmented message', [clientFrame(OP.BINARY, 'a', { fin: false }), clientFrame(OP.BINARY, 'b')]],
    ['a 64-bit length with the top bit set', Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])],
    ['a Close of 1 byte', clientFrame(OP.CLOSE, Buffer.from([3]))],
    ['a Close with code 1005', clientFrame(OP.CLOSE, closePayload(1005))],
    ['a Close with code 1004', clientFrame(OP.CLOSE, closePayload(1004))],
    ['a Close with code 999', clientFrame(OP.CLOSE, closePayload(999))],
    ['a Close with code 5000', clientFrame(OP.CLOSE, closePayload(5000))],
  ];
  for (const [what, bytes] of cases) await t.test(what, (t) => expectFailure(t, bytes, 1002, what));
});

t.test('invalid UTF-8 fails with 1007 (§8.1)', async (t) => {
  await t.test('in a single text frame', (t) => expectFailure(t, clientFrame(OP.TEXT, Buffer.from([0x68, 0xc3, 0x28])), 1007, 'single frame'));
  await t.test('in a Close reason', (t) => expectFailure(t, clientFrame(OP.CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff])])), 1007, 'close reason'));

  await t.test('the Close arrives BEFORE the final fragment is sent', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    await c.sendFrame(OP.TEXT, 'fine so far ', { fin: false });
    await c.sendFrame(OP.CONT, Buffer.from([0xed, 0xa0, 0x80]), { fin: false }); // a surrogate
    const close = await c.nextClose();
    t.equal(close?.code, 1007, 'closed with 1007 while the message is still open');
    await c.sendFrame(OP.CONT, 'the end'); // too late: the connection already failed
    await waitFor(c.closedTcp, 'TCP close');
  });

  await t.test('an invalid sequence split across two TCP reads of one frame', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    c.socket.setNoDelay(true);
    const payload = Buffer.concat([Buffer.from('ok '), Buffer.from([0xf4, 0x90]), Buffer.alloc(1000, 0x61)]);
    const frame = clientFrame(OP.TEXT, payload);
    const header = frame.length - payload.length;
    await c.write(frame.subarray(0, header + 4)); // up to F4: still a possible character
    await sleep(50);
    t.equal(c.received.length, 0, 'F4 alone is not (yet) invalid');
    await c.write(frame.subarray(header + 4, header + 5)); // 90: F4 90 is above U+10FFFF
    const close = await c.nextClose();
    t.equal(close?.code, 1007, '1007 before the rest of the frame is sent');
  });
});

t.test('closing handshake started by the peer (§5.5.1, §7.1)', async (t) => {
  await t.test('echoes the code, then the server ends TCP; closed reports the peer\'s code and reason', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    const channel = await server.channel();
    await c.sendClose(4001, 'bye ✓');
    const close = await c.nextClose();
    t.same({ code: close?.code, reason: close?.reason }, { code: 4001, reason: '' }, 'the reply echoes the code (§5.5.1)');
    // The client never ends TCP itself: the FIN it gets is the server's (§7.1.1).
    await waitFor(c.serverEnded, 'the server to end TCP first (§7.1.1)');
    await waitFor(c.closedTcp, 'TCP close');
    t.same(await channel.closed, { code: 4001, reason: 'bye ✓', wasClean: true });
  });

  await t.test('a peer that keeps its half of TCP open afterwards is cut off after closeTimeout', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server, { allowHalfOpen: true });
    const channel = await server.channel();
    await c.sendClose(1000);
    t.equal((await c.nextClose())?.code, 1000);
    await waitFor(c.serverEnded, 'the server to end TCP');
    t.notOk(c.socket.writableEnded, 'the client keeps its side open');
    // Having sent its FIN, the server can only close its socket: the client sees nothing more.
    t.same(await waitFor(channel.closed, 'the server to close its socket after closeTimeout'), { code: 1000, reason: '', wasClean: true }, 'still a clean close: both Close frames were exchanged');
  });

  await t.test('an empty Close is answered with an empty Close; closed reports 1005', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    const channel = await server.channel();
    await c.sendClose();
    const frame = await c.nextFrame();
    t.match(frame, { opcode: OP.CLOSE, payload: Buffer.alloc(0) });
    c.socket.end();
    t.match(await channel.closed, { code: 1005, reason: '', wasClean: true });
  });

  await t.test('messages before the Close are still delivered', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    const channel = await server.channel();
    await c.write(Buffer.concat([clientFrame(OP.TEXT, 'last words'), clientFrame(OP.CLOSE, closePayload(1000))]));
    t.equal(await channel.receive(), 'last words');
    t.equal(await channel.receive(), null);
  });
});

t.test('closing handshake started by the server', async (t) => {
  await t.test('the peer answers: clean close with our code', async (t) => {
    const server = await setup(t, { routes: { '*': async (ch) => ch.close(4000, 'done here') } });
    const c = await client(t, server);
    const channel = await server.channel();
    const close = await c.nextClose();
    t.same({ code: close?.code, reason: close?.reason }, { code: 4000, reason: 'done here' });
    await c.sendClose(4000);
    await waitFor(c.serverEnded, 'the server to end TCP');
    c.socket.end();
    t.same(await channel.closed, { code: 4000, reason: '', wasClean: true });
  });

  await t.test('the peer never answers: TCP is dropped after closeTimeout', async (t) => {
    const server = await setup(t, { routes: { '*': async (ch) => ch.close(4000, 'done here') } });
    const c = await client(t, server);
    const channel = await server.channel();
    t.equal((await c.nextClose())?.code, 4000);
    // The client neither sends a Close nor ends TCP.
    await waitFor(c.closedTcp, 'the server to drop TCP after closeTimeout');
    t.same(await channel.closed, { code: 4000, reason: 'done here', wasClean: false });
  });

  await t.test('nothing is sent after the Close frame, not even a pong', async (t) => {
    let sendResult: boolean | null = null;
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          await ch.send('before');
          ch.close(1000);
          sendResult = await ch.send('after');
          await ch.closed;
        },
      },
    });
    const c = await client(t, server);
    t.equal(await c.nextText(), 'before');
    t.equal((await c.nextClose())?.code, 1000);
    await c.sendFrame(OP.PING, 'late ping');
    await c.sendText('late text');
    await c.sendClose(1000);
    await waitFor(c.closedTcp, 'TCP close');
    t.equal(sendResult, false, 'send() after close() returns false');
    const last = c.received[c.received.length - 1];
    t.equal(last?.opcode, OP.CLOSE, 'the Close frame was the last frame sent');
    t.equal(c.received.filter((f) => f.opcode === OP.CLOSE).length, 1, 'exactly one Close frame');
  });
});

t.test('TCP closed without a Close frame reports 1006', async (t) => {
  for (const how of ['end', 'destroy', 'reset'] as const) {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    const channel = await server.channel();
    if (how === 'end') c.socket.end();
    else if (how === 'destroy') c.socket.destroy();
    else c.socket.resetAndDestroy(); // RST: an 'error' (ECONNRESET) on the server's socket
    t.match(await waitFor(channel.closed, 'closed'), { code: 1006, wasClean: false }, how);
    const other = await client(t, server);
    await other.sendFrame(OP.PING, 'still up?');
    t.match(await other.nextFrame(), { opcode: OP.PONG, payload: Buffer.from('still up?') }, 'the server still serves');
  }
});

t.test('max message size: 1009 as soon as the header announces too much (§7.4.1)', async (t) => {
  const limits = { maxMessageSize: 1000 };
  await t.test('one frame', async (t) => {
    const server = await setup(t, { routes: { '*': idle }, limits });
    const c = await client(t, server);
    // Only the header of a 1 MiB frame: the server must not wait for the data.
    await c.write(clientFrame(OP.BINARY, Buffer.alloc(1 << 20)).subarray(0, 14));
    t.equal((await c.nextClose())?.code, 1009);
    await waitFor(c.closedTcp, 'TCP close');
  });
  await t.test('fragments adding up', async (t) => {
    const server = await setup(t, { routes: { '*': idle }, limits });
    const c = await client(t, server);
    await c.sendFrame(OP.TEXT, 'x'.repeat(999), { fin: false });
    await c.write(clientFrame(OP.CONT, 'xx').subarray(0, 6));
    t.equal((await c.nextClose())?.code, 1009);
  });
  await t.test('exactly the limit passes', async (t) => {
    const server = await setup(t, { limits });
    const c = await client(t, server);
    await c.sendFrame(OP.TEXT, 'x'.repeat(500), { fin: false });
    await c.sendFrame(OP.CONT, 'y'.repeat(500));
    t.equal((await c.nextText()).length, 1000);
  });
});

t.test('garbage costs only its own connection', async (t) => {
  // About 1 random input in 1,000 is the start of a valid frame, and the server
  // rightly waits for the rest: the heartbeat drops such a silent peer.
  const server = await setup(t, { limits: { maxMessageSize: 4096, heartbeatInterval: 100 } });
  const good = await client(t, server);
  good.autoPong = true;
  for (let i = 0; i < 20; i++) {
    const bad = await client(t, server);
    await bad.write(randomBytes(64 + i * 13));
    await waitFor(bad.closedTcp, `garbage connection ${i} to be closed`);
  }
  await good.sendText('still here?');
  t.equal(await good.nextText(), 'still here?', 'the well-behaved peer is unaffected');
});

t.test('heartbeat: the server pings an idle peer and drops one that does not answer', async (t) => {
  await t.test('no answer: dropped, closed reports 1006', async (t) => {
    const server = await setup(t, { routes: { '*': idle }, limits: { heartbeatInterval: 100 } });
    const c = await client(t, server);
    const channel = await server.channel();
    t.match(await c.nextFrame('a heartbeat ping'), { opcode: OP.PING });
    await waitFor(c.closedTcp, 'the silent peer to be dropped');
    t.match(await channel.closed, { code: 1006, wasClean: false });
  });

  await t.test('a peer that answers pings stays connected', async (t) => {
    const server = await setup(t, { limits: { heartbeatInterval: 100 } });
    const c = await client(t, server);
    c.autoPong = true;
    for (let i = 0; i < 4; i++) t.match(await c.nextFrame(`ping ${i}`), { opcode: OP.PING });
    t.notOk(c.tcpClosed, 'still connected after several intervals');
    await c.sendText('alive');
    t.equal(await c.nextText(), 'alive', 'and still usable');
  });

  await t.test('a peer that never pongs is dropped even while the server keeps sending', async (t) => {
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          while (ch.readyState === 'open') {
            await ch.send('tick');
            await sleep(20);
          }
        },
      },
      limits: { heartbeatInterval: 100 },
    });
    const c = await client(t, server); // reads everything, answers nothing
    await waitFor(c.closedTcp, 'the silent peer to be dropped', EVENTUALLY);
    t.ok(c.received.some((f) => f.opcode === OP.PING), 'it was pinged');
    t.match(await (await server.channel()).closed, { code: 1006 });
  });

  await t.test('the heartbeat keeps working after inbound backpressure paused and resumed reading', async (t) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          await released; // does not receive() at first: the queue passes its high-water mark
          for (let i = 0; i < 20; i++) await ch.receive();
          await ch.closed;
        },
      },
      limits: { heartbeatInterval: 100, receiveHighWaterMark: 100 },
    });
    const c = await client(t, server);
    c.autoPong = true;
    for (let i = 0; i < 20; i++) await c.sendText('x'.repeat(50));
    await sleep(300); // several heartbeat intervals pass while the server is paused
    c.autoPong = false; // from now on the peer is silent
    release();
    await waitFor(c.closedTcp, 'the silent peer to be dropped after reading resumed');
    t.pass('dropped');
  });

  await t.test('heartbeatInterval 0 turns it off', async (t) => {
    const server = await setup(t, { routes: { '*': idle }, limits: { heartbeatInterval: 0 } });
    const c = await client(t, server);
    await sleep(300);
    t.equal(c.received.length, 0, 'no ping');
    t.notOk(c.tcpClosed);
  });
});

t.test('heartbeat, tick by tick: silent for one tick, pinged on the next, dropped on the one after; a byte from the peer or paused reading starts over (§5.5.2)', async (t) => {
  // The test is the timer, so every step is exact.
  const { peer, socket } = await socketPair(t);
  const connection = new BareConnection(socket);
  const PING = 2; // an empty ping: a 2-byte header
  t.equal(tick(connection), 0, 'tick 1: silent for less than a whole interval, nothing sent');
  t.equal(tick(connection), PING, 'tick 2: silent for a whole interval, pinged');
  if (connection.readyState !== 'open') return t.fail('dropped before the peer could answer');

  const read = new Promise((resolve) => socket.once('data', resolve)); // runs after the connection's listener
  peer.write(clientFrame(OP.PONG));
  await waitFor(read, 'the pong to be read');
  t.equal(tick(connection), 0, 'the pong showed the peer alive: silence starts over');
  t.equal(tick(connection), PING, 'pinged again after another silent interval');

  connection.pause();
  for (let i = 0; i < 4; i++) t.equal(tick(connection), 0, `paused, tick ${i + 1}: not pinged, not dropped`);
  t.equal(connection.readyState, 'open', 'while reading is paused, silence proves nothing');
  connection.resume();

  t.equal(tick(connection), 0, 'resumed: silence starts over');
  t.equal(tick(connection), PING, 'pinged');
  t.equal(connection.readyState, 'open', 'not yet dropped');
  tick(connection);
  t.not(connection.readyState, 'open', 'no answer by the next tick: dropped');
  t.match(await waitFor(connection.closedInfo, 'closed'), { code: 1006, wasClean: false });
});

t.test('once our Close is sent the heartbeat stands aside: closeTimeout alone bounds the closing handshake', async (t) => {
  // With a heartbeat shorter than closeTimeout, a tick that still counted
  // silence would drop a peer taking its time to answer, and report 1006.
  const { peer, socket } = await socketPair(t);
  peer.resume(); // read what the server sends, so its FIN is seen
  const connection = new BareConnection(socket, { closeTimeout: 60_000 });
  connection.close(4000, 'bye');
  for (let i = 0; i < 4; i++) t.equal(tick(connection), 0, `tick ${i + 1} after our Close: no ping`);
  t.notOk(socket.destroyed, 'not dropped');
  peer.write(clientFrame(OP.CLOSE, closePayload(4000)));
  t.same(await waitFor(connection.closedInfo, 'the closing handshake to finish'), { code: 4000, reason: '', wasClean: true });
});

t.test('an exception in a hook (a bug, not the peer) fails the connection with 1011', async (t) => {
  const { peer, socket } = await socketPair(t);
  const received: Buffer[] = [];
  peer.on('data', (d: Buffer) => received.push(d));
  const connection = new BareConnection(socket);
  connection.onMessage = () => {
    throw new Error('a bug in the subclass');
  };
  peer.write(clientFrame(OP.TEXT, 'hello'));
  t.match(await waitFor(connection.closedInfo, 'closed'), { code: 1011, reason: 'internal error', wasClean: false });
  t.same(Buffer.concat(received), Buffer.concat([Buffer.from([0x88, 16]), closePayload(1011, 'internal error')]), 'a Close 1011 went out');
});

t.test('a string with a lone surrogate goes out as valid UTF-8 (§5.6: a text message MUST be UTF-8)', async (t) => {
  const server = await setup(t, { routes: { '*': async (ch) => void (await ch.send('a\ud800b\udc00')) } });
  const c = await client(t, server);
  const frame = await c.nextFrame();
  t.equal(frame?.opcode, OP.TEXT);
  t.ok(frame && isUtf8(frame.payload), 'the payload is valid UTF-8');
  t.equal(frame?.payload.toString('utf8'), 'a\ufffdb\ufffd', 'each lone surrogate became U+FFFD, and the length matches the bytes');
});

t.test('after failing the connection nothing more from the peer is processed (§7.1.7)', async (t) => {
  const server = await setup(t, { routes: { '*': idle } });
  const c = await client(t, server);
  const channel = await server.channel();
  // One write: a valid message, a broken frame, then a message, a ping and the peer's Close.
  await c.write(Buffer.concat([
    clientFrame(OP.TEXT, 'before'),
    clientFrame(OP.TEXT, 'x', { rsv: 4 }),
    clientFrame(OP.TEXT, 'after'),
    clientFrame(OP.PING, 'anyone?'),
    clientFrame(OP.CLOSE, closePayload(4000, 'ignored')),
  ]));
  t.equal((await c.nextClose())?.code, 1002);
  await waitFor(c.closedTcp, 'TCP close');
  t.notOk(c.received.some((f) => f.opcode === OP.PONG), 'the ping after the error was not answered');
  t.match(await channel.closed, { code: 1002, wasClean: false }, 'the Close after the error was not read either');
  t.equal(await channel.receive(), 'before', 'the message before the error was delivered');
  t.equal(await channel.receive(), null, 'the one after it was not');
});

t.test('a reply to a message read just before a broken rule goes out before the Close: parsing stops at the failure, the Close waits for the handlers of that read (§7.1.7)', async (t) => {
  const good = clientFrame(OP.TEXT, 'good');
  const fragmented = [clientFrame(OP.TEXT, 'go', { fin: false }), clientFrame(OP.CONT, 'od')];
  const cases: [string, Buffer[], number][] = [
    ['RSV1 set', [good, clientFrame(OP.TEXT, 'x', { rsv: 4 })], 1002],
    ['a reserved opcode', [good, clientFrame(0x3, 'x')], 1002],
    ['a continuation with nothing to continue', [good, clientFrame(OP.CONT, 'x')], 1002],
    ['a new data frame inside a fragmented message', [good, clientFrame(OP.TEXT, 'a', { fin: false }), clientFrame(OP.BINARY, 'b')], 1002],
    ['a fragmented message, then a continuation with nothing to continue', [...fragmented, clientFrame(OP.CONT, 'x')], 1002],
    ['an unmasked frame', [good, clientFrame(OP.TEXT, 'x', { masked: false })], 1002],
    ['a Close with a code that may not be sent', [good, clientFrame(OP.CLOSE, closePayload(1005))], 1002],
    ['invalid UTF-8', [good, clientFrame(OP.TEXT, Buffer.from([0x68, 0xc3, 0x28]))], 1007],
    ['a fragmented message, then one with invalid UTF-8 in a continuation', [...fragmented, clientFrame(OP.TEXT, 'ok', { fin: false }), clientFrame(OP.CONT, Buffer.from([0xff]))], 1007],
    ['a message over maxMessageSize', [good, clientFrame(OP.BINARY, Buffer.alloc(2000))], 1009],
  ];
  for (const [what, frames, code] of cases) {
    await t.test(what, async (t) => {
      const server = await setup(t, { limits: { maxMessageSize: 1000 } }); // the echo handler
      const c = await client(t, server);
      const channel = await server.channel();
      await c.write(Buffer.concat(frames)); // one write: the good message and the bad frame arrive in one read
      t.match(await c.nextFrame(), { opcode: OP.TEXT, payload: Buffer.from('good') }, 'the echo comes first');
      t.equal((await c.nextClose())?.code, code, `then the Close, ${code}`);
      await waitFor(c.closedTcp, 'TCP close');
      t.match(await channel.closed, { code, wasClean: false });
    });
  }

  await t.test('several messages and a ping before the bad frame: every answer, then the Close', async (t) => {
    const server = await setup(t);
    const c = await client(t, server);
    await c.write(Buffer.concat([clientFrame(OP.TEXT, 'one'), clientFrame(OP.PING, 'p'), clientFrame(OP.BINARY, 'two'), clientFrame(OP.TEXT, 'x', { rsv: 2 }), clientFrame(OP.TEXT, 'after')]));
    t.equal((await c.nextClose())?.code, 1002);
    t.same(
      c.received.map((f) => [f.opcode, f.opcode === OP.CLOSE ? f.payload.readUInt16BE(0) : f.payload.toString()]),
      [[OP.PONG, 'p'], [OP.TEXT, 'one'], [OP.BINARY, 'two'], [OP.CLOSE, 1002]],
      'the pong (sent while parsing), the echoes (sent by the handler), the Close; nothing for the frame after the bad one',
    );
  });

  await t.test('a handler that returns after its reply: the Close still carries the failure, not 1000', async (t) => {
    const server = await setup(t, { routes: { '*': async (ch) => void (await ch.send(`re: ${await ch.receive()}`)) } });
    const c = await client(t, server);
    await c.write(Buffer.concat([good, clientFrame(OP.CONT, 'x')]));
    t.equal(await c.nextText(), 're: good');
    t.equal((await c.nextClose())?.code, 1002);
  });

  await t.test('the peer ends TCP right after the bad frame: the reply and the Close still go out', async (t) => {
    const server = await setup(t);
    const c = await client(t, server, { allowHalfOpen: true });
    c.socket.end(Buffer.concat([good, clientFrame(OP.TEXT, 'x', { rsv: 4 })]));
    t.equal(await c.nextText(), 'good');
    t.equal((await c.nextClose())?.code, 1002);
    await waitFor(c.closedTcp, 'TCP close');
  });

  await t.test('a failed peer is kept no longer: a reply that waits for the next turn of the event loop is not sent', async (t) => {
    let lateSendResolved!: (sent: boolean) => void;
    const lateSend = new Promise<boolean>((resolve) => (lateSendResolved = resolve));
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          const message = await ch.receive();
          await new Promise((resolve) => setImmediate(resolve));
          lateSendResolved(await ch.send(`late: ${message}`));
          await ch.closed;
        },
      },
    });
    const c = await client(t, server);
    await c.write(Buffer.concat([good, clientFrame(0xb, 'x')]));
    t.equal((await c.nextClose())?.code, 1002, 'the Close');
    t.equal(await waitFor(lateSend, 'the late send'), false, 'the late reply was refused');
    t.notOk(c.received.some((f) => f.opcode === OP.TEXT), 'and never sent');
  });
});

t.test('a broken frame while we wait for the peer\'s Close: TCP closes at once, and our Close\'s code stands', async (t) => {
  const { peer, socket } = await socketPair(t);
  peer.resume(); // read what the server sends, so its FIN is seen
  const connection = new BareConnection(socket, { closeTimeout: 60_000 });
  connection.close(4000, 'bye');
  const ended = new Promise((resolve) => peer.once('end', resolve));
  peer.write(clientFrame(OP.TEXT, 'x', { rsv: 4 }));
  await waitFor(ended, 'the server to end TCP without waiting for closeTimeout');
  peer.end();
  t.match(await waitFor(connection.closedInfo, 'closed'), { code: 4000, reason: 'bye', wasClean: false });
});

t.test('the reply to a Close follows the message being sent, whole (§5.5.1)', async (t) => {
  const big = 'y'.repeat(3 << 20);
  const server = await setup(t, {
    limits: { sendHighWaterMark: 1 << 30, maxBufferedAmount: 1 << 30 },
    routes: {
      '*': async (ch) => {
        await ch.send(big); // resolves at once (high-water mark 1 GiB): the bytes are still on their way
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  c.pauseReading(); // 3 MB cannot all be delivered before the Close arrives
  const channel = await server.channel();
  await c.sendClose(1000);
  c.resumeReading();
  const first = await c.nextDataFrame();
  t.equal(first?.opcode, OP.TEXT, 'the message comes first');
  t.equal(first?.payload.length, big.length, 'and whole');
  t.equal((await c.nextClose())?.code, 1000, 'then the reply Close');
  t.match(await waitFor(channel.closed, 'closed'), { code: 1000, wasClean: true });
});

t.test('what send() accepted before close() goes out whole before the Close, and a Ping read before a Close is answered before the reply (§5.5.1, §5.5.2)', async (t) => {
  await t.test('the server closes right after sending, in the same tick', async (t) => {
    const big = Buffer.alloc(20_000, 0x62); // over the size that is copied into the flush's buffer
    const server = await setup(t, {
      routes: {
        '*': async (ch) => {
          void ch.send('one');
          void ch.send(big);
          void ch.send('three');
          ch.close(4000, 'done');
          await ch.closed;
        },
      },
    });
    const c = await client(t, server);
    t.equal(await c.nextText(), 'one');
    t.match(await c.nextFrame(), { opcode: OP.BINARY, payload: big });
    t.equal(await c.nextText(), 'three');
    t.same(await c.nextClose(), { code: 4000, reason: 'done', skipped: [] }, 'then the Close');
  });

  await t.test('the peer sends a Ping and its Close in one read', async (t) => {
    const server = await setup(t, { routes: { '*': idle } });
    const c = await client(t, server);
    const channel = await server.channel();
    await c.write(Buffer.concat([clientFrame(OP.PING, 'last ping'), clientFrame(OP.CLOSE, closePayload(4001))]));
    t.match(await c.nextFrame(), { opcode: OP.PONG, payload: Buffer.from('last ping') }, 'the pong first');
    t.match(await c.nextFrame(), { opcode: OP.CLOSE, payload: closePayload(4001) }, 'then the reply Close');
    t.match(await waitFor(channel.closed, 'closed'), { code: 4001, wasClean: true });
  });
});

t.test('a failure found inside a payload stops the parser too: a Close in a later read does not replace the failure (§7.1.7)', async (t) => {
  // Unlike a bad header, which the parser would meet again, a bad payload
  // has been consumed when it throws: only stop() keeps later reads out.
  const server = await setup(t, { routes: { '*': idle } });
  const c = await client(t, server, { allowHalfOpen: true });
  const channel = await server.channel();
  await c.write(clientFrame(OP.TEXT, Buffer.from([0x68, 0xc3, 0x28])));
  t.equal((await c.nextClose())?.code, 1007);
  await c.write(Buffer.concat([clientFrame(OP.PING, 'anyone?'), clientFrame(OP.CLOSE, closePayload(4000, 'ignored'))]));
  c.socket.end();
  t.match(await waitFor(channel.closed, 'closed'), { code: 1007, wasClean: false }, 'the failure stands');
  t.notOk(c.received.some((f) => f.opcode === OP.PONG), 'the later ping was not answered');
});

t.test('a connection failed while reading is paused still reads the peer\'s FIN and closes (§7.1.7)', async (t) => {
  // closeTimeout is far away: only reading on lets 'close' come soon.
  const server = await setup(t, { routes: { '*': idle }, limits: { receiveHighWaterMark: 10, closeTimeout: 60_000 } });
  const c = await client(t, server, { allowHalfOpen: true });
  const channel = await server.channel();
  // One write: a message that pauses reading (its handler does not receive), then a broken frame.
  await c.write(Buffer.concat([clientFrame(OP.TEXT, 'x'.repeat(100)), clientFrame(OP.TEXT, 'x', { rsv: 4 })]));
  t.equal((await c.nextClose())?.code, 1002);
  // More bytes, then the FIN: a paused socket would hold the bytes, and the FIN behind them, unread.
  await c.sendClose(1002);
  c.socket.end();
  t.match(await waitFor(channel.closed, 'the server to read on to the peer\'s FIN'), { code: 1002, wasClean: false });
});

t.test('a reply Close that never left (the peer stopped reading) is not a clean close (§7.1.4)', async (t) => {
  // The peer's Close arrives behind a message the peer does not read: our
  // reply waits behind it in the write buffer until closeTimeout drops TCP.
  // Both Close frames were never exchanged, whatever our flags say.
  let queued!: () => void;
  const isQueued = new Promise<void>((resolve) => (queued = resolve));
  const server = await setup(t, {
    limits: { sendHighWaterMark: 1 << 30, maxBufferedAmount: 1 << 30 },
    routes: {
      '*': async (ch) => {
        await ch.receive();
        void ch.send(Buffer.alloc(32 << 20)); // far more than the kernel buffers hold
        queued();
        await ch.closed;
      },
    },
  });
  const c = await client(t, server);
  c.pauseReading();
  await c.sendText('go');
  await waitFor(isQueued, 'the handler to queue its message');
  await c.sendClose(4000);
  const channel = await server.channel();
  t.match(await waitFor(channel.closed, 'the server to give up after closeTimeout'), { code: 4000, wasClean: false });
  c.resumeReading();
  await waitFor(c.closedTcp, 'TCP close');
  t.notOk(c.received.some((f) => f.opcode === OP.CLOSE), 'the peer indeed never got our Close');
});

t.test('a peer that pings but never reads the pongs is dropped at maxBufferedAmount (1006)', async (t) => {
  // Pongs are answers the handler never sends: without the limit they would
  // pile up in server memory for as long as the peer keeps pinging.
  const server = await setup(t, { routes: { '*': idle }, limits: { maxBufferedAmount: 64 * 1024 } });
  const c = await client(t, server);
  c.pauseReading();
  const channel = await server.channel();
  const pings = Buffer.concat(Array.from({ length: 8000 }, () => clientFrame(OP.PING, Buffer.alloc(125)))); // ~1 MB
  // 32 MB of pings: their pongs are far more than the kernel buffers hold.
  for (let i = 0; i < 32 && !c.tcpClosed; i++) await c.write(pings);
  t.match(await waitFor(channel.closed, 'the peer to be dropped'), { code: 1006, wasClean: false });
});

t.test('a peer that pings but never reads: reading pauses once sendHighWaterMark of pongs is unsent, and the heartbeat drops it', async (t) => {
  const { peer, socket } = await socketPair(t);
  const sendHighWaterMark = 16 * 1024;
  const connection = new BareConnection(socket, { sendHighWaterMark, maxBufferedAmount: 1 << 30 });
  const pings = Buffer.concat(Array.from({ length: 8000 }, () => clientFrame(OP.PING, Buffer.alloc(125)))); // ~1 MB
  // 32 MB of pings: their pongs are far more than the kernel buffers hold. Not awaited: once
  // the server stops reading, these writes stay in the peer's own buffer.
  for (let i = 0; i < 32; i++) peer.write(pings);
  await waitFor(
    (async () => {
      while (!socket.isPaused()) await sleep(5);
    })(),
    'reading to pause',
  );
  const unsent = connection.bufferedAmount;
  t.ok(unsent > sendHighWaterMark && unsent < sendHighWaterMark + 128 * 1024, `${unsent} bytes of pongs unsent: the mark and at most one read's worth`);
  t.equal(connection.readyState, 'open', 'not dropped for it');

  t.equal(tick(connection), 0, 'tick 1: nothing read for a whole interval');
  t.equal(tick(connection), 2, 'tick 2: pinged, behind the pongs it does not read');
  t.equal(connection.readyState, 'open');
  tick(connection);
  t.not(connection.readyState, 'open', 'tick 3: dropped, where pause() for a busy handler would have spared it');
  t.match(await waitFor(connection.closedInfo, 'closed'), { code: 1006, wasClean: false });
});

t.test('a drop while parsing a read stops there: a Close later in the same read does not replace the 1006', async (t) => {
  // maxBufferedAmount 0: the second ping finds the first one's pong unsent.
  const server = await setup(t, { routes: { '*': idle }, limits: { maxBufferedAmount: 0 } });
  const c = await client(t, server);
  const channel = await server.channel();
  await c.write(Buffer.concat([clientFrame(OP.PING, 'a'), clientFrame(OP.PING, 'b'), clientFrame(OP.CLOSE, closePayload(4000, 'bye'))]));
  t.match(await waitFor(channel.closed, 'the peer to be dropped'), { code: 1006, wasClean: false });
});

t.test('ping(): at most 125 bytes (§5.5); nothing once closing', async (t) => {
  const { peer, socket } = await socketPair(t);
  const received: Buffer[] = [];
  peer.on('data', (d: Buffer) => received.push(d));
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  // A bare Connection, without a Channel's queue: ping() is protected, this one makes it public.
  class PingingConnection extends Connection {
    override ping(payload?: Uint8Array): void {
      super.ping(payload);
    }
    protected override handleMessage(): void {}
    protected override handleDrain(): void {}
    protected override handleClose(): void {
      closed();
    }
  }
  const connection = new PingingConnection(socket, { limits: resolveLimits({ heartbeatInterval: 0, closeTimeout: 100 }) });
  t.throws(() => connection.ping(Buffer.alloc(126)), RangeError, '126 bytes: RangeError');
  connection.ping(Buffer.alloc(125, 7));
  connection.close(1000);
  connection.ping(Buffer.from('late'));
  await waitFor(done, 'closed after closeTimeout');
  const bytes = Buffer.concat(received);
  t.same(bytes.subarray(0, 127), Buffer.concat([Buffer.from([0x89, 125]), Buffer.alloc(125, 7)]), 'a 125-byte ping, unmasked');
  t.same(bytes.subarray(127), Buffer.from([0x88, 2, 0x03, 0xe8]), 'then the Close, and no ping after it');
});

t.test('limitReading: past its gate a connection stops reading, and still closes cleanly when the server closes it', async (t) => {
  const reads: number[] = [];
  let wait = 0;
  const server = await setup(t, {
    routes: {
      '/': async (channel) => {
        channel.limitReading({ take: (bytes) => (reads.push(bytes), wait) });
        for await (const message of channel) await channel.send(message);
      },
    },
  });
  const c = await client(t, server);
  await c.sendText('one');
  t.equal(await c.nextText(), 'one', 'within the gate: read and echoed');
  wait = 60 * 60_000; // the gate now says: stop reading for an hour
  await c.sendText('two');
  t.equal(await c.nextText(), 'two', 'the read that went past the gate is still handled');
  const readsBefore = reads.length;
  await c.sendText('three');
  await c.sendFrame(OP.PING, 'p');
  const channel = await server.channel(0);
  channel.close(1000, 'bye');
  // The Close must be read although the gate stopped reading: closing reads on (§7.1.2: wait for the peer's Close).
  const close = await c.nextClose();
  t.equal(close?.code, 1000);
  t.same(close?.skipped.map((f) => f.opcode), [], 'nothing read after the gate stopped reading: no echo of "three", no pong');
  await c.sendClose(1000);
  t.match(await channel.closed, { code: 1000, wasClean: true }, 'the closing handshake completes');
  t.ok(reads.length > readsBefore, 'closing read on past the gate');
});

t.test('after a failure, a peer that streams on is dropped, not read until the close timeout', async (t) => {
  const server = await setup(t, { routes: { '*': idle }, limits: { closeTimeout: 60 * 60_000 } });
  const c = await client(t, server, { allowHalfOpen: true }); // our side stays open after the server's FIN
  const channel = await server.channel(0);
  await c.sendFrame(OP.BINARY, 'x', { rsv: 0x4 }); // RSV1 with no extension agreed: fail (1002)
  t.equal((await c.nextClose())?.code, 1002);
  // More than the 64 KiB a failed peer may send after our Close. (After a close of ours that is
  // no failure, what the peer sends before its Close is read: channel.test.ts.)
  const frame = clientFrame(OP.BINARY, Buffer.alloc(1000));
  for (let i = 0; i < 100 && !c.tcpClosed; i++) await c.write(Buffer.concat(Array.from({ length: 10 }, () => frame)));
  // Our side of TCP stays open: without the limit the server would read on until the close timeout.
  t.match(await waitFor(channel.closed, 'the server to drop the connection'), { code: 1002, wasClean: false }, 'dropped; our code stands');
});

t.test("limitReading's hold: told what an unfinished message holds after each read, 0 at its end and at close; false fails with 1013", async (t) => {
  const told: number[] = [];
  let cap = Infinity;
  const server = await setup(t, {
    routes: {
      '*': async (channel) => {
        channel.limitReading({ take: () => 0, hold: (bytes) => (told.push(bytes), bytes <= cap) });
        for await (const message of channel) await channel.send(message);
      },
    },
  });
  const c = await client(t, server);
  // A fragment and a ping: the pong shows the fragment was read (§5.4 lets control frames come between).
  await c.write(Buffer.concat([clientFrame(OP.TEXT, 'a'.repeat(100), { fin: false }), clientFrame(OP.PING, 'p')]));
  t.equal((await c.nextFrame())?.opcode, OP.PONG);
  t.equal(told.at(-1), 100, 'the first fragment is held');
  await c.sendFrame(OP.CONT, 'b'.repeat(50));
  t.equal(await c.nextText(), 'a'.repeat(100) + 'b'.repeat(50));
  t.equal(told.at(-1), 0, 'nothing held once the message is complete');

  cap = 99;
  await c.write(clientFrame(OP.TEXT, 'c'.repeat(100), { fin: false }));
  const close = await c.nextClose();
  t.match(close, { code: 1013, reason: /unfinished/ }, 'more than hold() allows: failed with 1013 (Try Again Later)');
  const channel = await server.channel(0);
  await channel.closed;
  t.equal(told.at(-1), 0, 'told 0 when the connection closed');
});
