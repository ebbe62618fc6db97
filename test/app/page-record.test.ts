/**
 * The page's record (lib/app/page/record.js), run in Node on a storage that
 * behaves as the browser's localStorage: one row per key and account, every
 * change with its time, the rule of what a paste leaves out, what a lost
 * session leaves behind, and what is still good for what.
 */
import t from 'tap';
import { PAGE_DIR } from '../../lib/app/page.js';
import { FINAL_FOR_ACCOUNT_STATUSES, FINAL_STATUSES, type KeyResult } from '../../lib/steam/results.js';

interface Change {
  at: number;
  state: string;
  status?: string;
}
interface Row {
  key: string;
  account: string | null;
  state: string;
  result?: Partial<KeyResult>;
  first: number;
  at: number;
  history: Change[];
}
interface Entry {
  key: string;
  state: string;
  result?: Partial<KeyResult>;
}
interface KeyRecord {
  full: boolean;
  load(): void;
  changed(name: string | null): boolean;
  all(): Row[];
  rows(account: string | null): Row[];
  otherAccounts(account: string | null): { account: string; count: number }[];
  note(entry: Entry, account: string | null): boolean;
  claim(account: string): boolean;
  sessionEnded(account: string | null, unknown: Partial<KeyResult>): { withSteam: string[]; notSent: number };
  leftOut(key: string, account: string | null): 'settled' | 'unknown' | null;
  forget(): void;
}
/** What the record uses of the browser's Storage (Node has no DOM types here). */
interface Storage {
  readonly length: number;
  key(i: number): string | null;
  getItem(name: string): string | null;
  setItem(name: string, value: string): void;
  removeItem(name: string): void;
}
interface Groups {
  notSent: string[];
  usable: string[];
  check: string[];
  refused: string[];
  dead: string[];
}

// A plain browser module: imported by URL, as TypeScript has no types for it.
const { KeyRecord, ROW_PREFIX, leftovers, outcomes } = (await import(new URL('record.js', PAGE_DIR).href)) as {
  KeyRecord: new (storage: Storage, options: { final: readonly string[]; finalForAccount: readonly string[]; now: () => number }) => KeyRecord;
  ROW_PREFIX: string;
  leftovers: (rows: Row[]) => Groups;
  outcomes: (rows: Row[]) => Record<string, number>;
};

/** localStorage as browsers have it: strings by name, in a quota (in characters, names and values). */
class MemoryStorage implements Storage {
  readonly items = new Map<string, string>();
  constructor(readonly quota = Infinity) {}
  get length(): number {
    return this.items.size;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(name: string): string | null {
    return this.items.get(name) ?? null;
  }
  setItem(name: string, value: string): void {
    let used = name.length + value.length;
    for (const [n, v] of this.items) if (n !== name) used += n.length + v.length;
    if (used > this.quota) throw new Error('QuotaExceededError');
    this.items.set(name, String(value));
  }
  removeItem(name: string): void {
    this.items.delete(name);
  }
}

const result = (status: string, extra: Partial<KeyResult> = {}): Partial<KeyResult> => ({ status: status as KeyResult['status'], packages: [], message: { en: status, zh: status }, ...extra });
const LOST = result('unknown', { message: { en: 'lost with Steam', zh: '会话结束' } });

/** The record's clock: moves only when a test says so. */
class Clock {
  constructor(public time = 1_000) {}
  advance(ms: number): void {
    this.time += ms;
  }
}

function open(storage = new MemoryStorage(), clock = new Clock()): { record: KeyRecord; storage: MemoryStorage; clock: Clock } {
  const record = new KeyRecord(storage, { final: FINAL_STATUSES, finalForAccount: FINAL_FOR_ACCOUNT_STATUSES, now: () => clock.time });
  return { record, storage, clock };
}

t.test('a key from queued to done is one row with every change and its time, in storage as it happens', async (t) => {
  const { record, storage, clock } = open();
  t.ok(record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, 'Alice'));
  clock.advance(5);
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'redeeming' }, 'Alice');
  clock.advance(5);
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'done', result: result('activated') }, 'Alice');
  t.notOk(record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'done', result: result('activated') }, 'alice'), 'the same again (a snapshot after a reconnect) is no change');

  const rows = record.rows('ALICE');
  t.equal(rows.length, 1, 'one row, whatever the case of the account name');
  t.match(rows[0], { key: 'AAAAA-BBBBB-CCCCC', account: 'Alice', state: 'done', result: { status: 'activated' }, first: 1_000, at: 1_010 });
  t.same(rows[0]!.history, [
    { at: 1_000, state: 'queued' },
    { at: 1_005, state: 'redeeming' },
    { at: 1_010, state: 'done', status: 'activated' },
  ]);
  t.same([...storage.items.keys()], [`${ROW_PREFIX}alice/AAAAA-BBBBB-CCCCC`], 'one item per key and account');
  t.same(open(storage).record.rows('alice'), rows, 'a new page (a reload, a new tab) reads the same rows back');
});

t.test('keys recorded before signing in belong to the account that signs in; its rows and theirs merge', async (t) => {
  const { record, clock } = open();
  record.note({ key: 'OLDKY-AAAAA-AAAAA', state: 'done', result: result('activated') }, 'alice');
  clock.advance(10);
  record.note({ key: 'NEWKY-BBBBB-BBBBB', state: 'queued' }, null);
  record.note({ key: 'OLDKY-AAAAA-AAAAA', state: 'queued' }, null);
  t.same(record.rows(null).map((r) => r.key), ['NEWKY-BBBBB-BBBBB', 'OLDKY-AAAAA-AAAAA'], 'before signing in: the keys pasted');
  t.same(record.rows('alice').map((r) => [r.key, r.state]), [['OLDKY-AAAAA-AAAAA', 'queued'], ['NEWKY-BBBBB-BBBBB', 'queued']], "shown with alice's, one row per key, the latest state");

  t.ok(record.claim('alice'));
  t.equal(record.all().length, 2, 'two rows kept, not three');
  t.ok(record.all().every((r) => r.account === 'alice'));
  const old = record.rows('alice')[0]!;
  t.same(old.history.map((h) => h.state), ['done', 'queued'], 'the key sent again keeps its history');
  t.equal(old.first, 1_000, 'and the time it was first seen');
  t.same(record.rows('bob'), [], 'bob sees none of them');
  t.same(record.otherAccounts('bob'), [{ account: 'alice', count: 2 }]);
  t.notOk(record.claim('bob'), 'nothing left to claim');
});

t.test('a note under an account takes the row recorded before signing in along', async (t) => {
  const { record } = open();
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, null);
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'redeeming' }, 'alice');
  t.same(record.all().map((r) => [r.account, r.state, r.history.length]), [['alice', 'redeeming', 2]]);
});

t.test('the session ended: the key with Steam is unknown, the queued and waiting ones not sent, the rest as they were', async (t) => {
  const { record, storage } = open();
  record.note({ key: 'DONE1-AAAAA-AAAAA', state: 'done', result: result('activated') }, 'alice');
  record.note({ key: 'STEAM-BBBBB-BBBBB', state: 'redeeming' }, 'alice');
  record.note({ key: 'QUEUE-CCCCC-CCCCC', state: 'queued' }, 'alice');
  record.note({ key: 'WAITS-DDDDD-DDDDD', state: 'waiting', result: result('rate-limited') }, 'alice');
  record.note({ key: 'CANCL-EEEEE-EEEEE', state: 'cancelled' }, 'alice');
  record.note({ key: 'OTHER-FFFFF-FFFFF', state: 'queued' }, 'bob');

  t.same(record.sessionEnded('alice', LOST), { withSteam: ['STEAM-BBBBB-BBBBB'], notSent: 2 });
  t.same(
    record.rows('alice').map((r) => [r.key, r.state, r.result?.status]),
    [
      ['DONE1-AAAAA-AAAAA', 'done', 'activated'],
      ['STEAM-BBBBB-BBBBB', 'done', 'unknown'],
      ['QUEUE-CCCCC-CCCCC', 'not-sent', undefined],
      ['WAITS-DDDDD-DDDDD', 'not-sent', undefined],
      ['CANCL-EEEEE-EEEEE', 'cancelled', undefined],
    ],
  );
  t.equal(record.rows('alice')[1]!.result!.message!.en, 'lost with Steam', "the page's words for the key Steam had");
  t.equal(record.rows('bob')[0]!.state, 'queued', "another account's keys are not touched");
  t.same(record.sessionEnded('alice', LOST), { withSteam: [], notSent: 0 }, 'twice (two tabs) changes nothing more');
  t.equal(open(storage).record.rows('alice')[2]!.state, 'not-sent', 'and it is in storage');
});

t.test('what a paste leaves out: settled for anyone, settled for this account, unknown held back', async (t) => {
  const { record } = open();
  const cases: [key: string, status: string][] = [
    ['ACTIV-AAAAA-AAAAA', 'activated'],
    ['INVAL-AAAAA-AAAAA', 'invalid-key'],
    ['USEDK-AAAAA-AAAAA', 'key-used'],
    ['WALLT-AAAAA-AAAAA', 'wallet-code'],
    ['OWNED-AAAAA-AAAAA', 'already-owned'],
    ['REGIO-AAAAA-AAAAA', 'region-locked'],
    ['BASEG-AAAAA-AAAAA', 'needs-base-game'],
    ['FAILD-AAAAA-AAAAA', 'failed'],
    ['UNKNW-AAAAA-AAAAA', 'unknown'],
    ['RATEL-AAAAA-AAAAA', 'rate-limited'],
  ];
  for (const [key, status] of cases) record.note({ key, state: status === 'rate-limited' ? 'waiting' : 'done', result: result(status) }, 'alice');
  record.note({ key: 'NOTST-AAAAA-AAAAA', state: 'not-sent' }, 'alice');
  record.note({ key: 'CANCL-AAAAA-AAAAA', state: 'cancelled' }, 'alice');
  const left = (account: string | null): Record<string, string | null> =>
    Object.fromEntries([...cases.map(([k]) => k), 'NOTST-AAAAA-AAAAA', 'CANCL-AAAAA-AAAAA', 'NEVER-AAAAA-AAAAA'].map((k) => [k.slice(0, 5), record.leftOut(k, account)]));
  t.same(left('Alice'), {
    ACTIV: 'settled', INVAL: 'settled', USEDK: 'settled', WALLT: 'settled',
    OWNED: 'settled', REGIO: 'settled', BASEG: 'settled', FAILD: 'settled',
    UNKNW: 'unknown', RATEL: null, NOTST: null, CANCL: null, NEVER: null,
  }, 'signed in as alice');
  t.same(left('bob'), {
    ACTIV: 'settled', INVAL: 'settled', USEDK: 'settled', WALLT: 'settled',
    OWNED: null, REGIO: null, BASEG: null, FAILD: null,
    UNKNW: 'unknown', RATEL: null, NOTST: null, CANCL: null, NEVER: null,
  }, "as bob: another account may get another answer; a key that may be activated is still held back");
  t.same(left(null), left('bob'), 'before signing in: as for anyone');

  // The user sent the unknown key again, and it activated: settled now.
  record.note({ key: 'UNKNW-AAAAA-AAAAA', state: 'done', result: result('activated') }, 'alice');
  t.equal(record.leftOut('UNKNW-AAAAA-AAAAA', 'alice'), 'settled');
});

t.test('what the keys not activated are still good for; counts of distinct keys', async (t) => {
  const { record } = open();
  const notes: [string, string, string?][] = [
    ['ACTIV-AAAAA-AAAAA', 'done', 'activated'],
    ['OWNED-AAAAA-AAAAA', 'done', 'already-owned'],
    ['REGIO-AAAAA-AAAAA', 'done', 'region-locked'],
    ['BASEG-AAAAA-AAAAA', 'done', 'needs-base-game'],
    ['WALLT-AAAAA-AAAAA', 'done', 'wallet-code'],
    ['INVAL-AAAAA-AAAAA', 'done', 'invalid-key'],
    ['USEDK-AAAAA-AAAAA', 'done', 'key-used'],
    ['UNKNW-AAAAA-AAAAA', 'done', 'unknown'],
    ['FAILD-AAAAA-AAAAA', 'done', 'failed'],
    ['NOTST-AAAAA-AAAAA', 'not-sent'],
    ['CANCL-AAAAA-AAAAA', 'cancelled'],
    ['QUEUE-AAAAA-AAAAA', 'queued'],
  ];
  for (const [key, state, status] of notes) record.note({ key, state, ...(status ? { result: result(status) } : {}) }, 'alice');
  // The same key again, queued then done: still one key.
  record.note({ key: 'NOTST-AAAAA-AAAAA', state: 'queued' }, 'alice');
  record.note({ key: 'NOTST-AAAAA-AAAAA', state: 'not-sent' }, 'alice');
  const rows = record.rows('alice');
  t.same(leftovers(rows), {
    notSent: ['NOTST-AAAAA-AAAAA', 'CANCL-AAAAA-AAAAA'],
    usable: ['OWNED-AAAAA-AAAAA', 'REGIO-AAAAA-AAAAA', 'BASEG-AAAAA-AAAAA', 'WALLT-AAAAA-AAAAA'],
    check: ['UNKNW-AAAAA-AAAAA'],
    refused: ['FAILD-AAAAA-AAAAA'],
    dead: ['INVAL-AAAAA-AAAAA', 'USEDK-AAAAA-AAAAA'],
  });
  t.same(outcomes(rows), {
    activated: 1, 'already-owned': 1, 'region-locked': 1, 'needs-base-game': 1, 'wallet-code': 1,
    'invalid-key': 1, 'key-used': 1, unknown: 1, failed: 1, 'not-sent': 1, cancelled: 1, queued: 1,
  }, 'one count per key');
});

t.test('another tab: its writes and its "forget" reach this page through the storage event', async (t) => {
  const storage = new MemoryStorage();
  const here = open(storage).record;
  const there = open(storage).record;
  there.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, 'alice');
  const name = `${ROW_PREFIX}alice/AAAAA-BBBBB-CCCCC`;
  t.same(here.rows('alice'), [], 'not yet read');
  t.ok(here.changed(name));
  t.equal(here.rows('alice')[0]!.state, 'queued');
  t.notOk(here.changed('steam-key.lang'), 'not the record');
  storage.setItem(name, '{"not": "a row"}');
  t.ok(here.changed(name), 'an item that is no row (damaged, another version)…');
  t.same(here.rows('alice'), [], '…is not shown');
  there.forget();
  t.equal(storage.length, 0, 'forget removes every row');
  t.ok(here.changed(null), 'a cleared storage');
  t.same(here.all(), []);
});

t.test("another tab's late event does not take this page's newer state back", async (t) => {
  const storage = new MemoryStorage();
  const clock = new Clock();
  const here = open(storage, clock).record;
  const there = open(storage, clock).record;
  const name = `${ROW_PREFIX}alice/AAAAA-BBBBB-CCCCC`;
  there.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'redeeming' }, 'alice'); // its event is on the way to this page…
  clock.advance(5);
  here.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'redeeming' }, 'alice');
  clock.advance(5);
  here.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'done', result: result('activated') }, 'alice');
  storage.setItem(name, JSON.stringify({ ...there.rows('alice')[0] })); // …and the other tab writes late
  t.ok(here.changed(name));
  t.equal(here.rows('alice')[0]!.state, 'done', 'this page keeps the newer state');
  there.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'done', result: result('activated') }, 'alice');
  t.ok(here.changed(name));
  t.equal(here.rows('alice')[0]!.state, 'done');
});

t.test('forget removes every row of every account, and nothing else', async (t) => {
  const storage = new MemoryStorage();
  storage.setItem('steam-key.lang', 'zh');
  const { record } = open(storage);
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, 'alice');
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, 'bob');
  record.note({ key: 'DDDDD-BBBBB-CCCCC', state: 'queued' }, null);
  record.forget();
  t.same([...storage.items.keys()], ['steam-key.lang']);
  t.same(record.all(), []);
});

t.test('a full storage: the page keeps the rows in memory and says so', async (t) => {
  const { record, storage } = open(new MemoryStorage(400));
  record.note({ key: 'AAAAA-BBBBB-CCCCC', state: 'queued' }, 'alice');
  t.notOk(record.full);
  record.note({ key: 'DDDDD-EEEEE-FFFFF', state: 'done', result: result('activated', { message: { en: 'x'.repeat(500), zh: '' } }) }, 'alice');
  t.ok(record.full, 'the browser refused the write');
  t.equal(record.rows('alice').length, 2, 'the page still shows both');
  t.equal(storage.length, 1, 'storage has what fit');
});

t.test('a row keeps its first change and the latest ones, not a growing list', async (t) => {
  const { record, clock } = open();
  for (let i = 0; i < 120; i++) {
    clock.advance(1);
    record.note({ key: 'RATEL-IMITS-AAAAA', state: i % 2 ? 'queued' : 'waiting' }, 'alice');
  }
  const [row] = record.rows('alice');
  t.equal(row!.history.length, 50);
  t.equal(row!.history[0]!.at, 1_001, 'the first');
  t.equal(row!.history.at(-1)!.at, 1_120, 'the latest');
});
