/**
 * The demo's Steam app page (lib/app/demo-app.ts): a QR sign-in of the demo
 * Steam approved and denied over HTTP, as a second tab or a phone would; its
 * headers; and that only `serve --demo` serves it.
 */
import t from 'tap';
import { demoAppBaseUrl, demoAppHandler, DEMO_APP_CSP, firstOf } from '../../lib/app/demo-app.js';
import { pageHandler } from '../../lib/app/page.js';
import { runServe } from '../../lib/cli/serve.js';
import { DemoSteamApp } from '../../lib/steam/demo-app.js';
import { demoPortFactory } from '../../lib/steam/demo-port.js';
import { RedeemSession } from '../../lib/steam/session.js';
import { startApp } from '../helpers/app.js';
import { withBrowser } from '../helpers/browser.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** The app with the demo Steam app page, and a session signing in through it. */
async function setup(t: Tap) {
  const app = new DemoSteamApp();
  const run = await startApp({ page: firstOf(demoAppHandler(app), pageHandler()) });
  t.teardown(run.close);
  app.baseUrl = run.url;
  const session = new RedeemSession({ portFactory: demoPortFactory({ app, latencyMs: 1 }) });
  t.teardown(() => session.close('logged-out'));
  return { app, run, session };
}

/** The link in the session's QR code, once it is shown. */
async function qrLink(session: RedeemSession): Promise<string> {
  for (;;) {
    const url = session.snapshot().login.qr?.url;
    if (url) return url;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const post = (url: string, origin?: string): Promise<Response> =>
  fetch(url, { method: 'POST', redirect: 'manual', headers: origin ? { Origin: origin } : {} });

t.test('a QR sign-in approved from the page: opening the link is the scan, Approve signs in', async (t) => {
  const { run, session } = await setup(t);
  const done = session.login({ method: 'qr' });
  const link = await qrLink(session);
  t.match(link, new RegExp(`^${run.url}/demo-app/r/[\\w-]{22}$`), 'the QR code holds a link to this server');

  const page = await fetch(link);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-security-policy'), DEMO_APP_CSP);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(page.headers.get('cache-control'), 'no-store');
  const html = await page.text();
  t.match(html, /Approve sign-in as demo/);
  t.match(html, /<form method="post" action="\/demo-app\/r\/[\w-]{22}\/approve">/);
  t.notMatch(html, /<script|\sstyle=|\son\w+=/i, 'no script and no inline style: the CSP allows none');
  t.match(session.snapshot().login, { state: 'qr', qr: { scanned: true } }, 'the session heard of the scan');

  const approved = await post(`${link}/approve`, run.url);
  t.equal(approved.status, 303);
  t.equal(approved.headers.get('location'), new URL(link).pathname);
  t.equal(await done, true);
  t.match(session.snapshot().login, { state: 'signed-in', account: { accountName: 'demo' } });
  t.match(await (await fetch(link)).text(), /Approved: steam-key is signed in as/);
});

t.test('denied from the page; a form from another origin is refused', async (t) => {
  const { run, session } = await setup(t);
  const done = session.login({ method: 'qr' });
  const link = await qrLink(session);
  t.equal((await post(`${link}/approve`, 'https://evil.example')).status, 403, 'another web site cannot approve');
  t.equal((await post(`${link}/deny`, 'null')).status, 403);
  t.equal(session.snapshot().login.state, 'qr', 'still waiting');
  t.equal((await post(`${link}/deny`)).status, 303, 'a client that sends no Origin (not a browser form) may');
  t.equal(await done, false);
  t.match(session.snapshot().login, { state: 'signed-out', reason: 'denied' });
  t.match(await (await fetch(link)).text(), /Denied: steam-key was not signed in/);
});

t.test('demo-approve is listed on the first page and approved there', async (t) => {
  const { run, session } = await setup(t);
  t.match(await (await fetch(`${run.url}/demo-app/`)).text(), /No sign-in waits for an approval/);
  const done = session.login({ accountName: 'demo-approve', password: 'demo' });
  while (session.snapshot().login.state !== 'guard') await new Promise((resolve) => setTimeout(resolve, 2));
  const home = await (await fetch(`${run.url}/demo-app/`)).text();
  const href = /<a href="(\/demo-app\/r\/[\w-]{22})">Sign-in request for demo-approve<\/a>/.exec(home)?.[1];
  t.ok(href, 'listed');
  t.match(await (await fetch(`${run.url}${href}`)).text(), /A sign-in with the password wants to sign in to steam-key as/);
  t.match(session.snapshot().login, { state: 'guard', guard: { approvable: true, scanned: true } });
  await post(`${run.url}${href}/approve`);
  t.equal(await done, true);
});

t.test('paths, methods, and what is left to the page', async (t) => {
  const { run } = await setup(t);
  const css = await fetch(`${run.url}/demo-app/style.css`);
  t.equal(css.status, 200);
  t.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  const bare = await fetch(`${run.url}/demo-app`, { redirect: 'manual' });
  t.equal(bare.status, 303);
  t.equal(bare.headers.get('location'), '/demo-app/');
  t.equal((await fetch(`${run.url}/demo-app/r/${'A'.repeat(22)}`)).status, 404, 'an unknown sign-in');
  t.equal((await fetch(`${run.url}/demo-app/r/nope`)).status, 404);
  t.equal((await fetch(`${run.url}/demo-app/nope`)).status, 404);
  t.equal((await post(`${run.url}/demo-app/`)).status, 405);
  t.equal((await fetch(`${run.url}/demo-app/r/${'A'.repeat(22)}/approve`)).status, 405, 'approve is a POST');
  t.equal((await fetch(`${run.url}/`)).status, 200, 'the page itself is still served');
});

t.test('the base URL a phone reaches', async (t) => {
  t.equal(demoAppBaseUrl('127.0.0.1:3999'), 'http://127.0.0.1:3999/');
  t.equal(demoAppBaseUrl('[::1]:8080'), 'http://[::1]:8080/');
  const lan = { lo: [{ family: 'IPv4', internal: true, address: '127.0.0.1' }], eth0: [{ family: 'IPv6', internal: false, address: 'fe80::1' }, { family: 'IPv4', internal: false, address: '192.0.2.7' }] };
  t.equal(demoAppBaseUrl('0.0.0.0:3999', lan as never), 'http://192.0.2.7:3999/', 'a wildcard address: the machine\'s network address');
  t.equal(demoAppBaseUrl('[::]:3999', lan as never), 'http://192.0.2.7:3999/');
  t.equal(demoAppBaseUrl('0.0.0.0:3999', { lo: lan.lo } as never), 'http://127.0.0.1:3999/', 'no network: loopback');
  const app = new DemoSteamApp();
  t.throws(() => (app.baseUrl = 'ftp://x/'), TypeError);
  app.baseUrl = 'http://192.0.2.7:3999/some/path';
  t.equal(app.homeUrl, 'http://192.0.2.7:3999/demo-app/');
});

/** Runs `steam-key serve` in this process until the test stops it; resolves with its URL. */
async function serve(t: Tap, argv: string[]): Promise<{ url: string; notes: string[] }> {
  const notes: string[] = [];
  let stop!: (signal: string) => void;
  let announce!: (url: string) => void;
  const listening = new Promise<string>((resolve) => (announce = resolve));
  const done = runServe([...argv, '--port', '0'], {
    until: new Promise((resolve) => (stop = resolve)),
    again: new Promise(() => {}),
    env: {},
    err: (line) => notes.push(line),
    out: (line) => {
      const url = /listening url=(\S+)/.exec(line)?.[1];
      if (url) announce(url);
    },
    realSteam: () => () => {
      throw new Error('no real Steam in this test');
    },
  });
  t.teardown(async () => {
    stop('test');
    await done;
  });
  return { url: await listening, notes };
}

t.test('serve --demo serves the demo app and names it; without --demo there is none', async (t) => {
  const demo = await serve(t, ['--demo']);
  t.equal((await fetch(`${demo.url}demo-app/`)).status, 200);
  t.ok(demo.notes.some((l) => l.includes(`the demo's Steam app, which approves QR codes and demo-approve's sign-in, is at ${demo.url}demo-app/`)));
  const real = await serve(t, []);
  t.equal((await fetch(`${real.url}demo-app/`)).status, 404);
});

await withBrowser(t, 'the demo app page in Chromium', async (t, browser) => {
  t.test('a phone-sized browser opens the QR link and taps Approve', async (t) => {
    const { session } = await setup(t);
    const done = session.login({ method: 'qr' });
    const link = await qrLink(session);
    const context = await browser.newContext({ viewport: { width: 375, height: 640 } });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => problems.push(m.text()));
    await page.goto(link);
    t.match(session.snapshot().login, { state: 'qr', qr: { scanned: true } });
    await page.getByRole('button', { name: /Approve sign-in as demo/ }).click();
    await page.getByText(/Approved: steam-key is signed in as/).waitFor();
    t.equal(await done, true, 'the browser\'s own form was accepted (its Origin header names this server)');
    t.same(problems, [], 'no CSP violation or failed request');
  });
});
