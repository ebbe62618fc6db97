/**
 * How the page is served (lib/app/page.ts): types, security headers, caching,
 * HEAD, 304, 404 and 405 — and that the browser's key pattern is the server's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { CONTENT_SECURITY_POLICY, keysModule, PAGE_DIR } from '../../lib/app/page.js';
import { pageHandler } from '../../lib/app/page.js';
import { MAX_ADD_KEYS_TEXT, MAX_MESSAGE_BYTES } from '../../lib/app/protocol.js';
import { KEY } from '../../lib/steam/keys.js';
import { FINAL_FOR_ACCOUNT_STATUSES, FINAL_STATUSES } from '../../lib/steam/results.js';
import { startApp } from '../helpers/app.js';

t.test('every file with its type and the security headers', async (t) => {
  const run = await startApp({ page: pageHandler() });
  t.teardown(run.close);
  const cases: [path: string, type: RegExp, body: RegExp][] = [
    ['/', /^text\/html; charset=utf-8$/, /<!doctype html>[^]*<script type="module" src="\/app\.js"><\/script>/],
    ['/index.html', /^text\/html; charset=utf-8$/, /<title>steam-key<\/title>/],
    ['/app.js', /^text\/javascript; charset=utf-8$/, /from '\.\/record\.js'/],
    ['/link.js', /^text\/javascript; charset=utf-8$/, /new WebSocket\(/],
    ['/record.js', /^text\/javascript; charset=utf-8$/, /export class KeyRecord/],
    ['/export.js', /^text\/javascript; charset=utf-8$/, /export function toCsv/],
    ['/paste.js', /^text\/javascript; charset=utf-8$/, /export function scanPaste/],
    ['/table.js', /^text\/javascript; charset=utf-8$/, /export class ResultsTable/],
    ['/view.js', /^text\/javascript; charset=utf-8$/, /export function createView/],
    ['/leftovers-view.js', /^text\/javascript; charset=utf-8$/, /export class LeftoversView/],
    ['/i18n.js', /^text\/javascript; charset=utf-8$/, /export const MESSAGES/],
    ['/keys-scan.js', /^text\/javascript; charset=utf-8$/, /export function scanKeys/],
    ['/add-keys.js', /^text\/javascript; charset=utf-8$/, /export function addKeysMessage/],
    ['/keys.js', /^text\/javascript; charset=utf-8$/, /export const KEY_SOURCE/],
    ['/qr.js', /^text\/javascript; charset=utf-8$/, /export function drawQr/],
    // The uqr package's own ES module build, from node_modules: the QR encoder, not one of ours.
    ['/uqr.js', /^text\/javascript; charset=utf-8$/, /export \{[^}]*\bencode\b/],
    ['/style.css', /^text\/css; charset=utf-8$/, /\.badge/],
    ['/favicon.svg', /^image\/svg\+xml$/, /<svg/],
  ];
  for (const [path, type, body] of cases) {
    const res = await fetch(run.url + path);
    t.equal(res.status, 200, `${path}: 200`);
    t.match(res.headers.get('content-type'), type, `${path}: Content-Type`);
    t.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, `${path}: CSP`);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.equal(res.headers.get('referrer-policy'), 'no-referrer');
    t.equal(res.headers.get('cache-control'), 'no-cache', `${path}: revalidated every time`);
    t.match(res.headers.get('etag'), /^"[A-Za-z0-9_-]{27}"$/);
    t.match(await res.text(), body, `${path}: body`);
  }
  t.match(CONTENT_SECURITY_POLICY, /^default-src 'self'; connect-src 'self'; script-src 'self'; style-src 'self'/);
  t.notMatch(CONTENT_SECURITY_POLICY, /unsafe|\*|https?:|data:/, 'no inline code, no other site, no wildcard');
});

t.test('the page references only its own files, and every one is served', async (t) => {
  const run = await startApp({ page: pageHandler() });
  t.teardown(run.close);
  const html = await (await fetch(run.url)).text();
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.same(refs.sort(), ['/app.js', '/favicon.svg', '/style.css']);
  const js = readdirSync(PAGE_DIR).filter((name) => name.endsWith('.js'));
  for (const name of js) {
    const source = await (await fetch(`${run.url}/${name}`)).text();
    for (const [, imported] of source.matchAll(/from '([^']+)'/g)) {
      t.match(imported, /^\.\/[a-z0-9-]+\.js$/, `${name} imports ${imported}: a file of its own`);
      t.equal((await fetch(new URL(imported!, `${run.url}/${name}`))).status, 200, `${imported} is served`);
    }
    t.notMatch(source, /https?:\/\/(?!steamdb\.info\/sub\/|store\.steampowered\.com)/, `${name}: no other site`);
  }
  t.notMatch(html, /<script>|<style>| style=| on[a-z]+=/, 'no inline script, style or handler (the CSP would block them)');
});

t.test('HEAD, 304, 405, 404', async (t) => {
  const run = await startApp({ page: pageHandler() });
  t.teardown(run.close);
  const get = await fetch(`${run.url}/app.js`);
  const etag = get.headers.get('etag')!;
  const length = (await get.arrayBuffer()).byteLength;

  const head = await fetch(`${run.url}/app.js`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(length), 'HEAD: the length GET would send');
  t.equal(head.headers.get('etag'), etag);
  t.equal((await head.arrayBuffer()).byteLength, 0, 'and no body');

  for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await fetch(`${run.url}/app.js`, { headers: { 'If-None-Match': header } });
    t.equal(again.status, 304, `If-None-Match: ${header} → 304`);
    t.equal(again.headers.get('etag'), etag);
  }
  t.equal((await fetch(`${run.url}/app.js`, { headers: { 'If-None-Match': '"stale"' } })).status, 200, 'another tag → 200');

  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await fetch(`${run.url}/`, { method });
    t.equal(res.status, 405, `${method} / → 405`);
    t.equal(res.headers.get('allow'), 'GET, HEAD');
  }
  for (const path of ['/nope', '/app.js/', '/page/app.js', '/../package.json', '/%2e%2e/package.json', '/index.htm']) {
    t.equal((await fetch(`${run.url}${path}`)).status, 404, `${path} → 404`);
  }
  t.equal((await fetch(`${run.url}/healthz`)).status, 200, '/healthz is still the app\'s');
  t.equal((await fetch(`${run.url}/ws`)).status, 426, '/ws without an upgrade is still the router\'s');
});

t.test("/keys.js carries the server's key pattern, to the letter, the protocol's add-keys limits and the final answers", async (t) => {
  const source = keysModule();
  const exported = Object.fromEntries([...source.matchAll(/export const (\w+) = (.+);/g)].map((m) => [m[1], JSON.parse(m[2]!)]));
  t.same(exported, { KEY_SOURCE: KEY.source, KEY_FLAGS: KEY.flags, MAX_MESSAGE_BYTES, MAX_ADD_KEYS_TEXT, FINAL_STATUSES, FINAL_FOR_ACCOUNT_STATUSES });
  const rebuilt = new RegExp(exported.KEY_SOURCE as string, exported.KEY_FLAGS as string);
  const text = 'a AAAAA-BBBBB-CCCCC b aaaaa-bbbbb-ccccc-ddddd-eeeee-fffff c XAAAAA-BBBBB-CCCCC d 11111-22222-33333-44444-55555. e GAMEZ–ABCDE–ZZZZZ f ＡＢＣＤＥ－ＦＧＨＩＪ－ＫＬＭＮＯ';
  t.same([...text.matchAll(rebuilt)].map((m) => m[0]), [...text.matchAll(KEY)].map((m) => m[0]));
});

t.test('without a page, / still says where the WebSocket is', async (t) => {
  const run = await startApp();
  t.teardown(run.close);
  const res = await fetch(run.url);
  t.equal(res.status, 200);
  t.match(await res.text(), /WebSocket is at \/ws/);
});

t.test('the page says everything in both languages', async (t) => {
  // A plain browser module: imported by URL, as TypeScript has no types for it.
  const { MESSAGES, languageOf, clock } = (await import(new URL('i18n.js', PAGE_DIR).href)) as {
    MESSAGES: Record<'en' | 'zh', Record<string, unknown>>;
    languageOf: (tags: readonly string[]) => string;
    clock: (ms: number) => string;
  };
  const shape = (o: Record<string, unknown>): unknown =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'object' && v !== null ? shape(v as Record<string, unknown>) : typeof v]));
  t.same(shape(MESSAGES.zh), shape(MESSAGES.en), 'the same messages, of the same kinds, in Chinese as in English');
  const { KEY_STATUSES } = await import('../../lib/steam/results.js');
  t.same(Object.keys(MESSAGES.en.statuses as object).sort(), [...KEY_STATUSES].sort(), 'a badge for every status the server knows');

  const html = readFileSync(new URL('index.html', PAGE_DIR), 'utf8');
  for (const [, name] of html.matchAll(/data-i18n="([^"]+)"/g)) t.ok(name! in MESSAGES.en, `index.html's "${name}" has words`);
  // What shows before the script has run (or without it) is the English words, not an older copy of them.
  for (const [, name, text] of html.matchAll(/<(?:\w+)[^>]*data-i18n="([^"]+)"[^>]*>([^<]*)</g)) {
    t.equal(text!.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'), MESSAGES.en[name!], `index.html's "${name}" says what i18n.js says`);
  }

  t.equal(languageOf(['zh-CN']), 'zh');
  t.equal(languageOf(['zh-Hant-TW', 'en']), 'zh');
  t.equal(languageOf(['de-DE', 'en-GB', 'zh']), 'en', 'the first language the page speaks wins');
  t.equal(languageOf(['fr']), 'en');
  t.equal(clock(1), '0:01');
  t.equal(clock(75_000), '1:15');
  t.equal(clock(3_600_000), '1:00:00');
});
