/**
 * The port between the redemption domain and Steam. Everything in lib/steam
 * depends on this interface; exactly one adapter implements it with the npm
 * package steam-user, and a simulated Steam implements it for `--demo` and
 * for tests. One SteamPort instance serves one sign-in (steam-user allows one
 * logOn per SteamUser).
 */

export interface Credentials {
  /** The account name used to sign in (not the profile's display name). */
  accountName: string;
  password: string;
}

/**
 * How a person proves the account to Steam: the password (then perhaps a
 * Steam Guard code, or an approval in the Steam mobile app), or a QR code
 * scanned and approved in the Steam mobile app, so the password never
 * reaches this server. `method` may be left out for a password.
 */
export type SignIn = (Credentials & { method?: 'password' }) | { method: 'qr' };

/** Steam asks for a Steam Guard code. */
export interface GuardRequest {
  /** 'email': a code mailed to an address at `domain`; 'authenticator': the mobile app's code. */
  kind: 'email' | 'authenticator';
  /** The e-mail domain (e.g. "gmail.com") when kind is 'email'. */
  domain?: string;
  /** True when Steam rejected the previous code. */
  lastCodeWrong: boolean;
  /**
   * True when Steam also takes an approval of this sign-in in the Steam
   * mobile app: the sign-in may then complete while the code is still awaited
   * (the port stops waiting for it).
   */
  approvable?: boolean;
  /** With `approvable`: the prompt was opened in the Steam app (set by the session, not by ports). */
  scanned?: boolean;
}

/** Answers a guard request with the code the user typed; rejecting abandons the sign-in. */
export type GuardHandler = (request: GuardRequest) => Promise<string>;

/** What a sign-in may need from the person signing in. */
export interface SignInPrompts {
  /** Steam wants a Steam Guard code. */
  guard: GuardHandler;
  /** QR sign-in: the challenge URL to show as a QR code; called again whenever Steam changes it. */
  qrChallenge?(url: string): void;
  /** The QR code was scanned (or the prompt opened) in the Steam app: an approval is awaited there. */
  remoteInteraction?(): void;
}

export interface AccountInfo {
  accountName: string;
  /** SteamID64 as a decimal string. */
  steamId: string;
  /** Two-letter country code, when Steam told us. */
  country?: string;
}

/** Why a sign-in failed, in the terms a person acts on. */
export type LoginFailure =
  | 'invalid-password' // EResult 5 InvalidPassword
  | 'rate-limited' // EResult 84 RateLimitExceeded: too many attempts from this address, wait 30+ minutes
  | 'throttled' // EResult 87 AccountLoginDeniedThrottle
  | 'guard-failed' // EResult 88 TwoFactorCodeMismatch / 65 InvalidLoginAuthCode when not retried
  | 'unreachable' // no connection to Steam
  | 'cancelled' // the guard prompt was abandoned or logOff() was called during sign-in
  | 'denied' // the sign-in was refused in the Steam mobile app
  | 'expired' // the QR code or the approval was not used in time
  | 'other';

export class LoginError extends Error {
  override name = 'LoginError';
  constructor(
    readonly reason: LoginFailure,
    message: string,
    /** Steam's EResult, when it gave one. */
    readonly eresult?: number,
  ) {
    super(message);
  }
}

/** Steam's answer to one key: what the session maps to a status. */
export interface PurchaseReply {
  /** EResult: 1 OK; failures are usually 2 Fail with a detail code. */
  eresult: number;
  /** EPurchaseResultDetail (0 NoDetail on success). */
  detail: number;
  /** Every package the key grants (or concerns), with its name. */
  packages: { id: number; name: string }[];
}

/** Why a key got no answer. Either way it may or may not have been activated. */
export type RedeemFailure =
  | 'timeout' // Steam did not answer in time
  | 'disconnected' // the connection to Steam dropped while waiting
  | 'not-logged-on'; // checked before sending: nothing was sent

export class RedeemError extends Error {
  override name = 'RedeemError';
  constructor(
    readonly reason: RedeemFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface SteamPort {
  /** Signs in, asking `prompts` for what Steam wants (a code, a QR code to show). Rejects with LoginError. */
  logOn(signIn: SignIn, prompts: SignInPrompts): Promise<AccountInfo>;
  /** Redeems one key. Resolves with Steam's answer, failures included; rejects with RedeemError. */
  redeemKey(key: string): Promise<PurchaseReply>;
  /** Signs out and releases the connection. Safe to call at any time, more than once. */
  logOff(): Promise<void>;
  /** True between a successful logOn and a disconnect or logOff. */
  readonly loggedOn: boolean;
  /** Called when Steam drops a signed-in connection (not after logOff). */
  onDisconnected(listener: (info: { eresult: number; message: string }) => void): void;
}

/** Makes a fresh port for each sign-in. */
export type SteamPortFactory = () => SteamPort;
