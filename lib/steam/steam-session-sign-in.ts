/**
 * Proving the account to Steam with steam-session's LoginSession (1.9.4,
 * pinned, the version steam-user 5.3.0 runs), as the Steam client does: a
 * password (then perhaps a Steam Guard code, or an approval in the Steam
 * mobile app, whichever comes first), or a QR code that the Steam app scans
 * and approves. What comes out is a refresh token; steam-user-port.ts signs
 * on with it. Only the adapter side imports steam-session (DESIGN.md).
 *
 * Why not steam-user's own password sign-in: it cancels the attempt as soon
 * as Steam offers a code (components/09-logon.js, "Technically we could just
 * wait for a device approval"), so an approval in the app could never count.
 *
 * What steam-session 1.9.4 does, read in its source (node_modules/steam-session/src/),
 * and what this file does about it:
 * - A LoginSession made for the SteamClient platform talks to a CM over its
 *   own WebSocket (transports/WebSocketCMTransport.ts) through `httpProxy`,
 *   and closes it 2 s after the attempt ends (AuthenticationClient.close);
 *   this file closes it at once (stopTransport).
 * - Its constructor hands its `debug` event to the `debug` package, and it
 *   emits the whole poll reply there, tokens included (LoginSession._doPoll:
 *   'poll response'), and the typed code ('submitting steam guard code'):
 *   with DEBUG=steam-session:* they would reach stderr. That listener is
 *   removed at once; ours reads one field and keeps nothing.
 * - It reads `new_client_id` from a poll reply but not `new_challenge_url`,
 *   which it shows only in that same debug event: that is where a changed QR
 *   challenge is seen.
 * - `loginTimeout` (30 s by default) counts from the first poll, which for a
 *   QR code or an approval in the app starts at once: it is raised to
 *   `approvalTimeoutMs`, time for a person to find their phone.
 * - A denial in the app and an expired attempt both end polling with an
 *   `error` of EResult 9 (FileNotFound). Only a person who opened the prompt
 *   in the app can deny it, and Steam reports that (`had_remote_interaction`,
 *   the `remoteInteraction` event): 9 before any remote interaction is an
 *   expiry; after one it is taken as a denial (it may also be a prompt opened
 *   and then left until it expired: Steam does not say which).
 * - Its CM transport retries forever after a failed connection: websocket13
 *   keeps the connect timer of a WebSocket that already failed, and its
 *   'timeout' handler connects again, with a delay that doubles up to 10 s
 *   (WebSocketCMTransport._connectToCM; seen against an unreachable CM). So an
 *   ended attempt also makes its transport inert (see stopTransport), or
 *   every sign-in that found Steam unreachable would leave a loop behind.
 * - cancelLoginAttempt() while startWithQR/startWithCredentials is still
 *   waiting for Steam is undone when Steam answers (_processStartSessionResponse
 *   sets _pollingCanceled back to false and polls): it is called again then.
 * - Once `authenticated`, the session's copies of the refresh and access
 *   tokens are cleared (their setters take an empty value) and the session
 *   dropped: only the refresh token handed to the caller remains.
 */
import { EAuthSessionGuardType, EAuthTokenPlatformType, LoginSession } from 'steam-session';
import { LoginError, type GuardRequest, type SignIn, type SignInPrompts } from './port.js';

export interface SteamSessionSignInOptions {
  /** An HTTP proxy for the connection to Steam, e.g. "http://127.0.0.1:3128". */
  httpProxy?: string;
  /** How long to wait for a person: a QR code to be scanned and approved, or an approval or code after the password. */
  approvalTimeoutMs: number;
  /** Wrong Steam Guard codes accepted before the sign-in fails ('guard-failed'). */
  maxWrongCodes?: number;
}

/**
 * Steam's proof that the person signed in: what steam-user needs to sign on.
 * `refreshToken` signs in as the account for months: pass it on, never keep,
 * log or print it.
 */
export interface SteamProof {
  /** The account name Steam reports (for a QR code, the only way to learn it). */
  accountName: string;
  /** SteamID64 as a decimal string. */
  steamId: string;
  refreshToken: string;
}

/** Tells the caller when the sign-in waits for a person (a code, a scan, an approval) rather than for Steam. */
export type WaitingForPerson = (waiting: boolean) => void;

/** EResult values this file names (steam-session's enums-steam/EResult.ts). */
export const EResult = {
  NoConnection: 3,
  InvalidPassword: 5,
  FileNotFound: 9,
  InvalidLoginAuthCode: 65,
  RateLimitExceeded: 84,
  AccountLoginDeniedThrottle: 87,
  TwoFactorCodeMismatch: 88,
} as const;

const DEFAULT_MAX_WRONG_CODES = 5;
/** The name Steam shows with the approval prompt in the app ("a sign-in from …"), instead of a made-up DESKTOP-XXXXXXX. */
const DEVICE_NAME = 'steam-key';

/** What a failed sign-in means to the person signing in, from Steam's EResult (undefined: Steam was not reached). */
export function loginErrorFor(eresult: number | undefined, message: string): LoginError {
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
      // No EResult: no server list, the proxy or the connection failed, or a request timed out.
      return new LoginError('unreachable', `Could not reach Steam: ${message}`);
    default:
      return new LoginError('other', `Steam refused the sign-in: ${message} (EResult ${eresult}).`, eresult);
  }
}

function eresultOf(error: unknown): number | undefined {
  const value = (error as { eresult?: unknown } | null)?.eresult;
  return typeof value === 'number' ? value : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One sign-in attempt with one LoginSession. */
export class SteamSessionSignIn {
  readonly #httpProxy: string | undefined;
  readonly #approvalTimeoutMs: number;
  readonly #maxWrongCodes: number;
  #session: LoginSession | null = null;
  #settled = false;
  /** The prompt was opened in the Steam app (a QR code scanned, an approval prompt viewed). */
  #remoteInteraction = false;
  #challengeUrl: string | null = null;
  #resolve: (proof: SteamProof) => void = () => {};
  #reject: (error: LoginError) => void = () => {};

  constructor(options: SteamSessionSignInOptions) {
    this.#httpProxy = options.httpProxy;
    this.#approvalTimeoutMs = options.approvalTimeoutMs;
    this.#maxWrongCodes = options.maxWrongCodes ?? DEFAULT_MAX_WRONG_CODES;
  }

  /**
   * Proves the account to Steam. Rejects with LoginError. `waiting` is told
   * when the attempt waits for a person and when it waits for Steam again.
   * Call once.
   */
  run(signIn: SignIn, prompts: SignInPrompts, waiting: WaitingForPerson): Promise<SteamProof> {
    if (this.#session || this.#settled) return Promise.reject(new Error('run() can be called once'));
    return new Promise<SteamProof>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      let session: LoginSession;
      try {
        session = this.#open(prompts);
      } catch (error) {
        this.#fail(new LoginError('other', `Could not start the sign-in: ${messageOf(error)}`));
        return;
      }
      if (signIn.method === 'qr') {
        session.startWithQR().then(
          (start) => {
            if (this.#settled) return end(session); // starting again undid an earlier cancel
            if (!start.qrChallengeUrl) return this.#fail(new LoginError('other', 'Steam sent no QR code.'));
            waiting(true);
            this.#challenge(start.qrChallengeUrl, prompts);
          },
          (error: unknown) => this.#fail(loginErrorFor(eresultOf(error), messageOf(error))),
        );
        return;
      }
      session.startWithCredentials({ accountName: signIn.accountName.trim(), password: signIn.password }).then(
        (start) => {
          if (this.#settled) return end(session); // starting again undid an earlier cancel
          if (!start.actionRequired) return; // Steam is polled, and `authenticated` follows
          void this.#steamGuard(session, start.validActions ?? [], prompts, waiting);
        },
        (error: unknown) => this.#fail(loginErrorFor(eresultOf(error), messageOf(error))),
      );
    });
  }

  /** Abandons the attempt: polling stops, and a pending run() rejects with 'cancelled'. */
  cancel(reason = 'Signed off before the sign-in finished.'): void {
    this.#fail(new LoginError('cancelled', reason));
  }

  #open(prompts: SignInPrompts): LoginSession {
    const session = new LoginSession(EAuthTokenPlatformType.SteamClient, {
      ...(this.#httpProxy ? { httpProxy: this.#httpProxy } : {}),
      machineFriendlyName: DEVICE_NAME,
    });
    this.#session = session;
    // Its own listener prints poll replies, tokens and all, under DEBUG=steam-session:* (see above).
    session.removeAllListeners('debug');
    session.on('debug', (what: unknown, detail: unknown) => {
      if (what !== 'poll response' || typeof detail !== 'object' || detail === null) return;
      const url = (detail as { newChallengeUrl?: unknown }).newChallengeUrl;
      if (typeof url === 'string' && url !== '' && this.#challengeUrl !== null) this.#challenge(url, prompts);
    });
    session.loginTimeout = this.#approvalTimeoutMs;
    session.on('remoteInteraction', () => {
      if (this.#settled) return;
      this.#remoteInteraction = true;
      prompts.remoteInteraction?.();
    });
    session.on('authenticated', () => this.#authenticated(session));
    session.on('timeout', () => this.#fail(new LoginError('expired', 'The sign-in was not approved in time.')));
    session.on('error', (error: unknown) => this.#fail(this.#pollError(error)));
    return session;
  }

  /** A (new) QR challenge to show; the same URL again is no change. */
  #challenge(url: string, prompts: SignInPrompts): void {
    if (this.#settled || url === this.#challengeUrl) return;
    this.#challengeUrl = url;
    prompts.qrChallenge?.(url);
  }

  /**
   * Steam wants a code, or an approval in the app, or offers both: asks for
   * the code (saying when an approval also counts) while Steam is polled for
   * the approval; whichever comes first signs in, the other is dropped.
   */
  async #steamGuard(
    session: LoginSession,
    actions: { type: EAuthSessionGuardType; detail?: string }[],
    prompts: SignInPrompts,
    waiting: WaitingForPerson,
  ): Promise<void> {
    const has = (type: EAuthSessionGuardType): boolean => actions.some((a) => a.type === type);
    const email = actions.find((a) => a.type === EAuthSessionGuardType.EmailCode);
    const approvable = has(EAuthSessionGuardType.DeviceConfirmation);
    const codes = email !== undefined || has(EAuthSessionGuardType.DeviceCode);
    if (!codes && !approvable) {
      // Only EmailConfirmation (a link in an e-mail): nothing the person can do through steam-key.
      return this.#fail(new LoginError('other', 'Steam asks to confirm this sign-in from a link it e-mailed, which steam-key cannot show.'));
    }
    const request: GuardRequest = {
      kind: email ? 'email' : 'authenticator',
      lastCodeWrong: false,
      ...(email?.detail ? { domain: email.detail } : {}),
      ...(approvable ? { approvable: true } : {}),
    };
    for (let wrong = 0; ; ) {
      waiting(true);
      let code: string;
      try {
        code = await prompts.guard({ ...request, lastCodeWrong: wrong > 0 });
      } catch {
        return this.#fail(new LoginError('cancelled', 'The Steam Guard prompt was abandoned.'));
      }
      if (this.#settled) return; // approved in the app (or cancelled) while the code was awaited
      if (typeof code !== 'string') return this.#fail(new LoginError('other', 'A Steam Guard code must be text.'));
      // Steam's codes are upper-case letters and digits (the authenticator's alphabet is
      // 23456789BCDFGHJKMNPQRTVWXY, e-mailed codes likewise); a phone keyboard types lower case.
      const typed = code.trim().toUpperCase();
      waiting(false);
      if (!codes) {
        // Approval only: Steam takes no code for this attempt, so a typed one cannot be right.
        wrong++;
        continue;
      }
      try {
        await session.submitSteamGuardCode(typed); // polling follows: `authenticated`
        return;
      } catch (error) {
        if (this.#settled) return;
        const eresult = eresultOf(error);
        // No such sign-in waiting at Steam any more: approved in the app meanwhile, or denied or
        // expired there. Polling goes on and tells which; the code does not matter now.
        if (approvable && eresult === EResult.FileNotFound) return;
        if (eresult !== EResult.InvalidLoginAuthCode && eresult !== EResult.TwoFactorCodeMismatch) {
          return this.#fail(loginErrorFor(eresult, messageOf(error)));
        }
        wrong++;
        if (wrong >= this.#maxWrongCodes) return this.#fail(loginErrorFor(eresult, messageOf(error)));
      }
    }
  }

  #authenticated(session: LoginSession): void {
    if (this.#settled) return;
    const refreshToken = session.refreshToken;
    const steamId = session.steamID?.getSteamID64();
    const accountName = session.accountName;
    // The session's own copies: steam-session's setters take an empty value and keep no other.
    session.refreshToken = '';
    session.accessToken = '';
    if (!refreshToken || !steamId) return this.#fail(new LoginError('other', 'Steam approved the sign-in but sent no token.'));
    this.#settled = true;
    this.#session = null;
    stopTransport(session); // its work is done: close its connection now, not 2 s later beside steam-user's
    this.#resolve({ accountName: accountName ?? '', steamId, refreshToken });
  }

  /** An `error` while polling: see the note on EResult 9 above. */
  #pollError(error: unknown): LoginError {
    const eresult = eresultOf(error);
    if (eresult === EResult.FileNotFound) {
      return this.#remoteInteraction
        ? new LoginError('denied', 'The sign-in was refused in the Steam app.', eresult)
        : new LoginError('expired', 'The sign-in was not approved in time.', eresult);
    }
    return loginErrorFor(eresult, messageOf(error));
  }

  #fail(error: LoginError): void {
    if (this.#settled) return;
    this.#settled = true;
    const session = this.#session;
    this.#session = null;
    if (session) end(session);
    this.#reject(error);
  }
}

/** Stops polling and the connection to Steam of an attempt that failed or was abandoned. */
function end(session: LoginSession): void {
  session.cancelLoginAttempt(); // stops polling; its connection would close 2 s later
  stopTransport(session);
}

/** The parts of steam-session 1.9.4's WebSocketCMTransport that stopTransport touches (private there). */
interface CmTransport {
  _connectToCM?: () => Promise<void>;
  _websocket?: { setTimeout?(ms: number): void } | null;
  close?(): void;
}

/**
 * Makes the attempt's CM transport inert: no more connecting (its retry loop
 * calls `_connectToCM` again from a stale timer, see above), the pending
 * connect timer cleared, an open connection closed now. Internals of
 * steam-session 1.9.4 (LoginSession._handler._transport); if they are not
 * there, nothing is done.
 */
function stopTransport(session: LoginSession): void {
  // Private fields of LoginSession and AuthenticationClient: typed here, not by the package.
  const transport = (session as unknown as { _handler?: { _transport?: CmTransport } })._handler?._transport;
  if (!transport || typeof transport._connectToCM !== 'function') return;
  transport._connectToCM = () => Promise.reject(new Error('this sign-in has ended'));
  transport._websocket?.setTimeout?.(0);
  transport.close?.();
}
