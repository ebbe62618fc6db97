// Runs inside headless Chromium, loaded by the page chromium.test.ts serves:
// the browser's own WebSocket as a client of steam-key echo. Content is built
// here from the same recipe as messages.ts (no 16 MiB crosses the devtools
// protocol); the test gets back lengths, types and SHA-256 hashes.
'use strict';

const TEXT_PATTERN = 'Grüße, 世界! € 😀🎉 ñ\u0000 end ';
const BINARY_BLOCK = 65521;
const encoder = new TextEncoder();

function makeText(size) {
  const patternBytes = encoder.encode(TEXT_PATTERN).length;
  const whole = Math.floor(size / patternBytes);
  let text = TEXT_PATTERN.repeat(whole);
  let used = whole * patternBytes;
  for (const ch of TEXT_PATTERN) {
    const n = encoder.encode(ch).length;
    if (used + n > size) break;
    text += ch;
    used += n;
  }
  return text + '.'.repeat(size - used);
}

function makeBinary(size) {
  const block = new Uint8Array(Math.min(size, BINARY_BLOCK));
  let x = 1;
  for (let i = 0; i < block.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    block[i] = (x >>> 16) & 0xff;
  }
  if (size <= BINARY_BLOCK) return block;
  const out = new Uint8Array(size);
  for (let pos = 0; pos < size; pos += BINARY_BLOCK) out.set(block.subarray(0, Math.min(BINARY_BLOCK, size - pos)), pos);
  return out;
}

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Opens a WebSocket; resolves with { ws, next(), closed } once open. */
function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const queue = [];
    const waiters = [];
    let closeEvent = null;
    const closed = new Promise((resolveClosed) => {
      ws.onclose = (ev) => {
        closeEvent = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
        for (const w of waiters.splice(0)) w.reject(new Error(`closed (${ev.code}) before the next message`));
        resolveClosed(closeEvent);
      };
    });
    ws.onmessage = (ev) => {
      const w = waiters.shift();
      if (w) w.resolve(ev.data);
      else queue.push(ev.data);
    };
    ws.onerror = () => reject(new Error('WebSocket error before open'));
    ws.onopen = () =>
      resolve({
        ws,
        closed,
        next() {
          if (queue.length > 0) return Promise.resolve(queue.shift());
          if (closeEvent) return Promise.reject(new Error(`closed (${closeEvent.code})`));
          return new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
        },
      });
  });
}

/** Sends `data` and reports on its echo: type, length, hash, and equality with what was sent. */
async function echo(peer, name, kind, data) {
  peer.ws.send(data);
  const got = await peer.next();
  const isText = typeof got === 'string';
  const bytes = isText ? encoder.encode(got) : new Uint8Array(got);
  const equal = isText ? kind === 'text' && got === data : kind === 'binary' && bytesEqual(bytes, data);
  return { name, kind: isText ? 'text' : 'binary', length: bytes.length, sha256: await sha256Hex(bytes), equal };
}

/** Every message of spec.messages, in order, then a clean close. */
window.runPeer = async (url, spec) => {
  const peer = await connect(url);
  const report = { protocol: peer.ws.protocol, extensions: peer.ws.extensions, messages: [], close: null };
  for (const c of spec.messages) {
    const data = c.kind === 'text' ? makeText(c.size) : makeBinary(c.size);
    report.messages.push(await echo(peer, c.name, c.kind, data));
  }
  peer.ws.close(1000, 'done');
  report.close = await peer.closed;
  return report;
};

// A connection kept open across several evaluate() calls (the heartbeat test).
let kept = null;
window.openKept = async (url) => {
  kept = await connect(url);
};
window.echoKept = (text) => echo(kept, 'kept', 'text', text);
window.keptState = () => kept.ws.readyState;
window.closeKept = async () => {
  kept.ws.close(1000, 'done');
  return kept.closed;
};
