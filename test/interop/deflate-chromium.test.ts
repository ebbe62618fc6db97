/**
 * Interop, permessage-deflate (RFC 7692): headless Chromium's own WebSocket
 * (Debian's chromium via playwright-core), which offers
 * `permessage-deflate; client_max_window_bits` on every connection by itself.
 * The page runs browser-peer.js (the plain interop peer: it builds each
 * message in the browser and reports hashes of the echoes).
 *
 * With the extension's defaults, against the real `steam-key echo --deflate
 * --trace`. A browser cannot ask for no context takeover, only a server can
 * impose it; the binary has no flag for that, so the other two agreements
 * run on a WebSocketRouter in this process with the echo handler and the
 * same trace. What a browser cannot do either: choose how it fragments.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { ANY_PATH, formatTrace, httpServerOptions, WebSocketRouter } from '../../lib/websocket/index.js';
import { launchChromium } from '../helpers/browser.js';
import { checkAgreement, checkTrace, DEFLATE_CASES, TAKEOVER_VARIANTS, withoutBig } from './deflate-trace.js';
import { peerTest, startEcho, type Tap } from './helpers.js';
import { contentBytes, sha256, type EchoReport, type MessageCase } from './messages.js';

const PEER_SCRIPT = new URL('./browser-peer.js', import.meta.url);

interface BrowserReport {
  extensions: string;
  messages: EchoReport[];
  close: { code: number; reason: string; wasClean: boolean };
}

let browser: Browser | undefined;

async function launch(): Promise<string | null> {
  const launched = await launchChromium();
  if (typeof launched === 'string') return launched;
  browser = launched;
  t.comment(`chromium ${browser.version()}`);
  return null;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A page on http://127.0.0.1 (a secure context, so crypto.subtle works) that loads browser-peer.js. */
async function servePage(t: Tap): Promise<string> {
  const script = await readFile(PEER_SCRIPT);
  const server = createServer((req, res) => {
    if (req.url === '/peer.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><meta charset="utf-8"><title>peer</title><script src="/peer.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => closeServer(server));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Calls a function of browser-peer.js; arguments go as JSON. */
function call<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`${fn}(${args.map((a) => JSON.stringify(a)).join(', ')})`) as Promise<T>;
}

/** An echo server on the router, in this process, with the deflate options given; its trace as text. */
async function routerEcho(t: Tap, deflate: { serverNoContextTakeover: boolean; clientNoContextTakeover: boolean }): Promise<{ url: string; trace: () => string }> {
  const lines: string[] = [];
  const router = new WebSocketRouter({ deflate, trace: (frame) => lines.push(formatTrace(frame)) });
  router.route(ANY_PATH, async (channel) => {
    for await (const message of channel) await channel.send(message);
  });
  const server = createServer(httpServerOptions(router.limits));
  router.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await router.closeAll();
    await closeServer(server);
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, trace: () => lines.join('\n') };
}

function checkEchoes(t: Tap, report: BrowserReport, cases: readonly MessageCase[]): void {
  cases.forEach((c, i) => {
    const r = report.messages[i];
    t.equal(r?.kind, c.kind, `${c.name}: came back as ${c.kind}`);
    t.equal(r?.length, c.size, `${c.name}: length`);
    t.equal(r?.sha256, sha256(contentBytes(c)), `${c.name}: SHA-256 of the echo equals that of the content built here`);
    t.ok(r?.equal, `${c.name}: the page compared the echo with what it sent: equal`);
  });
  t.equal(report.close.code, 1000, 'clean close');
  t.ok(report.close.wasClean, 'wasClean');
}

await peerTest(t, 'headless Chromium with permessage-deflate', await launch(), 'apt-get install chromium', async (t) => {
  t.teardown(() => browser?.close());
  const pageUrl = await servePage(t);
  const page = await browser!.newPage();
  await page.goto(pageUrl);

  for (const variant of TAKEOVER_VARIANTS) {
    const where = variant.big ? 'steam-key echo --deflate' : 'a WebSocketRouter with the deflate options';
    await t.test(`${variant.name}, ${where}`, async (t) => {
      let url: string;
      let trace: () => string;
      let stop = async (): Promise<void> => {};
      if (variant.big) {
        const server = await startEcho(['--deflate', '--trace']);
        t.teardown(() => server.stop());
        url = server.url;
        trace = server.stdout;
        stop = async () => {
          const { code } = await server.stop();
          t.equal(code, 0, 'the server exits cleanly on SIGTERM');
          t.equal(server.stderr(), '', 'nothing on stderr');
        };
      } else {
        ({ url, trace } = await routerEcho(t, {
          serverNoContextTakeover: !variant.takeover.server,
          clientNoContextTakeover: !variant.takeover.client,
        }));
      }
      const cases = variant.big ? DEFLATE_CASES : withoutBig(DEFLATE_CASES);
      const report = await call<BrowserReport>(page, 'runPeer', url, { messages: cases });
      checkAgreement(t, report.extensions, variant.takeover);
      checkEchoes(t, report, cases);
      await stop();
      checkTrace(t, trace(), cases, { takeover: variant.takeover, peerCompressesAll: true });
    });
  }
});
