import t from 'tap';
import type { KeyEntry } from '../../lib/steam/queue.js';
import { startApp } from '../helpers/app.js';
import { fakePorts } from '../helpers/fake-port.js';
import { clientFrame, OP, openClient, waitFor } from '../helpers/raw-client.js';

t.test('the whole flow: hello, sign-in with an e-mail guard code, keys, live results', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  const welcome = await client.hello();
  t.equal(welcome.version, 1);
  t.equal(welcome.resumed, false);
  t.match(welcome.session, /^[A-Za-z0-9_-]{43}$/);
  t.same(welcome.snapshot.login, { state: 'signed-out' });
  t.match(welcome.snapshot.queue, { state: 'idle' });
  t.same(welcome.snapshot.keys, []);

  client.send({ type: 'login', accountName: 'demo-mail', password: 'demo' });
  t.match(await client.next(), { type: 'login', state: 'signing-in' });
  const prompt = await client.next();
  t.match(prompt, { type: 'login', state: 'guard', guard: { kind: 'email', domain: 'example.com', lastCodeWrong: false } });
  client.send({ type: 'guard-code', code: '54321' });
  t.match(await client.next(), { type: 'login', state: 'signing-in' });
  t.match(await client.next(), { type: 'login', state: 'guard', guard: { lastCodeWrong: true }, message: { en: /^That code was wrong/ } });
  client.send({ type: 'guard-code', code: '12345' });
  t.match(await client.next(), { type: 'login', state: 'signing-in' });
  t.match(await client.next(), { type: 'login', state: 'signed-in', account: { accountName: 'demo-mail' } });

  client.send({ type: 'add-keys', id: 'paste-1', text: 'DEMO1-ACTIV-ATED1\ndemo3-alrea-dyown\nDEMO1-ACTIV-ATED1 XXXXX-XXXXX-XXXXX' });
  const added = await client.next();
  t.match(added, {
    type: 'keys-added',
    id: 'paste-1',
    added: [
      { n: 1, key: 'DEMO1-ACTIV-ATED1', state: 'queued' },
      { n: 2, key: 'DEMO3-ALREA-DYOWN', state: 'queued' },
    ],
    dropped: [
      { key: 'DEMO1-ACTIV-ATED1', reason: 'repeated-in-paste' },
      { key: 'XXXXX-XXXXX-XXXXX', reason: 'placeholder' },
    ],
  });
  const done: KeyEntry[] = [];
  while (done.length < 2) {
    const m = await client.until('key', (m) => m.entry.state === 'done');
    if (m.type === 'key') done.push(m.entry);
  }
  t.match(done[0], { key: 'DEMO1-ACTIV-ATED1', result: { status: 'activated', packages: [{ id: 900001, name: 'Demo Game: Starter Edition' }] } });
  t.match(done[1], { key: 'DEMO3-ALREA-DYOWN', result: { status: 'already-owned', keyUnused: true, message: { en: /already own/, zh: /已拥有/ } } });
  await client.until('queue', (m) => m.state === 'idle');
  client.send({ type: 'add-keys', text: 'demo1-activ-ated1' });
  t.match(await client.until('keys-added'), { added: [], dropped: [{ key: 'DEMO1-ACTIV-ATED1', reason: 'already-in-session' }] });
});

t.test('malformed and out-of-place messages get an error; the connection stays up', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  const expectError = async (send: unknown, code: string, id?: string | number) => {
    client.send(send);
    const m = await client.next();
    t.match(m, { type: 'error', code }, `${JSON.stringify(send)} → ${code}`);
    if (id !== undefined) t.match(m, { id });
  };
  await expectError({ type: 'login', accountName: 'demo', password: 'demo', id: 1 }, 'hello-first', 1);
  await expectError('{not json', 'bad-json');
  await expectError(Buffer.from([1, 2, 3]), 'bad-json');
  await expectError({ type: 'teleport' }, 'unknown-type');
  client.send({ type: 'hello', version: 2, id: 'h' });
  t.match(await client.next(), { type: 'error', code: 'unsupported-version', versions: [1], id: 'h' });
  await client.hello();
  await expectError({ type: 'hello', version: 1 }, 'already-greeted');
  await expectError({ type: 'guard-code', code: '12345' }, 'wrong-state');
  await expectError({ type: 'add-keys' }, 'bad-message');
  await client.signIn();
  await expectError({ type: 'login', accountName: 'demo', password: 'demo' }, 'wrong-state');
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await client.until('keys-added'), { added: [{ key: 'DEMO1-ACTIV-ATED1' }] }, 'still works after all that');
  t.ok(run.logs.some((l) => /protocol-error .*code=bad-json/.test(l)), 'errors are logged by code');
});

t.test('nothing lost on reconnect: the same session, its keys and results, still signed in', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const first = await run.connect();
  const { session: token } = await first.hello();
  await first.signIn();
  first.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1 DEMO4-INVAL-IDKEY' });
  await first.until('queue', (m) => m.state === 'idle');
  first.close();
  await first.closed;
  await run.logged(/session-detached/);

  const second = await run.connect();
  const welcome = await second.hello(token);
  t.equal(welcome.resumed, true);
  t.equal(welcome.session, token);
  t.match(welcome.snapshot.login, { state: 'signed-in', account: { accountName: 'demo' } });
  t.same(
    welcome.snapshot.keys.map((e) => [e.key, e.result?.status]),
    [
      ['DEMO1-ACTIV-ATED1', 'activated'],
      ['DEMO4-INVAL-IDKEY', 'invalid-key'],
    ],
  );
  second.send({ type: 'add-keys', text: 'DEMO3-ALREA-DYOWN' });
  t.match(await second.until('key', (m) => m.entry.state === 'done'), { entry: { n: 3, result: { status: 'already-owned' } } }, 'the Steam sign-in is still live');
});

t.test('keys keep going while the page is away, and their results wait for it', async (t) => {
  const run = await startApp({}, { latencyMs: 30 });
  t.teardown(run.close);
  const first = await run.connect();
  const { session: token } = await first.hello();
  await first.signIn();
  first.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1 DEMO2-ACTIV-ATED3' });
  await first.until('keys-added');
  first.close();
  await run.logged(/key-result .*key=DEMO2-\*{5}-\*{5} status=activated/);
  const second = await run.connect();
  const welcome = await second.hello(token);
  t.same(welcome.snapshot.keys.map((e) => e.result?.status), ['activated', 'activated']);
});

t.test('a newer connection replaces the older one, which is told why before it closes', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const older = await run.connect();
  const { session: token } = await older.hello();
  const newer = await run.connect();
  const welcome = await newer.hello(token);
  t.equal(welcome.resumed, true);
  t.match(await older.next(), { type: 'bye', reason: 'replaced', message: { en: /another window or tab/, zh: /其他窗口/ } });
  t.same(await older.closed, { code: 4001, reason: 'replaced' });
  await newer.signIn();
  t.pass('the newer connection drives the session');
  t.notOk(run.logs.some((l) => l.includes('session-detached')), 'the older close starts no grace period');
});

t.test('after the grace period the session is gone and signed out of Steam', async (t) => {
  const run = await startApp({ timers: { pauseMs: 1, cooldownMs: 100, redeemTimeoutMs: 5_000, graceMs: 20 } });
  t.teardown(run.close);
  const first = await run.connect();
  const { session: token } = await first.hello();
  await first.signIn();
  first.close();
  await run.logged(/session-closed .*why=expired/);
  const second = await run.connect();
  const welcome = await second.hello(token);
  t.equal(welcome.resumed, false, 'a fresh session instead');
  t.not(welcome.session, token);
  t.same(welcome.snapshot.login, { state: 'signed-out' });
});

t.test('logout: told, closed normally, and the token is dead', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  const { session: token } = await client.hello();
  await client.signIn();
  client.send({ type: 'logout' });
  t.match(await client.until('bye'), { reason: 'logged-out' });
  t.match(await client.closed, { code: 1000 });
  await run.logged(/session-closed .*why=logged-out/);
  const again = await run.connect();
  t.equal((await again.hello(token)).resumed, false);
});

t.test('a rate limit over the wire: waiting keys, when it resumes, and the retry', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  client.send({ type: 'add-keys', text: 'DEMO9-RATEL-IMITS DEMO1-ACTIV-ATED1' });
  const before = client.frames.length;
  const cooldown = await client.until('queue', (m) => m.state === 'cooldown');
  t.type(cooldown.resumesAt, 'number');
  t.match(cooldown.message, { en: /resumes by itself/ });
  const waiting = client.frames
    .slice(before)
    .map((f) => JSON.parse(f) as { type: string; entry?: KeyEntry })
    .filter((m) => m.entry?.state === 'waiting')
    .map((m) => [m.entry!.key, m.entry!.result?.status]);
  t.same(waiting.sort(), [
    ['DEMO1-ACTIV-ATED1', undefined],
    ['DEMO9-RATEL-IMITS', 'rate-limited'],
  ], 'every key not yet done waits; the limited one says why');
  t.match(await client.until('queue'), { state: 'running' }, 'the page hears that sending resumed');
  const retried = await client.until('key', (m) => m.entry.key === 'DEMO9-RATEL-IMITS' && m.entry.state === 'done');
  t.equal(retried.entry.result?.status, 'activated');
});

t.test('a timeout: unknown, the queue stalls, resume goes on', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  client.send({ type: 'add-keys', text: 'DEMOA-TIMES-OUT00 DEMO1-ACTIV-ATED1' });
  const unknown = await client.until('key', (m) => m.entry.state === 'done');
  t.match(unknown.entry, { key: 'DEMOA-TIMES-OUT00', result: { status: 'unknown', message: { en: /check your library/ } } });
  t.match(await client.until('queue'), { state: 'stalled', stalledBy: 'unknown-result' });
  client.send({ type: 'resume' });
  t.match(await client.until('key', (m) => m.entry.state === 'done'), { entry: { key: 'DEMO1-ACTIV-ATED1', result: { status: 'activated' } } });
});

t.test('cancel over the wire', async (t) => {
  const run = await startApp({}, { latencyMs: 20 });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1 DEMO2-ACTIV-ATED3 DEMO3-ALREA-DYOWN' });
  await client.until('key', (m) => m.entry.state === 'redeeming');
  client.send({ type: 'cancel' });
  await client.until('queue', (m) => m.state === 'idle');
  t.same(latestEntries(client.frames).map((e) => e.state), ['done', 'cancelled', 'cancelled']);
});

/** Each key's latest state, from every frame received. */
function latestEntries(frames: string[]): KeyEntry[] {
  const keys = new Map<number, KeyEntry>();
  for (const frame of frames) {
    const m = JSON.parse(frame) as { entry?: KeyEntry; added?: KeyEntry[] };
    for (const e of m.added ?? []) keys.set(e.n, e);
    if (m.entry) keys.set(m.entry.n, m.entry);
  }
  return [...keys.values()].sort((a, b) => a.n - b.n);
}

t.test('server shutdown with a key at Steam: the page hears that key is unknown before the bye', async (t) => {
  const steam = fakePorts(); // a Steam that answers only when told: the key stays out
  const run = await startApp({ portFactory: steam.factory });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'login', accountName: 'alice', password: 'pw' });
  await client.until('login', (m) => m.state === 'signing-in');
  steam.last().succeed();
  await client.until('login', (m) => m.state === 'signed-in');
  client.send({ type: 'add-keys', text: 'AAAAA-11111-BBBBB' });
  await client.until('key', (m) => m.entry.state === 'redeeming');
  await run.app.store.closeAll();
  const after: string[] = [];
  for (;;) {
    const m = await client.next();
    after.push(m.type === 'key' ? `key ${m.entry.state} ${m.entry.result?.status}` : m.type);
    if (m.type === 'bye') break;
  }
  t.same(after.filter((m) => m.startsWith('key')), ['key done unknown'], 'the key with Steam ends unknown');
  t.equal(after.at(-1), 'bye', 'and the page hears it before the bye');
});

t.test('a full server says so, and the connection may try again', async (t) => {
  const run = await startApp({ maxSessions: 1 });
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  const second = await run.connect();
  second.send({ type: 'hello', version: 1, id: 'h' });
  t.match(await second.next(), { type: 'error', id: 'h', code: 'server-busy' });
  first.send({ type: 'logout' });
  await first.closed;
  await run.logged(/session-closed/);
  t.equal((await second.hello()).resumed, false, 'room again once a session ends');
});

t.test('a connection the server fails is logged with its close code, a clean close is not (RFC 6455 §7.1.7)', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const port = Number(new URL(run.url).port);
  const clean = await openClient(port, { path: '/ws' });
  await clean.sendClose(1000);
  await waitFor(clean.closedTcp, 'the clean close');
  const bad = await openClient(port, { path: '/ws' });
  t.teardown(() => bad.destroy());
  await bad.write(clientFrame(OP.TEXT, 'not masked', { masked: false }));
  t.equal((await bad.nextClose())?.code, 1002);
  t.match(await waitFor(run.logged(/websocket-failed/), 'the log line'), / websocket-failed code=1002$/);
  t.equal(run.logs.filter((l) => l.includes('websocket-failed')).length, 1, 'only the failed connection was logged');
});
