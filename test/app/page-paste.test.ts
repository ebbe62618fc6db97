/**
 * The page in headless Chromium, demo mode: pastes as large as the protocol
 * allows (docs/protocol.md, "Limits"). A WebSocket message is at most 1 MiB
 * of UTF-8, while `add-keys` text may be 1,000,000 characters; a Chinese
 * character takes 3 bytes, so a long Chinese text must still get its keys
 * added, and whatever cannot be sent must be said on the page, never dropped.
 */
import t from 'tap';
import { pageHandler } from '../../lib/app/page.js';
import { MAX_MESSAGE_BYTES } from '../../lib/app/protocol.js';
import { extractKeys } from '../../lib/steam/keys.js';
import { startApp } from '../helpers/app.js';
import { allDone, openPage, submitSignIn, tableRows, textOf, until, withBrowser } from '../helpers/browser.js';

/** `chars` Chinese characters of filler (3 bytes each in UTF-8). */
function chinese(chars: number): string {
  const phrase = '这是一封很长的订单确认邮件，'; // 14 characters
  return phrase.repeat(Math.ceil(chars / phrase.length)).slice(0, chars);
}

/** Keys scattered through a long Chinese text: a repeat (lower-cased) and a format mask among them. */
function bigPaste(fillerChars: number): string {
  const keys = ['DEMO1-ACTIV-ATED1', 'demo2-activ-ated3', 'DEMO3-ALREA-DYOWN', 'demo1-activ-ated1', 'XXXXX-XXXXX-XXXXX', 'DEMO4-INVAL-IDKEY'];
  const chunk = Math.floor(fillerChars / keys.length);
  return keys.map((key) => `${chinese(chunk)}\n激活码：${key}\n`).join('');
}

const byteLength = (message: unknown): number => Buffer.byteLength(JSON.stringify(message));
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

await withBrowser(t, 'the page in Chromium: large pastes', async (t, browser) => {
  t.test('a Chinese text over 1 MiB: its keys are added, repeats and masks counted', async (t) => {
    const run = await startApp({ page: pageHandler() });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await submitSignIn(page, 'demo');
    await textOf(page, '#account', /demo/);

    const paste = bigPaste(400_000);
    t.ok(paste.length < 1_000_000, 'within the protocol\'s 1,000,000 characters');
    t.ok(byteLength({ type: 'add-keys', id: 'add-1', text: paste }) > MAX_MESSAGE_BYTES, 'but as one message over 1 MiB');
    const server = extractKeys(paste);
    t.same(server.keys, ['DEMO1-ACTIV-ATED1', 'DEMO2-ACTIV-ATED3', 'DEMO3-ALREA-DYOWN', 'DEMO4-INVAL-IDKEY']);

    await page.fill('#keys-text', paste);
    t.equal(
      await textOf(page, '#key-count', /found/),
      '4 new keys found · left out: 1 repeated in the text, 1 format mask (like XXXXX-XXXXX-XXXXX)',
    );
    await page.click('#redeem');
    await allDone(page, 4);
    t.same((await tableRows(page)).map((r) => [r.key, r.status]), [
      ['DEMO1-ACTIV-ATED1', 'activated'],
      ['DEMO2-ACTIV-ATED3', 'activated'],
      ['DEMO3-ALREA-DYOWN', 'already-owned'],
      ['DEMO4-INVAL-IDKEY', 'invalid-key'],
    ], 'every key reached the session and got its result');
    t.equal(await textOf(page, '#key-count', /Added/), 'Added 4 keys; left out: 1 repeated in the text, 1 format mask (like XXXXX-XXXXX-XXXXX).', 'what was left out, and why');
    t.equal(await page.inputValue('#keys-text'), '', 'the box is emptied once the server took the keys');
    t.ok(await page.isHidden('#notice'), 'nothing to warn about');
    t.equal(run.logs.filter((l) => /session-detached|websocket-failed/.test(l)).length, 0, 'on the first connection: it never dropped');
  });

  t.test('a text whose keys alone are over 1 MiB: nothing is sent, the page says so, the text stays', async (t) => {
    const run = await startApp({ page: pageHandler() });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await textOf(page, '#connection', /^Connected$/);
    // 60,000 distinct keys: 1,080,000 characters, and as many bytes even as keys only.
    const keys = Array.from({ length: 60_000 }, (_, i) => `${i.toString(36).padStart(5, '0')}-BBBBB-CCCCC`.toUpperCase());
    const paste = keys.join(' ');
    t.ok(byteLength({ type: 'add-keys', id: 'add-1', text: keys.join(' ') }) > MAX_MESSAGE_BYTES, 'the keys alone are over 1 MiB');

    await page.fill('#keys-text', paste);
    await textOf(page, '#key-count', /60000 new keys found/);
    await page.click('#redeem');
    t.match(await textOf(page, '#notice-text', /./), /^This text is too large to send, even just the keys in it; nothing was sent\. Paste it in smaller parts\.$/);
    t.equal(await page.inputValue('#keys-text'), paste, 'the text is still in the box');
    t.equal((await tableRows(page)).length, 0, 'nothing was added');
    t.ok(await page.isEnabled('#redeem'), 'Redeem can be pressed again');
    t.equal(run.logs.filter((l) => /session-detached|protocol-error/.test(l)).length, 0, 'the connection was never at risk');
  });

  /** A paste of 4,000 keys (72 kB as the page sends it) to an app made with `options`: the page after it. */
  async function pasteRefused(t: Tap, options: Parameters<typeof startApp>[0]) {
    const run = await startApp({ page: pageHandler(), ...options });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    await textOf(page, '#connection', /^Connected$/);
    const paste = Array.from({ length: 4_000 }, (_, i) => `${i.toString(36).padStart(5, '0')}-BBBBB-CCCCC`.toUpperCase()).join(' ');
    await page.fill('#keys-text', paste);
    await page.click('#redeem');
    const notice = await textOf(page, '#notice-text', /./);
    t.equal(await textOf(page, '#connection', /^Connected$/), 'Connected', 'on a new connection');
    t.equal(run.app.store.size, 0, 'the refused paste made no session');
    t.equal(await page.inputValue('#keys-text'), paste, 'the text is still in the box');
    t.equal((await tableRows(page)).length, 0, 'nothing was added');
    t.ok(await page.isEnabled('#redeem'), 'Redeem can be pressed again');
    return { notice, run };
  }

  t.test('a message the server closes on with 1009: the page says the keys were not added', async (t) => {
    // A server that takes less than the protocol promises (a proxy in front, say): the page cannot know.
    // The page sends only the keys: 72 kB, within the protocol, over this server's limit.
    const { notice, run } = await pasteRefused(t, { limits: { maxMessageSize: 64 * 1024 } });
    t.match(notice, /^The server refused your text as too large, so no keys were added\. It is still in the box: paste it in smaller parts\.$/, 'the page says the paste did not go through, and why');
    t.match(await run.logged(/websocket-failed/), / websocket-failed code=1009 client=/, 'the server did close with 1009');
  });

  t.test('a message over what this address may hold unfinished: closed with 1013, the page says to try again', async (t) => {
    // Others from the same network are sending large texts (here: the cap is smaller than the paste).
    const { notice, run } = await pasteRefused(t, { policy: { maxUnfinishedBytesPerAddress: 32 * 1024 } });
    t.match(notice, /^The server is busy receiving other large texts from your network, so none of your keys were added\. Your text is still in the box: press Redeem again in a moment\.$/);
    t.match(await run.logged(/websocket-failed/), / websocket-failed code=1013 client=/, 'the server did close with 1013');
  });

  t.test('the connection drops while add-keys waits for its reply: the session tells what came of it', async (t) => {
    const run = await startApp({ page: pageHandler() });
    t.teardown(run.close);
    const page = await openPage(t, browser, run.url);
    // Between page and server: the first add-keys dies on the way (the server never sees it), the
    // second one's reply does (the server took it). Either way the page's connection then drops.
    let drop: 'request' | 'reply' | null = 'request';
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (drop === 'request' && /"type":"add-keys"/.test(String(message))) {
          drop = 'reply';
          void ws.close({ code: 1001 });
        } else server.send(message);
      });
      server.onMessage((message) => {
        if (drop === 'reply' && /"type":"keys-added"/.test(String(message))) {
          drop = null;
          void ws.close({ code: 1001 });
        } else ws.send(message);
      });
    });
    await page.reload(); // the route applies from the next WebSocket on
    await textOf(page, '#connection', /^Connected$/);
    const paste = 'Your keys: DEMO1-ACTIV-ATED1 DEMO3-ALREA-DYOWN DEMO1-ACTIV-ATED1';
    await page.fill('#keys-text', paste);
    await page.click('#redeem');
    t.match(
      await textOf(page, '#notice-text', /./),
      /^The connection dropped before the server took your keys, so none were added\. Your text is still in the box: press Redeem again\.$/,
      'a request that never arrived: the user hears so',
    );
    t.equal(await page.inputValue('#keys-text'), paste, 'the text is still in the box');
    t.equal((await tableRows(page)).length, 0, 'nothing was added');

    await page.click('#redeem');
    await until(page, `document.querySelector('#keys-text').value === ''`, 'the box emptied');
    t.same((await tableRows(page)).map((r) => r.key), ['DEMO1-ACTIV-ATED1', 'DEMO3-ALREA-DYOWN'], 'a reply lost on the way: the snapshot shows the keys arrived');
    t.ok(await page.isHidden('#notice'), 'and nothing to warn about');
    t.equal(run.logs.filter((l) => /session-opened/.test(l)).length, 1, 'the same session all along, on new connections');
    t.equal(drop, null, 'both drops happened');
  });
});
