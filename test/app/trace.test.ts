import t from 'tap';
import { formatRedactedTrace } from '../../lib/app/trace.js';
import type { FrameTrace } from '../../lib/websocket/index.js';
import { startApp } from '../helpers/app.js';
import { closePayload, OP } from '../helpers/raw-client.js';
import { secretPieces } from '../helpers/secrets.js';

const frame = (f: Partial<FrameTrace>): FrameTrace => ({ direction: 'in', opcode: OP.TEXT, fin: true, masked: true, length: 0, preview: Buffer.alloc(0), ...f });
const text = (s: string, f: Partial<FrameTrace> = {}): FrameTrace => frame({ length: Buffer.byteLength(s), preview: Buffer.from(s).subarray(0, 48), ...f });

t.test('a data frame shows its message type, never its payload', async (t) => {
  t.equal(formatRedactedTrace(text('{"type":"login","accountName":"a","password":"hunter2"}')), '<- TEXT   fin=1 mask=1 len=55 type=login (payload hidden)');
  t.equal(formatRedactedTrace(text('{"type":"welcome","version":1,"session":"tok"}', { direction: 'out', masked: false })), '-> TEXT   fin=1 mask=0 len=46 type=welcome (payload hidden)');
  t.equal(formatRedactedTrace(text(' { "type" : "guard-code", "code":"12345"}')), '<- TEXT   fin=1 mask=1 len=41 type=guard-code (payload hidden)', 'JSON spacing');
  t.equal(formatRedactedTrace(text('{"type":"hunter2","password":"x"}')), '<- TEXT   fin=1 mask=1 len=33 (payload hidden)', 'an unknown type is not shown: it could be anything');
  t.equal(formatRedactedTrace(text('{"password":"hunter2","type":"login"}')), '<- TEXT   fin=1 mask=1 len=37 (payload hidden)');
  t.equal(formatRedactedTrace(text('"password":"hunter2"}', { opcode: OP.CONT })), '<- CONT   fin=1 mask=1 len=21 (payload hidden)');
  t.equal(formatRedactedTrace(frame({ opcode: OP.BINARY, length: 3, preview: Buffer.from([1, 2, 3]) })), '<- BINARY fin=1 mask=1 len=3 (payload hidden)');
  t.equal(formatRedactedTrace(frame({ length: 0 })), '<- TEXT   fin=1 mask=1 len=0', 'nothing to hide');
});

t.test('control frames show as in every trace', async (t) => {
  t.equal(formatRedactedTrace(frame({ opcode: OP.PING, length: 2, preview: Buffer.from('hb') })), '<- PING   fin=1 mask=1 len=2 "hb"');
  t.equal(formatRedactedTrace(frame({ opcode: OP.CLOSE, direction: 'out', masked: false, length: 10, preview: closePayload(1001, 'shutdown') })), '-> CLOSE  fin=1 mask=0 len=10 code=1001 reason="shutdown"');
});

// Distinctive values, so that finding one anywhere is not a coincidence.
const PASSWORD = 'Tr0ub4dor&3-secret';
const CODE = 'K9QZ4';
const KEY = 'DEMO1-ACTIV-ATED1';

t.test('a traced sign-in, guard code and keys: no trace line holds a secret, a token or a whole key', async (t) => {
  const lines: string[] = [];
  const run = await startApp({ trace: (f) => lines.push(formatRedactedTrace(f)) }, { password: PASSWORD, guardCode: CODE });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  // Password first: within the first 40 bytes, where a plain trace would show it.
  client.send(`{"type":"login","password":"${PASSWORD}","accountName":"demo-app"}`);
  await client.until('login', (m) => m.state === 'guard');
  // The code in a fragmented message: its second frame carries the secret.
  const message = JSON.stringify({ type: 'guard-code', code: CODE });
  client.socket.send(message.slice(0, 12), { fin: false });
  client.socket.send(message.slice(12), { fin: true });
  await client.until('login', (m) => m.state === 'signed-in');
  client.send({ type: 'add-keys', text: KEY });
  await client.until('key', (m) => m.entry.result !== undefined);
  client.send({ type: 'logout' });
  await client.closed;

  t.ok(lines.some((l) => l.startsWith('<- TEXT') && l.includes('type=login')), 'the login message is traced by its type');
  t.ok(lines.some((l) => /^<- CONT +fin=1 .*\(payload hidden\)$/.test(l)), 'a continuation frame is traced, hidden');
  t.ok(lines.some((l) => l.startsWith('-> TEXT') && l.includes('type=welcome')));
  t.ok(lines.some((l) => l.startsWith('-> CLOSE')));
  const token = client.token!;
  for (const secret of [PASSWORD, CODE, token, KEY]) {
    const leaked = secretPieces(secret).filter((piece) => lines.some((l) => l.includes(piece)));
    t.same(leaked, [], `no line contains any part of ${secret === token ? 'the resume token' : secret}`);
  }
});
