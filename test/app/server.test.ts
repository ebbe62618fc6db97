import t from 'tap';
import WebSocket from 'ws';
import { startApp } from '../helpers/app.js';
import { ManualClock } from '../helpers/manual-clock.js';

t.test('GET /healthz', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const res = await fetch(`${run.url}/healthz`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.same(await res.json(), { status: 'ok', sessions: 0 });
  const client = await run.connect();
  await client.hello();
  await client.signIn();
  t.same(await (await fetch(`${run.url}/healthz`)).json(), { status: 'ok', sessions: 1 });
  t.equal((await fetch(`${run.url}/healthz`, { method: 'POST' })).status, 405);
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

t.test('refused origins: one log line per origin a minute, with the count it left out', async (t) => {
  const clock = new ManualClock();
  const run = await startApp({ clock });
  t.teardown(run.close);
  const tryOrigin = (origin: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(run.wsUrl, { origin });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => {});
    });
  const refusals = () => run.logs.filter((line) => line.includes('origin-refused'));
  for (let i = 0; i < 3; i++) t.equal(await tryOrigin('https://evil.example'), 403);
  t.equal(await tryOrigin('https://other.example'), 403);
  t.equal(refusals().length, 2, 'three tries from one origin, one from another: two lines');
  t.match(refusals()[0], /origin=https:\/\/evil\.example host=127\.0\.0\.1:\d+$/);
  await clock.advance(60_000);
  t.equal(await tryOrigin('https://evil.example'), 403);
  t.equal(refusals().length, 3);
  t.match(refusals()[2], /origin=https:\/\/evil\.example .*repeated=2/, 'a minute later: one line saying how many went unlogged');
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
