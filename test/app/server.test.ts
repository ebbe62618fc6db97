import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { get, httpExchange, openClient, requestText, upgradeHeaders } from '../helpers/raw-client.js';

t.test('GET /healthz: the counts for this machine only', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const res = await fetch(`${run.url}/healthz`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.same(await res.json(), { status: 'ok', sessions: 0, connections: 0 });
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  t.same(await (await fetch(`${run.url}/healthz`)).json(), { status: 'ok', sessions: 1, connections: 1 });
  const forwarded = await get(`${run.url}/healthz`, { 'X-Forwarded-For': '203.0.113.9' });
  t.same(JSON.parse(forwarded.body), { status: 'ok' }, 'through a proxy: from outside, so no counts');
  t.same(JSON.parse((await get(`${run.url}/healthz`, { Forwarded: 'for=203.0.113.9' })).body), { status: 'ok' });
  t.equal((await fetch(`${run.url}/healthz`, { method: 'POST' })).status, 405);
});

t.test('a Host this server does not answer to (DNS rebinding): 421 for the page, /healthz and the WebSocket', async (t) => {
  const run = await startApp({
    page: (_req, res) => {
      res.end('the page');
      return true;
    },
  });
  t.teardown(run.close);
  const port = Number(new URL(run.url).port);
  for (const path of ['/', '/healthz', '/ws']) {
    const res = await get(`${run.url}${path}`, { Host: `evil.example:${port}` });
    t.equal(res.status, 421, `${path}: 421`);
    t.match(res.body, /does not answer to this host name/);
  }
  const upgrade = await httpExchange(port, requestText('/ws', upgradeHeaders({ Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` })));
  t.equal(upgrade.status, 421, 'the WebSocket, with the Origin a rebound page sends');
  t.match(run.logs.at(-1), new RegExp(`host-refused host=evil\.example:${port} client=127\.0\.0\.1$`));
  t.equal((await get(`${run.url}/`, { Host: `localhost:${port}` })).status, 200, 'localhost is this machine');
  t.equal((await get(`${run.url}/`, { Host: `127.0.0.1:${port}` })).status, 200, 'and so is an IP address');
});

t.test('policy.allowedHosts: names the operator added', async (t) => {
  const run = await startApp({ policy: { allowedHosts: ['keys.example.org'] } });
  t.teardown(run.close);
  const port = Number(new URL(run.url).port);
  t.equal((await get(`${run.url}/healthz`, { Host: 'keys.example.org' })).status, 200);
  const upgrade = await openClient(port, { path: '/ws', headers: { Host: 'keys.example.org', Origin: 'https://keys.example.org' } });
  t.equal(upgrade.response.status, 101);
  upgrade.destroy();
  t.equal((await get(`${run.url}/healthz`, { Host: 'other.example.org' })).status, 421);
  t.same(run.app.policy.allowedHosts, ['keys.example.org'], 'the policy in force');
});

t.test('other paths: a placeholder at /, 404 elsewhere, 426 for /ws without an upgrade', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const root = await fetch(run.url);
  t.equal(root.status, 200);
  t.match(await root.text(), /the WebSocket is at \/ws/);
  t.equal((await fetch(`${run.url}/nope`)).status, 404);
  t.equal((await fetch(`${run.url}/ws`)).status, 426);
});

t.test('the page plugs in before the placeholder', async (t) => {
  const run = await startApp({
    page: (req, res) => {
      if (req.url !== '/') return false;
      res.end('<!doctype html><title>steam-key</title>');
      return true;
    },
  });
  t.teardown(run.close);
  t.match(await (await fetch(run.url)).text(), /<title>steam-key/);
  t.equal((await fetch(`${run.url}/healthz`)).status, 200, 'health is not the page’s to answer');
});

t.test('a page from another site may not open the WebSocket (RFC 6455 §10.2)', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const refused = await new Promise<number>((resolve) => {
    const socket = new WebSocket(run.wsUrl, { origin: 'https://evil.example' });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => resolve(101));
    socket.on('error', () => {});
  });
  t.equal(refused, 403);
  const same = await run.connect({ origin: run.url });
  t.equal((await same.hello()).version, 2, 'a page served here may');
  const noOrigin = await run.connect();
  t.equal((await noOrigin.hello()).version, 2, 'so may a client that sends no Origin');
});

t.test('an Origin that is not http: or https: is refused, on the same host too', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const port = Number(new URL(run.url).port);
  for (const origin of [`ftp://127.0.0.1:${port}`, `chrome-extension://127.0.0.1:${port}`, 'null']) {
    t.equal((await httpExchange(port, requestText('/ws', upgradeHeaders({ Host: `127.0.0.1:${port}`, Origin: origin })))).status, 403, origin);
  }
});

t.test('refused origins: one rate for the whole server, whatever the Origin, with a count of what it left out', async (t) => {
  const clock = new ManualClock();
  const run = await startApp({ clock, policy: { trustedProxies: ['127.0.0.1'] } });
  t.teardown(run.close);
  const port = Number(new URL(run.url).port);
  const tryOrigin = (origin: string) => httpExchange(port, requestText('/ws', upgradeHeaders({ Host: `127.0.0.1:${port}`, Origin: origin, 'X-Forwarded-For': '203.0.113.9' })));
  const refusals = () => run.logs.filter((line) => line.includes('origin-refused'));
  for (let i = 0; i < 40; i++) t.equal((await tryOrigin(`https://evil${i}.example`)).status, 403);
  t.equal(refusals().length, 30, 'forty Origins, thirty lines: a new Origin is no way around the rate');
  t.match(refusals()[0], new RegExp(`origin=https://evil0\.example host=127\.0\.0\.1:${port} client=203\.0\.113\.9$`), 'client= is the address the trusted proxy named');
  await clock.advance(60_000);
  t.match(run.logs.at(-1), / log-suppressed count=10$/, 'a minute later: one line saying how many went unlogged');
});

t.test('shutdown: each page is told, each session signs out of Steam', async (t) => {
  const run = await startApp();
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  const closing = run.app.close();
  t.match(await client.until('bye'), { reason: 'shutdown', message: { en: /shutting down/ } });
  t.match(await client.closed, { code: 1001 });
  await closing;
  t.ok(run.logs.some((l) => /session-closed .*why=shutdown/.test(l)));
  t.equal(run.app.store.size, 0);
});
