/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * for the page's tests: one browser per test file, skipped with a message
 * when Chromium is missing — or failed, under CI=true.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { peerTest, type Tap } from '../interop/helpers.js';
import { decodePixels } from './qr-reader.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps calling out of this closed network. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches the Debian Chromium, or says why it cannot (a message for the skip). */
export async function launchChromium(): Promise<Browser | string> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    return `${CHROMIUM} not found`;
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  } catch (err) {
    return `${CHROMIUM} did not start: ${String(err).split('\n')[0]}`;
  }
}

/** Runs `fn` with a browser, or skips (fails under CI=true) when Chromium is not there. */
export async function withBrowser(t: Tap, name: string, fn: (t: Tap, browser: Browser) => Promise<void>): Promise<void> {
  const launched = await launchChromium();
  const missing = typeof launched === 'string' ? launched : null;
  await peerTest(t, name, missing, 'apt-get install chromium', async (t) => {
    const browser = launched as Browser;
    t.teardown(() => browser.close());
    await fn(t, browser);
  });
}

/**
 * A fresh tab (own storage) on `url`. Fails the test on any error the page
 * throws or logs, and on any request that leaves the server under test.
 */
export async function openPage(t: Tap, browser: Browser, url: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1000, height: 800 }, ...options });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const origin = new URL(url).origin;
  page.on('pageerror', (error) => t.fail(`the page threw: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(message.text())) {
      t.fail(`the page logged an error: ${message.text()}`);
    }
  });
  page.on('request', (request) => {
    const target = request.url();
    if (!target.startsWith(origin) && !target.startsWith('blob:') && !target.startsWith(origin.replace('http', 'ws'))) {
      t.fail(`the page asked another site: ${target}`);
    }
  });
  await page.goto(url);
  return page;
}

const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/** Saves a PNG for the README into docs/screenshots/ — only when UPDATE_SCREENSHOTS=1 asks for it. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** How long a wait may take before the test fails: a hang guard, not a speed check. */
const HANG_MS = 10_000;

/**
 * Polls `expression` in the page until it gives something truthy, and returns
 * that. Evaluated over the DevTools protocol: the page's CSP forbids eval, so
 * Playwright's own waitForFunction cannot run in it; and no function source
 * from this (TypeScript) file crosses into the browser.
 */
export async function until<T = unknown>(page: Page, expression: string, what = expression): Promise<T> {
  const deadline = Date.now() + HANG_MS;
  for (;;) {
    const value = (await page.evaluate(expression)) as T;
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waited ${HANG_MS} ms in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the text of `selector` matches `pattern`, and returns it. */
export async function textOf(page: Page, selector: string, pattern: RegExp = /[^]/): Promise<string> {
  const expression = `(() => { const n = document.querySelector(${JSON.stringify(selector)}); return n !== null && ${pattern.toString()}.test(n.textContent) ? n.textContent : false; })()`;
  try {
    return await until<string>(page, expression);
  } catch {
    const now = await page.locator(selector).first().textContent().catch(() => null);
    throw new Error(`${selector} never matched ${pattern} within ${HANG_MS} ms; it says: ${JSON.stringify(now)}`);
  }
}

/** The results table as the page shows it: one row per key. */
export async function tableRows(page: Page): Promise<{ n: string; key: string; status: string; badge: string; details: string }[]> {
  return (await page.evaluate(`[...document.querySelectorAll('#results tbody tr')].map((tr) => ({
    n: tr.cells[0].textContent, key: tr.cells[1].textContent, status: tr.dataset.status,
    badge: tr.cells[2].textContent, details: tr.cells[3].textContent,
  }))`)) as { n: string; key: string; status: string; badge: string; details: string }[];
}

/** "Keys not activated" as the page shows it: each group's keys (none when the group is hidden). */
export async function leftGroups(page: Page): Promise<Record<'not-sent' | 'usable' | 'check' | 'refused' | 'dead', string[]>> {
  return (await page.evaluate(`Object.fromEntries(['not-sent', 'usable', 'check', 'refused', 'dead'].map((g) => {
    const box = document.querySelector('#group-' + g);
    const shown = !box.hidden && !document.querySelector('#left-section').hidden;
    return [g, shown ? box.querySelector('textarea').value.split('\\n').filter(Boolean) : []];
  }))`)) as Record<'not-sent' | 'usable' | 'check' | 'refused' | 'dead', string[]>;
}

/** The fields of one CSV line, read as RFC 4180 writes them (quoted fields, doubled quotes). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      for (i++; i < line.length; ) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      fields.push(value);
      i++; // the comma
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return fields;
}

/** One key in the JSON download. */
export interface DownloadedKey {
  key: string;
  account: string | null;
  state: string;
  status: string | null;
  result: { packages: { id: number; name: string }[] } | null;
  history: { state: string; status?: string }[];
}

/** What the page's two downloads say: the CSV's records by column name, and the JSON. */
export async function downloads(page: Page): Promise<{ raw: string; csv: Record<string, string>[]; json: { keys: DownloadedKey[] } }> {
  const [csvFile] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const raw = await readFile(await csvFile.path(), 'utf8');
  const lines = raw.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
  const header = csvFields(lines[0]!);
  const csv = lines.slice(1).map((line) => Object.fromEntries(csvFields(line).map((value, i) => [header[i]!, value])));
  const [jsonFile] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  return { raw, csv, json: JSON.parse(await readFile(await jsonFile.path(), 'utf8')) as { keys: DownloadedKey[] } };
}

/** Waits until every key in the table is done (the progress line says so). */
export async function allDone(page: Page, total: number): Promise<void> {
  await until(page, `document.querySelector('#progress').dataset.done === '${total}' && document.querySelector('#progress').dataset.total === '${total}'`);
}

/** Fills the sign-in form and submits it with Enter, as a keyboard user does (demo password by default). */
export async function submitSignIn(page: Page, accountName: string, password = 'demo'): Promise<void> {
  await page.fill('#account-name', accountName);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
}

/**
 * Reads the QR code that `selector` shows, as a phone's camera would see it:
 * a screenshot of it (PNG), turned into pixels by Chromium's own image
 * decoder on a blank page of its own (no CSP there), read by jsQR. Null when
 * no code is found in the picture. The pixels cross the DevTools protocol as
 * one base64 string: as a JSON array of numbers they took seconds per code.
 */
export async function readQr(browser: Browser, page: Page, selector: string): Promise<string | null> {
  const png = await page.locator(selector).screenshot();
  const context = await browser.newContext();
  try {
    const blank = await context.newPage();
    const pixels = (await blank.evaluate(`(async () => {
      const image = new Image();
      image.src = 'data:image/png;base64,${png.toString('base64')}';
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const g = canvas.getContext('2d');
      g.drawImage(image, 0, 0);
      const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let binary = '';
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width: canvas.width, height: canvas.height, base64: btoa(binary) };
    })()`)) as { width: number; height: number; base64: string };
    return decodePixels(new Uint8ClampedArray(Buffer.from(pixels.base64, 'base64')), pixels.width, pixels.height);
  } finally {
    await context.close();
  }
}
