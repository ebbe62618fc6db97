/**
 * The one adapter between the redemption domain and the npm package
 * steam-user (5.3.0, pinned): a SteamPort backed by one fresh SteamUser.
 *
 *   const port = createSteamUserPort({ redeemTimeoutMs: 30_000 });
 *   await port.logOn({ accountName, password }, { guard: async (request) => askTheUser(request) });
 *   const reply = await port.redeemKey('AAAAA-BBBBB-CCCCC');
 *   await port.logOff();
 *
 * What steam-user does, read in its source (paths under node_modules/steam-user/),
 * and what this file does about it:
 * - Without a `steamGuard` listener it prompts on stdin, without an `error`
 *   listener an error kills the process: both are always attached, for the
 *   life of the SteamUser.
 * - With `autoRelogin: false` a dropped connection or a server-side logoff is
 *   reported as `error` (EResult 3 NoConnection, 6 LoggedInElsewhere, ...), not
 *   as `disconnected` (components/09-logon.js, _handleLogOff); `disconnected`
 *   follows only our own logOff. Both mean "disconnected" here once signed on.
 * - It reports `lastCodeWrong` only for authenticator codes; a wrong e-mail
 *   code just brings a new e-mail prompt (09-logon.js, _handleLogOnResponse),
 *   so a second prompt of one kind is reported as a wrong code.
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
 * Nothing here logs, and steam-user's `debug` events (which carry guard codes)
 * are never listened to.
 */
/// <reference path="./steam-user.d.ts" />
import SteamUser from 'steam-user';
import {
  LoginError,
  RedeemError,
  type AccountInfo,
  type GuardHandler,
  type GuardRequest,
  type PurchaseReply,
  type SignIn,
  type SignInPrompts,
  type SteamPort,
} from './port.js';
import { receiptPackages } from './receipt.js';

export interface SteamUserPortOptions {
  /** An HTTP proxy for every connection to Steam, e.g. "http://127.0.0.1:3128" (steam-user's `httpProxy`). */
  httpProxy?: string;
  /** How long to wait for Steam's answer to one key. Default 90 s, steam-user's own limit. */
  redeemTimeoutMs?: number;
  /** How long signing in may take, not counting the wait for a guard code. Default 30 s. */
  logOnTimeoutMs?: number;
}

const DEFAULT_REDEEM_TIMEOUT_MS = 90_000;
const DEFAULT_LOGON_TIMEOUT_MS = 30_000;

/** EResult values this file names. */
const EResult = {
  Fail: 2,
  NoConnection: 3,
  InvalidPassword: 5,
  InvalidLoginAuthCode: 65,
  RateLimitExceeded: 84,
  AccountLoginDeniedThrottle: 87,
  TwoFactorCodeMismatch: 88,
} as const;

export function createSteamUserPort(options: SteamUserPortOptions = {}): SteamPort {
  return new SteamUserPort(options);
}

type State = 'new' | 'logging-on' | 'ready' | 'logging-off' | 'closed';

/** A sign-in in progress. */
interface Attempt {
  accountName: string;
  guard: GuardHandler;
  resolve(info: AccountInfo): void;
  reject(error: LoginError): void;
  timer: NodeJS.Timeout | null;
  /** The kinds of guard code already given in this sign-in. */
  answered: Set<GuardRequest['kind']>;
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
  }

  get loggedOn(): boolean {
    return this.#state === 'ready';
  }

  logOn(signIn: SignIn, prompts: SignInPrompts): Promise<AccountInfo> {
    if (this.#state !== 'new') {
      return Promise.reject(new Error('logOn() can be called once per SteamPort: make a new port to sign in again'));
    }
    if (signIn?.method === 'qr') return Promise.reject(new LoginError('other', 'QR sign-in is not supported yet.'));
    const credentials = signIn;
    const guard = prompts?.guard;
    const accountName = typeof credentials?.accountName === 'string' ? credentials.accountName.trim() : '';
    const password = credentials?.password;
    // Without an account name steam-user would sign in anonymously.
    if (accountName === '' || typeof password !== 'string' || password === '') {
      return Promise.reject(new LoginError('other', 'An account name and a password are required.'));
    }
    if (typeof guard !== 'function') return Promise.reject(new TypeError('logOn() needs a guard handler'));

    this.#state = 'logging-on';
    const user = new SteamUser({
      dataDirectory: null,
      autoRelogin: false,
      protocol: SteamUser.EConnectionProtocol.WebSocket,
      ...(this.#httpProxy ? { httpProxy: this.#httpProxy } : {}),
    });
    this.#user = user;
    user.on('steamGuard', (domain, callback, lastCodeWrong) => this.#onSteamGuard(domain, callback, lastCodeWrong));
    user.on('loggedOn', (details) => this.#onLoggedOn(user, details));
    user.on('error', (error) => this.#onError(error));
    user.on('disconnected', (eresult, message) => this.#onDisconnected(eresult, message));

    return new Promise<AccountInfo>((resolve, reject) => {
      this.#attempt = { accountName, guard, resolve, reject, timer: null, answered: new Set() };
      this.#armLogOnTimer();
      user.logOn({ accountName, password });
    });
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

  #onSteamGuard(domain: string | null, callback: (code: string) => void, lastCodeWrong: boolean): void {
    const attempt = this.#attempt;
    // Never answered: steam-user has already closed its connection before asking.
    if (this.#state !== 'logging-on' || !attempt) return;
    this.#disarmLogOnTimer(); // the user may take their time to find the code
    const kind = domain ? 'email' : 'authenticator';
    const request: GuardRequest = {
      kind,
      lastCodeWrong: lastCodeWrong || attempt.answered.has(kind),
      ...(domain ? { domain } : {}),
    };
    Promise.resolve()
      .then(() => attempt.guard(request))
      .then(
        (code) => {
          if (this.#attempt !== attempt) return; // the sign-in ended meanwhile
          if (typeof code !== 'string') throw new TypeError('a guard code must be a string');
          attempt.answered.add(kind);
          this.#armLogOnTimer();
          // Steam's codes are upper-case letters and digits (the authenticator's alphabet is
          // 23456789BCDFGHJKMNPQRTVWXY, e-mailed codes likewise); a phone keyboard types lower case.
          callback(code.trim().toUpperCase()); // steam-user connects again and sends the code
        },
      )
      .catch(() => {
        if (this.#attempt === attempt) this.#failLogOn(new LoginError('cancelled', 'The Steam Guard prompt was abandoned.'));
      });
  }

  #onLoggedOn(user: SteamUser, details: SteamUser.LogOnResponse): void {
    const attempt = this.#attempt;
    if (this.#state !== 'logging-on' || !attempt || user !== this.#user || !user.steamID) {
      // A SteamUser we gave up on got signed in after all (its own retry timers): sign it off.
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

  #onError(error: SteamUser.SteamUserError): void {
    if (this.#state === 'logging-on') this.#failLogOn(loginError(error));
    else if (this.#state === 'ready') this.#dropped(error.eresult ?? EResult.NoConnection, error.message);
    else if (this.#state === 'logging-off') this.#loggedOffNow();
    // 'closed': nothing waits for it; listening keeps it from crashing the process.
  }

  #onDisconnected(eresult: number, message: string): void {
    if (this.#state === 'logging-off') this.#loggedOffNow();
    else if (this.#state === 'ready') this.#dropped(eresult, message);
  }

  // ---- transitions --------------------------------------------------------

  #failLogOn(error: LoginError): void {
    const attempt = this.#attempt;
    this.#endAttempt();
    this.#state = 'closed';
    const user = this.#user;
    this.#user = null; // steam-user still holds the password until it signs in: let it go
    user?.logOff(); // cancels its reconnect timers (02-connection.js, _cleanupClosedConnection)
    attempt?.reject(error);
  }

  /** Steam dropped a signed-in connection. */
  #dropped(eresult: number, message: string): void {
    this.#state = 'closed';
    this.#user = null;
    this.#failPending('The connection to Steam dropped while waiting for an answer: the key may or may not have been activated.');
    const info = { eresult, message };
    // Outside steam-user's event dispatch, so a throwing listener cannot upset it.
    for (const listener of this.#disconnectListeners) queueMicrotask(() => listener(info));
  }

  #loggedOffNow(): void {
    this.#state = 'closed';
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

/** What a sign-in error means to the person signing in. */
function loginError(error: SteamUser.SteamUserError): LoginError {
  const eresult = typeof error.eresult === 'number' ? error.eresult : undefined;
  switch (eresult) {
    case EResult.InvalidPassword:
      return new LoginError('invalid-password', 'Steam did not accept the account name or password.', eresult);
    case EResult.RateLimitExceeded:
      return new LoginError(
        'rate-limited',
        'Too many sign-in attempts from this server: Steam refuses them for a while (30 minutes or more).',
        eresult,
      );
    case EResult.AccountLoginDeniedThrottle:
      return new LoginError('throttled', 'Steam is holding back sign-ins to this account: try again later.', eresult);
    case EResult.InvalidLoginAuthCode:
    case EResult.TwoFactorCodeMismatch:
      return new LoginError('guard-failed', 'Steam did not accept the Steam Guard code.', eresult);
    case undefined:
      // No EResult: no server list, or the proxy/connection failed.
      return new LoginError('unreachable', `Could not reach Steam: ${error.message}`);
    default:
      return new LoginError('other', `Steam refused the sign-in: ${error.message} (EResult ${eresult}).`, eresult);
  }
}

/** Steam's answer to one key, as the port reports it. */
function purchaseReply(body: SteamUser.PurchaseResponse): PurchaseReply {
  return {
    eresult: typeof body.eresult === 'number' ? body.eresult : EResult.Fail,
    detail: typeof body.purchase_result_details === 'number' ? body.purchase_result_details : 0,
    packages: receiptPackages(body.purchase_receipt_info),
  };
}
