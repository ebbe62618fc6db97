/**
 * The one adapter between the redemption domain and the npm packages
 * steam-user (5.3.0, pinned) and steam-session (1.9.4, the version steam-user
 * runs, pinned): a SteamPort backed by one fresh SteamUser.
 *
 *   const port = createSteamUserPort({ redeemTimeoutMs: 30_000 });
 *   await port.logOn({ accountName, password }, { guard: async (request) => askTheUser(request) });
 *   // or: await port.logOn({ method: 'qr' }, { guard, qrChallenge: (url) => showQr(url), remoteInteraction: () => ... });
 *   const reply = await port.redeemKey('AAAAA-BBBBB-CCCCC');
 *   await port.logOff();
 *
 * Signing in takes two steps: steam-session-sign-in.ts proves the account to
 * Steam (a password and perhaps a code or an approval in the Steam app, or a
 * QR code) and gets a refresh token; steam-user then signs on with
 * `logOn({ refreshToken })`. The token goes straight from one to the other:
 * this file keeps no copy, and at logOff it also clears the one steam-user
 * keeps for reconnecting (see #forgetToken). Nothing here logs.
 *
 * What steam-user does, read in its source (paths under node_modules/steam-user/),
 * and what this file does about it:
 * - Without a `steamGuard` listener it prompts on stdin, without an `error`
 *   listener an error kills the process: both are always attached, for the
 *   life of the SteamUser. (Signing on with a refresh token, Steam asks for
 *   no code; a prompt then fails the sign-in.)
 * - With `autoRelogin: false` a dropped connection or a server-side logoff is
 *   reported as `error` (EResult 3 NoConnection, 6 LoggedInElsewhere, ...), not
 *   as `disconnected` (components/09-logon.js, _handleLogOff); `disconnected`
 *   follows only our own logOff. Both mean "disconnected" here once signed on.
 * - redeemKey() is not used. It parses the receipt inside the message handler,
 *   so an empty receipt throws (binarykvparser reads past the end) out of the
 *   WebSocket's data event: an uncaught exception that ends the whole server
 *   (components/apps.js, redeemKey; test/fake-steam shows it). And its 90 s
 *   timer cannot be cancelled, so it outlives every key we stop waiting for.
 *   Instead the same ClientRegisterKey goes out through steam-user's internal
 *   `_send`, as redeemKey does, with our own timeout and a receipt reader that
 *   cannot throw.
 * - `_send` silently drops a message while not signed on, so the signed-on
 *   state is checked before each key.
 * - steam-user's `debug` events (which carry guard codes) are never listened to.
 */
/// <reference path="./steam-user.d.ts" />
import SteamUser from 'steam-user';
import {
  LoginError,
  RedeemError,
  type AccountInfo,
  type PurchaseReply,
  type SignIn,
  type SignInPrompts,
  type SteamPort,
} from './port.js';
import { receiptPackages } from './receipt.js';
import { EResult, loginErrorFor, SteamSessionSignIn } from './steam-session-sign-in.js';

export interface SteamUserPortOptions {
  /** An HTTP proxy for every connection to Steam, e.g. "http://127.0.0.1:3128" (steam-user's `httpProxy`). */
  httpProxy?: string;
  /** How long to wait for Steam's answer to one key. Default 90 s, steam-user's own limit. */
  redeemTimeoutMs?: number;
  /** How long signing in may take, not counting the wait for a person (a code, a scan, an approval). Default 30 s. */
  logOnTimeoutMs?: number;
  /**
   * How long a person has to scan a QR code and approve it, or to approve a
   * sign-in in the Steam app or type its code. Default 5 minutes
   * (steam-session's own 30 s is too short to find a phone).
   */
  approvalTimeoutMs?: number;
}

const DEFAULT_REDEEM_TIMEOUT_MS = 90_000;
const DEFAULT_LOGON_TIMEOUT_MS = 30_000;
const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** EResult 2 Fail: what a purchase reply without one means. */
const FAIL = 2;

export function createSteamUserPort(options: SteamUserPortOptions = {}): SteamPort {
  return new SteamUserPort(options);
}

type State = 'new' | 'logging-on' | 'ready' | 'logging-off' | 'closed';

/** A sign-in in progress. */
interface Attempt {
  /** The name typed for a password sign-in; for a QR code, the one Steam reports once approved. */
  accountName: string;
  /** Proving the account to Steam; null once steam-user signs on with the token. */
  proof: SteamSessionSignIn | null;
  resolve(info: AccountInfo): void;
  reject(error: LoginError): void;
  timer: NodeJS.Timeout | null;
}

/** A key sent and not yet answered. */
interface Pending {
  timer: NodeJS.Timeout;
  fail(error: RedeemError): void;
}

type DisconnectListener = (info: { eresult: number; message: string }) => void;

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds`);
  return value;
}

class SteamUserPort implements SteamPort {
  readonly #httpProxy: string | undefined;
  readonly #redeemTimeoutMs: number;
  readonly #logOnTimeoutMs: number;
  readonly #approvalTimeoutMs: number;
  #state: State = 'new';
  #user: SteamUser | null = null;
  #attempt: Attempt | null = null;
  readonly #pending = new Set<Pending>();
  readonly #disconnectListeners: DisconnectListener[] = [];
  #loggedOff: Promise<void> | null = null;
  #finishLogOff: (() => void) | null = null;

  constructor(options: SteamUserPortOptions) {
    this.#httpProxy = options.httpProxy;
    this.#redeemTimeoutMs = positiveMs('redeemTimeoutMs', options.redeemTimeoutMs, DEFAULT_REDEEM_TIMEOUT_MS);
    this.#logOnTimeoutMs = positiveMs('logOnTimeoutMs', options.logOnTimeoutMs, DEFAULT_LOGON_TIMEOUT_MS);
    this.#approvalTimeoutMs = positiveMs('approvalTimeoutMs', options.approvalTimeoutMs, DEFAULT_APPROVAL_TIMEOUT_MS);
  }

  get loggedOn(): boolean {
    return this.#state === 'ready';
  }

  logOn(signIn: SignIn, prompts: SignInPrompts): Promise<AccountInfo> {
    if (this.#state !== 'new') {
      return Promise.reject(new Error('logOn() can be called once per SteamPort: make a new port to sign in again'));
    }
    let accountName = '';
    if (signIn?.method !== 'qr') {
      accountName = typeof signIn?.accountName === 'string' ? signIn.accountName.trim() : '';
      // Without an account name Steam would be asked for an anonymous sign-in.
      if (accountName === '' || typeof signIn?.password !== 'string' || signIn.password === '') {
        return Promise.reject(new LoginError('other', 'An account name and a password are required.'));
      }
    }
    if (typeof prompts?.guard !== 'function') return Promise.reject(new TypeError('logOn() needs a guard handler'));

    this.#state = 'logging-on';
    const proof = new SteamSessionSignIn({
      approvalTimeoutMs: this.#approvalTimeoutMs,
      ...(this.#httpProxy ? { httpProxy: this.#httpProxy } : {}),
    });
    return new Promise<AccountInfo>((resolve, reject) => {
      const attempt: Attempt = { accountName, proof, resolve, reject, timer: null };
      this.#attempt = attempt;
      this.#armLogOnTimer();
      // The person may take their time: a code, a scan, an approval is not Steam being slow.
      const waiting = (person: boolean): void => {
        if (this.#attempt !== attempt) return;
        if (person) this.#disarmLogOnTimer();
        else this.#armLogOnTimer();
      };
      proof.run(signIn, prompts, waiting).then(
        ({ accountName: steamName, refreshToken }) => {
          if (this.#attempt !== attempt) return; // ended meanwhile (logOff, timeout)
          if (signIn.method === 'qr') attempt.accountName = steamName;
          attempt.proof = null;
          this.#armLogOnTimer();
          this.#signOn(refreshToken);
        },
        (error: unknown) => {
          if (this.#attempt === attempt) this.#failLogOn(error instanceof LoginError ? error : new LoginError('other', String(error)));
        },
      );
    });
  }

  /** Signs steam-user on with the refresh token Steam just issued; the token is not kept here. */
  #signOn(refreshToken: string): void {
    const user = new SteamUser({
      dataDirectory: null,
      autoRelogin: false,
      protocol: SteamUser.EConnectionProtocol.WebSocket,
      ...(this.#httpProxy ? { httpProxy: this.#httpProxy } : {}),
    });
    this.#user = user;
    user.on('steamGuard', () => this.#onSteamGuard(user));
    user.on('loggedOn', (details) => this.#onLoggedOn(user, details));
    user.on('error', (error) => this.#onError(user, error));
    user.on('disconnected', (eresult, message) => this.#onDisconnected(user, eresult, message));
    user.logOn({ refreshToken });
  }

  redeemKey(key: string): Promise<PurchaseReply> {
    if (typeof key !== 'string' || key.trim() === '') return Promise.reject(new TypeError('redeemKey() needs a key'));
    const user = this.#user;
    // _send drops messages while not signed on: they would only time out later.
    if (this.#state !== 'ready' || !user?.steamID) {
      return Promise.reject(new RedeemError('not-logged-on', 'Not signed in to Steam: the key was not sent.'));
    }
    return new Promise<PurchaseReply>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(pending.timer);
        this.#pending.delete(pending);
      };
      const pending: Pending = {
        timer: setTimeout(() => {
          settle();
          const seconds = Math.round(this.#redeemTimeoutMs / 100) / 10;
          reject(new RedeemError('timeout', `Steam did not answer within ${seconds} s: the key may or may not have been activated.`));
        }, this.#redeemTimeoutMs),
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      this.#pending.add(pending);
      // What redeemKey sends (components/apps.js); the reply is matched by job id.
      user._send(SteamUser.EMsg.ClientRegisterKey, { key: key.trim() }, (body) => {
        if (!this.#pending.has(pending)) return; // answered after we gave up on it
        settle();
        resolve(purchaseReply(body));
      });
    });
  }

  logOff(): Promise<void> {
    switch (this.#state) {
      case 'new':
        this.#state = 'closed';
        return Promise.resolve();
      case 'logging-on':
        this.#failLogOn(new LoginError('cancelled', 'Signed off before the sign-in finished.'));
        return Promise.resolve();
      case 'logging-off':
        return this.#loggedOff ?? Promise.resolve();
      case 'closed':
        return Promise.resolve();
      case 'ready':
        break;
    }
    this.#state = 'logging-off';
    this.#failPending('Signed off while waiting for an answer: the key may or may not have been activated.');
    this.#loggedOff = new Promise<void>((resolve) => (this.#finishLogOff = resolve));
    // Sends ClientLogOff; `disconnected` follows when Steam closes the
    // connection, or after 4 s at most (09-logon.js, _disconnect).
    this.#user?.logOff();
    return this.#loggedOff;
  }

  onDisconnected(listener: DisconnectListener): void {
    this.#disconnectListeners.push(listener);
  }

  // ---- steam-user events --------------------------------------------------

  /** Steam accepted the token and still asks for a code: nothing a person could type now would help. */
  #onSteamGuard(user: SteamUser): void {
    if (this.#state !== 'logging-on' || user !== this.#user) return;
    this.#failLogOn(new LoginError('other', 'Steam asked for a Steam Guard code after the sign-in was approved.'));
  }

  #onLoggedOn(user: SteamUser, details: SteamUser.LogOnResponse): void {
    const attempt = this.#attempt;
    if (this.#state !== 'logging-on' || !attempt || user !== this.#user || !user.steamID) {
      // A SteamUser we gave up on got signed in after all: sign it off.
      forgetToken(user);
      user.logOff();
      return;
    }
    this.#endAttempt();
    this.#state = 'ready';
    const country = details.ip_country_code;
    attempt.resolve({
      accountName: attempt.accountName,
      steamId: user.steamID.getSteamID64(),
      ...(country ? { country } : {}),
    });
  }

  #onError(user: SteamUser, error: SteamUser.SteamUserError): void {
    if (user !== this.#user) return; // one we let go of: listening keeps it from crashing the process
    if (this.#state === 'logging-on') this.#failLogOn(loginErrorFor(typeof error.eresult === 'number' ? error.eresult : undefined, error.message));
    else if (this.#state === 'ready') this.#dropped(error.eresult ?? EResult.NoConnection, error.message);
    else if (this.#state === 'logging-off') this.#loggedOffNow();
  }

  #onDisconnected(user: SteamUser, eresult: number, message: string): void {
    if (user !== this.#user) return;
    if (this.#state === 'logging-off') this.#loggedOffNow();
    else if (this.#state === 'ready') this.#dropped(eresult, message);
  }

  // ---- transitions --------------------------------------------------------

  #failLogOn(error: LoginError): void {
    const attempt = this.#attempt;
    this.#endAttempt();
    this.#state = 'closed';
    attempt?.proof?.cancel();
    const user = this.#user;
    this.#user = null;
    if (user) {
      forgetToken(user); // it holds the refresh token until it signs on: let both go
      user.logOff(); // cancels its reconnect timers (02-connection.js, _cleanupClosedConnection)
    }
    attempt?.reject(error);
  }

  /** Steam dropped a signed-in connection. */
  #dropped(eresult: number, message: string): void {
    this.#state = 'closed';
    if (this.#user) forgetToken(this.#user);
    this.#user = null;
    this.#failPending('The connection to Steam dropped while waiting for an answer: the key may or may not have been activated.');
    const info = { eresult, message };
    // Outside steam-user's event dispatch, so a throwing listener cannot upset it.
    for (const listener of this.#disconnectListeners) queueMicrotask(() => listener(info));
  }

  #loggedOffNow(): void {
    this.#state = 'closed';
    if (this.#user) forgetToken(this.#user);
    this.#user = null;
    this.#finishLogOff?.();
    this.#finishLogOff = null;
  }

  #failPending(message: string): void {
    for (const pending of [...this.#pending]) pending.fail(new RedeemError('disconnected', message));
  }

  #armLogOnTimer(): void {
    const attempt = this.#attempt;
    if (!attempt) return;
    this.#disarmLogOnTimer();
    // steam-user retries unreachable servers on its own, indefinitely for the CM.
    attempt.timer = setTimeout(() => {
      const seconds = Math.round(this.#logOnTimeoutMs / 100) / 10;
      this.#failLogOn(new LoginError('unreachable', `Steam did not complete the sign-in within ${seconds} s.`));
    }, this.#logOnTimeoutMs);
  }

  #disarmLogOnTimer(): void {
    const attempt = this.#attempt;
    if (attempt?.timer) clearTimeout(attempt.timer);
    if (attempt) attempt.timer = null;
  }

  #endAttempt(): void {
    this.#disarmLogOnTimer();
    this.#attempt = null;
  }
}

/**
 * Clears what steam-user keeps of the refresh token to sign on again
 * (`_logOnDetails.access_token`, 09-logon.js) and what its own LoginSession
 * keeps after fetching web cookies (`_loginSession`, 03-messages.js): with
 * autoRelogin off it never signs on again, and the token must not outlive
 * the sign-in in memory. Internals of steam-user 5.3.0, as typed in
 * steam-user.d.ts.
 */
function forgetToken(user: SteamUser): void {
  if (user._logOnDetails) delete user._logOnDetails.access_token;
  const session = user._loginSession;
  if (session) {
    session.refreshToken = '';
    session.accessToken = '';
  }
}

/** Steam's answer to one key, as the port reports it. */
function purchaseReply(body: SteamUser.PurchaseResponse): PurchaseReply {
  return {
    eresult: typeof body.eresult === 'number' ? body.eresult : FAIL,
    detail: typeof body.purchase_result_details === 'number' ? body.purchase_result_details : 0,
    packages: receiptPackages(body.purchase_receipt_info),
  };
}
