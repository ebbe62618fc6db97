/**
 * Interop: headless Chromium's own WebSocket (Debian's chromium, driven by
 * playwright-core) as a client of the real `steam-key echo` binary. The page
 * runs browser-peer.js, which builds every message inside the browser and
 * reports hashes back.
 *
 * What a browser cannot do: choose how a message is fragmented (Chromium
 * splits big messages by itself), or send a ping (the WebSocket API has no
 * such call). Chromium's answer to pings is tested through the server's
 * heartbeat instead.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import t from 'tap';
import { ANY_PATH, httpServerOptions, WebSocketRouter, type FrameTrace } from '../../lib/websocket/index.js';
import { launchChromium } from '../helpers/browser.js';
import { peerTest, sleep, startEcho, type Tap } from './helpers.js';
import { contentBytes, MESSAGE_CASES, sha256, type EchoReport } from './messages.js';

const PEER_SCRIPT = new URL('./browser-peer.js', import.meta.url);

interface BrowserReport {
  protocol: string;
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

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Calls a function of browser-peer.js; arguments go as JSON (no function source crosses over). */
function call<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`${fn}(${args.map((a) => JSON.stringify(a)).join(', ')})`) as Promise<T>;
}

await peerTest(t, 'headless Chromium and steam-key echo', await launch(), 'apt-get install chromium', async (t) => {
  t.teardown(() => browser?.close());
  const pageUrl = await servePage(t);
  const page = await browser!.newPage();
  await page.goto(pageUrl);

  t.test('messages and a clean close', async (t) => {
    // --trace: the server's one line per frame shows how Chromium framed each message.
    const server = await startEcho(['--trace']);
    t.teardown(() => server.stop());
    const report = await call<BrowserReport>(page, 'runPeer', server.url, { messages: MESSAGE_CASES });

    t.equal(report.extensions, '', 'no extension negotiated, though Chromium offered permessage-deflate');
    MESSAGE_CASES.forEach((c, i) => {
      const r = report.messages[i];
      t.equal(r?.name, c.name, `${c.name}: reported`);
      t.equal(r?.kind, c.kind, `${c.name}: came back as ${c.kind}`);
      t.equal(r?.length, c.size, `${c.name}: length`);
      t.equal(r?.sha256, sha256(contentBytes(c)), `${c.name}: SHA-256 of the echo equals that of the content built here`);
      t.ok(r?.equal, `${c.name}: the page compared the echo with what it sent: equal`);
    });
    t.equal(report.close.code, 1000, 'Chromium saw the server echo 1000 (§5.5.1)');
    t.ok(report.close.wasClean, 'wasClean: both Close frames exchanged before TCP closed');

    const { code } = await server.stop();
    t.equal(code, 0, 'the server exits cleanly on SIGTERM');
    t.equal(server.stderr(), '', 'the server printed nothing on stderr');
    const incoming = server.stdout().split('\n').filter((line) => line.startsWith('<- '));
    const continuations = incoming.filter((line) => line.startsWith('<- CONT')).length;
    t.comment(
      `Chromium sent ${incoming.length} frames for ${MESSAGE_CASES.length} messages and a Close, ${continuations} of them ` +
        'continuation frames: it fragments big messages by itself, but the WebSocket API cannot choose the cuts ' +
        '(fragments cut inside characters, empty fragments and pings between fragments are tested with ws and Python)',
    );
    t.comment('the WebSocket API has no ping: the heartbeat test below checks that Chromium answers the server\'s pings');
  });

  t.test('Chromium answers the server heartbeat pings with pongs (§5.5.2, §5.5.3)', async (t) => {
    // Long enough that a busy machine does not stall the test process past a
    // whole interval (the server would then drop a peer that did answer).
    const HEARTBEAT_MS = 400;
    const frames: FrameTrace[] = [];
    const router = new WebSocketRouter({
      limits: { heartbeatInterval: HEARTBEAT_MS },
      trace: (frame) => frames.push({ ...frame, preview: Buffer.from(frame.preview) }),
    });
    router.route(ANY_PATH, async (channel) => {
      for await (const message of channel) await channel.send(message);
    });
    const server = createServer(httpServerOptions(router.limits));
    router.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => closeServer(server));

    await call(page, 'openKept', `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // An idle peer is pinged after each quiet interval and dropped after a
    // second one without any traffic: two pongs in, and still open, means
    // Chromium answered every ping.
    const pongs = (): FrameTrace[] => frames.filter((f) => f.direction === 'in' && f.opcode === 0xa);
    for (let waited = 0; pongs().length < 2 && waited < 50 * HEARTBEAT_MS; waited += HEARTBEAT_MS / 4) {
      await sleep(HEARTBEAT_MS / 4);
    }
    const pings = frames.filter((f) => f.direction === 'out' && f.opcode === 0x9);
    t.ok(pongs().length >= 2, `the server sent ${pings.length} pings and got ${pongs().length} pongs`);
    pongs().forEach((pong, i) => {
      t.ok(pings[i] !== undefined && pong.preview.equals(pings[i]!.preview), `pong ${i + 1} carries the payload of ping ${i + 1}`);
    });
    t.equal(await call<number>(page, 'keptState'), 1, 'the connection is still OPEN');
    const echoed = await call<EchoReport>(page, 'echoKept', 'still here ✓');
    t.ok(echoed.equal, 'and still echoes');
    const closed = await call<{ code: number }>(page, 'closeKept');
    t.equal(closed.code, 1000, 'clean close');
  });
});
