// steam-key's page: one WebSocket to the server (docs/protocol.md), plain DOM.
// The server holds the session and sends what happens in it; this page keeps
// its own record of every key and result (record.js, in localStorage), so
// that nothing it has shown is lost when the tab closes or the server loses
// the session, and a paste never resends what is settled. localStorage also
// holds the session's token (a new tab or a restarted browser resumes the
// batch), the account last signed in and the language chosen — never the
// password or a guard code.
import { addKeysMessage } from './add-keys.js';
import { download, toCsv, toJson } from './export.js';
import { both, languageOf, pick, say, statusWords } from './i18n.js';
import { KEY } from './keys-scan.js';
import { FINAL_FOR_ACCOUNT_STATUSES, FINAL_STATUSES, MAX_ADD_KEYS_TEXT, MAX_MESSAGE_BYTES } from './keys.js';
import { ServerLink } from './link.js';
import { scanPaste } from './paste.js';
import { KeyRecord, leftovers } from './record.js';
import { createView, el, entries, stateNote, waitingKeys } from './view.js';

const TOKEN_KEY = 'steam-key.session';
const ACCOUNT_KEY = 'steam-key.account';
const LANG_KEY = 'steam-key.lang';
/** How this browser last signed in ('qr' or 'password'): the page offers that way first next time. */
const METHOD_KEY = 'steam-key.method';
/**
 * Set (to the token of the session it ends, or '') and removed at once by a tab that forgets the
 * record: the storage event tells the other tabs of that session to keep out what it still sends.
 */
const FORGET_KEY = 'steam-key.forget';
/** What one add-keys message may carry (docs/protocol.md, "Limits"; the server generates /keys.js). */
const ADD_KEYS_LIMITS = { maxMessageBytes: MAX_MESSAGE_BYTES, maxTextLength: MAX_ADD_KEYS_TEXT };
/** RFC 6455 §7.4.1: the server closed because a message was larger than it takes. */
const MESSAGE_TOO_BIG = 1009;
/** The server held too much of unfinished messages from this address, or in all (docs/protocol.md). */
const TRY_AGAIN_LATER = 1013;
/** The protocol this page speaks (docs/protocol.md). */
const PROTOCOL_VERSION = 2;

const record = new KeyRecord(localStorage, { final: FINAL_STATUSES, finalForAccount: FINAL_FOR_ACCOUNT_STATUSES });

const state = {
  lang: pickLanguage(),
  /** The session token, in localStorage: a reload, a new tab or a restarted browser resumes the session. */
  token: localStorage.getItem(TOKEN_KEY),
  /** The token the last hello carried. */
  helloToken: null,
  everGreeted: false,
  login: { state: 'signed-out' },
  queue: { state: 'idle' },
  /** n → KeyEntry of the session, as the server last sent it. */
  keys: new Map(),
  settings: null,
  /** The id of the login in flight, until the server answers: no second click meanwhile. */
  loginId: null,
  /** Set after a guard code is sent, until Steam answers: the guard form stays up meanwhile. */
  guardSent: false,
  /** A QR sign-in was asked for and Steam has not shown its code yet (nor failed). */
  qrStarting: false,
  /** The last QR sign-in ended without signing in (expired, denied, failed): the button offers a new code. */
  qrEnded: false,
  /** The password form was sent while a QR code was up: the QR sign-in is being cancelled, then this one starts. */
  signInAfterCancel: false,
  /** A Text ({en, zh}) shown above everything, and what its button does ('reconnect', 'reload'); null for none. */
  notice: null,
  noticeAction: null,
  /** The notice was set by a bye that ends the session: the next welcome keeps it. */
  noticeAfterBye: false,
  /** The notice speaks of a session that ended ("sign in again"): signing in ends it too. */
  noticeUntilSignIn: false,
  /** Text under the sign-in form (a failed sign-in). */
  signInError: null,
  /** The add-keys request in flight: its id, the text in the box, its keys, what the page left out, the close code if its connection dropped. */
  pendingAdd: null,
  lastAdded: null,
  /** Keys a paste held back until the user says to send them: digits only, and keys that may have been activated. */
  held: { digits: [], unknown: [] },
  /** A `session` joined the account's: the next keys-added without id says what this page brought. */
  joining: false,
  /** Which question is up: 'sign-out', 'forget' or null. */
  asking: null,
  /** The key with Steam when the user signed out: its answer is then unknown. */
  keyAtSignOut: null,
  /** The record was forgotten: nothing the ending session still sends goes back in. */
  forgotten: false,
  /** Sign in again once the new session greets (the old one was bound to another account and had nothing waiting). */
  relogin: false,
  requestSeq: 0,
};

// ---- words -----------------------------------------------------------------

function pickLanguage() {
  const chosen = localStorage.getItem(LANG_KEY);
  if (chosen === 'en' || chosen === 'zh') return chosen;
  return languageOf(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

const t = (name, ...args) => say(state.lang, name, ...args);
const text = both;
const words = (message) => pick(state.lang, message);

// ---- accounts and the record ---------------------------------------------

/** The Steam account of the session (also after Steam dropped it), or null. */
function sessionAccount() {
  return state.login.account?.accountName ?? null;
}

/** Whose keys the page shows: the session's account, else the one last signed in here. */
function shownAccount() {
  return sessionAccount() ?? localStorage.getItem(ACCOUNT_KEY);
}

function shownRows() {
  return record.rows(shownAccount());
}

/** Writes what the server says of a key to the record. */
function note(entry) {
  if (!state.forgotten) record.note(entry, sessionAccount());
}

/** Signed in to `account`: the keys pasted before belong to it, and the page shows its keys after a reload too. */
function signedInTo(account) {
  if (!account || state.forgotten) return;
  localStorage.setItem(ACCOUNT_KEY, account.accountName);
  record.claim(account.accountName);
}

/** A key's answer when the session ended while Steam had it. */
function lostWithSteam() {
  return { status: 'unknown', keyUnused: false, eresult: null, detail: null, packages: [], message: text('lostWithSteam') };
}

// ---- the connection --------------------------------------------------------

const link = new ServerLink({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  hello() {
    state.helloToken = state.token;
    return state.token ? { type: 'hello', version: PROTOCOL_VERSION, resume: state.token } : { type: 'hello', version: PROTOCOL_VERSION };
  },
  onMessage: handle,
  onClose(code) {
    if (state.pendingAdd) state.pendingAdd.closeCode = code; // settled by the next welcome
  },
  onChange: () => render(),
});

/**
 * A session token to resume with (null: none), kept where a new tab finds it.
 * Dropping ours leaves alone a token another tab has stored since.
 */
function keepToken(token) {
  const mine = state.token;
  state.token = token;
  if (token !== null) localStorage.setItem(TOKEN_KEY, token);
  else if (mine !== null && localStorage.getItem(TOKEN_KEY) === mine) localStorage.removeItem(TOKEN_KEY);
}

/**
 * The message above everything (a Text, or null for none); `action`: what its
 * button does ('reconnect', 'reload'); `untilSignIn`: it speaks of a session
 * that ended, and goes once signed in again.
 */
function notify(message, { action = null, untilSignIn = false } = {}) {
  state.notice = message;
  state.noticeAction = message === null ? null : action;
  state.noticeUntilSignIn = message !== null && untilSignIn;
}

// ---- messages from the server ---------------------------------------------

function handle(m) {
  // The keys a join brought come right after its `session`, or not at all.
  if (m.type !== 'keys-added' && m.type !== 'session') state.joining = false;
  switch (m.type) {
    case 'welcome':
      return onWelcome(m);
    case 'session':
      return onSession(m);
    case 'login':
      return onLogin(m);
    case 'queue':
      state.queue = m;
      return render();
    case 'key':
      return onKey(m.entry);
    case 'keys-added':
      return onKeysAdded(m);
    case 'error':
      return onError(m);
    case 'bye':
      return onBye(m);
    default:
      return undefined; // a newer server's message: ignore (docs/protocol.md, "Versioning")
  }
}

function onWelcome(m) {
  link.welcomed();
  if (state.helloToken !== null && !m.resumed) {
    // Another tab may have begun a session since this one's ended: take that one up rather than call it lost.
    const stored = localStorage.getItem(TOKEN_KEY);
    if (stored !== null && stored !== state.helloToken) {
      state.token = stored;
      link.reopen();
      return;
    }
  }
  // A token the server no longer knows: it restarted, or the session outlived its grace period.
  const lost = state.helloToken !== null && !m.resumed;
  if (lost) {
    const { withSteam, notSent } = record.sessionEnded(shownAccount(), lostWithSteam());
    state.lastAdded = null; // "Added N keys" spoke of the session that ended
    notify(text('sessionLost', withSteam, notSent), { untilSignIn: true });
  } else if (!state.noticeAfterBye) {
    notify(null); // whatever it said about the connection is over
  }
  state.noticeAfterBye = false;
  state.forgotten = false;
  keepToken(m.session);
  state.everGreeted = true;
  applySnapshot(m.snapshot);
  state.guardSent = false;
  state.loginId = null;
  if (state.pendingAdd) settleUnanswered(state.pendingAdd);
  state.pendingAdd = null;
  state.qrStarting = false;
  state.signInAfterCancel = false;
  if (state.login.state === 'signed-out' && !el.accountName.value) {
    el.accountName.value = state.login.account?.accountName ?? localStorage.getItem(ACCOUNT_KEY) ?? '';
    focusLater(signInFocus());
  }
  if (state.login.state === 'qr') focusLater(el.qrCancel);
  if (state.login.state === 'guard') focusLater(el.guardCode);
  if (state.relogin) {
    state.relogin = false;
    signIn();
  }
  render();
}

function applySnapshot(snapshot) {
  state.login = snapshot.login;
  state.queue = snapshot.queue;
  state.settings = snapshot.settings;
  state.keys = new Map(snapshot.keys.map((e) => [e.n, e]));
  signedInTo(state.login.account);
  for (const entry of snapshot.keys) note(entry);
}

/**
 * The connection holds a session now: one the first sign-in or paste made, or
 * — after a sign-in — the account's own session on this server, joined.
 */
function onSession(m) {
  keepToken(m.session);
  applySnapshot(m.snapshot);
  if (m.joined) {
    notify(text('joined'));
    state.joining = true;
    state.signInError = null;
    el.password.value = '';
    focusLater(el.keysText);
  }
  render();
}

/**
 * An add-keys whose reply went with the old connection: the session's keys
 * say whether the server took it (it adds all of a paste or none). If it did,
 * the box empties as the reply would have emptied it; if not — the message
 * never arrived, or was too large for the server — the user hears so, and the
 * text is still in the box. Never a silent loss.
 */
function settleUnanswered(pending) {
  const active = activeKeys();
  if (pending.keys.every((key) => active.has(key))) {
    if (pending.text !== null && el.keysText.value === pending.text) el.keysText.value = '';
    return;
  }
  const lost = text(pending.closeCode === MESSAGE_TOO_BIG ? 'pasteRefused' : pending.closeCode === TRY_AGAIN_LATER ? 'pasteBusy' : 'pasteLost');
  state.notice = state.notice ? { en: `${state.notice.en} ${lost.en}`, zh: `${state.notice.zh}${lost.zh}` } : lost;
}

/**
 * Where the focus waits on the sign-in: QR first — at the password only when
 * this browser signed in with one last time and knows the account name.
 */
function signInFocus() {
  if (el.accountName.value && localStorage.getItem(METHOD_KEY) !== 'qr') return el.password;
  return el.qrStart;
}

function onLogin(m) {
  const before = state.login.state;
  const byQr = state.qrStarting || before === 'qr';
  state.login = m;
  state.loginId = null;
  if (m.state !== 'signing-in') state.qrStarting = false;
  if (m.state === 'signed-out' && state.signInAfterCancel) {
    state.signInAfterCancel = false;
    if (m.reason === 'cancelled') {
      // The QR code gave way to the password the user sent meanwhile.
      state.signInError = null;
      state.qrEnded = false;
      return signIn();
    }
  }
  if (m.state === 'qr') {
    state.signInError = null;
    if (before !== 'qr') focusLater(el.qrCancel); // the button that asked for the code is gone
  } else if (m.state === 'signed-in') {
    if (before !== 'signed-in') localStorage.setItem(METHOD_KEY, byQr ? 'qr' : 'password');
    state.qrEnded = false;
    signedInTo(m.account);
    el.password.value = '';
    state.signInError = null;
    state.guardSent = false;
    // What the notice said of a session that ended (sign in again) is over.
    if (state.noticeUntilSignIn) notify(null);
    if (before !== 'signed-in') focusLater(el.keysText);
  } else if (m.state === 'guard') {
    state.guardSent = false;
    el.guardCode.value = '';
    focusLater(el.guardCode);
  } else if (m.state === 'signed-out' && byQr) {
    // Expired, denied in the app, cancelled or failed: a new code is one click away.
    state.signInError = m.message ?? null;
    state.qrEnded = m.reason !== undefined && m.reason !== 'cancelled';
    focusLater(el.qrStart);
  } else if (m.state === 'signed-out') {
    state.guardSent = false;
    state.signInError = m.message ?? null;
    if (m.account) el.accountName.value = m.account.accountName;
    // Each failed sign-in counts towards Steam's limit for this server's address (EResult 84).
    if (m.reason === 'invalid-password') el.password.value = '';
    focusLater(m.reason === 'invalid-password' ? el.accountName : el.password);
  }
  render();
}

function onKey(entry) {
  const before = state.keys.get(entry.n);
  state.keys.set(entry.n, entry);
  note(entry);
  render();
  if (entry.state === 'done' && before?.state !== 'done') {
    el.announce.textContent = t('announce', view.numberOf(entry.key), entry.key, statusWords(state.lang, entry));
  }
}

function onKeysAdded(m) {
  for (const entry of m.added) {
    state.keys.set(entry.n, entry);
    note(entry);
  }
  const counts = m.droppedCounts ?? {};
  if (m.id === undefined) {
    // Keys another tab of this session added, or — right after joining — the keys this page brought along.
    if (state.joining) {
      // Keys the joined session had already: done, queued, or sent without an answer.
      state.joining = false;
      const there = (d) => d.reason === 'already-in-session' || d.reason === 'unknown-result';
      const listed = m.dropped.filter(there).map((d) => d.key);
      const count = (counts['already-in-session'] ?? 0) + (counts['unknown-result'] ?? 0);
      const already = [...listed, ...Array(Math.max(0, count - listed.length)).fill('')];
      const brought = text('joinedBrought', m.added.length, already, counts['session-full'] ?? 0);
      state.notice = { en: `${state.notice?.en ?? ''} ${brought.en}`.trim(), zh: `${state.notice?.zh ?? ''}${brought.zh}` };
    }
    return render();
  }
  const pending = state.pendingAdd?.id === m.id ? state.pendingAdd : null;
  state.pendingAdd = null;
  // Keys the server held back itself: this session got no answer for them.
  const unknown = m.dropped.filter((d) => d.reason === 'unknown-result').map((d) => d.key);
  if (pending?.kind === 'paste') {
    // Cleared only if the user has not typed on meanwhile: nothing they wrote is lost.
    if (el.keysText.value === pending.text) el.keysText.value = '';
    state.held = { digits: pending.held.digits, unknown: [...new Set([...pending.held.unknown, ...unknown])] };
  } else if (pending) {
    const sent = new Set(m.added.map((e) => e.key));
    state.held = { digits: state.held.digits.filter((k) => !sent.has(k)), unknown: state.held.unknown.filter((k) => !sent.has(k)) };
  }
  const left = { ...(pending?.leftOut ?? {}) };
  for (const [reason, n] of Object.entries(counts)) if (reason !== 'unknown-result') left[reason] = (left[reason] ?? 0) + n;
  state.lastAdded = { added: m.added.length, left };
  render();
}

function onError(m) {
  const pending = state.pendingAdd?.id === m.id;
  if (pending) state.pendingAdd = null; // the text stays in the box
  const aboutSignIn = (m.id !== undefined && m.id === state.loginId) || m.code === 'sign-in-limited' || m.code === 'steam-cooldown';
  state.loginId = null;
  state.guardSent = false;
  if (aboutSignIn) state.qrStarting = false;
  state.signInAfterCancel = false;
  let message;
  if (m.code === 'sign-in-limited' || m.code === 'steam-cooldown') {
    message = text(m.code === 'steam-cooldown' ? 'steamCooldown' : 'signInLimited', m.retryAt);
  } else if (m.code === 'paste-limited') {
    message = text('pasteLimited', m.retryAt); // the text stays in the box, to add again then
  } else if (m.code === 'other-account') {
    const account = sessionAccount();
    if (!waitingKeys(state).length && account !== null) {
      // Nothing waits for the account this session is bound to: start over as the one the user typed.
      state.relogin = true;
      send({ type: 'logout' });
      return render();
    }
    message = text('otherAccount', account ?? '');
  } else {
    const names = { 'server-busy': 'serverBusy', 'too-many-sessions': 'tooManySessions', 'unsupported-version': 'outdated', 'too-many-keys': 'tooManyKeys', closed: 'closed', 'wrong-state': 'wrongState' };
    message = names[m.code] ? text(names[m.code]) : text('protocol', m.code, m.message);
  }
  // Said once: under the sign-in form when it answers a sign-in, else above everything.
  if (aboutSignIn || m.code === 'other-account') state.signInError = message;
  else notify(message, { action: m.code === 'unsupported-version' ? 'reload' : null });
  render();
}

function onBye(m) {
  if (m.reason === 'logged-out' || m.reason === 'expired' || m.reason === 'not-signed-in') {
    // The session is over: a new connection starts when this one closes. The record keeps every key of it:
    // the one with Steam is unknown (the server said so already, or the page says so now), the rest not sent.
    const { withSteam, notSent } = state.forgotten ? { withSteam: [], notSent: 0 } : record.sessionEnded(shownAccount(), lostWithSteam());
    const atSteam = state.keyAtSignOut;
    if (atSteam && !withSteam.includes(atSteam) && [...state.keys.values()].some((e) => e.key === atSteam && e.result?.status === 'unknown')) withSteam.push(atSteam);
    state.keyAtSignOut = null;
    keepToken(null);
    state.keys = new Map();
    state.login = { state: 'signed-out' };
    state.queue = { state: 'idle' };
    state.lastAdded = null;
    state.signInError = null;
    state.asking = null;
    state.qrStarting = false;
    state.qrEnded = false;
    link.againOnClose();
    const ended = withSteam.length > 0 || notSent > 0;
    if (state.forgotten) notify(text('forgotten'));
    else if (m.reason === 'not-signed-in') notify(text('notSignedIn'), { untilSignIn: true });
    else if (m.reason === 'expired') notify(m.message, { untilSignIn: true });
    else notify(ended && !state.relogin ? text('signedOutKept', withSteam, notSent) : null, { untilSignIn: true });
    state.noticeAfterBye = state.notice !== null;
    // The sign-out button goes away with the session: the focus goes to the sign-in form.
    if (m.reason === 'logged-out' && (!document.activeElement || document.activeElement === document.body || el.signOutAsk.contains(document.activeElement) || document.activeElement === el.signOut)) {
      focusLater(signInFocus());
    }
  } else if (m.reason === 'replaced') {
    link.stop();
    notify(text('replaced'), { action: 'reconnect' });
  } else if (m.reason === 'too-many-connections') {
    notify(text('tooManyConnections')); // the close that follows schedules a retry with backoff
  } else {
    notify(m.message); // shutdown: reconnect with backoff; the server may come back
  }
  render();
}

// ---- what the user does ---------------------------------------------------

function send(message) {
  return link.send(message);
}

function nextId(kind) {
  return `${kind}-${++state.requestSeq}`;
}

function signIn() {
  const accountName = el.accountName.value.trim();
  const password = el.password.value;
  if (!accountName || !password) {
    state.signInError = text('needBoth');
    render();
    (accountName ? el.password : el.accountName).focus();
    return;
  }
  state.signInError = null;
  if (state.login.state === 'qr') {
    // One sign-in at a time: the QR code goes first (onLogin then sends this one).
    if (send({ type: 'cancel-login' })) state.signInAfterCancel = true;
    return render();
  }
  const id = nextId('login');
  if (send({ type: 'login', id, accountName, password })) state.loginId = id;
  render();
}

/** Asks for a QR code to scan in the Steam app: the server never sees the password. */
function signInWithQr() {
  if (el.qrStart.disabled) return;
  state.signInError = null;
  state.qrEnded = false;
  const id = nextId('login');
  if (send({ type: 'login-qr', id })) {
    state.loginId = id;
    state.qrStarting = true;
  }
  render();
}

el.qrStart.addEventListener('click', signInWithQr);
el.qrCancel.addEventListener('click', () => {
  send({ type: 'cancel-login' });
  render();
});

el.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  signIn();
});

el.guardForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = el.guardCode.value.trim();
  if (!/^[A-Za-z0-9]{1,32}$/.test(code)) {
    el.guardMessage.textContent = t('needCode');
    el.guardCode.focus();
    return;
  }
  if (send({ type: 'guard-code', code })) state.guardSent = true;
  render();
});

// The guard prompt's own way back: the sign-in form returns, the password still in it.
el.guardCancel.addEventListener('click', () => {
  send({ type: 'cancel-login' });
});

function signOut() {
  state.asking = null;
  state.keyAtSignOut = [...state.keys.values()].find((e) => e.state === 'redeeming')?.key ?? null;
  send({ type: 'logout' });
  render();
}

el.signOut.addEventListener('click', () => {
  // Keys still waiting would stop: ask first.
  if (waitingKeys(state).some((e) => e.state !== 'redeeming')) {
    state.asking = 'sign-out';
    focusLater(el.signOutNo);
    return render();
  }
  signOut();
});
el.signOutYes.addEventListener('click', signOut);
el.signOutNo.addEventListener('click', () => {
  state.asking = null;
  focusLater(el.signOut);
  render();
});

el.forget.addEventListener('click', () => {
  state.asking = 'forget';
  focusLater(el.forgetNo);
  render();
});
el.forgetNo.addEventListener('click', () => {
  state.asking = null;
  focusLater(el.forget);
  render();
});
el.forgetYes.addEventListener('click', () => {
  state.asking = null;
  record.forget();
  localStorage.removeItem(ACCOUNT_KEY);
  localStorage.removeItem(METHOD_KEY); // how that account signed in goes with it
  localStorage.removeItem(TOKEN_KEY);
  localStorage.setItem(FORGET_KEY, state.token ?? '');
  localStorage.removeItem(FORGET_KEY);
  state.held = { digits: [], unknown: [] };
  state.lastAdded = null;
  notify(text('forgotten'));
  if (state.token !== null) {
    // The session would bring its keys back: it ends too.
    state.forgotten = true;
    keepToken(null);
    send({ type: 'logout' });
  }
  focusLater(el.keysText);
  render();
});

el.noticeAction.addEventListener('click', () => {
  if (state.noticeAction === 'reload') return location.reload();
  if (state.noticeAction === 'reconnect') {
    notify(null);
    link.restart();
  }
});

el.language.addEventListener('click', () => {
  state.lang = state.lang === 'en' ? 'zh' : 'en';
  localStorage.setItem(LANG_KEY, state.lang);
  render();
});

el.keysText.addEventListener('input', () => {
  state.lastAdded = null;
  render();
});
el.keysText.addEventListener('keydown', (event) => {
  // Enter is a new line in the box; Ctrl+Enter (or ⌘+Enter) redeems.
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    redeem();
  }
});
el.redeem.addEventListener('click', redeem);

/** Keys queued, with Steam or done in the session; a cancelled key may be added again. */
function activeKeys() {
  const active = new Set();
  for (const entry of state.keys.values()) if (entry.state !== 'cancelled') active.add(entry.key);
  return active;
}

/** What a paste of `value` sends, leaves out and holds back (paste.js). */
function scanBox(value) {
  const active = activeKeys();
  const account = sessionAccount();
  return scanPaste(value, (key) => active.has(key), (key) => record.leftOut(key, account));
}

function redeem() {
  if (el.redeem.disabled) return;
  const value = el.keysText.value;
  const scan = scanBox(value);
  if (scan.keys.length === 0) {
    // Only held-back keys: they wait below, for the user to send or not.
    state.held = scan.held;
    state.lastAdded = { added: 0, left: scan.left };
    el.keysText.value = '';
    focusLater(scan.held.digits.length ? el.sendDigits : el.sendUnknown);
    return render();
  }
  const id = nextId('add');
  // Only the keys: what the page leaves out stays out, and any text fits (docs/protocol.md, "Limits").
  const message = addKeysMessage(id, scan.keys.join(' '), KEY, ADD_KEYS_LIMITS);
  if (message === null) {
    notify(text('pasteTooLarge')); // nothing sent; the text stays in the box
  } else if (send(message)) {
    state.pendingAdd = { id, kind: 'paste', text: value, keys: scan.keys, leftOut: scan.left, held: scan.held, closeCode: null };
    notify(null);
    // The button disables itself until the server answers: the focus would drop to nowhere.
    if (document.activeElement === el.redeem) focusLater(el.keysText);
  }
  render();
}

/** Sends keys the page (or the server) held back, now that the user said to. */
function sendAnyway(keys, allow) {
  if (keys.length === 0) return;
  const id = nextId('add');
  if (send({ type: 'add-keys', id, text: keys.join(' '), allow })) {
    state.pendingAdd = { id, kind: 'held', text: null, keys, leftOut: {}, closeCode: null };
    focusLater(el.keysText);
  }
  render();
}

el.sendDigits.addEventListener('click', () => sendAnyway(state.held.digits, { digitsOnly: true }));
el.sendUnknown.addEventListener('click', () => sendAnyway(state.held.unknown, { unknown: true }));
el.sendChecked.addEventListener('click', () => sendAnyway(leftovers(shownRows()).check, { unknown: true }));

el.cancel.addEventListener('click', () => {
  send({ type: 'cancel' });
  focusLater(el.keysText); // the button disables itself
  render();
});
el.resume.addEventListener('click', () => {
  send({ type: 'resume' });
  focusLater(el.progress); // the button goes away; the progress line says what happens
  render();
});

el.exportCsv.addEventListener('click', () => download('csv', toCsv(shownRows(), (row) => stateNote(state.lang, row) ?? words(row.result?.message)), 'text/csv;charset=utf-8'));
el.exportJson.addEventListener('click', () => download('json', toJson(shownRows(), Date.now()), 'application/json'));

// Keys never sent go back in the box (after what is there), to redeem: they are unused.
el.refill.addEventListener('click', () => {
  const keys = leftovers(shownRows()).notSent.join('\n');
  const before = el.keysText.value.trimEnd();
  el.keysText.value = before ? `${before}\n${keys}` : keys;
  state.lastAdded = null;
  focusLater(el.keysText);
  render();
});

// Another tab wrote the record or the token (the storage event fires in the other tabs only).
window.addEventListener('storage', (event) => {
  if (event.storageArea !== localStorage) return;
  if (event.key === FORGET_KEY) {
    // Forgotten in another tab. What this tab wrote before the word came (the end of the session that
    // tab ended, which may have reached this one first) goes too; if that session is this tab's, what
    // it still sends stays out.
    if (event.newValue === null) return undefined;
    record.forget();
    if (event.newValue === state.token) state.forgotten = true;
    state.held = { digits: [], unknown: [] };
    state.lastAdded = null;
    return render();
  }
  if (event.key === TOKEN_KEY) {
    // A session begun in another tab, while this one has none: take it up here too.
    if (event.newValue !== null && state.token === null && link.state !== 'stopped') {
      state.token = event.newValue;
      link.reopen();
    }
    return;
  }
  if (record.changed(event.key)) render();
});

// ---- start -------------------------------------------------------------------

const view = createView({ state, link, record, rows: shownRows, account: shownAccount, scan: scanBox });
const render = () => view.render();
const focusLater = (input) => view.focusLater(input);


// Countdowns (cooldown, reconnect) move once a second.
setInterval(() => {
  if (state.queue.state === 'cooldown' || link.state === 'unreachable') render();
}, 1000);

render();
link.connect();
