/**
 * Runs one fuzz case over a raw TCP socket and judges what the server did.
 * The server's bytes are read by a small parser written here, not by the
 * code under test, and checked against the rules a server must keep
 * (RFC 6455 §5.1, §5.2, §5.5, §5.5.1, §7.4, §8.1).
 */
import { isUtf8 } from 'node:buffer';
import { connect } from 'node:net';
import { expectedAccept, type FuzzCase, type Message } from './cases.js';
import { Prng } from './prng.js';

export interface Outcome {
  /** The response's status line; null if the server sent nothing. */
  statusLine: string | null;
  status: number | null;
  accept: string | null;
  messages: Message[];
  pongs: Buffer[];
  /** The server's Close frame: code null when it had no payload. */
  close: { code: number | null; reason: string } | null;
  /** Rules the server's bytes broke. */
  problems: string[];
  /** How TCP ended: FIN both ways, a reset (still a TCP close), or the deadline ran out. */
  ending: 'closed' | 'reset' | 'deadline';
}

/** Codes a Close frame may carry on the wire (§7.4.1, §7.4.2, IANA 1012–1014). */
export function validWireCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** An incremental reader of the server's side: the HTTP response, then frames. */
class ServerReader {
  state: 'head' | 'frames' | 'http' = 'head';
  buf: Buffer = Buffer.alloc(0);
  statusLine: string | null = null;
  status: number | null = null;
  accept: string | null = null;
  messages: Message[] = [];
  pongs: Buffer[] = [];
  close: Outcome['close'] = null;
  problems: string[] = [];
  #partial: { kind: Message['kind']; parts: Buffer[] } | null = null;

  push(chunk: Buffer): void {
    if (this.state === 'http') return; // a refusal: whatever follows is HTTP, not frames
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.state === 'head') this.#head();
    if (this.state === 'frames') this.#frames();
  }

  /** Called once TCP has closed. */
  finish(): void {
    if (this.state === 'head' && this.buf.length > 0) {
      this.statusLine ??= this.buf.subarray(0, 80).toString('latin1').split('\r\n')[0]!;
      if (this.buf.includes('\r\n')) this.#problem('TCP closed inside the HTTP response head');
    }
    if (this.state === 'frames' && this.buf.length > 0 && !this.close) {
      this.#problem(`TCP closed inside a frame (${this.buf.length} bytes left)`);
    }
  }

  get headDone(): boolean {
    return this.state !== 'head';
  }

  #problem(text: string): void {
    if (this.problems.length < 5) this.problems.push(text);
  }

  #head(): void {
    const end = this.buf.indexOf(HEAD_END);
    const firstLine = this.buf.indexOf('\r\n');
    if (firstLine >= 0) this.statusLine ??= this.buf.subarray(0, firstLine).toString('latin1');
    if (end < 0) return;
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!);
    this.status = match ? Number(match[1]) : null;
    if (this.status !== 101) {
      this.state = 'http';
      this.buf = Buffer.alloc(0);
      return;
    }
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (line.slice(0, colon).trim().toLowerCase() === 'sec-websocket-accept') this.accept = line.slice(colon + 1).trim();
    }
    this.state = 'frames';
    this.buf = this.buf.subarray(end + 4);
  }

  #frames(): void {
    let pos = 0;
    const buf = this.buf;
    while (buf.length - pos > 0) {
      if (this.close) {
        this.#problem(`${buf.length - pos} bytes after the Close frame (§5.5.1)`);
        pos = buf.length;
        break;
      }
      if (buf.length - pos < 2) break;
      const b0 = buf[pos]!;
      const b1 = buf[pos + 1]!;
      const len7 = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const headerLength = 2 + ext + (masked ? 4 : 0);
      if (buf.length - pos < headerLength) break;
      let length = BigInt(len7);
      if (len7 === 126) length = BigInt(buf.readUInt16BE(pos + 2));
      if (len7 === 127) length = buf.readBigUInt64BE(pos + 2);
      if (length > BigInt(buf.length - pos - headerLength)) {
        if (length > 64n * 1024n * 1024n) {
          this.#problem(`frame claims ${length} bytes`);
          pos = buf.length;
        }
        break;
      }
      const size = Number(length);
      const fin = (b0 & 0x80) !== 0;
      const rsv = (b0 >> 4) & 7;
      const opcode = b0 & 0xf;
      if (rsv !== 0) this.#problem(`RSV bits ${rsv} set (§5.2)`);
      if (masked) this.#problem('server frame is masked (§5.1)');
      if ((len7 === 126 && size < 126) || (len7 === 127 && size < 65536)) this.#problem(`length ${size} not in its minimal form (§5.2)`);
      const payload = Buffer.from(buf.subarray(pos + headerLength, pos + headerLength + size));
      pos += headerLength + size;
      this.#frame(fin, opcode, payload);
    }
    this.buf = buf.subarray(pos);
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode >= 0x8) {
      if (!fin || payload.length > 125) this.#problem(`control frame ${opcode}: fin=${fin} length ${payload.length} (§5.5)`);
      if (opcode === 0x8) {
        if (payload.length === 1) this.#problem('Close payload of 1 byte (§5.5.1)');
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
        const reason = payload.subarray(2);
        if (!isUtf8(reason)) this.#problem('Close reason not UTF-8 (§5.5.1)');
        this.close = { code, reason: reason.toString('utf8') };
      } else if (opcode === 0xa) this.pongs.push(payload);
      else if (opcode !== 0x9) this.#problem(`reserved opcode ${opcode} (§5.2)`);
      return;
    }
    if (opcode === 0x0) {
      if (!this.#partial) return this.#problem('continuation with no message (§5.4)');
      this.#partial.parts.push(payload);
    } else if (opcode === 0x1 || opcode === 0x2) {
      if (this.#partial) this.#problem('new message inside a fragmented one (§5.4)');
      this.#partial = { kind: opcode === 0x1 ? 'text' : 'binary', parts: [payload] };
    } else return this.#problem(`reserved opcode ${opcode} (§5.2)`);
    if (!fin) return;
    const message = { kind: this.#partial.kind, bytes: Buffer.concat(this.#partial.parts) };
    this.#partial = null;
    if (message.kind === 'text' && !isUtf8(message.bytes)) this.#problem('text message not UTF-8 (§8.1)');
    this.messages.push(message);
  }
}

/** Writes `bytes` in random-sized pieces, yielding to the event loop between some of them. */
async function sendInPieces(prng: Prng, bytes: Buffer, canWrite: () => boolean, write: (b: Buffer) => void): Promise<void> {
  let pos = 0;
  while (pos < bytes.length && canWrite()) {
    const r = prng.int(10);
    const n = r < 3 ? prng.range(1, 3) : r < 7 ? prng.range(1, 64) : bytes.length - pos;
    write(bytes.subarray(pos, pos + n));
    pos += n;
    if (prng.chance(0.3)) await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function runCase(port: number, c: FuzzCase, deadlineMs: number): Promise<Outcome> {
  const prng = new Prng(c.seed ^ 0x5bd1e995);
  const reader = new ServerReader();
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  let ending: Outcome['ending'] = 'closed';
  let done = false;
  let onProgress: (() => void) | null = null;

  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    onProgress?.();
  });
  socket.on('error', () => {
    if (ending === 'closed') ending = 'reset';
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      done = true;
      onProgress?.();
      resolve();
    }),
  );
  const timer = setTimeout(() => {
    ending = 'deadline';
    socket.destroy();
  }, deadlineMs);

  const canWrite = (): boolean => !done && socket.writable;
  const write = (b: Buffer): void => void socket.write(b);
  const until = (condition: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!done && !condition()) return;
        onProgress = null;
        resolve();
      };
      onProgress = check;
      check();
    });

  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  if (c.waitForResponse) {
    await sendInPieces(prng, c.request, canWrite, write);
    await until(() => reader.headDone);
    await sendInPieces(prng, c.body, canWrite, write);
  } else {
    await sendInPieces(prng, Buffer.concat([c.request, c.body]), canWrite, write);
  }
  const expect = c.expect;
  if (c.waitForEchoes && expect) {
    await until(
      () => reader.close !== null || (reader.messages.length >= expect.messages.length && reader.pongs.length >= expect.pings.length),
    );
  }
  await sendInPieces(prng, c.tail, canWrite, write);
  if (c.halfClose && canWrite()) socket.end();
  await closed;
  clearTimeout(timer);
  reader.finish();
  return {
    statusLine: reader.statusLine,
    status: reader.status,
    accept: reader.accept,
    messages: reader.messages,
    pongs: reader.pongs,
    close: reader.close,
    problems: reader.problems,
    ending,
  };
}

function sameMessage(a: Message, b: Message): boolean {
  return a.kind === b.kind && a.bytes.equals(b.bytes);
}

/** What the server did wrong in this case; empty when it behaved. */
export function judge(c: FuzzCase, o: Outcome): string[] {
  const wrong = [...o.problems];
  if (o.ending === 'deadline') wrong.push('the connection did not end before the deadline');
  if (c.validRequest) {
    if (o.status !== 101) wrong.push(`a valid upgrade was answered ${JSON.stringify(o.statusLine)}`);
    else if (o.accept !== expectedAccept(c.key)) wrong.push(`Sec-WebSocket-Accept ${o.accept}, expected ${expectedAccept(c.key)} (§4.2.2)`);
  } else if (o.statusLine !== null && !/^HTTP\/1\.1 \d{3} /.test(o.statusLine)) {
    wrong.push(`not an HTTP response: ${JSON.stringify(o.statusLine)}`);
  }
  if (o.close?.code != null) {
    if (!validWireCode(o.close.code)) wrong.push(`Close code ${o.close.code} is not valid on the wire (§7.4)`);
    if (o.close.code === 1011 && c.expect?.close !== 1011) wrong.push(`the server failed with 1011 (internal error): ${o.close.reason}`);
  }
  const expect = c.expect;
  if (expect && o.status === 101) {
    const n = o.messages.length;
    if (expect.prefixOnly ? n > expect.messages.length : n !== expect.messages.length) {
      wrong.push(`${n} echoes, expected ${expect.prefixOnly ? 'at most ' : ''}${expect.messages.length}`);
    }
    const firstBad = o.messages.findIndex((m, i) => !expect.messages[i] || !sameMessage(m, expect.messages[i]!));
    if (firstBad >= 0) wrong.push(`echo ${firstBad} differs from message ${firstBad} sent`);
    const pings = [...expect.pings, ...expect.extraPings];
    const p = o.pongs.length;
    if (p > pings.length || (!expect.prefixOnly && p < expect.pings.length)) {
      wrong.push(`${p} pongs, expected ${expect.prefixOnly ? 0 : expect.pings.length} to ${pings.length}`);
    }
    const badPong = o.pongs.findIndex((pong, i) => !pings[i] || !pong.equals(pings[i]!));
    if (badPong >= 0) wrong.push(`pong ${badPong} does not carry the payload of ping ${badPong} (§5.5.2)`);
    if (!o.close) wrong.push(`no Close frame, expected one with ${expect.close ?? 'no payload'}`);
    else if (o.close.code !== expect.close) wrong.push(`Close code ${o.close.code}, expected ${expect.close} (reason: ${o.close.reason})`);
  }
  return wrong;
}
