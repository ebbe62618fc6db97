/**
 * Issue 13, the CPU behind attack 2: finding the keys in a 1 MB paste costs
 * the server's one thread a few hundred milliseconds, so clients that paste
 * without pause starve every other page (found while writing
 * non-reading.test.ts: with 20 such clients an honest sign-in took 25 s).
 * Each client address may paste a rate of characters (--pastes-per-address,
 * lib/app/address-rate.ts): past it, `paste-limited` with `retryAt`, and no
 * key search at all.
 *
 * The real `steam-key serve --demo`, with the default rate (3,000,000
 * characters, then as many again every 10 minutes): five connections of one
 * address paste 1 MB of one key four times each, 20 pastes in all. The server
 * must search only three of them (its `keys-added` log lines say so) and
 * refuse the other 17 with a retryAt minutes away; a client of another
 * address then pastes and redeems as usual. Nothing is timed.
 */
import t from 'tap';
import { startServe } from '../helpers/binary.js';
import { address, clientFrom, redeem, signInDemo } from '../helpers/abuse.js';
import { MAX_ADD_KEYS_TEXT, type ServerMessage } from '../../lib/app/protocol.js';

const CONNECTIONS = 5;
const PASTES_EACH = 4;
/** The default rate's burst: three pastes of the largest size. */
const BURST_PASTES = 3;

t.test('one address pasting without pause gets its burst searched and the rest refused; another address pastes as usual', async (t) => {
  // The byte budget (bytes.test.ts) would slow these 20 MB to 256 KiB/s, and the cap on unfinished
  // messages (unfinished.test.ts) close four of five at once; lifted, the paste rate alone is seen.
  const serving = await startServe(
    ['--port', '0', '--demo', '--pause', '0', '--bytes-per-address', '1000000000000/1s', '--unfinished-bytes-per-address', '100000000'],
    {},
    t.teardown,
  );
  const key = 'ABUSE-REPEA-TEDKY ';
  const text = key.repeat(Math.floor(MAX_ADD_KEYS_TEXT / key.length));

  const flooders = await Promise.all(Array.from({ length: CONNECTIONS }, () => clientFrom(serving, address(1))));
  for (const client of flooders) t.teardown(() => client.socket.terminate());
  const started = Date.now();
  const answers = await Promise.all(
    flooders.map(async (client) => {
      await client.hello();
      const mine: ServerMessage[] = [];
      for (let i = 0; i < PASTES_EACH; i++) {
        client.send({ type: 'add-keys', id: `p${i}`, text });
        for (;;) {
          const m = await client.next();
          if ((m.type === 'keys-added' || m.type === 'error') && m.id === `p${i}`) {
            mine.push(m);
            break;
          }
        }
      }
      return mine;
    }),
  );
  const all = answers.flat();
  const added = all.filter((m) => m.type === 'keys-added');
  const refused = all.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error' && m.code === 'paste-limited');
  t.equal(added.length, BURST_PASTES, `the server searched ${BURST_PASTES} of the ${CONNECTIONS * PASTES_EACH} pastes`);
  t.equal(refused.length, CONNECTIONS * PASTES_EACH - BURST_PASTES, 'and refused the others with paste-limited');
  t.ok(
    refused.every((m) => m.retryAt !== undefined && m.retryAt > started + 60_000),
    'each refusal says when to paste again: minutes away, at the rate of 3,000,000 characters per 10 minutes',
  );
  await serving.logged(/paste-refused client=127\.0\.0\.2/);

  const honest = await clientFrom(serving, address(2));
  t.teardown(() => honest.socket.terminate());
  await honest.hello();
  t.match(await signInDemo(honest), { state: 'signed-in' }, 'another address signs in');
  t.same(await redeem(honest, ['DEMO1-ACTIV-ATED1']), { 'DEMO1-ACTIV-ATED1': 'activated' }, 'and pastes and redeems as usual');
});
