// Draws the page from its state (app.js): the sign-in, the paste box, the
// live batch, the record's table and counts, and the keys not activated.
// Reads the state, changes nothing in it but the focus to move.
import { clock, outcomeWords, pick, say, statusWords } from './i18n.js';
import { LeftoversView } from './leftovers-view.js';
import { addedLine, foundLine } from './paste.js';
import { drawQr } from './qr.js';
import { leftovers, outcomes } from './record.js';
import { ResultsTable } from './table.js';

export const $ = (id) => document.getElementById(id);
export const el = {
  connection: $('connection'),
  account: $('account'),
  signOut: $('sign-out'),
  language: $('language'),
  notice: $('notice'),
  noticeText: $('notice-text'),
  noticeAction: $('notice-action'),
  signOutAsk: $('sign-out-ask'),
  signOutAskText: $('sign-out-ask-text'),
  signOutYes: $('sign-out-yes'),
  signOutNo: $('sign-out-no'),
  signIn: $('sign-in'),
  signInForm: $('sign-in-form'),
  accountName: $('account-name'),
  password: $('password'),
  signInError: $('sign-in-error'),
  signInButton: $('sign-in-button'),
  qrBox: $('qr-box'),
  qrMessage: $('qr-message'),
  qrScan: $('qr-scan'),
  qrCode: $('qr-code'),
  qrLink: $('qr-link'),
  qrStart: $('qr-start'),
  qrCancel: $('qr-cancel'),
  guardApprove: $('guard-approve'),
  guard: $('guard'),
  guardForm: $('guard-form'),
  guardMessage: $('guard-message'),
  guardCode: $('guard-code'),
  guardButton: $('guard-button'),
  guardCancel: $('guard-cancel'),
  keysText: $('keys-text'),
  keyCount: $('key-count'),
  heldDigits: $('held-digits'),
  heldUnknown: $('held-unknown'),
  sendDigits: $('send-digits'),
  sendUnknown: $('send-unknown'),
  redeem: $('redeem'),
  cancel: $('cancel'),
  progress: $('progress'),
  queueState: $('queue-state'),
  queueMessage: $('queue-message'),
  resume: $('resume'),
  announce: $('announce'),
  summary: $('summary'),
  results: document.querySelector('#results tbody'),
  noKeys: $('no-keys'),
  tableWrap: document.querySelector('#progress-section .table-wrap'),
  exportCsv: $('export-csv'),
  exportJson: $('export-json'),
  storageFull: $('storage-full'),
  otherAccounts: $('other-accounts'),
  forget: $('forget'),
  forgetAsk: $('forget-ask'),
  forgetAskText: $('forget-ask-text'),
  forgetYes: $('forget-yes'),
  forgetNo: $('forget-no'),
  refill: $('refill'),
  sendChecked: $('send-checked'),
};

/** What a key that never went to Steam says in place of a result, or null. */
export function stateNote(lang, row) {
  if (row.state === 'cancelled') return say(lang, 'cancelledDetail');
  if (row.state === 'not-sent') return say(lang, 'notSentDetail');
  return null;
}

/** The session's keys, in order. */
export function entries(state) {
  return [...state.keys.values()].sort((a, b) => a.n - b.n);
}

/** Keys of the session not yet answered: queued, waiting or with Steam. */
export function waitingKeys(state) {
  return [...state.keys.values()].filter((e) => e.state === 'queued' || e.state === 'waiting' || e.state === 'redeeming');
}

function setText(node, value) {
  if (node.textContent !== value) node.textContent = value;
}

function show(node, visible) {
  node.hidden = !visible;
}

/**
 * The page's drawing, for `page`: { state, link, record, rows(), account(),
 * scan(value) } (app.js).
 */
export function createView(page) {
  const { state, link, record } = page;
  const t = (name, ...args) => say(state.lang, name, ...args);
  const words = (message) => pick(state.lang, message);
  const table = new ResultsTable(el.results, {
    lang: () => state.lang,
    t,
    pick: words,
    status: (row) => statusWords(state.lang, row),
    note: (row) => stateNote(state.lang, row),
  });
  const leftoversView = new LeftoversView($('left-section'), () => render());
  /** The field to focus after the next render. */
  let focus = null;
  /** The challenge URL the QR code on the page holds: it is drawn again only when Steam changes it. */
  let drawnUrl = null;
  /**
   * A button that had the focus when it was disabled — the connection dropped
   * and is coming back — which the browser then moves to the body: it gets it
   * back once enabled, unless the user has put the focus somewhere meanwhile.
   */
  let dropped = null;

  function render() {
    const had = document.activeElement;
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    for (const node of document.querySelectorAll('[data-i18n]')) setText(node, t(node.dataset.i18n));
    setText(el.language, t('switchTo'));
    el.language.lang = state.lang === 'en' ? 'zh-CN' : 'en';
    el.language.setAttribute('aria-label', t('switchLabel'));

    renderConnection();
    const online = link.online;
    show(el.notice, state.notice !== null);
    setText(el.noticeText, words(state.notice));
    show(el.noticeAction, state.notice !== null && state.noticeAction !== null);
    if (state.noticeAction) setText(el.noticeAction, t(state.noticeAction === 'reload' ? 'reload' : 'reconnectHere'));

    renderSignIn(online);
    const rows = page.rows();
    renderPaste(online);
    renderProgress(online);
    renderRecord(rows);
    renderLeftovers(rows);
    if (focus && !focus.closest('[hidden]') && !focus.disabled) {
      focus.focus();
      dropped = null;
    } else if (had instanceof HTMLButtonElement && had.disabled && !had.closest('[hidden]')) {
      dropped = had;
    } else if (dropped && (!dropped.disabled || dropped.closest('[hidden]'))) {
      const lost = document.activeElement === null || document.activeElement === document.body;
      if (lost && !dropped.closest('[hidden]')) dropped.focus();
      dropped = null;
    }
    focus = null;
  }

  function renderConnection() {
    const c = link.state;
    el.connection.dataset.state = c === 'online' ? 'online' : c === 'connecting' ? 'connecting' : 'offline';
    if (c === 'unreachable') setText(el.connection, t('unreachable', Math.max(1, Math.ceil((link.retryAt - Date.now()) / 1000))));
    else setText(el.connection, t(c));
  }

  function renderSignIn(online) {
    const login = state.login;
    const known = state.everGreeted;
    const account = login.account?.accountName;
    show(el.account, login.state === 'signed-in' && account !== undefined);
    setText(el.account, account ? t('signedInAs', account) : '');
    // Signed in, or bound to an account Steam dropped: signing out ends the session. A guard prompt has its own way back.
    show(el.signOut, known && (login.state === 'signed-in' || (login.state === 'signed-out' && account !== undefined)));
    el.signOut.disabled = !online;
    show(el.signOutAsk, state.asking === 'sign-out');
    if (state.asking === 'sign-out') setText(el.signOutAskText, t('signOutAsk', waitingKeys(state).filter((e) => e.state !== 'redeeming').length));
    el.signOutYes.disabled = !online;

    const guardUp = login.state === 'guard' || (login.state === 'signing-in' && state.guardSent);
    show(el.signIn, known && !guardUp && (login.state === 'signed-out' || login.state === 'signing-in' || login.state === 'qr'));
    show(el.guard, known && guardUp);
    const signingIn = login.state === 'signing-in' || state.loginId !== null;
    renderQr(online, signingIn);
    el.signInButton.disabled = !online || signingIn;
    if (signingIn && !state.guardSent && !state.qrStarting) setText(el.signInButton, t('signingIn'));
    el.accountName.readOnly = signingIn;
    el.password.readOnly = signingIn;
    show(el.signInError, state.signInError !== null);
    setText(el.signInError, words(state.signInError));
    if (login.state === 'guard') {
      setText(el.guardMessage, words(login.message));
      el.guardMessage.classList.toggle('wrong', login.guard?.lastCodeWrong === true);
    }
    // A password sign-in Steam lets the app approve: the code or the approval, whichever comes first.
    const approvable = login.state === 'guard' && login.guard?.approvable === true;
    show(el.guardApprove, approvable);
    if (approvable) setText(el.guardApprove, t(login.guard.scanned ? 'approveOpened' : 'approveWaiting'));
    el.guardButton.disabled = !online || state.guardSent;
    el.guardCancel.disabled = !online;
    if (state.guardSent) setText(el.guardButton, t('checking'));
  }

  /**
   * The QR sign-in: a button that asks for a code, then the code (redrawn
   * whenever Steam changes it), the link it holds as its text alternative, and
   * once the app has scanned it only what to do next.
   */
  function renderQr(online, signingIn) {
    const login = state.login;
    const qr = login.state === 'qr' ? login.qr : undefined;
    show(el.qrBox, qr !== undefined);
    if (qr) {
      setText(el.qrMessage, words(login.message));
      if (drawnUrl !== qr.url) {
        drawQr(el.qrCode, qr.url);
        drawnUrl = qr.url;
        el.qrLink.href = qr.url;
        setText(el.qrLink, qr.url);
      }
      el.qrBox.dataset.scanned = String(qr.scanned);
      show(el.qrScan, !qr.scanned);
    } else drawnUrl = null;
    show(el.qrStart, qr === undefined);
    el.qrStart.disabled = !online || signingIn || state.qrStarting;
    setText(el.qrStart, t(state.qrStarting ? 'qrStarting' : state.qrEnded ? 'qrAgain' : 'qrStart'));
    show(el.qrCancel, qr !== undefined);
    el.qrCancel.disabled = !online;
  }

  function renderPaste(online) {
    const value = el.keysText.value;
    const scan = page.scan(value);
    let line = '';
    if (state.lastAdded && !value.trim()) {
      // "Once you sign in" only while keys of it still wait for one.
      const waiting = state.login.state !== 'signed-in' && entries(state).some((e) => e.state === 'queued');
      line = addedLine(state.lang, state.lastAdded, state.held, waiting);
    } else if (value.trim()) line = foundLine(state.lang, scan);
    setText(el.keyCount, line);
    el.keyCount.dataset.found = String(scan.keys.length);
    const held = scan.held.digits.length + scan.held.unknown.length;
    el.redeem.disabled = !online || (scan.keys.length === 0 && held === 0) || state.pendingAdd !== null;
    renderHeld(el.heldDigits, state.held.digits, online);
    renderHeld(el.heldUnknown, state.held.unknown, online);
  }

  function renderHeld(box, keys, online) {
    show(box, keys.length > 0);
    setText(box.querySelector('.keys'), keys.join(' '));
    box.querySelector('button').disabled = !online || state.pendingAdd !== null;
  }

  function renderProgress(online) {
    const all = entries(state);
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
    const stalled = q.state === 'stalled';
    // "Sign in to send the queued keys" only while keys are queued (a signed-out session may have none).
    const holds = q.state === 'cooldown' || (stalled && (q.stalledBy !== 'signed-out' || all.some((e) => e.state === 'queued' || e.state === 'waiting')));
    show(el.queueState, holds);
    el.queueState.dataset.state = q.state;
    if (q.state === 'cooldown') {
      const left = cooldownLeft();
      setText(el.queueMessage, t('cooldown', clock(left), Date.now() + left));
    } else if (stalled) setText(el.queueMessage, words(q.message));
    show(el.resume, stalled && q.stalledBy === 'unknown-result');
    el.resume.disabled = !online;
    el.cancel.disabled = !online || !all.some((e) => e.state === 'queued' || e.state === 'waiting');
  }

  /**
   * Time left in a cooldown. `resumesAt` is on the server's clock; bounded by
   * the cooldown's length so a skewed clock here cannot show nonsense.
   */
  function cooldownLeft() {
    const max = state.settings?.cooldownMs ?? Infinity;
    return Math.min(max, Math.max(0, (state.queue.resumesAt ?? 0) - Date.now()));
  }

  /** The record: the table, the counts of distinct keys, the downloads, what is kept and the way to forget it. */
  function renderRecord(rows) {
    table.draw(rows);
    show(el.noKeys, rows.length === 0);
    show(el.tableWrap, rows.length > 0);
    const counts = outcomes(rows);
    const parts = Object.entries(counts).map(([outcome, n]) => `${n}${state.lang === 'zh' ? ' 个' : ' '}${outcomeWords(state.lang, outcome)}`);
    setText(el.summary, rows.length ? t('summary', rows.length, parts) : '');
    el.summary.dataset.total = String(rows.length);
    el.exportCsv.disabled = rows.length === 0;
    el.exportJson.disabled = rows.length === 0;
    show(el.storageFull, record.full);
    const others = record.otherAccounts(page.account());
    show(el.otherAccounts, others.length > 0);
    setText(el.otherAccounts, others.length ? t('otherAccounts', others) : '');
    el.forget.disabled = rows.length === 0 && record.all().length === 0 && state.token === null;
    show(el.forgetAsk, state.asking === 'forget');
    if (state.asking === 'forget') setText(el.forgetAskText, t('forgetAsk', record.all().length, state.login.state === 'signed-in' && link.online));
  }

  function renderLeftovers(rows) {
    const groups = leftovers(rows);
    leftoversView.draw(groups, state.lang);
    el.refill.disabled = groups.notSent.length === 0;
    el.sendChecked.disabled = !link.online || state.pendingAdd !== null;
  }

  return {
    render,
    /** Moves the focus to `input` once the next render() has shown it. */
    focusLater(input) {
      focus = input;
    },
    /** The number a key has in the table. */
    numberOf: (key) => table.numberOf(key),
  };
}
