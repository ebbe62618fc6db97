/**
 * The demo's Steam mobile app, as a page of the demo server (only with
 * --demo): the demo's QR code links here, so a person tries the QR sign-in
 * with a second tab or a phone on the same network, and approves or denies it
 * as they would in the Steam app. Password sign-ins that the demo lets the app
 * approve (demo-approve) are listed on its first page.
 *
 *   GET  /demo-app/               the sign-ins waiting for an approval
 *   GET  /demo-app/r/ID           one sign-in (opening it is the app's "remote interaction")
 *   POST /demo-app/r/ID/approve   Approve, then back to the sign-in (303)
 *   POST /demo-app/r/ID/deny      Deny, likewise
 *   GET  /demo-app/style.css
 *
 * Plain HTML forms, no script at all: the strictest Content-Security-Policy
 * of the server (no script, styles from here, forms only to here), and a POST
 * from a page of another origin (or an opaque one, "null") is refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import { DEMO_APP_PATH, type DemoApproval, type DemoSteamApp } from '../steam/demo-app.js';
import type { PageHandler } from './server.js';

export const DEMO_APP_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ID = /^[A-Za-z0-9_-]{22}$/;

const STYLE = `/* The demo's Steam app page. */
:root { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif;
  color: #e6edf3; background: #1b2838; line-height: 1.45; }
body { margin: 0; }
main { max-width: 28rem; margin: 0 auto; padding: 1.25rem 1rem 2rem; }
h1 { font-size: 1.25rem; margin: 0 0 1rem; }
p { margin: .5rem 0; }
.zh { color: #aab6c3; }
.card { background: #24374d; border-radius: 10px; padding: 1rem; margin: 1rem 0; }
.account { font-size: 1.2rem; font-weight: 700; }
form { margin: .75rem 0 0; }
button { font: inherit; font-size: 1.1rem; width: 100%; padding: .8rem; border: 0; border-radius: 8px; cursor: pointer; }
.approve { background: #4cc36b; color: #0b1a10; font-weight: 700; }
.deny { background: #3d4f63; color: #e6edf3; }
a { color: #8cc8ff; }
button:focus-visible, a:focus-visible { outline: 3px solid #7ab8e8; outline-offset: 2px; }
ul { padding-left: 1.2rem; }
`;

/** The `page` hook's part for /demo-app/: answers its paths, leaves every other to the next handler. */
export function demoAppHandler(app: DemoSteamApp): PageHandler {
  return (req, res) => {
    const path = pathOf(req);
    if (path !== DEMO_APP_PATH.slice(0, -1) && !path.startsWith(DEMO_APP_PATH)) return false;
    const rest = path.slice(DEMO_APP_PATH.length).split('/');
    if (path === DEMO_APP_PATH.slice(0, -1)) redirect(res, DEMO_APP_PATH);
    else if (rest.length === 1 && rest[0] === '') get(req, res, () => homePage(app));
    else if (rest.length === 1 && rest[0] === 'style.css') get(req, res, () => ({ status: 200, type: 'text/css; charset=utf-8', body: STYLE }));
    else if (rest[0] === 'r' && ID.test(rest[1] ?? '') && rest.length === 2) {
      const id = rest[1]!;
      get(req, res, () => {
        if (req.method === 'GET') app.open(id); // the prompt is on screen: Steam's "remote interaction"
        const approval = app.find(id);
        return approval ? signInPage(approval) : notFound();
      });
    } else if (rest[0] === 'r' && ID.test(rest[1] ?? '') && rest.length === 3 && (rest[2] === 'approve' || rest[2] === 'deny')) {
      decide(req, res, app, rest[1]!, rest[2]);
    } else send(res, notFound());
    return true;
  };
}

interface Page {
  status: number;
  body: string;
  type?: string;
}

function get(req: IncomingMessage, res: ServerResponse, page: () => Page): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, { status: 405, body: html('Method not allowed', '<p>Method not allowed.</p>') });
  }
  send(res, page(), req.method === 'HEAD');
}

function decide(req: IncomingMessage, res: ServerResponse, app: DemoSteamApp, id: string, action: 'approve' | 'deny'): void {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return send(res, { status: 405, body: html('Method not allowed', '<p>Method not allowed.</p>') });
  }
  req.resume(); // nothing in the body is needed
  // A form on another web site open in the same browser must not approve a sign-in here.
  const origin = req.headers.origin;
  if (origin !== undefined && !sameHost(origin, req.headers.host)) {
    return send(res, { status: 403, body: html('Forbidden', '<p>This form can only be sent from this page.</p>') });
  }
  if (!app.find(id)) return send(res, notFound());
  if (action === 'approve') app.approve(id);
  else app.deny(id);
  redirect(res, `${DEMO_APP_PATH}r/${id}`);
}

/**
 * Where a phone or another tab reaches the demo server listening on
 * `address` ("host:port", as lib/cli/listen.ts gives it): that address, or
 * for a wildcard one (0.0.0.0, ::) the machine's first external IPv4 address,
 * which a phone on the same network can reach.
 */
export function demoAppBaseUrl(address: string, interfaces = networkInterfaces()): string {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return `http://${address}/`;
  const [, host, port] = match;
  if (host !== '0.0.0.0' && host !== '[::]') return `http://${host}:${port}/`;
  const external = Object.values(interfaces)
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  return `http://${external?.address ?? '127.0.0.1'}:${port}/`;
}

/** The first handler that answers, of several `page` hooks. */
export function firstOf(...handlers: PageHandler[]): PageHandler {
  return (req, res) => handlers.some((handler) => handler(req, res));
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" or garbage
  }
}

function homePage(app: DemoSteamApp): Page {
  const waiting = app.waitingPasswordSignIns;
  const list =
    waiting.length === 0
      ? `<p>No sign-in waits for an approval. Sign in as <strong>demo-approve</strong> on steam-key, then
<a href="${DEMO_APP_PATH}">reload</a> this page — or scan the demo's QR code.</p>
<p class="zh" lang="zh">没有等待批准的登录。在 steam-key 上以 demo-approve 登录后刷新本页，或扫描演示的二维码。</p>`
      : `<ul>${waiting
          .map((a) => `<li><a href="${DEMO_APP_PATH}r/${a.id}">Sign-in request for ${escape(a.accountName)}</a></li>`)
          .join('')}</ul><p><a href="${DEMO_APP_PATH}">Reload</a></p>`;
  return {
    status: 200,
    body: html(
      'Steam app (demo)',
      `<h1>Steam app (demo)</h1>
<p>This page plays the Steam mobile app for steam-key's demo: no Steam account, nothing leaves this server.</p>
<p class="zh" lang="zh">本页在 steam-key 的演示中扮演 Steam 手机应用：不需要 Steam 账户，数据不会离开此服务器。</p>
<div class="card">${list}</div>`,
    ),
  };
}

function signInPage(approval: DemoApproval): Page {
  const name = escape(approval.accountName);
  const what = approval.kind === 'qr' ? 'The QR code you scanned' : 'A sign-in with the password';
  const whatZh = approval.kind === 'qr' ? '你扫描的二维码' : '一次使用密码的登录';
  let card: string;
  switch (approval.state) {
    case 'waiting':
    case 'opened':
      card = `<p>${what} wants to sign in to steam-key as</p>
<p class="account">${name}</p>
<p class="zh" lang="zh">${whatZh}请求以 ${name} 登录 steam-key。</p>
<form method="post" action="${DEMO_APP_PATH}r/${approval.id}/approve"><button class="approve" type="submit">Approve sign-in as ${name} · 批准</button></form>
<form method="post" action="${DEMO_APP_PATH}r/${approval.id}/deny"><button class="deny" type="submit">Deny · 拒绝</button></form>`;
      break;
    case 'approved':
      card = `<p>Approved: steam-key is signed in as <span class="account">${name}</span>. Go back to steam-key.</p>
<p class="zh" lang="zh">已批准：steam-key 已以 ${name} 登录。请返回 steam-key。</p>`;
      break;
    case 'denied':
      card = `<p>Denied: steam-key was not signed in.</p><p class="zh" lang="zh">已拒绝：steam-key 未登录。</p>`;
      break;
    case 'ended':
      card = `<p>This sign-in is over: it expired, was cancelled, or steam-key shows a new code. Start again on steam-key.</p>
<p class="zh" lang="zh">此次登录已结束（已过期、已取消，或 steam-key 显示了新的二维码）。请在 steam-key 上重新开始。</p>`;
      break;
  }
  return { status: 200, body: html('Sign-in request (demo)', `<h1>Steam app (demo)</h1><div class="card">${card}</div><p><a href="${DEMO_APP_PATH}">All requests</a></p>`) };
}

function notFound(): Page {
  return {
    status: 404,
    body: html(
      'No such sign-in',
      `<h1>Steam app (demo)</h1><p>No such sign-in: the link is wrong, or the server restarted.</p>
<p class="zh" lang="zh">没有这个登录请求：链接有误，或服务器已重启。</p><p><a href="${DEMO_APP_PATH}">All requests</a></p>`,
    ),
  };
}

function html(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title}</title>
<link rel="stylesheet" href="${DEMO_APP_PATH}style.css">
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

function send(res: ServerResponse, page: Page, head = false): void {
  const body = Buffer.from(page.body);
  res.writeHead(page.status, {
    'Content-Type': page.type ?? 'text/html; charset=utf-8',
    'Content-Length': body.length,
    'Content-Security-Policy': DEMO_APP_CSP,
    'X-Content-Type-Options': 'nosniff',
    // Not no-referrer: under it a browser sends "Origin: null" with our own forms (Fetch, "serializing a request origin").
    'Referrer-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-store', 'Content-Security-Policy': DEMO_APP_CSP });
  res.end();
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}
