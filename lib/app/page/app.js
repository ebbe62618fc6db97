// steam-key's page: one WebSocket to the server (docs/protocol.md), plain DOM.
// The server holds the session; this page draws what it is told and sends
// what the user asks. Only the session token is kept (in sessionStorage, for
// this tab), and a language the user switched to (in localStorage): never the
// password or a guard code. When the server has lost the session, what the
// page had shown of it stays in memory (state.ended), never in storage: a
// reload forgets it.
import { clock, languageOf, MESSAGES } from './i18n.js';
import { addKeysMessage } from './add-keys.js';
import { KEY, scanKeys } from './keys-scan.js';
import { FINAL_FOR_ACCOUNT_STATUSES, FINAL_STATUSES, MAX_ADD_KEYS_TEXT, MAX_MESSAGE_BYTES } from './keys.js';

const TOKEN_KEY = 'steam-key.session';
const LANG_KEY = 'steam-key.lang';
/** What one add-keys message may carry (docs/protocol.md, "Limits"; the server generates /keys.js). */
const ADD_KEYS_LIMITS = { maxMessageBytes: MAX_MESSAGE_BYTES, maxTextLength: MAX_ADD_KEYS_TEXT };
/** RFC 6455 §7.4.1: the server closed because a message was larger than it takes. */
const MESSAGE_TOO_BIG = 1009;
/** The protocol this page speaks (docs/protocol.md). */
const PROTOCOL_VERSION = 2;
/** Waits before reconnecting, growing while the server stays unreachable. */
const RETRY_MS = [250, 1000, 2000, 4000, 8000, 15000];

const $ = (id) => document.getElementById(id);
const el = {
  connection: $('connection'),
  account: $('account'),
  signOut: $('sign-out'),
  language: $('language'),
  notice: $('notice'),
  signIn: $('sign-in'),
  signInForm: $('sign-in-form'),
  accountName: $('account-name'),
  password: $('password'),
  signInError: $('sign-in-error'),
  signInButton: $('sign-in-button'),
  guard: $('guard'),
  guardForm: $('guard-form'),
  guardMessage: $('guard-message'),
  guardCode: $('guard-code'),
  guardButton: $('guard-button'),
  keysText: $('keys-text'),
  keyCount: $('key-count'),
  redeem: $('redeem'),
  cancel: $('cancel'),
  progress: $('progress'),
  queueState: $('queue-state'),
  queueMessage: $('queue-message'),
  resume: $('resume'),
  announce: $('announce'),
  results: document.querySelector('#results tbody'),
  noKeys: $('no-keys'),
  tableWrap: document.querySelector('.table-wrap'),
  exportCsv: $('export-csv'),
  exportJson: $('export-json'),
  unusedSection: $('unused-section'),
  unused: $('unused'),
  copyUnused: $('copy-unused'),
  copied: $('copied'),
  endedSection: $('ended-section'),
  ended: document.querySelector('#ended tbody'),
  refillNotSent: $('refill-not-sent'),
};

const state = {
  lang: pickLanguage(),
  ws: null,
  /** The session token: in sessionStorage, so a reload of this tab resumes the session. */
  token: sessionStorage.getItem(TOKEN_KEY),
  /** 'connecting' | 'online' | 'lost' | 'unreachable' | 'stopped' */
  connection: 'connecting',
  greeted: false,
  everGreeted: false,
  retries: 0,
  retryAt: 0,
  retryTimer: 0,
  login: { state: 'signed-out' },
  queue: { state: 'idle' },
  /** n → KeyEntry, as the server last sent it. */
  keys: new Map(),
  /**
   * The keys of sessions the server lost, as the page last showed them (see
   * endedEntry), each with the account it was for: kept so that no result the
   * user saw is lost. Not part of the new session: they may be pasted again.
   */
  ended: [],
  settings: null,
  /** Set after a login is sent, until the server answers: no second click meanwhile. */
  loginSent: false,
  /** Set after a guard code is sent, until Steam answers: the guard form stays up meanwhile. */
  guardSent: false,
  /** A Text ({en, zh}) shown above everything; null for none. */
  notice: null,
  /** The notice was set by a bye that ends the session: the next welcome keeps it. */
  noticeAfterBye: false,
  /** Text under the sign-in form (a failed sign-in). */
  signInError: null,
  /**
   * The add-keys request in flight: its id, the text in the box, the new keys
   * found in it, and, once its connection closed before the reply, the close code.
   */
  pendingAdd: null,
  lastAdded: null,
  requestSeq: 0,
  copiedText: null,
  /** The field to focus after the next render. */
  focus: null,
};

// ---- words -----------------------------------------------------------------

function pickLanguage() {
  const chosen = localStorage.getItem(LANG_KEY);
  if (chosen === 'en' || chosen === 'zh') return chosen;
  return languageOf(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

/** The page's own words, in the current language. */
function t(name, ...args) {
  const value = MESSAGES[state.lang][name];
  return typeof value === 'function' ? value(...args) : value;
}

/** One of the page's own messages as a Text ({en, zh}), so a language switch redraws it. */
function text(name, ...args) {
  const pick = (lang) => {
    const value = MESSAGES[lang][name];
    return typeof value === 'function' ? value(...args) : value;
  };
  return { en: pick('en'), zh: pick('zh') };
}

/** A Text from the server (or text()) in the current language. */
function words(message) {
  return message ? (message[state.lang] ?? message.en ?? '') : '';
}

function statusWords(entry) {
  if (entry.state === 'done' && entry.result) {
    return MESSAGES[state.lang].statuses[entry.result.status] ?? entry.result.status;
  }
  return MESSAGES[state.lang].states[entry.state] ?? entry.state;
}

/** The badge's class: the result's status when done, else the key's state. */
function statusClass(entry) {
  return entry.state === 'done' && entry.result ? entry.result.status : entry.state;
}

// ---- the connection --------------------------------------------------------

function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

function send(message) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN || !state.greeted) return false;
  state.ws.send(JSON.stringify(message));
  return true;
}

function connect() {
  clearTimeout(state.retryTimer);
  const ws = new WebSocket(wsUrl());
  state.ws = ws;
  let opened = false;
  ws.addEventListener('open', () => {
    opened = true;
    const hello = { type: 'hello', version: PROTOCOL_VERSION };
    if (state.token) hello.resume = state.token;
    ws.send(JSON.stringify(hello));
  });
  ws.addEventListener('message', (event) => {
    if (state.ws !== ws || typeof event.data !== 'string') return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(message);
  });
  ws.addEventListener('close', (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (state.pendingAdd) state.pendingAdd.closeCode = event.code; // settled by the next welcome
    state.greeted = false;
    if (state.connection === 'stopped') return render();
    if (state.connection === 'fresh') {
      // Signed out: start a new, empty session at once.
      state.connection = 'connecting';
      connect();
      return render();
    }
    if (opened && state.connection === 'online') state.retries = 0;
    scheduleReconnect(opened);
  });
}

function scheduleReconnect(wasOpen) {
  const delay = RETRY_MS[Math.min(state.retries, RETRY_MS.length - 1)];
  state.retries++;
  state.connection = wasOpen && state.retries === 1 ? 'lost' : 'unreachable';
  state.retryAt = Date.now() + delay;
  state.retryTimer = setTimeout(connect, delay);
  render();
}

// ---- messages from the server ---------------------------------------------

function handle(m) {
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
  // A token the server no longer knows: the session expired or the server restarted.
  // Otherwise whatever the notice said about the connection is over.
  const lost = state.token !== null && !m.resumed;
  if (lost) {
    keepEnded();
    state.lastAdded = null; // "Added N keys" spoke of the session that ended: they are not in this one
  }
  // A notice about how the last session ended (signed out, expired) outlives the new session's welcome.
  state.notice = lost ? text('sessionLost', state.ended.length) : state.noticeAfterBye ? state.notice : null;
  state.noticeAfterBye = false;
  keepToken(m.session);
  state.greeted = true;
  state.everGreeted = true;
  state.connection = 'online';
  state.retries = 0;
  applySnapshot(m.snapshot);
  state.guardSent = false;
  state.loginSent = false;
  if (state.pendingAdd) settleUnanswered(state.pendingAdd);
  state.pendingAdd = null;
  rebuildTable();
  if (state.login.state === 'signed-out' && !el.accountName.value) {
    if (state.login.account) el.accountName.value = state.login.account.accountName;
    focusLater(state.login.account ? el.password : el.accountName);
  }
  if (state.login.state === 'guard') focusLater(el.guardCode);
  render();
}

/** A session token to resume with (null: none yet), kept for this tab. */
function keepToken(token) {
  state.token = token;
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

function applySnapshot(snapshot) {
  state.login = snapshot.login;
  state.queue = snapshot.queue;
  state.settings = snapshot.settings;
  state.keys = new Map(snapshot.keys.map((e) => [e.n, e]));
}

/**
 * The connection holds a session now: one the first sign-in or paste made, or
 * — after a sign-in — the account's own session on this server, joined.
 */
function onSession(m) {
  keepToken(m.session);
  applySnapshot(m.snapshot);
  if (m.joined) state.notice = text('joined');
  rebuildTable();
  render();
}

/**
 * The server lost the session: what the page showed of its keys moves to
 * state.ended. A key still with Steam may have been activated, so it is
 * unknown; a key still queued or waiting was never sent (and a rate-limit
 * note it carried no longer holds). Results and cancels stay as they were.
 */
function keepEnded() {
  const account = state.login.account?.accountName ?? null;
  for (const entry of entries()) state.ended.push({ ...endedEntry(entry), account });
  state.keys = new Map();
}

function endedEntry(entry) {
  if (entry.state === 'redeeming') {
    return { n: entry.n, key: entry.key, state: 'done', result: { status: 'unknown', message: text('lostWithSteam') } };
  }
  if (entry.state === 'queued' || entry.state === 'waiting') return { n: entry.n, key: entry.key, state: 'not-sent' };
  return entry;
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
    if (el.keysText.value === pending.text) el.keysText.value = '';
    return;
  }
  const lost = text(pending.closeCode === MESSAGE_TOO_BIG ? 'pasteRefused' : 'pasteLost');
  state.notice = state.notice ? { en: `${state.notice.en} ${lost.en}`, zh: `${state.notice.zh}${lost.zh}` } : lost;
}

function onLogin(m) {
  const before = state.login.state;
  state.login = m;
  state.loginSent = false;
  if (m.state === 'signed-in') {
    el.password.value = '';
    state.signInError = null;
    state.guardSent = false;
    if (before !== 'signed-in') focusLater(el.keysText);
  } else if (m.state === 'guard') {
    state.guardSent = false;
    el.guardCode.value = '';
    focusLater(el.guardCode);
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
  updateRow(entry);
  if (entry.state === 'done' && before?.state !== 'done') {
    el.announce.textContent = t('announce', entry.n, entry.key, statusWords(entry));
  }
  render();
}

function onKeysAdded(m) {
  for (const entry of m.added) {
    state.keys.set(entry.n, entry);
    updateRow(entry);
  }
  // Keys another tab of this session added, or the keys brought along when this page joined its account's session.
  if (m.id === undefined) return render();
  let settledBefore = 0;
  let dropped = Object.values(m.droppedCounts ?? {}).reduce((a, b) => a + b, 0);
  if (state.pendingAdd && state.pendingAdd.id === m.id) {
    // Cleared only if the user has not typed on meanwhile: nothing they wrote is lost.
    if (el.keysText.value === state.pendingAdd.text) el.keysText.value = '';
    settledBefore = state.pendingAdd.settledBefore;
    dropped += state.pendingAdd.repeatsLeftOut;
    state.pendingAdd = null;
  }
  state.lastAdded = { added: m.added.length, dropped, settledBefore };
  render();
}

const ERROR_TEXTS = {
  'server-busy': 'serverBusy',
  'too-many-sessions': 'tooManySessions',
  'unsupported-version': 'outdated',
  'other-account': 'otherAccount',
  'too-many-keys': 'tooManyKeys',
  closed: 'closed',
  'wrong-state': 'wrongState',
};

function onError(m) {
  if (state.pendingAdd && state.pendingAdd.id === m.id) state.pendingAdd = null; // the text stays in the box
  state.loginSent = false;
  state.guardSent = false;
  const name = ERROR_TEXTS[m.code];
  if (m.code === 'sign-in-limited' || m.code === 'steam-cooldown') {
    const at = new Date(m.retryAt).toLocaleTimeString(state.lang === 'zh' ? 'zh-CN' : 'en');
    state.notice = text(m.code === 'steam-cooldown' ? 'steamCooldown' : 'signInLimited', at);
    state.signInError = state.notice;
  } else state.notice = name ? text(name) : text('protocol', m.code, m.message);
  if (m.code === 'other-account') state.signInError = state.notice;
  render();
}

function onBye(m) {
  if (m.reason === 'logged-out' || m.reason === 'expired' || m.reason === 'not-signed-in') {
    // The session is over: start a new one when this connection closes. What the page showed of
    // it stays, as a session that ended: a sign-out mid-batch must not make a key vanish.
    const kept = state.keys.size;
    if (kept > 0) keepEnded();
    keepToken(null);
    state.keys = new Map();
    state.login = { state: 'signed-out' };
    state.queue = { state: 'idle' };
    state.lastAdded = null;
    state.signInError = null;
    state.connection = 'fresh';
    state.notice = m.reason !== 'logged-out' ? m.message : kept > 0 ? text('signedOutKept', kept) : null;
    state.noticeAfterBye = state.notice !== null;
    // The sign-out button goes away with the session: the focus goes to the sign-in form.
    if (m.reason === 'logged-out' && (document.activeElement === el.signOut || document.activeElement === document.body)) {
      focusLater(el.accountName.value ? el.password : el.accountName);
    }
    rebuildTable();
  } else if (m.reason === 'replaced') {
    state.connection = 'stopped';
    state.notice = text('replaced');
  } else if (m.reason === 'too-many-connections') {
    state.notice = text('tooManyConnections'); // the close that follows schedules a retry with backoff
  } else {
    state.notice = m.message; // shutdown: reconnect with backoff; the server may come back
  }
  render();
}

// ---- what the user does ---------------------------------------------------

el.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const accountName = el.accountName.value.trim();
  const password = el.password.value;
  if (!accountName || !password) {
    state.signInError = text('needBoth');
    render();
    (accountName ? el.password : el.accountName).focus();
    return;
  }
  state.signInError = null;
  state.notice = null;
  if (send({ type: 'login', accountName, password })) state.loginSent = true;
  render();
});

el.guardForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = el.guardCode.value.trim();
  if (!/^[A-Za-z0-9]{1,32}$/.test(code)) {
    el.guardMessage.textContent = t('needCode');
    el.guardCode.focus();
    return;
  }
  if (send({ type: 'guard-code', code })) {
    state.guardSent = true;
    state.notice = null;
  }
  render();
});

el.signOut.addEventListener('click', () => send({ type: 'logout' }));

el.language.addEventListener('click', () => {
  state.lang = state.lang === 'en' ? 'zh' : 'en';
  localStorage.setItem(LANG_KEY, state.lang);
  rebuildTable();
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

function redeem() {
  if (el.redeem.disabled) return;
  const id = `add-${++state.requestSeq}`;
  const value = el.keysText.value;
  const active = activeKeys();
  const settled = settledBefore();
  const scan = scanKeys(value, (key) => active.has(key), (key) => settled.has(key));
  // Keys a lost session settled are not sent: then only the text's other matches go
  // (repeats and masks too, for the server to drop and count as it would in the text).
  const matches = scan.dropped['settled-before'] > 0 ? Array.from(value.matchAll(KEY), (match) => match[0]) : [];
  const kept = matches.filter((key) => !settled.has(key.toUpperCase()));
  const toSend = matches.length > 0 ? kept.join(' ') : value;
  // Repeats of those keys, left out here too: the server would have counted them as dropped.
  const repeatsLeftOut = matches.length - kept.length - scan.dropped['settled-before'];
  // The text as it is, or only its keys when it is too large for one message.
  const message = addKeysMessage(id, toSend, KEY, ADD_KEYS_LIMITS);
  if (message === null) {
    state.notice = text('pasteTooLarge'); // nothing sent; the text stays in the box
  } else if (send(message)) {
    state.pendingAdd = { id, text: value, keys: scan.keys, settledBefore: scan.dropped['settled-before'], repeatsLeftOut, closeCode: null };
    state.notice = null;
    // The button disables itself until the server answers: the focus would drop to nowhere.
    if (document.activeElement === el.redeem) focusLater(el.keysText);
  }
  render();
}

el.cancel.addEventListener('click', () => send({ type: 'cancel' }));
el.resume.addEventListener('click', () => send({ type: 'resume' }));

el.exportCsv.addEventListener('click', () => download('csv', toCsv(), 'text/csv;charset=utf-8'));
el.exportJson.addEventListener('click', () => download('json', toJson(), 'application/json'));

// Never-sent keys of a lost session go back in the box (after what is there), for
// the user to redeem: they are safe to send. Unknown ones are left out — they may
// have been activated — but are in "Keys not activated" with the rest.
el.refillNotSent.addEventListener('click', () => {
  const keys = notSent().join('\n');
  const before = el.keysText.value.trimEnd();
  el.keysText.value = before ? `${before}\n${keys}` : keys;
  state.lastAdded = null;
  focusLater(el.keysText);
  render();
});

// The server's rule (lib/steam/results.ts), which `redeem --out` also resumes by.
const FINAL = new Set(FINAL_STATUSES);
const FINAL_FOR_ACCOUNT = new Set(FINAL_FOR_ACCOUNT_STATUSES);

/**
 * The keys of lost sessions that a paste leaves out: Steam's answer to them
 * would be the same, and every failed activation counts against its limit of
 * about 10 an hour. Unknown and never-sent keys go again; so do account-bound
 * refusals while the account of this session is not known or is another.
 */
function settledBefore() {
  const account = state.login.account?.accountName?.toLowerCase();
  const settled = new Set();
  for (const e of state.ended) {
    const status = e.state === 'done' ? e.result?.status : undefined;
    if (FINAL.has(status) || (FINAL_FOR_ACCOUNT.has(status) && account !== undefined && e.account?.toLowerCase() === account)) settled.add(e.key);
  }
  return settled;
}

function notSent() {
  return state.ended.filter((e) => e.state === 'not-sent').map((e) => e.key);
}

el.copyUnused.addEventListener('click', async () => {
  const value = el.unused.value;
  try {
    await navigator.clipboard.writeText(value);
    state.copiedText = text('copied');
  } catch {
    el.unused.select();
    state.copiedText = document.execCommand('copy') ? text('copied') : text('copyFailed');
  }
  render();
});

// ---- drawing ---------------------------------------------------------------

/** Moves the focus to `input` once the next render() has shown it. */
function focusLater(input) {
  state.focus = input;
}

function setText(node, value) {
  if (node.textContent !== value) node.textContent = value;
}

function show(node, visible) {
  node.hidden = !visible;
}

function entries() {
  return [...state.keys.values()].sort((a, b) => a.n - b.n);
}

function render() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const node of document.querySelectorAll('[data-i18n]')) setText(node, t(node.dataset.i18n));
  setText(el.language, t('switchTo'));
  el.language.lang = state.lang === 'en' ? 'zh-CN' : 'en';
  el.language.setAttribute('aria-label', t('switchLabel'));

  renderConnection();
  const online = state.connection === 'online' && state.greeted;
  show(el.notice, state.notice !== null);
  setText(el.notice, words(state.notice));

  const login = state.login;
  const known = state.everGreeted;
  const account = login.account?.accountName;
  show(el.account, login.state === 'signed-in' && account !== undefined);
  setText(el.account, account ? t('signedInAs', account) : '');
  // Also while Steam waits for a guard code: signing out is the way to give up on it.
  show(el.signOut, known && (login.state === 'signed-in' || login.state === 'guard' || login.account !== undefined));
  el.signOut.disabled = !online;

  const guardUp = login.state === 'guard' || (login.state === 'signing-in' && state.guardSent);
  show(el.signIn, known && !guardUp && (login.state === 'signed-out' || login.state === 'signing-in'));
  show(el.guard, known && guardUp);
  const signingIn = login.state === 'signing-in' || state.loginSent;
  el.signInButton.disabled = !online || signingIn;
  if (signingIn && !state.guardSent) setText(el.signInButton, t('signingIn'));
  el.accountName.readOnly = signingIn;
  el.password.readOnly = signingIn;
  show(el.signInError, state.signInError !== null);
  setText(el.signInError, words(state.signInError));
  if (login.state === 'guard') {
    setText(el.guardMessage, words(login.message));
    el.guardMessage.classList.toggle('wrong', login.guard?.lastCodeWrong === true);
  }
  el.guardButton.disabled = !online || state.guardSent;
  if (state.guardSent) setText(el.guardButton, t('checking'));

  renderKeyCount(online);
  renderProgress(online);
  renderUnused();
  show(el.endedSection, state.ended.length > 0);
  show(el.refillNotSent, notSent().length > 0);
  if (state.focus && !state.focus.closest('[hidden]')) state.focus.focus();
  state.focus = null;
}

function renderConnection() {
  const c = state.connection;
  el.connection.dataset.state = c === 'online' ? 'online' : c === 'connecting' || c === 'fresh' ? 'connecting' : 'offline';
  if (c === 'unreachable') {
    setText(el.connection, t('unreachable', Math.max(1, Math.ceil((state.retryAt - Date.now()) / 1000))));
  } else setText(el.connection, t(c === 'fresh' ? 'connecting' : c));
}

/** Keys queued, with Steam or done; a cancelled key may be added again. */
function activeKeys() {
  const active = new Set();
  for (const entry of state.keys.values()) if (entry.state !== 'cancelled') active.add(entry.key);
  return active;
}

function renderKeyCount(online) {
  const value = el.keysText.value;
  const active = activeKeys();
  const settled = settledBefore();
  const { keys, dropped } = scanKeys(value, (key) => active.has(key), (key) => settled.has(key));
  let line = '';
  if (state.lastAdded && !value.trim()) {
    line = t('added', state.lastAdded.added, state.lastAdded.dropped, state.lastAdded.settledBefore);
    if (state.login.state !== 'signed-in' && state.lastAdded.added > 0) line += ` ${t('notSignedInYet', state.lastAdded.added)}`;
  } else if (value.trim()) {
    const parts = [];
    if (dropped['repeated-in-paste']) parts.push(t('droppedRepeated', dropped['repeated-in-paste']));
    if (dropped['already-in-session']) parts.push(t('droppedInSession', dropped['already-in-session']));
    if (dropped.placeholder) parts.push(t('droppedPlaceholder', dropped.placeholder));
    if (dropped['settled-before']) parts.push(t('droppedSettledBefore', dropped['settled-before']));
    line = keys.length || parts.length ? t('found', keys.length) : t('noKeysFound');
    if (parts.length) line += ` · ${t('droppedLabel')}${parts.join(state.lang === 'zh' ? '，' : ', ')}`;
  }
  setText(el.keyCount, line);
  el.keyCount.dataset.found = String(keys.length);
  el.redeem.disabled = !online || keys.length === 0 || state.pendingAdd !== null;
}

function renderProgress(online) {
  const all = entries();
  const cancelled = all.filter((e) => e.state === 'cancelled').length;
  const total = all.length - cancelled;
  const done = all.filter((e) => e.state === 'done').length;
  const inFlight = all.find((e) => e.state === 'redeeming');
  let line = '';
  if (total > 0 && done === total) line = t('allDone', total);
  else if (total > 0) line = t('progress', done, total);
  if (inFlight) line += ` — ${t('inFlight', inFlight.key)}`;
  if (cancelled) line += `${line ? ' · ' : ''}${t('cancelledCount', cancelled)}`;
  setText(el.progress, line);
  el.progress.dataset.done = String(done);
  el.progress.dataset.total = String(total);

  const q = state.queue;
  show(el.queueState, q.state === 'cooldown' || q.state === 'stalled');
  el.queueState.dataset.state = q.state;
  if (q.state === 'cooldown') setText(el.queueMessage, t('cooldown', clock(cooldownLeft())));
  else if (q.state === 'stalled') setText(el.queueMessage, words(q.message));
  show(el.resume, q.state === 'stalled' && q.stalledBy === 'unknown-result');
  el.resume.disabled = !online;
  el.cancel.disabled = !online || !all.some((e) => e.state === 'queued' || e.state === 'waiting');
  show(el.noKeys, all.length === 0);
  show(el.tableWrap, all.length > 0);
  const nothing = all.length === 0 && state.ended.length === 0;
  el.exportCsv.disabled = nothing;
  el.exportJson.disabled = nothing;
}

/**
 * Time left in a cooldown. `resumesAt` is on the server's clock; bounded by
 * the cooldown's length so a skewed clock here cannot show nonsense.
 */
function cooldownLeft() {
  const max = state.settings?.cooldownMs ?? Infinity;
  return Math.min(max, Math.max(0, (state.queue.resumesAt ?? 0) - Date.now()));
}

/**
 * Every key not activated — cancelled, not sent, or done without activating —
 * once, by its latest entry (a lost session's key pasted again speaks through
 * the new session's), and never a key that activated in any of them: this list
 * is what a user may give away.
 */
function notActivated() {
  const all = [...state.ended, ...entries()];
  const activated = new Set(all.filter((e) => e.state === 'done' && e.result?.status === 'activated').map((e) => e.key));
  const latest = new Map();
  for (const e of all) latest.set(e.key, e);
  return [...latest.values()].filter(
    (e) => !activated.has(e.key) && (e.state === 'cancelled' || e.state === 'not-sent' || e.state === 'done'),
  );
}

function renderUnused() {
  const list = notActivated();
  show(el.unusedSection, list.length > 0);
  const value = list.map((e) => e.key).join('\n');
  if (el.unused.value !== value) {
    el.unused.value = value;
    state.copiedText = null;
  }
  setText(el.copied, words(state.copiedText));
}

// ---- the table ---------------------------------------------------------------

const rows = new Map();

function rebuildTable() {
  rows.clear();
  el.results.replaceChildren();
  for (const entry of entries()) updateRow(entry);
  // The lost sessions' keys, numbered in the order shown (two sessions may both have a key 1).
  el.ended.replaceChildren(
    ...state.ended.map((entry, i) => {
      const row = document.createElement('tr');
      drawRow(row, entry, i + 1);
      return row;
    }),
  );
}

/** Draws one key's row, adding it in order if it is new. */
function updateRow(entry) {
  let row = rows.get(entry.n);
  if (!row) {
    row = document.createElement('tr');
    row.dataset.n = String(entry.n);
    // Keys come in order, so this is nearly always an append.
    const last = el.results.lastElementChild;
    let before = null;
    if (last && Number(last.dataset.n) > entry.n) {
      before = [...el.results.children].find((tr) => Number(tr.dataset.n) > entry.n) ?? null;
    }
    el.results.insertBefore(row, before);
    rows.set(entry.n, row);
  }
  drawRow(row, entry, entry.n);
}

// The roles keep the table a table for screen readers where a phone's CSS lays rows out as cards.
function drawRow(row, entry, n) {
  row.setAttribute('role', 'row');
  row.className = entry.state;
  row.dataset.key = entry.key;
  row.dataset.status = statusClass(entry);
  const number = cell('td', String(n));
  const key = cell('td', entry.key, 'key');
  const status = document.createElement('td');
  status.append(cell('span', statusWords(entry), `badge ${statusClass(entry)}`));
  const cells = [number, key, status, details(entry)];
  for (const td of cells) td.setAttribute('role', 'cell');
  row.replaceChildren(...cells);
}

function cell(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

/** What a key that never went to Steam says in place of a result, or null. */
function stateNote(entry) {
  if (entry.state === 'cancelled') return t('cancelledDetail');
  if (entry.state === 'not-sent') return t('notSentDetail');
  return null;
}

function details(entry) {
  const td = document.createElement('td');
  td.className = 'details';
  const result = entry.result;
  const note = stateNote(entry);
  if (note) td.append(cell('span', note));
  if (!result) return td;
  const packages = result.packages ?? [];
  // "Activated: A, B" would repeat the list below it.
  if (!(result.status === 'activated' && packages.length > 0) && entry.state !== 'cancelled') {
    td.append(cell('span', words(result.message)));
  }
  if (packages.length > 0) {
    const list = document.createElement('ul');
    for (const p of packages) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `https://steamdb.info/sub/${encodeURIComponent(p.id)}/`;
      link.textContent = p.name;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      item.append(link, ` (sub ${p.id})`);
      list.append(item);
    }
    td.append(list);
  }
  return td;
}

// ---- export ------------------------------------------------------------------

function csvField(value) {
  const s = String(value ?? '');
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function toCsv() {
  // `session`: "ended" for the keys of a session the server lost, "current" for the rest.
  const header = ['number', 'key', 'state', 'status', 'message', 'packages', 'eresult', 'detail', 'session'];
  const lines = [header.join(',')];
  const line = (e, n, session) => {
    const r = e.result;
    const packages = (r?.packages ?? []).map((p) => `${p.id} ${p.name}`).join('; ');
    const message = stateNote(e) ?? words(r?.message);
    lines.push([n, e.key, e.state, r?.status ?? '', message, packages, r?.eresult ?? '', r?.detail ?? '', session].map(csvField).join(','));
  };
  state.ended.forEach((e, i) => line(e, i + 1, 'ended'));
  for (const e of entries()) line(e, e.n, 'current');
  // RFC 4180 line ends; the byte-order mark lets spreadsheet programs read the UTF-8 (Chinese, ™).
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

function toJson() {
  const account = state.login.account?.accountName ?? null;
  const endedSessionKeys = state.ended;
  return `${JSON.stringify({ exportedAt: new Date().toISOString(), account, keys: entries(), endedSessionKeys }, null, 2)}\n`;
}

function download(extension, content, type) {
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `steam-key-results-${stamp}.${extension}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- start -------------------------------------------------------------------

// Countdowns (cooldown, reconnect) move once a second.
setInterval(() => {
  if (state.queue.state === 'cooldown' || state.connection === 'unreachable') render();
}, 1000);

render();
connect();
