/**
 * redeem --out's journal (lib/cli/journal.ts): every change is in the
 * directory's files when the call returns — that is what lets a run killed at
 * any moment lose nothing — and what a later run sends, holds back or skips.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Journal, planResume, SENT_NO_ANSWER } from '../../lib/cli/journal.js';
import { fileOf, recordOf, writeResults, type KeyRecord, type ResultsJson } from '../../lib/cli/results-dir.js';
import { resultFromReply, type KeyStatus } from '../../lib/steam/results.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

function tempDir(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'steam-key-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a fresh reader (a later run, the user) finds in DIR right now. */
function onDisk(dir: string): Record<string, KeyRecord> {
  const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsJson;
  return Object.fromEntries(json.keys.map((r) => [r.key, r]));
}

function earlier(key: string, status: KeyStatus, account = 'alice'): KeyRecord {
  return { key, status, file: fileOf(status), account, eresult: null, detail: null, packages: [], message: status, at: '2026-01-01T00:00:00.000Z' };
}

const ACTIVATED = resultFromReply({ eresult: 1, detail: 0, packages: [{ id: 7, name: 'Game' }] });

t.test('each change is on the disk when the call returns: sent as unknown, then the answer with its times', async (t) => {
  const dir = join(tempDir(t), 'out');
  const journal = Journal.open(dir);
  journal.prepare();
  t.same(readdirSync(dir), [], 'prepare makes the directory and writes nothing');

  const sentAt = new Date('2026-03-01T10:00:00.000Z');
  journal.sent('AAAAA-BBBBB-CCCC1', 'alice', sentAt);
  t.match(onDisk(dir)['AAAAA-BBBBB-CCCC1'], { status: 'unknown', account: 'alice', message: SENT_NO_ANSWER, sentAt: sentAt.toISOString() }, 'a run killed now leaves it unknown');
  t.match(readFileSync(join(dir, 'not-activated.txt'), 'utf8'), /^AAAAA-BBBBB-CCCC1\tunknown\t/, 'in the lists too');

  const answeredAt = new Date('2026-03-01T10:00:02.500Z');
  journal.settle(recordOf({ n: 1, key: 'AAAAA-BBBBB-CCCC1', state: 'done', result: ACTIVATED }, 'alice', answeredAt, sentAt));
  t.match(onDisk(dir)['AAAAA-BBBBB-CCCC1'], { status: 'activated', at: answeredAt.toISOString(), sentAt: sentAt.toISOString(), packages: [{ id: 7, name: 'Game' }] });
  t.equal(readFileSync(join(dir, 'activated.txt'), 'utf8'), 'AAAAA-BBBBB-CCCC1\tactivated\tGame\n');
  t.equal(readFileSync(join(dir, 'not-activated.txt'), 'utf8'), '');
  t.same(readdirSync(dir).sort(), ['activated.txt', 'invalid.txt', 'not-activated.txt', 'results.json'], 'no temporary files left');
});

t.test('a key the session took back unsent, and keys never sent, keep what was known of them', async (t) => {
  const dir = tempDir(t);
  writeResults(dir, [earlier('AAAAA-BBBBB-CCCC1', 'rate-limited'), earlier('AAAAA-BBBBB-CCCC2', 'unknown')], new Date());
  const journal = Journal.open(dir);
  journal.sent('AAAAA-BBBBB-CCCC1', 'alice', new Date());
  journal.sent('AAAAA-BBBBB-CCCC3', 'alice', new Date());
  t.equal(onDisk(dir)['AAAAA-BBBBB-CCCC3']!.status, 'unknown');
  journal.withdraw('AAAAA-BBBBB-CCCC1');
  journal.withdraw('AAAAA-BBBBB-CCCC3');
  t.same(onDisk(dir)['AAAAA-BBBBB-CCCC1'], earlier('AAAAA-BBBBB-CCCC1', 'rate-limited'), 'back to the earlier record');
  t.notOk('AAAAA-BBBBB-CCCC3' in onDisk(dir), 'a key new to DIR is gone again');

  journal.notSent(['AAAAA-BBBBB-CCCC2', 'AAAAA-BBBBB-CCCC3'], new Date('2026-03-01T11:00:00.000Z'));
  t.same(onDisk(dir)['AAAAA-BBBBB-CCCC2'], earlier('AAAAA-BBBBB-CCCC2', 'unknown'), 'an unknown key not sent stays unknown: it may have been activated');
  t.match(onDisk(dir)['AAAAA-BBBBB-CCCC3'], { status: 'not-sent', at: '2026-03-01T11:00:00.000Z' });
  t.notOk('account' in onDisk(dir)['AAAAA-BBBBB-CCCC3']!, 'never sent: no account');
});

t.test('without --out the journal keeps its records in memory and writes nothing', async (t) => {
  const cwd = tempDir(t);
  const here = process.cwd();
  process.chdir(cwd);
  t.teardown(() => process.chdir(here));
  const journal = Journal.open(undefined);
  journal.prepare();
  journal.sent('AAAAA-BBBBB-CCCC1', 'alice', new Date());
  journal.notSent(['AAAAA-BBBBB-CCCC2'], new Date());
  t.same(journal.records().map((r) => [r.key, r.status]), [['AAAAA-BBBBB-CCCC1', 'unknown'], ['AAAAA-BBBBB-CCCC2', 'not-sent']]);
  t.same(readdirSync(cwd), []);
});

t.test('an --out that cannot be written is refused before anything is sent', async (t) => {
  const file = join(tempDir(t), 'a-file');
  writeFileSync(file, '');
  t.throws(() => Journal.open(join(file, 'out')), /^cannot read .*a-file\/out\/results\.json: ENOTDIR/, 'the path goes through a file');
  const dir = join(tempDir(t), 'out');
  const journal = Journal.open(dir);
  writeFileSync(dir, ''); // the name is taken by a file meanwhile
  t.throws(() => journal.prepare(), { code: 'EEXIST' }, 'a journal that cannot make its directory says so before the first key');
});

t.test('what a later run does with each key: skip the settled, hold back the unknown, send the rest, in order', async (t) => {
  const dir = tempDir(t);
  writeResults(
    dir,
    [
      earlier('K0001-BBBBB-CCCCC', 'activated', 'bob'),
      earlier('K0002-BBBBB-CCCCC', 'already-owned', 'Alice'),
      earlier('K0003-BBBBB-CCCCC', 'already-owned', 'bob'),
      earlier('K0004-BBBBB-CCCCC', 'unknown'),
      earlier('K0005-BBBBB-CCCCC', 'rate-limited'),
      { ...earlier('K0006-BBBBB-CCCCC', 'unknown'), status: 'not-sent', file: 'not-activated' },
    ],
    new Date(),
  );
  const journal = Journal.open(dir);
  const keys = ['K0007-BBBBB-CCCCC', 'K0006-BBBBB-CCCCC', 'K0005-BBBBB-CCCCC', 'K0004-BBBBB-CCCCC', 'K0003-BBBBB-CCCCC', 'K0002-BBBBB-CCCCC', 'K0001-BBBBB-CCCCC'];
  const plan = planResume(keys, journal, 'alice', false);
  t.same(plan.settled, ['K0002-BBBBB-CCCCC', 'K0001-BBBBB-CCCCC'], 'final for anyone; owned by this account');
  t.same(plan.unknown.map((r) => r.key), ['K0004-BBBBB-CCCCC'], 'may have been activated: listed, not sent');
  t.same(plan.toSend, ['K0007-BBBBB-CCCCC', 'K0006-BBBBB-CCCCC', 'K0005-BBBBB-CCCCC', 'K0003-BBBBB-CCCCC'], 'new, not sent, rate-limited, owned by another account');
  const retry = planResume(keys, journal, 'alice', true);
  t.same(retry.unknown, [], '--retry-unknown');
  t.same(retry.toSend, ['K0007-BBBBB-CCCCC', 'K0006-BBBBB-CCCCC', 'K0005-BBBBB-CCCCC', 'K0004-BBBBB-CCCCC', 'K0003-BBBBB-CCCCC']);
});
