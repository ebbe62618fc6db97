/**
 * Issue 13, "Crash by fragments": a peer sends messages of about 1 MiB as a
 * million 1-byte fragments each (RFC 6455 §5.4 lets it). The receiver once
 * kept a string or a Buffer object per fragment, 30 to 100 times the
 * message's size, and a few such connections ran the server out of heap.
 *
 * The real `steam-key echo` binary, started with a 32 MiB V8 heap, gets six
 * such messages at once on six connections (text and binary), with an honest
 * client talking to it meanwhile. It must echo every message whole and stay
 * up. No figure is timed: the heap limit is the measure.
 */
import t from 'tap';
import { startEcho } from '../interop/helpers.js';
import { OP, openClient, type RawClient } from '../helpers/raw-client.js';

/** The server's old-space limit, in MiB: six messages at ~30 MiB of heap each cannot fit. */
const HEAP_MB = 32;
const MESSAGE_BYTES = 1_000_000;
/** A hang guard for work that takes a second or two on a quiet machine; not a timing assertion. */
const PATIENCE_MS = 120_000;

/** One message as 1-byte fragments: a 6-byte header (FIN, opcode, MASK, length 1, mask key 0) and the byte. */
function oneByteFragments(opcode: number, byte: number, count: number): Buffer {
  const frames = Buffer.alloc(count * 7);
  for (let i = 0; i < count; i++) {
    const at = i * 7;
    frames[at] = (i === 0 ? opcode : OP.CONT) | (i === count - 1 ? 0x80 : 0);
    frames[at + 1] = 0x80 | 1;
    frames[at + 6] = byte; // masked with the key 00 00 00 00: the byte itself
  }
  return frames;
}

t.test('six 1 MB messages in 1-byte fragments at once: a server with a 32 MiB heap echoes them all and keeps answering', async (t) => {
  const server = await startEcho([], [`--max-old-space-size=${HEAP_MB}`]);
  t.teardown(() => server.stop());
  const died = (): string => (server.exited() ? ` — the server died: ${server.stderr().split('\n').find((l) => /heap|memory/i.test(l)) ?? server.stderr().slice(0, 300)}` : '');
  /** Adds to a failure whether the server died meanwhile (its exit is seen a moment after its sockets close). */
  const explained = <T>(step: Promise<T>): Promise<T> =>
    step.catch(async (error: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      throw new Error(`${error instanceof Error ? error.message : String(error)}${died()}`);
    });

  const kinds = [OP.TEXT, OP.BINARY, OP.TEXT, OP.BINARY, OP.TEXT, OP.TEXT];
  const streams = new Map([
    [OP.TEXT, oneByteFragments(OP.TEXT, 0x61, MESSAGE_BYTES)],
    [OP.BINARY, oneByteFragments(OP.BINARY, 0x62, MESSAGE_BYTES)],
  ]);
  const attackers: RawClient[] = [];
  for (const _ of kinds) {
    const client = await openClient(server.port);
    t.teardown(() => client.destroy());
    attackers.push(client);
  }
  // All at once: the server assembles the six messages side by side.
  attackers.forEach((client, i) => void client.write(streams.get(kinds[i]!)!));

  const honest = await explained(openClient(server.port));
  t.teardown(() => honest.destroy());
  await honest.sendText('still there?');
  const reply = await honest.nextFrame('the honest echo', PATIENCE_MS);
  t.equal(reply?.payload.toString(), 'still there?', `the honest client got its echo while the others sent${died()}`);

  for (const [i, client] of attackers.entries()) {
    const echo = await client.nextFrame(`echo ${i}`, PATIENCE_MS);
    if (echo === null) {
      t.fail(`connection ${i}: closed without its echo${died()}`);
      continue;
    }
    const byte = kinds[i] === OP.TEXT ? 0x61 : 0x62;
    t.ok(echo.opcode === kinds[i] && echo.payload.length === MESSAGE_BYTES && echo.payload.every((b) => b === byte), `connection ${i}: its ${MESSAGE_BYTES}-byte message came back whole`);
  }

  await honest.sendText('and now?');
  t.equal((await honest.nextFrame('the second honest echo', PATIENCE_MS))?.payload.toString(), 'and now?', `the server still answers${died()}`);
  t.notOk(server.exited(), 'the server is still running');
  for (const client of [...attackers, honest]) client.destroy(); // so that stopping the server waits for none
});
