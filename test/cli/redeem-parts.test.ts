/**
 * The parts of `steam-key redeem` that need no Steam and no terminal: its
 * flags, where each status is filed and what a later run skips, the results
 * directory on disk, and the progress text.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { UsageError } from '../../lib/cli/args.js';
import { etaMs, formatBar, formatClock, formatKeyLine, formatSummary } from '../../lib/cli/progress.js';
import { decodeInput, parseRedeemArgs } from '../../lib/cli/redeem.js';
import { fileOf, isSettled, loadResults, recordOf, writeResults, type KeyRecord, type RecordStatus } from '../../lib/cli/results-dir.js';
import type { KeyEntry } from '../../lib/steam/queue.js';
import { KEY_STATUSES, resultFromReply, unknownResult } from '../../lib/steam/results.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

function tempDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'steam-key-parts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('flags: defaults, every flag, the demo pace, STEAM_HTTP_PROXY', async (t) => {
  t.same(parseRedeemArgs([], {}), {
    file: '-',
    demo: false,
    retryUnknown: false,
    includeDigitsOnly: false,
    qr: false,
    timers: { pauseMs: 5_000, cooldownMs: 3_600_000, redeemTimeoutMs: 100_000 },
  });
  t.same(
    parseRedeemArgs(
      [
        'keys.txt', '--account', ' alice ', '--out', 'results', '--pause', '2s', '--cooldown', '90m', '--redeem-timeout', '95s',
        '--steam-proxy', 'http://127.0.0.1:8080', '--retry-unknown', '--include-digits-only',
      ],
      {},
    ),
    {
      file: 'keys.txt',
      account: 'alice',
      out: 'results',
      demo: false,
      retryUnknown: true,
      includeDigitsOnly: true,
      qr: false,
      steamProxy: 'http://127.0.0.1:8080',
      timers: { pauseMs: 2_000, cooldownMs: 5_400_000, redeemTimeoutMs: 95_000 },
    },
  );
  t.match(parseRedeemArgs(['--qr', '--account', 'alice'], {}), { qr: true, account: 'alice' }, '--qr, with an account to accept only');
  t.match(parseRedeemArgs(['--demo'], {}), { demo: true, timers: { pauseMs: 1_000, cooldownMs: 20_000 } }, 'the demo paces like serve --demo');
  t.equal(parseRedeemArgs([], { STEAM_HTTP_PROXY: 'http://proxy:3128' })?.steamProxy, 'http://proxy:3128');
  t.equal(parseRedeemArgs(['--demo'], { STEAM_HTTP_PROXY: 'http://proxy:3128' })?.steamProxy, undefined);
  t.equal(parseRedeemArgs(['--help'], {}), null);
});

t.test('bad flags are usage errors; a password flag is refused with the reason', async (t) => {
  const bad = [
    ['--bogus'],
    ['a.txt', 'b.txt'],
    ['--account', '  '],
    ['--out', ''],
    ['--pause', '5'],
    ['--cooldown', '0'],
    ['--cooldown', '500ms'],
    ['--redeem-timeout', 'soon'],
    ['--steam-proxy', 'socks5://127.0.0.1:1080'],
    ['--demo', '--steam-proxy', 'http://a:1'],
  ];
  for (const argv of bad) t.throws(() => parseRedeemArgs(argv, {}), UsageError, argv.join(' '));
  t.throws(() => parseRedeemArgs(['--password', 'x'], {}), /a password in the command line shows in `ps`/);
  // node:util's own advice on positionals ends in an unbalanced quote; the name of the flag is what helps.
  t.throws(() => parseRedeemArgs(['--acount', 'alice'], {}), { message: /^Unknown option '--acount'$/ });
});

t.test('input text: UTF-8, and UTF-16 as Windows writes it (Notepad "Unicode", PowerShell 5 redirection)', async (t) => {
  const text = 'Clé 1: DEMO1-ACTIV-ATED1\r\n钥匙 DEMO4-INVAL-IDKEY\r\n';
  t.equal(decodeInput(Buffer.from(text, 'utf8')), text);
  t.equal(decodeInput(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])), text, 'a UTF-8 byte-order mark is dropped');
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  t.equal(decodeInput(le), text, 'UTF-16LE with its byte-order mark');
  const be = Buffer.from(le).swap16();
  t.equal(decodeInput(be), text, 'UTF-16BE with its byte-order mark');
});

t.test('files: activated, invalid (no one can use the key), not activated (everything else)', async (t) => {
  const files: Record<string, string> = {};
  for (const status of [...KEY_STATUSES, 'not-sent'] as RecordStatus[]) files[status] = fileOf(status);
  t.same(files, {
    activated: 'activated',
    'already-owned': 'not-activated',
    'invalid-key': 'invalid',
    'key-used': 'invalid',
    'region-locked': 'not-activated',
    'needs-base-game': 'not-activated',
    'wallet-code': 'not-activated',
    'rate-limited': 'not-activated',
    unknown: 'not-activated',
    failed: 'not-activated',
    'not-sent': 'not-activated',
  });
});

function record(status: RecordStatus, account?: string): KeyRecord {
  return { key: 'AAAAA-BBBBB-CCCCC', status, file: fileOf(status), ...(account ? { account } : {}), eresult: null, detail: null, packages: [], message: '', at: '' };
}

t.test('a later run skips what Steam would answer the same way again', async (t) => {
  const skipped = (status: RecordStatus, account: string | undefined, now: string): boolean => isSettled(record(status, account), now);
  for (const status of ['activated', 'invalid-key', 'key-used', 'wallet-code'] as const) {
    t.ok(skipped(status, 'alice', 'bob'), `${status}: for any account`);
  }
  for (const status of ['already-owned', 'region-locked', 'needs-base-game', 'failed'] as const) {
    t.ok(skipped(status, 'Alice', 'alice'), `${status}: for the same account (any case)`);
    t.notOk(skipped(status, 'alice', 'bob'), `${status}: sent again for another account`);
  }
  for (const status of ['rate-limited', 'unknown', 'not-sent'] as const) t.notOk(skipped(status, 'alice', 'alice'), `${status}: sent again`);
});

t.test('records from session entries: done, rate-limited and cancelled, never sent, abandoned', async (t) => {
  const at = new Date('2026-01-01T00:00:00Z');
  const done: KeyEntry = { n: 1, key: 'K1', state: 'done', result: resultFromReply({ eresult: 1, detail: 0, packages: [{ id: 7, name: 'G' }] }) };
  t.match(recordOf(done, 'alice', at), { status: 'activated', file: 'activated', account: 'alice', eresult: 1, detail: 0, packages: [{ id: 7, name: 'G' }], at: '2026-01-01T00:00:00.000Z' });
  const limited: KeyEntry = { n: 2, key: 'K2', state: 'cancelled', result: resultFromReply({ eresult: 2, detail: 53, packages: [] }) };
  t.match(recordOf(limited, 'alice', at), { status: 'rate-limited', file: 'not-activated', detail: 53 });
  const never = recordOf({ n: 3, key: 'K3', state: 'cancelled' }, 'alice', at);
  t.match(never, { status: 'not-sent', file: 'not-activated', eresult: null });
  t.notOk('account' in never, 'a key never sent belongs to no account');
  t.match(recordOf({ n: 4, key: 'K4', state: 'redeeming' }, 'alice', at), { status: 'unknown', message: /Stopped while the key was with Steam/ });
  t.match(recordOf({ n: 5, key: 'K5', state: 'done', result: unknownResult('timeout') }, 'alice', at), { status: 'unknown', message: /No answer in time/ });
});

t.test('the results directory: written whole, read back, damaged files refused', async (t) => {
  const dir = join(tempDir(t), 'nested', 'out');
  t.same(loadResults(dir), new Map(), 'nothing there yet: nothing settled');
  const records = [
    { ...record('activated', 'alice'), key: 'AAAAA-AAAAA-AAAA1', packages: [{ id: 1, name: 'Game' }] },
    { ...record('invalid-key', 'alice'), key: 'AAAAA-AAAAA-AAAA2', message: 'Steam does not know this key.' },
    { ...record('not-sent'), key: 'AAAAA-AAAAA-AAAA3', message: 'Not sent to Steam.' },
  ];
  writeResults(dir, records, new Date('2026-01-01T00:00:00Z'));
  t.same(readdirSync(dir).sort(), ['activated.txt', 'invalid.txt', 'not-activated.txt', 'results.json']);
  t.equal(readFileSync(join(dir, 'activated.txt'), 'utf8'), 'AAAAA-AAAAA-AAAA1\tactivated\tGame\n');
  t.equal(readFileSync(join(dir, 'invalid.txt'), 'utf8'), 'AAAAA-AAAAA-AAAA2\tinvalid-key\tSteam does not know this key.\n');
  t.equal(readFileSync(join(dir, 'not-activated.txt'), 'utf8'), 'AAAAA-AAAAA-AAAA3\tnot-sent\tNot sent to Steam.\n');
  t.same([...loadResults(dir).values()], records, 'read back as written');
  writeResults(dir, records.slice(0, 1), new Date());
  t.equal(readFileSync(join(dir, 'invalid.txt'), 'utf8'), '', 'a second write replaces the files');

  writeFileSync(join(dir, 'results.json'), '{"version": 1, "keys": [');
  t.throws(() => loadResults(dir), /results\.json is not valid JSON; move it away/);
  writeFileSync(join(dir, 'results.json'), '{"version": 2, "keys": []}');
  t.throws(() => loadResults(dir), /is not a steam-key results file/);
  // A damaged record must be refused now, not crash the writing of this run's results after its keys were sent.
  const good = { ...record('activated', 'alice'), packages: [{ id: 1, name: 'Game' }] };
  const damaged: [string, object][] = [
    ['no packages', { ...good, packages: undefined }],
    ['a package without a name', { ...good, packages: [{ id: 1 }] }],
    ['a message that is no string', { ...good, message: 7 }],
    ['an account that is no string', { ...good, account: 7 }],
  ];
  for (const [what, bad] of damaged) {
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ version: 1, keys: [good, bad] }));
    t.throws(() => loadResults(dir), /is not a steam-key results file/, what);
  }
});

t.test('progress text: clocks, ETA, the bar, the cooldown countdown, key lines, the summary', async (t) => {
  t.equal(formatClock(0), '0s');
  t.equal(formatClock(4_001), '5s', 'rounded up: a countdown never shows 0 too early');
  t.equal(formatClock(65_000), '1m05s');
  t.equal(formatClock(3_600_000), '1h00m00s');
  t.equal(formatClock(999, true), '0s', 'time spent is rounded down');

  const base = { done: 2, total: 6, startedAt: 0, now: 10_000, cooldownSpentMs: 0 };
  t.equal(etaMs({ ...base, done: 0 }), undefined, 'no estimate before the first answer');
  t.equal(etaMs(base), 20_000, '5 s a key, 4 keys left');
  t.equal(etaMs({ ...base, now: 70_000, cooldownSince: 10_000, cooldownUntil: 100_000 }), 50_000, 'the cooldown so far is not work; what is left of it is added');
  t.equal(etaMs({ ...base, now: 70_000, cooldownSpentMs: 60_000 }), 20_000, 'past cooldowns are not work either');

  const bar = formatBar({ ...base, current: 'AAAAA-BBBBB-CCCCC' }, 100);
  t.equal(bar, '[##########--------------------]  2/6  AAAAA-BBBBB-CCCCC  elapsed 10s  ETA 20s');
  const cooling = formatBar({ ...base, current: 'AAAAA-BBBBB-CCCCC', cooldownSince: 10_000, cooldownUntil: 3_610_000 }, 200);
  t.match(cooling, /rate-limited by Steam: next key in 1h00m00s/);
  t.notMatch(cooling, /AAAAA/, 'the countdown takes the current key’s place');
  t.match(formatBar({ ...base, stopping: true }, 200), /stopping \(Ctrl-C again to abandon\)$/);
  const stopping = formatBar({ ...base, current: 'AAAAA-BBBBB-CCCCC', stopping: true, notSent: 3 }, 200);
  t.match(stopping, /  2\/6  AAAAA-BBBBB-CCCCC  elapsed 10s  stopping, 3 not to be sent \(Ctrl-C again to abandon\)$/, 'keys that will not be sent are not counted done');
  t.notMatch(stopping, /ETA/, 'no time left to estimate: the rest is not sent');
  t.ok(formatBar({ ...base, current: 'AAAAA-BBBBB-CCCCC' }, 40).length < 40, 'cut to the terminal width');
  t.match(
    formatBar({ ...base, done: 32, total: 40, current: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE' }, 80),
    /^\[#+-*\]  32\/40  AAAAA-BBBBB-CCCCC-DDDDD-EEEEE  elapsed 10s  ETA \d+s$/,
    'a key of five groups on 80 columns: the bar gives way, not the ETA',
  );

  const line = formatKeyLine({ ...record('activated', 'a'), packages: [{ id: 1, name: 'One' }, { id: 2, name: 'Two' }] }, 3, 40);
  t.equal(line, '[3/40] AAAAA-BBBBB-CCCCC  activated        Activated: One, Two');

  const summary = formatSummary([record('key-used'), record('activated'), record('activated'), record('unknown')], 1);
  t.equal(
    summary,
    [
      '',
      'status            keys',
      'activated            2',
      'unknown              1',
      'key-used             1',
      'total                4',
      '(1 of them settled by an earlier run and not sent again)',
    ].join('\n'),
  );
  t.match(
    formatSummary([record('unknown'), record('activated')], 0, 1),
    /total +2\n\(1 of them unknown since an earlier run: check your library; --retry-unknown sends it again\)$/,
  );
});
