/**
 * Interop, permessage-deflate (RFC 7692): Python's `websockets` (Debian's
 * python3-websockets, run by /usr/bin/python3) with its per-message deflate
 * extension, against the real `steam-key echo --deflate --trace`, under each
 * context-takeover agreement. websockets compresses every frame it sends and
 * inflates what comes back; deflate-peer.py reports hashes of the echoes and
 * what its extension object agreed, the server's trace shows the frames.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { peerTest, startEcho } from './helpers.js';
import { checkAgreement, checkTrace, DEFLATE_CASES, TAKEOVER_VARIANTS, tracedMessages, withFragmented, withoutBig } from './deflate-trace.js';
import { contentBytes, FRAGMENTED_CASES, sha256, type EchoReport } from './messages.js';

/** Debian's interpreter: the python3 first on PATH may be another build without the package. */
const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./deflate-peer.py', import.meta.url));

interface PythonReport {
  header: string | null;
  agreed: {
    name: string;
    client_no_context_takeover: boolean;
    server_no_context_takeover: boolean;
    client_max_window_bits: number;
    server_max_window_bits: number;
  }[];
  messages: (EchoReport & { fragments?: number })[];
  close: { code: number; reason: string };
}

async function missingPeer(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [
      '-c',
      'import websockets, websockets.extensions.permessage_deflate; print(websockets.__version__)',
    ]);
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
      if (code !== 0) return reject(new Error(`deflate-peer.py exited with ${code}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as PythonReport);
      } catch (err) {
        reject(new Error(`deflate-peer.py printed no JSON report: ${String(err)}\n${stdout}\n${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

await peerTest(t, 'Python websockets with permessage-deflate and steam-key echo --deflate', await missingPeer(), 'apt-get install python3-websockets', async (t) => {
  for (const variant of TAKEOVER_VARIANTS) {
    await t.test(variant.name, async (t) => {
      const server = await startEcho(['--deflate', '--trace']);
      t.teardown(() => server.stop());
      const sequence = withFragmented(variant.big ? DEFLATE_CASES : withoutBig(DEFLATE_CASES), FRAGMENTED_CASES);
      const report = await runPeer(server.url, {
        messages: sequence,
        server_no_context_takeover: !variant.takeover.server,
        client_no_context_takeover: !variant.takeover.client,
      });

      checkAgreement(t, report.header, variant.takeover);
      t.equal(report.agreed.length, 1, 'websockets runs one extension');
      t.match(
        report.agreed[0],
        {
          name: 'permessage-deflate',
          client_no_context_takeover: !variant.takeover.client,
          server_no_context_takeover: !variant.takeover.server,
        },
        "websockets' extension object agreed the same",
      );
      sequence.forEach((c, i) => {
        const r = report.messages[i];
        t.equal(r?.kind, c.kind, `${c.name}: came back as ${c.kind}`);
        t.equal(r?.length, c.size, `${c.name}: length`);
        t.equal(r?.sha256, sha256(contentBytes(c)), `${c.name}: SHA-256 of the echo equals that of the content built here`);
        t.ok(r?.equal, `${c.name}: Python compared the echo with what it sent: equal`);
      });
      t.equal(report.close.code, 1000, 'clean close');

      const { code } = await server.stop();
      t.equal(code, 0, 'the server exits cleanly on SIGTERM');
      t.equal(server.stderr(), '', 'nothing on stderr');
      checkTrace(t, server.stdout(), sequence, { takeover: variant.takeover, peerCompressesAll: true });
      const traced = tracedMessages(server.stdout()).in;
      for (const c of FRAGMENTED_CASES) {
        const i = sequence.indexOf(c);
        t.equal(traced[i]?.frames.length, report.messages[i]?.fragments, `${c.name}: came in as the ${report.messages[i]?.fragments} frames Python sent`);
      }
    });
  }
});
