/**
 * The part of steam-user 5.3.0 that lib/steam/steam-user-port.ts uses, typed
 * from its source (steam-user ships no types). Only that adapter may import it.
 */
declare module 'steam-user' {
  import { EventEmitter } from 'node:events';

  namespace SteamUser {
    interface Options {
      /** null: keep nothing on disk (index.js: no FileManager is made). */
      dataDirectory?: string | null;
      autoRelogin?: boolean;
      protocol?: number;
      httpProxy?: string | null;
    }

    /** A refresh token from steam-session (SteamClient platform) alone: the adapter signs on only this way. */
    interface LogOnDetails {
      refreshToken: string;
    }

    interface SteamID {
      getSteamID64(): string;
    }

    /** CMsgClientLogonResponse as steam-user decodes it (defaults become null). */
    interface LogOnResponse {
      eresult: number;
      ip_country_code?: string | null;
    }

    /** CMsgClientPurchaseResponse as steam-user decodes it (defaults become null). */
    interface PurchaseResponse {
      eresult?: number | null;
      purchase_result_details?: number | null;
      purchase_receipt_info?: Buffer | null;
    }

    /** The errors steam-user emits carry Steam's EResult when Steam gave one. */
    interface SteamUserError extends Error {
      eresult?: number;
    }
  }

  class SteamUser extends EventEmitter {
    constructor(options?: SteamUser.Options);

    /** Set while signed on (from the ClientLogOnResponse header); null otherwise. */
    steamID: SteamUser.SteamID | null;

    /** Starts signing on; the outcome arrives as a `loggedOn` or `error` event. */
    logOn(details: SteamUser.LogOnDetails): void;
    logOff(): void;

    /**
     * Internal (components/09-logon.js): what logOn() was given, kept to sign
     * on again; `access_token` is the refresh token. Cleared by the adapter
     * once it is no longer needed.
     */
    _logOnDetails?: { access_token?: string };

    /**
     * Internal (components/03-messages.js, _getLoginSession): steam-session's
     * LoginSession that webLogOn() gives the refresh token to; its setters
     * take an empty value to forget a token.
     */
    _loginSession?: { refreshToken: string; accessToken: string };

    /**
     * Internal (components/03-messages.js): encodes and sends one message; the
     * callback gets the decoded reply whose header names this job. Messages are
     * dropped silently while not signed on.
     */
    _send(emsg: number, body: object, callback?: (body: SteamUser.PurchaseResponse) => void): void;

    on(event: 'loggedOn', listener: (details: SteamUser.LogOnResponse) => void): this;
    on(
      event: 'steamGuard',
      listener: (domain: string | null, callback: (code: string) => void, lastCodeWrong: boolean) => void,
    ): this;
    on(event: 'error', listener: (error: SteamUser.SteamUserError) => void): this;
    on(event: 'disconnected', listener: (eresult: number, message: string) => void): this;

    static readonly EConnectionProtocol: { readonly Auto: 0; readonly TCP: 1; readonly WebSocket: 2 };
    static readonly EMsg: { readonly ClientRegisterKey: number; readonly [name: string]: number | string };
    static readonly EResult: { readonly [nameOrValue: string]: number | string };
  }

  export = SteamUser;
}
