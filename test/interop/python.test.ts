/**
 * Interop: Python's `websockets` (Debian's python3-websockets, run by
 * /usr/bin/python3) as a client of the real `steam-key echo` binary. The
 * Python side is peer.py; it reports what it got back as JSON.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { peerTest, startEcho, type Tap } from './helpers.js';
import { contentBytes, FRAGMENTED_CASES, MESSAGE_CASES, PING_PAYLOADS, sha256, type EchoReport } from './messages.js';

/** Debian's interpreter: the python3 first on PATH may be another build without the package. */
const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./peer.py', import.meta.url));

interface PythonReport {
  messages: EchoReport[];
  fragmented: (EchoReport & { fragments: number; pongBetweenFragments: boolean })[];
  pings: { payload: string; answered: boolean }[];
  close: { code: number; reason: string };
  extensions: string | null;
}

async function missingPeer(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', 'import websockets; print(websockets.__version__)']);
    t.comment(`python websockets ${stdout.trim()}`);
    return null;
  } catch {
    return `${PYTHON} cannot import websockets`;
  }
}

function runPeer(url: string, spec: unknown): Promise<PythonReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [PEER, url], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`peer.py exited with ${code}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as PythonReport);
      } catch (err) {
        reject(new Error(`peer.py printed no JSON report: ${String(err)}\n${stdout}\n${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

function checkEcho(t: Tap, report: EchoReport | undefined, c: (typeof MESSAGE_CASES)[number]): void {
  if (!report) {
    t.fail(`${c.name}: no report`);
    return;
  }
  t.equal(report.name, c.name, `${c.name}: reported`);
  t.equal(report.kind, c.kind, `${c.name}: came back as ${c.kind}`);
  t.equal(report.length, c.size, `${c.name}: length`);
  t.equal(report.sha256, sha256(contentBytes(c)), `${c.name}: SHA-256 of the echo equals that of the content built here`);
  t.ok(report.equal, `${c.name}: Python compared the echo with what it sent: equal`);
}

await peerTest(t, 'Python websockets and steam-key echo', await missingPeer(), 'apt-get install python3-websockets', async (t) => {
  const server = await startEcho();
  t.teardown(() => server.stop());
  const report = await runPeer(server.url, {
    messages: MESSAGE_CASES,
    fragmented: FRAGMENTED_CASES,
    pings: PING_PAYLOADS.map((p) => p.toString('hex')),
  });

  t.equal(report.extensions, null, 'no extension negotiated, though websockets offered permessage-deflate');
  t.test('every message comes back with the same bytes and type', async (t) => {
    MESSAGE_CASES.forEach((c, i) => checkEcho(t, report.messages[i], c));
  });
  t.test('fragmented messages, with a ping between fragments (§5.4)', async (t) => {
    FRAGMENTED_CASES.forEach((c, i) => {
      const r = report.fragmented[i];
      checkEcho(t, r, c);
      t.comment(`${c.name}: Python sent ${r?.fragments} frames, the last an empty continuation${c.kind === 'text' ? '; it cuts text between characters only' : ''}`);
      t.ok(r?.pongBetweenFragments, `${c.name}: the ping between fragments got its pong`);
    });
  });
  t.test('ping gets a pong with the same payload (§5.5.2)', async (t) => {
    t.equal(report.pings.length, PING_PAYLOADS.length);
    for (const p of report.pings) t.ok(p.answered, `pong for the ${p.payload.length / 2}-byte ping (websockets matches payloads)`);
  });
  t.test('clean close: Python sees the server echo 1000 (§5.5.1)', async (t) => {
    t.equal(report.close.code, 1000);
  });
  t.test('the server process printed no error and exits cleanly on SIGTERM', async (t) => {
    const { code } = await server.stop();
    t.equal(code, 0, 'exit code 0');
    t.equal(server.stderr(), '', 'nothing on stderr');
  });
});
