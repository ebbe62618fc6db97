import t from 'tap';
import type { KeyEntry } from '../../lib/steam/queue.js';
import { LoginError } from '../../lib/steam/port.js';
import { FAST_TIMERS, startApp } from '../helpers/app.js';
import { fakePorts } from '../helpers/fake-port.js';
import { clientFrame, OP, openClient, waitFor } from '../helpers/raw-client.js';

t.test('the whole flow: hello, sign-in with an e-mail guard code, keys, live results', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  const welcome = await client.hello();
  t.equal(welcome.version, 2);
  t.equal(welcome.resumed, false);
  t.equal(welcome.session, null, 'hello makes no session');
  t.same(welcome.snapshot.login, { state: 'signed-out' });
  t.match(welcome.snapshot.queue, { state: 'idle' });
  t.same(welcome.snapshot.keys, []);
  t.equal(run.app.store.size, 0);

  client.send({ type: 'login', accountName: 'demo-mail', password: 'demo' });
  const opened = await client.next();
  t.match(opened, { type: 'session', joined: false, snapshot: { login: { state: 'signed-out' }, keys: [] } }, 'the sign-in makes it');
  t.match(opened.type === 'session' && opened.session, /^[A-Za-z0-9_-]{43}$/);
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
    droppedCounts: { 'repeated-in-paste': 1, placeholder: 1 },
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
  client.send({ type: 'hello', version: 1, id: 'h' });
  t.match(await client.next(), { type: 'error', code: 'unsupported-version', versions: [2], id: 'h' });
  await client.hello();
  await expectError({ type: 'hello', version: 2 }, 'already-greeted');
  await expectError({ type: 'guard-code', code: '12345' }, 'no-session');
  await expectError({ type: 'logout' }, 'no-session');
  await expectError({ type: 'add-keys' }, 'bad-message');
  await expectError({ type: 'add-keys', text: '', allow: { unknown: 'yes' } }, 'bad-message');
  t.equal(run.app.store.size, 0, 'no error made a session');
  await client.signIn();
  await expectError({ type: 'guard-code', code: '12345' }, 'wrong-state');
  await expectError({ type: 'login', accountName: 'demo', password: 'demo' }, 'wrong-state');
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await client.until('keys-added'), { added: [{ key: 'DEMO1-ACTIV-ATED1' }] }, 'still works after all that');
  t.ok(run.logs.some((l) => /protocol-error .*code=bad-json/.test(l)), 'errors are logged by code');
});

t.test('nothing lost on reconnect: the same session, its keys and results, still signed in', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  const token = await first.signIn();
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
  await first.hello();
  const token = await first.signIn();
  first.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1 DEMO2-ACTIV-ATED3' });
  await first.until('keys-added');
  first.close();
  await run.logged(/key-result .*key=DEMO2-\*{5}-\*{5} status=activated/);
  const second = await run.connect();
  const welcome = await second.hello(token);
  t.same(welcome.snapshot.keys.map((e) => e.result?.status), ['activated', 'activated']);
});

t.test('several connections hold one session, each hears everything; past the limit the oldest is let go', async (t) => {
  const run = await startApp({ maxConnectionsPerSession: 2 });
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  const token = await first.signIn();
  const second = await run.connect();
  t.match(await second.hello(token), { resumed: true, session: token, snapshot: { login: { state: 'signed-in' } } });
  second.send({ type: 'add-keys', id: 'mine', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await second.until('keys-added'), { id: 'mine', added: [{ key: 'DEMO1-ACTIV-ATED1' }] });
  const heard = await first.until('keys-added');
  t.match(heard, { added: [{ key: 'DEMO1-ACTIV-ATED1' }], dropped: [] }, 'the other tab hears the keys added');
  t.notOk('id' in heard, 'without the request id: it was not its request');
  await first.until('key', (m) => m.entry.state === 'done');
  await second.until('key', (m) => m.entry.state === 'done');
  const third = await run.connect();
  await third.hello(token);
  t.match(await first.until('bye'), { reason: 'replaced', message: { en: /too many windows or tabs/, zh: /太多窗口/ } });
  t.same(await first.closed, { code: 4001, reason: 'replaced' });
  second.close();
  await second.closed;
  t.notOk(run.logs.some((l) => l.includes('session-detached')), 'a session still held starts no grace period');
  third.send({ type: 'logout' });
  t.match(await third.until('bye'), { reason: 'logged-out' });
});

t.test('one session per account: a sign-in to an account with a session joins it, bringing its unsent keys', async (t) => {
  const steam = fakePorts();
  const run = await startApp({ portFactory: steam.factory });
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  first.send({ type: 'login', accountName: 'alice', password: 'pw' });
  await first.until('login', (m) => m.state === 'signing-in');
  steam.last().succeed();
  await first.until('login', (m) => m.state === 'signed-in');
  const token = first.token!;
  first.send({ type: 'add-keys', text: 'AAAAA-11111-BBBBB' });
  await first.until('key', (m) => m.entry.state === 'redeeming');

  // Another browser: keys pasted before signing in, one of them the key already with Steam.
  const other = await run.connect();
  await other.hello();
  other.send({ type: 'add-keys', text: 'CCCCC-22222-DDDDD AAAAA-11111-BBBBB' });
  const own = await other.until('session');
  t.not(own.session, token, 'an anonymous session of its own first');
  await other.until('keys-added');
  other.send({ type: 'login', accountName: 'ALICE', password: 'pw' });
  await other.until('login', (m) => m.state === 'signing-in');
  t.equal(steam.ports.length, 2, 'Steam is asked: only it can prove the account');
  steam.last().succeed();
  const joined = await other.until('session');
  t.equal(joined.session, token, "the account's session");
  t.equal(joined.joined, true);
  t.match(joined.snapshot.keys, [{ key: 'AAAAA-11111-BBBBB', state: 'redeeming' }, { key: 'CCCCC-22222-DDDDD', state: 'queued' }]);
  t.match(await other.until('keys-added'), {
    added: [{ key: 'CCCCC-22222-DDDDD' }],
    dropped: [{ key: 'AAAAA-11111-BBBBB', reason: 'already-in-session' }],
  }, 'it says which keys were there already');
  t.match(await first.until('keys-added'), { added: [{ key: 'CCCCC-22222-DDDDD' }] }, 'the first tab hears of the new key');
  t.equal(steam.ports[1]!.logOffs, 1, 'the second Steam client signs out again');
  t.equal(steam.ports[0]!.loggedOn, true, 'the first one goes on');
  t.equal(run.app.store.size, 1);
  await run.logged(/session-joined /);

  steam.ports[0]!.answer({ eresult: 1, detail: 0, packages: [] });
  await other.until('key', (m) => m.entry.key === 'AAAAA-11111-BBBBB' && m.entry.state === 'done');
  await first.until('key', (m) => m.entry.key === 'CCCCC-22222-DDDDD' && m.entry.state === 'redeeming');
  t.same(steam.ports[0]!.redeems.map((r) => r.key), ['AAAAA-11111-BBBBB', 'CCCCC-22222-DDDDD'], 'each key once, by one Steam client');
});

t.test("a joining sign-in takes over when the account's session has lost Steam", async (t) => {
  const steam = fakePorts();
  const run = await startApp({ portFactory: steam.factory });
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  first.send({ type: 'login', accountName: 'alice', password: 'pw' });
  await first.until('login', (m) => m.state === 'signing-in');
  steam.last().succeed();
  await first.until('login', (m) => m.state === 'signed-in');
  first.send({ type: 'add-keys', text: 'AAAAA-11111-BBBBB CCCCC-22222-DDDDD' });
  await first.until('key', (m) => m.entry.state === 'redeeming');
  steam.last().disconnect();
  await first.until('queue', (m) => m.state === 'stalled' && m.stalledBy === 'signed-out');
  first.close();
  const other = await run.connect();
  await other.hello();
  other.send({ type: 'login', accountName: 'alice', password: 'pw' });
  await other.until('login', (m) => m.state === 'signing-in');
  steam.last().succeed();
  t.match(await other.until('session'), { joined: true, snapshot: { login: { state: 'signed-in' } } });
  t.equal(steam.last().logOffs, 0, 'its Steam sign-in now serves the session');
  await other.until('key', (m) => m.entry.state === 'redeeming');
  t.same(steam.last().redeems.map((r) => r.key), ['CCCCC-22222-DDDDD'], 'and sends the key that waited');
});

t.test('a session that never signed in lives briefly: a short grace, and a deadline to sign in', async (t) => {
  const run = await startApp({ timers: { ...FAST_TIMERS, anonymousGraceMs: 20, signInDeadlineMs: 60_000 } });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  await client.until('keys-added');
  const token = client.token!;
  client.close();
  await run.logged(/session-closed .*why=expired/);
  const back = await run.connect();
  t.match(await back.hello(token), { resumed: false, session: null });

  const slow = await startApp({ timers: { ...FAST_TIMERS, signInDeadlineMs: 30 } });
  t.teardown(slow.close);
  const idle = await slow.connect();
  await idle.hello();
  idle.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await idle.until('bye'), { reason: 'not-signed-in', message: { en: /nobody signed in/ } });
  t.match(await idle.closed, { code: 4003 });
});

t.test('a connection that never says hello is closed (1008)', async (t) => {
  const run = await startApp({ timers: { ...FAST_TIMERS, helloTimeoutMs: 30 } });
  t.teardown(run.close);
  const client = await run.connect();
  t.match(await client.closed, { code: 1008 });
  await run.logged(/protocol-error client=127\.0\.0\.1 code=no-hello/);
});

t.test('a hello that arrived while the server was busy past the deadline is still read: the timer looks again after pending reads', async (t) => {
  // A clock whose hello timer the test fires by hand, at the worst moment: the hello is in the
  // server's socket buffer, not yet read, because the event loop was busy.
  const timers: { fn: () => void; ms: number }[] = [];
  const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => (timers.push({ fn, ms }), () => {}) };
  const run = await startApp({ clock, timers: { ...FAST_TIMERS, helloTimeoutMs: 12_345 } });
  t.teardown(run.close);
  const client = await openClient(Number(new URL(run.url).port), { path: '/ws' });
  t.teardown(() => client.destroy());
  const helloTimers = timers.filter(({ ms }) => ms === 12_345);
  t.equal(helloTimers.length, 1, 'the connection set its hello timer');
  void client.sendText(JSON.stringify({ type: 'hello', version: 2 })); // one write(2), at once
  const busyUntil = Date.now() + 50;
  while (Date.now() < busyUntil); // the hello waits in the server's socket buffer meanwhile
  helloTimers[0]!.fn();
  t.match(JSON.parse(await client.nextText()), { type: 'welcome' }, 'the hello is answered');
  void client.sendText(JSON.stringify({ type: 'add-keys', id: 'k', text: 'DEMO1-ACTIV-ATED1' }));
  t.match(JSON.parse(await client.nextText()), { type: 'session' }, 'and the connection stays open');
  t.notOk(run.logs.some((line) => /no-hello/.test(line)), 'no no-hello refusal logged');
});

t.test('an address that pasted its share is told paste-limited with retryAt, and nothing is added', async (t) => {
  const run = await startApp({ policy: { pasteCharsPerAddress: { count: 40, perMs: 60_000 } } });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'add-keys', id: 'a', text: 'DEMO1-ACTIV-ATED1 DEMO2-ACTIV-ATED2' }); // 35 characters
  t.match(await client.until('keys-added'), { id: 'a', added: [{}, {}] });
  const before = Date.now();
  client.send({ type: 'add-keys', id: 'b', text: 'DEMO3-ACTIV-ATED3' });
  const refused = await client.until('error');
  t.match(refused, { id: 'b', code: 'paste-limited', retryAt: Number });
  t.ok(refused.retryAt! > before && refused.retryAt! <= Date.now() + 60_000, 'retryAt is within the rate period');
  await run.logged(/paste-refused client=127\.0\.0\.1 session=\S+ chars=17/);
  client.send({ type: 'add-keys', id: 'c', text: '' });
  t.match(await client.until('keys-added'), { id: 'c', added: [] }, 'an empty paste costs nothing');
  t.equal(run.app.store.size, 1);
});

t.test('connections past the quota are told why and closed with 1013', async (t) => {
  let open = 0;
  let released = (): void => {};
  const connectionQuota = {
    take: () => (open >= 2 ? ('address-full' as const) : (open++, 'ok' as const)),
    release: () => {
      open--;
      released();
    },
  };
  const run = await startApp({ connectionQuota });
  t.teardown(run.close);
  const a = await run.connect();
  await run.connect();
  const refused = await run.connect();
  t.match(await refused.next(), { type: 'bye', reason: 'too-many-connections', message: { en: /Too many connections/, zh: /连接过多/ } });
  t.match(await refused.closed, { code: 1013 });
  await run.logged(/connection-refused client=127\.0\.0\.1 scope=address/);
  const gone = new Promise<void>((resolve) => (released = resolve));
  a.close();
  await gone;
  const again = await run.connect();
  t.match(await again.hello(), { type: 'welcome' }, 'a slot is free again once one closes');
});

t.test('a sign-in the limits refuse never reaches Steam, and says when to try again', async (t) => {
  const steam = fakePorts();
  const calls: string[] = [];
  const signIns = {
    check: (who: { accountName?: string }) => (calls.push(`check ${who.accountName}`), who.accountName === 'bob' ? { code: 'sign-in-limited' as const, retryAt: 1234 } : null),
    start: (who: { accountName?: string }) => void calls.push(`start ${who.accountName}`),
    finish: (who: { accountName?: string }, outcome: { ok: boolean; reason?: string }) =>
      void calls.push(`finish ${who.accountName} ${outcome.ok ? 'ok' : outcome.reason}`),
  };
  const run = await startApp({ portFactory: steam.factory, signIns });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'login', id: 1, accountName: 'bob', password: 'pw' });
  t.match(await client.until('error'), { id: 1, code: 'sign-in-limited', retryAt: 1234 });
  t.equal(steam.ports.length, 0, 'nothing went to Steam');
  client.send({ type: 'login', accountName: 'alice', password: 'pw' });
  await client.until('login', (m) => m.state === 'signing-in');
  steam.last().fail(new LoginError('invalid-password', 'InvalidPassword', 5));
  await client.until('login', (m) => m.state === 'signed-out');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, ['check bob', 'check alice', 'start alice', 'finish alice invalid-password']);
  await run.logged(/sign-in-refused client=127\.0\.0\.1 session=\w+ code=sign-in-limited/);
});

t.test('a key that got no answer goes again only when asked (allow.unknown)', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  client.send({ type: 'add-keys', text: 'DEMOA-TIMES-OUT00' });
  await client.until('key', (m) => m.entry.state === 'done');
  client.send({ type: 'add-keys', text: 'DEMOA-TIMES-OUT00' });
  t.match(await client.until('keys-added'), { added: [], dropped: [{ key: 'DEMOA-TIMES-OUT00', reason: 'unknown-result' }] });
  client.send({ type: 'add-keys', text: 'DEMOA-TIMES-OUT00', allow: { unknown: true } });
  t.match(await client.until('keys-added'), { added: [{ n: 1, key: 'DEMOA-TIMES-OUT00', state: 'queued' }], dropped: [] });
});

t.test('cancel-login gives up on a Steam Guard prompt', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'login', accountName: 'demo-app', password: 'demo' });
  await client.until('login', (m) => m.state === 'guard');
  client.send({ type: 'cancel-login' });
  t.match(await client.until('login'), { state: 'signed-out', reason: 'cancelled' });
  client.send({ type: 'cancel-login', id: 2 });
  t.match(await client.until('error'), { id: 2, code: 'wrong-state' });
});

t.test('after the grace period the session is gone and signed out of Steam', async (t) => {
  const run = await startApp({ timers: { pauseMs: 1, cooldownMs: 100, redeemTimeoutMs: 5_000, graceMs: 20 } });
  t.teardown(run.close);
  const first = await run.connect();
  await first.hello();
  const token = await first.signIn();
  first.close();
  await run.logged(/session-closed .*why=expired/);
  const second = await run.connect();
  const welcome = await second.hello(token);
  t.equal(welcome.resumed, false);
  t.equal(welcome.session, null, 'no session until one is needed');
  t.same(welcome.snapshot.login, { state: 'signed-out' });
});

t.test('logout: told, closed normally, and the token is dead', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();
  const token = await client.signIn();
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
  await first.signIn();
  const second = await run.connect();
  await second.hello();
  second.send({ type: 'add-keys', id: 'a', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await second.next(), { type: 'error', id: 'a', code: 'server-busy' });
  first.send({ type: 'logout' });
  await first.closed;
  await run.logged(/session-closed/);
  second.send({ type: 'add-keys', id: 'b', text: 'DEMO1-ACTIV-ATED1' });
  t.match(await second.until('keys-added'), { id: 'b', added: [{ key: 'DEMO1-ACTIV-ATED1' }] }, 'room again once a session ends');
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
  t.match(await waitFor(run.logged(/websocket-failed/), 'the log line'), / websocket-failed code=1002 client=127\.0\.0\.1$/);
  t.equal(run.logs.filter((l) => l.includes('websocket-failed')).length, 1, 'only the failed connection was logged');
});
