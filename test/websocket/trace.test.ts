import t from 'tap';
import { formatTrace, type FrameTrace } from '../../lib/websocket/trace.js';
import { clientFrame, closePayload, OP, openClient, waitFor } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import { captureStderr } from '../helpers/stderr.js';

const frame = (f: Partial<FrameTrace>): FrameTrace => ({ direction: 'in', opcode: OP.TEXT, fin: true, masked: true, length: 0, preview: Buffer.alloc(0), ...f });

t.test('formatTrace: one line per frame with direction, opcode, FIN, MASK, length, preview', async (t) => {
  t.equal(formatTrace(frame({ length: 5, preview: Buffer.from('Hello') })), '<- TEXT   fin=1 mask=1 len=5 "Hello"');
  t.equal(formatTrace(frame({ direction: 'out', masked: false, fin: false, opcode: OP.CONT, length: 2, preview: Buffer.from('lo') })), '-> CONT   fin=0 mask=0 len=2 "lo"');
  t.equal(formatTrace(frame({ opcode: OP.TEXT, length: 0 })), '<- TEXT   fin=1 mask=1 len=0', 'empty payload: no preview');
  t.equal(formatTrace(frame({ opcode: OP.PING, length: 4, preview: Buffer.from('ping') })), '<- PING   fin=1 mask=1 len=4 "ping"');
  t.equal(formatTrace(frame({ opcode: OP.PONG, direction: 'out', masked: false, length: 0 })), '-> PONG   fin=1 mask=0 len=0');
  t.equal(formatTrace(frame({ opcode: 0x3, length: 0 })), '<- 0x3    fin=1 mask=1 len=0', 'an unknown opcode by number');
});

t.test('formatTrace: previews are short', async (t) => {
  const text = 'x'.repeat(48);
  t.equal(formatTrace(frame({ length: 1000, preview: Buffer.from(text) })), `<- TEXT   fin=1 mask=1 len=1000 "${'x'.repeat(40)}"…`);
  t.equal(formatTrace(frame({ length: 10, preview: Buffer.from('quote"\n') })), '<- TEXT   fin=1 mask=1 len=10 "quote\\"\\n"…', 'escaped; … as more bytes follow');
  const bin = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
  t.equal(
    formatTrace(frame({ opcode: OP.BINARY, length: 20, preview: bin })),
    '<- BINARY fin=1 mask=1 len=20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …',
  );
  t.equal(formatTrace(frame({ opcode: OP.BINARY, length: 2, preview: Buffer.from([0xab, 0xcd]) })), '<- BINARY fin=1 mask=1 len=2 ab cd');
});

t.test('formatTrace: RSV1 (permessage-deflate) shows on compressed frames, and a compressed message shows both lengths', async (t) => {
  t.equal(formatTrace(frame({ rsv: 4, length: 7, preview: Buffer.from([0xf2, 0x48]) })), '<- TEXT   fin=1 rsv1=1 mask=1 len=7 (compressed)', 'a frame: its DEFLATE bytes are not shown');
  t.equal(formatTrace(frame({ rsv: 4, length: 7, inflated: 5, preview: Buffer.from('Hello') })), '<- TEXT   fin=1 rsv1=1 mask=1 len=7 inflated=5 "Hello"', 'the message: wire and inflated lengths, inflated preview');
  t.equal(formatTrace(frame({ direction: 'out', masked: false, opcode: OP.BINARY, rsv: 4, length: 21, inflated: 3000, preview: Buffer.alloc(16, 7) })), '-> BINARY fin=1 rsv1=1 mask=0 len=21 inflated=3000 07 07 07 07 07 07 07 07 07 07 07 07 07 07 07 07 …');
  t.equal(formatTrace(frame({ opcode: OP.CONT, compressed: true, length: 3, preview: Buffer.from([0x4a, 0x4e, 0x19]) })), '<- CONT   fin=1 mask=1 len=3 (compressed)', 'a continuation of a compressed message: DEFLATE bytes too');
  t.equal(formatTrace(frame({ rsv: 3, length: 0 })), '<- TEXT   fin=1 rsv2=1 rsv3=1 mask=1 len=0', 'other RSV bits, as a broken peer sends them');
});

t.test('formatTrace: close code and reason', async (t) => {
  t.equal(formatTrace(frame({ direction: 'out', masked: false, opcode: OP.CLOSE, length: 2, preview: closePayload(1000) })), '-> CLOSE  fin=1 mask=0 len=2 code=1000 reason=""');
  t.equal(formatTrace(frame({ opcode: OP.CLOSE, length: 9, preview: closePayload(4001, 'bye ✓') })), '<- CLOSE  fin=1 mask=1 len=9 code=4001 reason="bye ✓"');
  t.equal(formatTrace(frame({ opcode: OP.CLOSE, length: 0 })), '<- CLOSE  fin=1 mask=1 len=0', 'a Close without a code');
});

t.test('a traced connection reports every frame in and out, unmasked previews', async (t) => {
  const frames: FrameTrace[] = [];
  const server = await startServer({ trace: (f) => frames.push({ ...f, preview: Buffer.from(f.preview) }), limits: { closeTimeout: 200, heartbeatInterval: 0 } });
  t.teardown(() => server.close());
  const c = await openClient(server.port);
  t.teardown(() => c.destroy());
  const long = 'y'.repeat(300);
  await c.write(Buffer.concat([
    clientFrame(OP.TEXT, 'Hello'),
    clientFrame(OP.TEXT, 'Hel', { fin: false }),
    clientFrame(OP.PING, 'p!'),
    clientFrame(OP.CONT, 'lo'),
    clientFrame(OP.TEXT, long),
  ]));
  t.equal(await c.nextText(), 'Hello');
  t.equal(await c.nextText(), 'Hello');
  t.equal(await c.nextText(), long);
  await c.sendClose(1000, 'done');
  await waitFor(c.closedTcp, 'close');
  // Each direction in order (how the two interleave depends on when the handler runs).
  const lines = (direction: string) => frames.filter((f) => f.direction === direction).map(formatTrace);
  t.same(lines('in'), [
    '<- TEXT   fin=1 mask=1 len=5 "Hello"',
    '<- TEXT   fin=0 mask=1 len=3 "Hel"',
    '<- PING   fin=1 mask=1 len=2 "p!"',
    '<- CONT   fin=1 mask=1 len=2 "lo"',
    '<- TEXT   fin=1 mask=1 len=300 "' + 'y'.repeat(40) + '"…',
    '<- CLOSE  fin=1 mask=1 len=6 code=1000 reason="done"',
  ]);
  t.ok(lines('out').includes('-> PONG   fin=1 mask=0 len=2 "p!"'), 'the pong');
  t.same(lines('out').filter((l) => !l.includes('PONG')), [
    '-> TEXT   fin=1 mask=0 len=5 "Hello"',
    '-> TEXT   fin=1 mask=0 len=5 "Hello"',
    '-> TEXT   fin=1 mask=0 len=300 "' + 'y'.repeat(40) + '"…',
    '-> CLOSE  fin=1 mask=0 len=2 code=1000 reason=""',
  ]);
});

t.test('the Close sent on a protocol error is traced with its code and reason', async (t) => {
  const frames: FrameTrace[] = [];
  const server = await startServer({ trace: (f) => frames.push({ ...f, preview: Buffer.from(f.preview) }), limits: { closeTimeout: 200, heartbeatInterval: 0 } });
  t.teardown(() => server.close());
  const c = await openClient(server.port);
  t.teardown(() => c.destroy());
  await c.write(clientFrame(OP.TEXT, 'x', { masked: false }));
  t.equal((await c.nextClose())?.code, 1002);
  t.match(formatTrace(frames.at(-1)!), /^-> CLOSE  fin=1 mask=0 len=\d+ code=1002 reason="client frame is not masked"$/);
});

t.test('a trace hook that throws changes nothing: messages, heartbeat pings and the Close go on, and it is printed once', async (t) => {
  const printed = captureStderr(t);
  const boom = new Error('trace bug');
  const server = await startServer({
    trace: () => {
      throw boom;
    },
    limits: { closeTimeout: 200, heartbeatInterval: 30 },
  });
  t.teardown(() => server.close());
  const c = await openClient(server.port);
  t.teardown(() => c.destroy());
  await c.sendText('still echoed');
  t.equal(await c.nextText(), 'still echoed', 'an incoming frame is handled as if untraced (no 1011)');
  // Silent for two heartbeat ticks: the ping goes out from the shared timer, where a throw would end the process.
  const ping = await c.nextFrame('a heartbeat ping');
  t.equal(ping?.opcode, OP.PING, 'the heartbeat pings');
  await c.sendClose(1000);
  t.equal((await c.nextClose())?.code, 1000, 'the closing handshake completes');
  t.equal(printed.length, 1, 'the first failure is printed, the others are not');
  t.match(String(printed[0]![0]), /trace hook failed/);
  t.equal(printed[0]![1], boom);
});
