/**
 * The README's "Behind nginx with HTTPS": docs/nginx.conf, run as it is
 * through a real nginx (Debian's nginx-light) in front of the built
 * `steam-key serve --demo`. Only the ports, the certificate paths and the
 * IPv6 listen lines are changed; everything nginx writes goes to a temporary
 * directory that is removed afterwards. The page, /healthz, the redirect and
 * the WebSocket protocol (hello → welcome, a demo sign-in and a key) must all
 * work through it, with a browser's Origin header.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type WebSocket from 'ws';
import { TestClient } from '../helpers/app.js';
import { startServe } from '../helpers/binary.js';
import { peerTest } from '../interop/helpers.js';

const NGINX = '/usr/sbin/nginx';
const OPENSSL = 'openssl';
const DOC = new URL('../../docs/nginx.conf', import.meta.url);
const NAME = 'keys.example.org';

async function missingTools(): Promise<string | null> {
  if (!existsSync(NGINX)) return `${NGINX} is missing`;
  try {
    await promisify(execFile)(OPENSSL, ['version']);
  } catch {
    return 'openssl is missing';
  }
  return null;
}

/** A port that was free a moment ago (nginx cannot be told to pick one and say which). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** docs/nginx.conf with the test's ports and certificate; fails if the doc no longer has a line the test changes. */
export function siteConfig(doc: string, ports: { backend: number; http: number; https: number }, cert: string, key: string): string {
  const replace = (text: string, from: string | RegExp, to: string): string => {
    const count = text.split(from).length - 1;
    if (count === 0) throw new Error(`docs/nginx.conf no longer contains ${String(from)}: update the README and this test`);
    return text.split(from).join(to);
  };
  let text = doc;
  text = replace(text, 'http://127.0.0.1:3999;', `http://127.0.0.1:${ports.backend};`);
  text = replace(text, 'listen 80;', `listen 127.0.0.1:${ports.http};`);
  text = replace(text, 'listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`);
  text = replace(text, /^ *listen \[::\]:\d+(?: ssl)?;\n/m, ''); // the test machine may have no IPv6 loopback
  text = replace(text, `/etc/letsencrypt/live/${NAME}/fullchain.pem`, cert);
  text = replace(text, `/etc/letsencrypt/live/${NAME}/privkey.pem`, key);
  return text;
}

interface Nginx {
  process: ChildProcess;
  exited: Promise<void>;
  log: () => Promise<string>;
}

/** Starts nginx in the foreground as this user, everything in `dir`; resolves once it accepts connections. */
async function startNginx(dir: string, site: string, port: number): Promise<Nginx> {
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'steam-key.conf'), site);
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
    access_log ${join(dir, 'access.log')};
    client_body_temp_path ${join(dir, 'body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
    include ${join(dir, 'steam-key.conf')};
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let gone = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve())).then(() => void (gone = true));
  const log = async () => stderr + (await readFile(join(dir, 'error.log'), 'utf8').catch(() => ''));
  // Ready when the port takes a connection (polling: nginx says nothing when it is up).
  for (;;) {
    if (gone) throw new Error(`nginx exited:\n${await log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return { process: child, exited, log };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function collect(res: IncomingMessage): Promise<Response> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8').on('data', (s: string) => (body += s));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    res.on('error', reject);
  });
}

function get(url: string, ca?: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = url.startsWith('https:') ? httpsRequest(url, { ca, servername: NAME }, (res) => resolve(collect(res))) : httpRequest(url, (res) => resolve(collect(res)));
    req.on('error', reject);
    req.end();
  });
}

/** ws hands its options to https.request, servername (the certificate's name; the URL has an IP address) included. */
function wsOptions(ca: Buffer, origin: string): WebSocket.ClientOptions {
  const options: WebSocket.ClientOptions & { servername: string } = { ca, servername: NAME, origin };
  return options;
}

await peerTest(t, 'the documented nginx config in front of steam-key serve', await missingTools(), 'apt-get install nginx-light openssl', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'steam-key-nginx-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await promisify(execFile)(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${NAME}`, '-addext', `subjectAltName=DNS:${NAME}`, '-keyout', key, '-out', cert,
  ]);
  const ca = await readFile(cert);

  const served = await startServe(['--demo', '--port', '0', '--pause', '0'], {}, t.teardown);
  const doc = await readFile(DOC, 'utf8');
  // A port can be taken between freePort() and nginx's bind: try again then.
  let nginx: Nginx | undefined;
  let ports = { backend: served.port, http: 0, https: 0 };
  for (let attempt = 1; !nginx; attempt++) {
    ports = { backend: served.port, http: await freePort(), https: await freePort() };
    try {
      nginx = await startNginx(dir, siteConfig(doc, ports, cert, key), ports.https);
    } catch (error) {
      if (attempt === 3 || !/Address already in use/.test(String(error))) throw error;
    }
  }
  const running = nginx;
  t.teardown(async () => {
    running.process.kill('SIGTERM');
    await running.exited;
  });
  const base = `https://127.0.0.1:${ports.https}`;

  t.test('the page and /healthz over HTTPS', async (t) => {
    const direct = await get(served.url);
    const page = await get(`${base}/`, ca);
    t.equal(page.status, 200);
    t.equal(page.body, direct.body, 'the same page as steam-key serves itself');
    t.same(JSON.parse((await get(`${base}/healthz`, ca)).body), { status: 'ok', sessions: 0 });
  });

  t.test('plain HTTP redirects to HTTPS', async (t) => {
    const res = await get(`http://127.0.0.1:${ports.http}/`);
    t.equal(res.status, 301);
    t.match(res.headers.location, /^https:\/\/127\.0\.0\.1\//);
  });

  t.test('the WebSocket: a page of this origin signs in to the demo and redeems a key', async (t) => {
    const client = await TestClient.connect(`wss://127.0.0.1:${ports.https}/ws`, wsOptions(ca, base));
    t.teardown(() => client.socket.terminate());
    t.match(await client.hello(), { type: 'welcome', version: 2, resumed: false });
    await client.signIn('demo', 'demo');
    client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1' });
    t.match(await client.until('key', (m) => m.entry.result !== undefined), { entry: { key: 'DEMO1-ACTIV-ATED1', result: { status: 'activated' } } });
    client.send({ type: 'logout' });
    t.equal((await client.closed).code, 1000);
  });

  t.test('a page of another origin is still refused (403) behind the proxy', async (t) => {
    const refused = TestClient.connect(`wss://127.0.0.1:${ports.https}/ws`, wsOptions(ca, 'https://evil.example'));
    await t.rejects(refused, /Unexpected server response: 403/);
    t.match(await served.logged(/origin-refused/), new RegExp(` origin-refused origin=https://evil\\.example host=127\\.0\\.0\\.1:${ports.https}$`), 'nginx passed the browser\'s Host on');
  });
});
