/**
 * Redeeming a batch, end to end: a page on /ws, the server with the real
 * steam-user, the fake Steam answering each key as scripted. Run by
 * batch.test.ts in a process that trusts the fake's test CA.
 */
import t from 'tap';
import type { ServerMessage } from '../../lib/app/protocol.js';
import type { FakeAccount } from '../fake-steam/fake-steam.js';
import type { TestClient } from '../helpers/app.js';
import { keyState, login, startE2E, type KeyMessage } from './real-steam.js';

const ALICE: FakeAccount = { accountName: 'alice', password: 'correct horse battery' };
const GAME = { id: 1001, name: 'Half-Life 3' };
const SOUNDTRACK = { id: 1002, name: 'Half-Life 3 Soundtrack' };
const PORTAL = { id: 1003, name: 'Portal 3' };

/** A client signed in as alice, and its session token. */
async function signedIn(run: Awaited<ReturnType<typeof startE2E>>['run']): Promise<{ client: TestClient; token: string }> {
  const client = await run.connect();
  await client.hello();
  const events = await login(client, ALICE.accountName, ALICE.password);
  if (events.at(-1)?.state !== 'signed-in') throw new Error(`could not sign in: ${JSON.stringify(events)}`);
  return { client, token: client.token! };
}

/** Every message the client got so far. */
function received(client: TestClient): ServerMessage[] {
  return client.frames.map((frame) => JSON.parse(frame) as ServerMessage);
}

/** Every `key` event so far for key number `n`, oldest first. */
function keyEvents(client: TestClient, n: number): KeyMessage['entry'][] {
  return received(client).flatMap((m) => (m.type === 'key' && m.entry.n === n ? [m.entry] : []));
}

t.test('a batch with every status, two packages on one key, a rate limit and a key without answer', async (t) => {
  const keys = {
    'ACTIV-ATED1-ONEPK': { packages: [GAME] },
    'ACTIV-ATED2-TWOPK': { packages: [GAME, SOUNDTRACK] },
    'OWNED-ALREA-DY009': { detail: 9, packages: [GAME] }, // AlreadyPurchased
    'INVAL-IDKEY-00014': { detail: 14 }, // BadActivationCode
    'USEDK-EY000-00015': { detail: 15 }, // DuplicateActivationCode
    'REGIO-NLOCK-00013': { detail: 13, packages: [GAME] }, // RestrictedCountry
    'NEEDS-BASEG-AME24': { detail: 24, packages: [SOUNDTRACK] }, // DoesNotOwnRequiredApp
    'WALLE-TCODE-00050': { detail: 50 }, // CannotRedeemCodeFromClient
    'RATEL-IMITE-D0053': [{ detail: 53 }, { packages: [PORTAL] }], // RateLimited, then (after the cooldown) activated
    'NOANS-WER00-00000': 'no-answer' as const,
    'OTHER-FAILU-RE003': { detail: 3 }, // ContactSupport: no status of its own
  };
  // A cooldown long enough to look at the queue while it runs, even on a busy machine.
  const { steam, run } = await startE2E(t, { accounts: [ALICE], keys }, { cooldownMs: 600 });
  const { client } = await signedIn(run);
  const names = Object.keys(keys);
  client.send({ type: 'add-keys', id: 'paste', text: `My keys:\n${names.map((k, i) => `${i + 1}. ${k.toLowerCase()}`).join('\n')}` });
  const added = await client.until('keys-added');
  t.same(
    added.added.map((e) => [e.n, e.key, e.state]),
    names.map((k, i) => [i + 1, k, 'queued']),
    'every key found, upper-cased, in order',
  );

  // RateLimited: the key and every key after it wait; nothing is sent during the cooldown.
  const limited = await keyState(client, 9, 'waiting');
  t.match(limited.entry.result, { status: 'rate-limited', keyUnused: true, eresult: 2, detail: 53 });
  const cooldown = await client.until('queue', (m) => m.state === 'cooldown');
  t.type(cooldown.resumesAt, 'number');
  t.match(cooldown.message, { en: /sending resumes by itself in about 1 s/ });
  t.same(steam.keysReceived, names.slice(0, 9), 'the keys after the limited one were not sent');
  t.same(
    [10, 11].map((n) => keyEvents(client, n).at(-1)?.state),
    ['waiting', 'waiting'],
  );

  // The cooldown ends by itself: the same key first, then the rest.
  await client.until('queue', (m) => m.state === 'running');
  t.match((await keyState(client, 9, 'done')).entry.result, { status: 'activated', packages: [PORTAL] });

  // No answer: "unknown", never "failed", and the queue stops until the page says go on.
  t.match((await keyState(client, 10, 'done')).entry.result, { status: 'unknown', eresult: null, detail: null, keyUnused: false });
  const stalled = await client.until('queue', (m) => m.state === 'stalled');
  t.match(stalled, { stalledBy: 'unknown-result', message: { en: /Check your library, then resume/ } });
  t.same(steam.keysReceived, [...names.slice(0, 9), names[8], names[9]], 'nothing sent while stalled');
  client.send({ type: 'resume' });
  await keyState(client, 11, 'done');
  await client.until('queue', (m) => m.state === 'idle');

  const results = names.map((_, i) => keyEvents(client, i + 1).at(-1)!);
  t.ok(results.every((e) => e.state === 'done'), 'every key done');
  t.same(
    results.map((e) => {
      const { status, keyUnused, eresult, detail, packages } = e.result!;
      return { status, keyUnused, eresult, detail, packages };
    }),
    [
      { status: 'activated', keyUnused: false, eresult: 1, detail: 0, packages: [GAME] },
      { status: 'activated', keyUnused: false, eresult: 1, detail: 0, packages: [GAME, SOUNDTRACK] },
      { status: 'already-owned', keyUnused: true, eresult: 2, detail: 9, packages: [GAME] },
      { status: 'invalid-key', keyUnused: false, eresult: 2, detail: 14, packages: [] },
      { status: 'key-used', keyUnused: false, eresult: 2, detail: 15, packages: [] },
      { status: 'region-locked', keyUnused: true, eresult: 2, detail: 13, packages: [GAME] },
      { status: 'needs-base-game', keyUnused: true, eresult: 2, detail: 24, packages: [SOUNDTRACK] },
      { status: 'wallet-code', keyUnused: true, eresult: 2, detail: 50, packages: [] },
      { status: 'activated', keyUnused: false, eresult: 1, detail: 0, packages: [PORTAL] },
      { status: 'unknown', keyUnused: false, eresult: null, detail: null, packages: [] },
      { status: 'failed', keyUnused: false, eresult: 2, detail: 3, packages: [] },
    ],
  );
  t.same(results[1]!.result!.message, {
    en: 'Activated: Half-Life 3, Half-Life 3 Soundtrack',
    zh: '激活成功：Half-Life 3, Half-Life 3 Soundtrack',
  }, 'both package names in the message');
  t.match(results[9]!.result!.message.en, /^No answer in time: the key may have been activated — check your library\.$/);
  t.match(results[10]!.result!.message.en, /^Steam refused this key and asks you to contact Steam Support about it\.$/, 'ContactSupport, said for people');
  t.same(steam.keysReceived, [...names.slice(0, 9), ...names.slice(8)], 'each key sent once, the rate-limited one once more');

  const { snapshot } = await (await run.connect()).hello();
  t.equal(snapshot.keys.length, 0, 'a new page without the token sees nothing of it');
});

t.test('RateLimited: the rest wait, and the queue resumes by itself after the cooldown', async (t) => {
  const { steam, run } = await startE2E(
    t,
    {
      accounts: [ALICE],
      keys: {
        'FIRST-KEY00-00001': { packages: [GAME] },
        'LIMIT-ED000-00002': [{ detail: 53 }, { detail: 53 }, { packages: [PORTAL] }],
        'THIRD-KEY00-00003': { packages: [SOUNDTRACK] },
      },
    },
    { cooldownMs: 200 },
  );
  const { client } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'FIRST-KEY00-00001 LIMIT-ED000-00002 THIRD-KEY00-00003' });
  await keyState(client, 3, 'done');
  t.match(await client.until('queue'), { state: 'idle' });

  t.same(
    keyEvents(client, 2).map((e) => `${e.state}${e.result ? `:${e.result.status}` : ''}`),
    [
      'redeeming',
      'waiting:rate-limited',
      'queued',
      'redeeming',
      'waiting:rate-limited',
      'queued',
      'redeeming',
      'done:activated',
    ],
    'rate-limited twice, sent again once per cooldown, then activated',
  );
  t.same(
    keyEvents(client, 3).map((e) => e.state),
    ['waiting', 'queued', 'waiting', 'queued', 'redeeming', 'done'],
    'the key behind it waits with it',
  );
  const queueStates = received(client).flatMap((m) => (m.type === 'queue' ? [m.state] : []));
  t.same(queueStates, ['running', 'cooldown', 'running', 'cooldown', 'running', 'idle']);
  t.same(steam.keysReceived, ['FIRST-KEY00-00001', 'LIMIT-ED000-00002', 'LIMIT-ED000-00002', 'LIMIT-ED000-00002', 'THIRD-KEY00-00003']);
});

t.test('no answer in time: the key is "unknown", a late answer changes nothing, the next key gets its own', async (t) => {
  const { steam, run } = await startE2E(
    t,
    {
      accounts: [ALICE],
      keys: {
        'LATEA-NSWER-00001': { delayMs: 1_000, packages: [GAME] }, // Steam answers after we gave up
        'NEXTK-EY000-00002': { detail: 9, packages: [SOUNDTRACK] },
      },
    },
    { redeemTimeoutMs: 250 },
  );
  const { client } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'LATEA-NSWER-00001 NEXTK-EY000-00002' });
  const unknown = await keyState(client, 1, 'done');
  t.match(unknown.entry.result, {
    status: 'unknown',
    keyUnused: false,
    eresult: null,
    message: { en: /^No answer in time: .*check your library/, zh: /^等待超时：/ },
  });
  t.match(await client.until('queue', (m) => m.state === 'stalled'), { stalledBy: 'unknown-result' });

  // Let the late answer reach steam-user, then go on: the next key must get its own answer.
  await waitFor(() => steam.log.some((e) => e.type === 'late-answer'), 'the late answer went out');
  client.send({ type: 'resume' });
  const next = await keyState(client, 2, 'done');
  t.match(next.entry.result, { status: 'already-owned', detail: 9, packages: [SOUNDTRACK] });
  t.same(
    keyEvents(client, 1).map((e) => e.state),
    ['redeeming', 'done'],
    'the late "activated" did not change the first key',
  );
  await run.logged(/key-result .*key=LATEA-\*{5}-\*{5} status=unknown/);
  t.notOk(run.logs.some((line) => /status=failed/.test(line)), 'never "failed"');
});

t.test('cancel: the key with Steam gets its answer, the rest are cancelled and never sent', async (t) => {
  const { steam, run } = await startE2E(
    t,
    {
      accounts: [ALICE],
      keys: {
        'SLOWK-EY000-00001': { delayMs: 600, packages: [GAME] }, // cancel arrives while Steam has it
        'SECON-DKEY0-00002': { packages: [SOUNDTRACK] },
        'THIRD-KEY00-00003': { packages: [PORTAL] },
      },
    },
    { redeemTimeoutMs: 5_000 },
  );
  const { client } = await signedIn(run);
  client.send({ type: 'add-keys', text: 'SLOWK-EY000-00001 SECON-DKEY0-00002 THIRD-KEY00-00003' });
  await keyState(client, 1, 'redeeming');
  client.send({ type: 'cancel' });
  t.same((await keyState(client, 2, 'cancelled')).entry, { n: 2, key: 'SECON-DKEY0-00002', state: 'cancelled' });
  await keyState(client, 3, 'cancelled');
  t.match((await keyState(client, 1, 'done')).entry.result, { status: 'activated', packages: [GAME] });
  t.match(await client.until('queue'), { state: 'idle' });
  t.same(steam.keysReceived, ['SLOWK-EY000-00001'], 'only the key already with Steam was sent');

  // A cancelled key may be added again, and then goes out.
  client.send({ type: 'add-keys', text: 'THIRD-KEY00-00003' });
  t.match(await client.until('keys-added'), { added: [{ n: 3, key: 'THIRD-KEY00-00003', state: 'queued' }], dropped: [] });
  t.match((await keyState(client, 3, 'done')).entry.result, { status: 'activated', packages: [PORTAL] });
  t.same(steam.keysReceived, ['SLOWK-EY000-00001', 'THIRD-KEY00-00003']);
});

/** Polls `condition` until it holds (a hang guard after 5 s, not a timing assertion). */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
