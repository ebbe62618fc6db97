// The page's own record of every key it has shown: its state, its result and
// when each changed — one row per key and Steam account, written to this
// site's localStorage (shared by its tabs, kept across a browser restart) as
// each change arrives. So a closed tab, a reload or a server that lost the
// session loses nothing the page had shown (issue 12). Only keys, results and
// times: never a password or a Steam Guard code.
//
// No DOM and no imports: the storage and the final-status rule come in, so
// Node's tests run this file as it is.

/** Every row is one storage item: `steam-key.row/<account in lower case>/<KEY>`; '' for keys not yet signed in. */
export const ROW_PREFIX = 'steam-key.row/';
/** A row keeps at most this many changes (a key rate-limited many times bounces between waiting and queued). */
const HISTORY_MAX = 50;

/** Statuses whose key is still good for someone else (not consumed). */
const USABLE = new Set(['already-owned', 'region-locked', 'needs-base-game', 'wallet-code']);
/** Statuses whose key no account can activate. */
const DEAD = new Set(['invalid-key', 'key-used']);

/** Account names are case-insensitive on Steam. */
const bucketOf = (account) => (account ? String(account).toLowerCase() : '');
const storageKey = (row) => `${ROW_PREFIX}${bucketOf(row.account)}/${row.key}`;
const statusOf = (row) => (row.state === 'done' ? row.result?.status : undefined);

/** A row read back from storage, or null when it is not one (another version, a damaged item). */
function parseRow(value) {
  try {
    const row = JSON.parse(value);
    const ok = row && typeof row.key === 'string' && typeof row.state === 'string' && Number.isFinite(row.first) && Number.isFinite(row.at) && Array.isArray(row.history);
    return ok ? row : null;
  } catch {
    return null;
  }
}

/**
 * One row from two rows of one key (the same key recorded before signing in and
 * under the account, or by two tabs): the latest state, every change once, the
 * first time it was seen, the account if either has one.
 */
export function mergeRows(a, b) {
  const latest = a.at >= b.at ? a : b;
  const seen = new Set();
  const history = [...a.history, ...b.history]
    .sort((x, y) => x.at - y.at)
    .filter((h) => {
      const id = `${h.at} ${h.state} ${h.status ?? ''}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  const first = a.first <= b.first ? a : b;
  return { ...latest, account: a.account ?? b.account, first: first.first, order: first.order, history: trim(history) };
}

/** Keeps the first change and the latest ones. */
function trim(history) {
  return history.length <= HISTORY_MAX ? history : [history[0], ...history.slice(-(HISTORY_MAX - 1))];
}

/** What a change is: the state, and the result when there is one. */
function sameChange(row, state, result) {
  return row.state === state && JSON.stringify(row.result ?? null) === JSON.stringify(result ?? null);
}

export class KeyRecord {
  #storage;
  #final;
  #finalForAccount;
  #now;
  /** Storage key → row. */
  #rows = new Map();
  /** Key → the storage keys of its rows (one per account): a paste asks of thousands of keys. */
  #byKey = new Map();
  /** The order of the last row made: rows show in the order their keys were first seen. */
  #order = 0;
  /** Set when the browser refused to write (its storage for this site is full): the page says so. */
  full = false;

  /**
   * `storage`: localStorage, or anything with its methods. `final` and
   * `finalForAccount`: the server's rule of which answers Steam gives again
   * (lib/steam/results.ts, served in /keys.js).
   */
  constructor(storage, { final = [], finalForAccount = [], now = () => Date.now() } = {}) {
    this.#storage = storage;
    this.#final = new Set(final);
    this.#finalForAccount = new Set(finalForAccount);
    this.#now = now;
    this.load();
  }

  /** (Re)reads every row from storage. */
  load() {
    this.#rows.clear();
    this.#byKey.clear();
    const names = [];
    for (let i = 0; i < this.#storage.length; i++) names.push(this.#storage.key(i));
    for (const name of names) if (name?.startsWith(ROW_PREFIX)) this.#read(name, this.#storage.getItem(name));
  }

  /**
   * Another tab changed storage (the `storage` event): true when it was the
   * record. A null name: all cleared. The event may come late, after this
   * page heard of a newer change itself (both tabs get every event of their
   * session): the item is read again, and a row older than this page's stays
   * as this page has it.
   */
  changed(name) {
    if (name === null) {
      this.load();
      return true;
    }
    if (!name.startsWith(ROW_PREFIX)) return false;
    const mine = this.#rows.get(name);
    this.#read(name, this.#storage.getItem(name));
    const theirs = this.#rows.get(name);
    if (mine && theirs && theirs.at < mine.at) this.#set(name, mine);
    return true;
  }

  #read(name, value) {
    const row = value === null ? null : parseRow(value);
    if (row && storageKey(row) === name) {
      this.#set(name, row);
      this.#order = Math.max(this.#order, row.order ?? 0);
    } else this.#delete(name);
  }

  #set(name, row) {
    this.#rows.set(name, row);
    let names = this.#byKey.get(row.key);
    if (!names) this.#byKey.set(row.key, (names = new Set()));
    names.add(name);
  }

  #delete(name) {
    const row = this.#rows.get(name);
    if (!row) return;
    this.#rows.delete(name);
    const names = this.#byKey.get(row.key);
    names?.delete(name);
    if (names?.size === 0) this.#byKey.delete(row.key);
  }

  #write(row) {
    const name = storageKey(row);
    this.#set(name, row);
    try {
      this.#storage.setItem(name, JSON.stringify(row));
    } catch {
      this.full = true; // kept in memory for this page; the page says the browser would not keep it
    }
  }

  #remove(row) {
    const name = storageKey(row);
    this.#delete(name);
    this.#storage.removeItem(name);
  }

  #find(key, account) {
    return this.#rows.get(`${ROW_PREFIX}${bucketOf(account)}/${key}`);
  }

  /** Every row kept, of every account. */
  all() {
    return [...this.#rows.values()];
  }

  /**
   * The rows the page shows for `account` (null: nobody signed in yet): that
   * account's and those recorded before signing in, one per key, in the order
   * they were first seen.
   */
  rows(account) {
    const bucket = bucketOf(account);
    const byKey = new Map();
    for (const row of this.#rows.values()) {
      const b = bucketOf(row.account);
      if (b !== bucket && b !== '') continue;
      const other = byKey.get(row.key);
      byKey.set(row.key, other ? mergeRows(other, row) : row);
    }
    return [...byKey.values()].sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.first - b.first || (a.key < b.key ? -1 : 1));
  }

  /** Accounts other than `account` with rows here, and how many keys each. */
  otherAccounts(account) {
    const bucket = bucketOf(account);
    const counts = new Map();
    for (const row of this.#rows.values()) {
      if (!row.account || bucketOf(row.account) === bucket) continue;
      const id = bucketOf(row.account);
      const had = counts.get(id);
      counts.set(id, { account: had?.account ?? row.account, count: (had?.count ?? 0) + 1 });
    }
    return [...counts.values()];
  }

  /**
   * A key's state as the server sent it (a KeyEntry: key, state, result), for
   * `account` (null before signing in). Returns true when something changed.
   */
  note(entry, account) {
    return this.#change(entry.key, account, entry.state, entry.result ?? null);
  }

  #change(key, account, state, result) {
    const now = this.#now();
    let row = this.#find(key, account);
    if (account) {
      // Recorded before signing in: it is this account's now.
      const unclaimed = this.#find(key, null);
      if (unclaimed) {
        this.#remove(unclaimed);
        row = row ? mergeRows(row, { ...unclaimed, account }) : { ...unclaimed, account };
        this.#write(row);
      }
    }
    if (row && sameChange(row, state, result)) return false;
    const change = { at: now, state, ...(result ? { status: result.status } : {}) };
    const next = row
      ? { ...row, state, result, at: now, history: trim([...row.history, change]) }
      : { key, account: account ?? null, state, result, first: now, order: ++this.#order, at: now, history: [change] };
    if (!result) delete next.result;
    this.#write(next);
    return true;
  }

  /** Keys recorded before signing in belong to `account` now that it signed in. */
  claim(account) {
    if (!account) return false;
    let changed = false;
    for (const row of this.all()) {
      if (row.account) continue;
      const own = this.#find(row.key, account);
      this.#remove(row);
      this.#write(own ? mergeRows(own, { ...row, account }) : { ...row, account });
      changed = true;
    }
    return changed;
  }

  /**
   * The session these rows were in is gone (the server lost it, or it ended):
   * a key that was with Steam may have been activated — unknown, with
   * `unknownResult` (the page's words) —, and a key still queued or waiting
   * was never sent. Returns the keys that were with Steam and how many were
   * not sent.
   */
  sessionEnded(account, unknownResult) {
    const withSteam = [];
    let notSent = 0;
    for (const row of this.rows(account)) {
      if (row.state === 'redeeming') {
        withSteam.push(row.key);
        this.#change(row.key, row.account, 'done', unknownResult);
      } else if (row.state === 'queued' || row.state === 'waiting') {
        notSent++;
        this.#change(row.key, row.account, 'not-sent', null); // a rate-limit note no longer holds
      }
    }
    return { withSteam, notSent };
  }

  /**
   * Why a paste leaves `key` out, from what this browser recorded: 'settled'
   * when Steam would give the same answer again (to anyone, or to `account`,
   * the account signed in now), 'unknown' when it got no answer and may have
   * been activated (held back until the user says to send it); null to send it.
   */
  leftOut(key, account) {
    let unknown = false;
    for (const name of this.#byKey.get(key) ?? []) {
      const row = this.#rows.get(name);
      const status = statusOf(row);
      if (this.#final.has(status)) return 'settled';
      if (this.#finalForAccount.has(status) && account && bucketOf(row.account) === bucketOf(account)) return 'settled';
      if (status === 'unknown') unknown = true;
    }
    return unknown ? 'unknown' : null;
  }

  /** Removes every row, of every account. */
  forget() {
    for (const row of this.all()) this.#remove(row);
    this.full = false;
  }
}

/**
 * The keys of `rows` that did not activate, by what they are good for: never
 * sent (may be sent again), still usable by someone else, to check in the
 * library first, refused for another reason, dead. Each key once.
 */
export function leftovers(rows) {
  const groups = { notSent: [], usable: [], check: [], refused: [], dead: [] };
  for (const row of rows) {
    const status = statusOf(row);
    if (row.state === 'not-sent' || row.state === 'cancelled') groups.notSent.push(row.key);
    else if (USABLE.has(status)) groups.usable.push(row.key);
    else if (status === 'unknown') groups.check.push(row.key);
    else if (status === 'failed') groups.refused.push(row.key);
    else if (DEAD.has(status)) groups.dead.push(row.key);
  }
  return groups;
}

/** How many keys of `rows` are in each outcome: a result's status, or else the state. */
export function outcomes(rows) {
  const counts = {};
  for (const row of rows) {
    const outcome = statusOf(row) ?? row.state;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}
