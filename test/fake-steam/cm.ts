/**
 * The fake connection manager: what happens on one `/cmsocket/` WebSocket.
 * It answers the messages steam-user 5.3.0 and steam-session 1.9.4 send to
 * sign in (Authentication service calls with a password or for a QR code —
 * steam-app.ts keeps those sessions and the test-side Steam app —, then
 * ClientLogon with the refresh token) and to redeem keys (ClientRegisterKey),
 * as scripted in the shared FakeWorld.
 */
import { constants, generateKeyPairSync, privateDecrypt, randomBytes, randomInt, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Channel } from '../../lib/websocket/index.js';
import { decodeProto, EMsg, emsgName, encodeMessage, encodeProto, JOBID_NONE, parseMessage, proto, type CmMessage, type Header } from './messages.js';
import { encodeReceipt, type FakePackage } from './receipt.js';
import { AuthSessions, FakeSteamApp, GuardType, type AppEvent } from './steam-app.js';

/** How a guarded account asks for a code, and which codes it accepts. */
export type FakeGuard =
  | { type: 'none' }
  | { type: 'email'; domain: string; codes: string[] }
  /** `approvable`: Steam also offers an approval in the Steam app (DeviceConfirmation), which test code gives through `app`. */
  | { type: 'authenticator'; codes: string[]; approvable?: boolean };

export interface FakeAccount {
  /** The sign-in name (matched case-insensitively, as Steam does). */
  accountName: string;
  password: string;
  /** Default: no Steam Guard. */
  guard?: FakeGuard;
  /**
   * Refuse every sign-in of this account with this EResult once the password
   * is checked: 84 RateLimitExceeded, 87 AccountLoginDeniedThrottle, ...
   */
  loginResult?: number;
  /** SteamID64; default one made up from the account's position. */
  steamId?: string;
  /** Two-letter country the sign-in reports. Default "US". */
  country?: string;
}

/** Steam's answer to one key: EResult (default 1 without a detail, else 2 Fail), detail code, packages. */
export interface KeyAnswer {
  eresult?: number;
  detail?: number;
  packages?: FakePackage[];
  /** Send the answer with an empty receipt (steam-user's redeemKey crashes on it). */
  emptyReceipt?: boolean;
  /** Answer this many milliseconds late (e.g. after the client gave up waiting); default at once. */
  delayMs?: number;
}

/**
 * One scripted answer to a key: an answer, no answer at all, the connection
 * dropped on receipt, or 'hold': no answer until the test gives one
 * (answerHeld), so it can act while the key is with Steam.
 */
export type KeyStep = KeyAnswer | 'no-answer' | 'drop' | 'hold';

/**
 * A scripted key: one step for every time it is sent, or a list of steps
 * taken in turn, the last repeated (e.g. RateLimited once, then activated:
 * Steam lifts its limit after a while).
 */
export type KeyScript = KeyStep | readonly KeyStep[];

/** Something the fake saw, for tests to assert on. Never holds a password or code. */
export type FakeEvent =
  | { type: 'proxy-connect'; target: string; allowed: boolean }
  | { type: 'http'; method: string; path: string }
  | { type: 'cm-open' }
  | { type: 'cm-closed' }
  | { type: 'message'; emsg: string; job?: string }
  | { type: 'auth'; accountName: string; eresult: number }
  /** BeginAuthSessionViaQR: a QR code to show. */
  | { type: 'auth-qr' }
  /** A poll got the refresh and access tokens: one per sign-in proved. */
  | { type: 'tokens'; accountName: string }
  | AppEvent
  | { type: 'guard-code'; accountName: string; kind: 'email' | 'authenticator'; accepted: boolean }
  | { type: 'logon'; accountName: string; eresult: number }
  | { type: 'register-key'; key: string; answer: 'answered' | 'no-answer' | 'drop' | 'hold' }
  /** A key scripted with delayMs got its answer sent now. */
  | { type: 'late-answer'; key: string }
  | { type: 'logoff'; accountName: string }
  | { type: 'unsupported'; what: string };

interface CmConnection {
  channel: Channel;
  socket: Socket;
  account: FakeAccount | null;
  steamId: string;
  sessionId: number;
}

/** SteamID64 of the first individual account in the public universe; accounts count up from it. */
const INDIVIDUAL_BASE = 76561197960265728n;

const EResult = {
  OK: 1,
  Fail: 2,
  InvalidPassword: 5,
  InvalidParam: 8,
  FileNotFound: 9, // also a denied or expired sign-in, as Steam answers both
  AccessDenied: 15,
  InvalidLoginAuthCode: 65,
  TwoFactorCodeMismatch: 88,
} as const;

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** A JWT-shaped token: steam-user and steam-session decode the payload but cannot check the signature. */
function token(payload: Record<string, unknown>): string {
  return [base64url(JSON.stringify({ typ: 'JWT', alg: 'EdDSA' })), base64url(JSON.stringify(payload)), base64url(randomBytes(64))].join('.');
}

function randomUint64(): string {
  return randomBytes(8).readBigUInt64LE(0).toString();
}

/** One key as it reached the fake: from which account, and when (epoch ms). */
export interface TallyEntry {
  accountName: string;
  key: string;
  at: number;
}

/** State shared by every connection: accounts, key scripts, issued tokens, the event log. */
export class FakeWorld {
  readonly accounts = new Map<string, FakeAccount>();
  readonly keys = new Map<string, KeyScript>();
  /** How often each key has been sent, to walk its list of steps. */
  readonly #sent = new Map<string, number>();
  unknownKey: KeyScript = { detail: 14 }; // BadActivationCode
  /** False: the connection stays open after ClientLogOff, so steam-user waits out its own 4 s. */
  closeOnLogOff = true;
  readonly log: FakeEvent[] = [];
  readonly connections = new Set<CmConnection>();
  #keyWaiters: { key: string; resolve: () => void }[] = [];
  /** Every ClientRegisterKey from a signed-in client, in order: what a test counts to catch a key sent twice. */
  readonly tally: TallyEntry[] = [];
  /** Keys scripted 'hold' that wait for answerHeld(). */
  readonly #held = new Map<string, (answer: KeyAnswer) => void>();
  readonly #steamIds = new Map<FakeAccount, string>();
  /** Authentication sessions in progress (password or QR). */
  readonly auth = new AuthSessions((event) => this.record(event));
  /** The test-side Steam mobile app: scans, approves, denies (steam-app.ts). */
  readonly app = new FakeSteamApp(this.auth, (name) => this.accounts.get(name.toLowerCase()));
  readonly #refreshTokens = new Map<string, FakeAccount>();
  /** Every refresh and access token handed out, for tests that look for them where they must not be. */
  readonly issuedTokens: string[] = [];
  readonly #rsa: { privateKey: KeyObject; modulusHex: string; exponentHex: string; timestamp: string };

  constructor() {
    // The password arrives RSA-encrypted with a key the server hands out.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' });
    this.#rsa = {
      privateKey,
      modulusHex: Buffer.from(jwk.n!, 'base64url').toString('hex'),
      exponentHex: Buffer.from(jwk.e!, 'base64url').toString('hex'),
      timestamp: String(Date.now() * 1000),
    };
  }

  addAccount(account: FakeAccount): void {
    this.accounts.set(account.accountName.toLowerCase(), account);
    if (!this.#steamIds.has(account)) {
      this.#steamIds.set(account, account.steamId ?? String(INDIVIDUAL_BASE + 1000n + BigInt(this.#steamIds.size)));
    }
  }

  steamIdOf(account: FakeAccount): string {
    return this.#steamIds.get(account)!;
  }

  /** The keys that reached the fake, in order. */
  get keysReceived(): string[] {
    return this.log.flatMap((event) => (event.type === 'register-key' ? [event.key] : []));
  }

  /** Resolves once `key` has reached the fake (at once if it has). */
  keyReceived(key: string): Promise<void> {
    if (this.keysReceived.includes(key)) return Promise.resolve();
    return new Promise((resolve) => this.#keyWaiters.push({ key, resolve }));
  }

  record(event: FakeEvent): void {
    this.log.push(event);
    if (event.type !== 'register-key') return;
    for (const waiter of this.#keyWaiters.filter((w) => w.key === event.key)) waiter.resolve();
    this.#keyWaiters = this.#keyWaiters.filter((w) => w.key !== event.key);
  }

  // ---- one connection -----------------------------------------------------

  async serve(channel: Channel, request: IncomingMessage): Promise<void> {
    const connection: CmConnection = { channel, socket: request.socket as Socket, account: null, steamId: '0', sessionId: 0 };
    this.connections.add(connection);
    this.record({ type: 'cm-open' });
    try {
      for await (const data of channel) {
        if (typeof data === 'string') {
          this.record({ type: 'unsupported', what: 'a text message' });
          channel.close(1003, 'binary messages only');
          break;
        }
        let message: CmMessage;
        try {
          message = parseMessage(data);
        } catch (error) {
          this.record({ type: 'unsupported', what: (error as Error).message });
          channel.close(1002, 'bad CM message');
          break;
        }
        this.#handle(connection, message);
      }
    } finally {
      this.connections.delete(connection);
      this.record({ type: 'cm-closed' });
    }
  }

  #handle(connection: CmConnection, message: CmMessage): void {
    const job = message.header.target_job_name;
    this.record({ type: 'message', emsg: emsgName(message.emsg), ...(job ? { job } : {}) });
    switch (message.emsg) {
      case EMsg.ServiceMethodCallFromClientNonAuthed:
      case EMsg.ServiceMethodCallFromClient:
        return this.#serviceCall(connection, message);
      case EMsg.ClientLogon:
        return this.#logon(connection, message);
      case EMsg.ClientRegisterKey:
        return this.#registerKey(connection, message);
      case EMsg.ClientLogOff:
        if (connection.account) this.record({ type: 'logoff', accountName: connection.account.accountName });
        connection.account = null;
        if (this.closeOnLogOff) connection.channel.close(); // Steam ends the connection after a logoff
        return;
      case EMsg.ClientHello:
      case EMsg.ClientHeartBeat:
      default:
        return; // nothing to answer (item announcements, notifications, ...)
    }
  }

  /** Sends a reply to `request`: same job, and the signed-in pair when there is one. */
  #reply(connection: CmConnection, request: CmMessage, emsg: number, header: Header, body: Buffer): void {
    const full: Header = {
      jobid_source: JOBID_NONE,
      jobid_target: request.header.jobid_source ?? JOBID_NONE,
      ...(connection.account ? { steamid: connection.steamId, client_sessionid: connection.sessionId } : {}),
      ...header,
    };
    void connection.channel.send(encodeMessage(emsg, full, body));
  }

  // ---- Authentication service --------------------------------------------

  #serviceCall(connection: CmConnection, message: CmMessage): void {
    const method = message.header.target_job_name ?? '';
    const service = SERVICES[method];
    if (!service) {
      this.record({ type: 'unsupported', what: `service method ${method}` });
      this.#reply(connection, message, EMsg.ServiceMethodResponse, { target_job_name: method, eresult: EResult.Fail }, Buffer.alloc(0));
      return;
    }
    const request = decodeProto(proto(service.request), message.body);
    const { eresult, body } = service.handle(this, request);
    // Service replies must name the method, or steam-user drops them; auth replies carry no session.
    this.#reply(
      connection,
      message,
      EMsg.ServiceMethodResponse,
      { target_job_name: method, eresult, ...(connection.account ? {} : { steamid: '0', client_sessionid: 0 }) },
      eresult === EResult.OK ? encodeProto(proto(service.response), body ?? {}) : Buffer.alloc(0),
    );
  }

  rsaKey(): Record<string, unknown> {
    return { publickey_mod: this.#rsa.modulusHex, publickey_exp: this.#rsa.exponentHex, timestamp: this.#rsa.timestamp };
  }

  /** RSA with PKCS#1 v1.5 padding, which Node 20 no longer decrypts: decrypt raw and strip it by hand. */
  decryptPassword(encryptedBase64: string): string | null {
    try {
      const size = this.#rsa.modulusHex.length / 2;
      const cipher = Buffer.from(encryptedBase64, 'base64');
      const padded = Buffer.concat([Buffer.alloc(Math.max(0, size - cipher.length)), cipher]);
      const block = privateDecrypt({ key: this.#rsa.privateKey, padding: constants.RSA_NO_PADDING }, padded);
      // 0x00 0x02 <non-zero random bytes> 0x00 <message>
      if (block[0] !== 0 || block[1] !== 2) return null;
      const separator = block.indexOf(0, 2);
      return separator < 0 ? null : block.subarray(separator + 1).toString('utf8');
    } catch {
      return null;
    }
  }

  beginAuth(request: Record<string, unknown>): { eresult: number; body?: Record<string, unknown> } {
    const accountName = String(request['account_name'] ?? '');
    const account = this.accounts.get(accountName.toLowerCase());
    const password = this.decryptPassword(String(request['encrypted_password'] ?? ''));
    // Steam answers InvalidPassword for an unknown account too.
    let eresult: number = !account || password !== account.password ? EResult.InvalidPassword : EResult.OK;
    if (account?.loginResult !== undefined) eresult = account.loginResult;
    this.record({ type: 'auth', accountName, eresult });
    if (eresult !== EResult.OK || !account) return { eresult };

    const guard = account.guard ?? { type: 'none' };
    const approvable = guard.type === 'authenticator' && guard.approvable === true;
    const { clientId, session } = this.auth.begin('password', account, approvable, guard.type === 'none');
    const confirmations =
      guard.type === 'email'
        ? [{ confirmation_type: GuardType.EmailCode, associated_message: guard.domain }]
        : guard.type === 'authenticator'
          ? [{ confirmation_type: GuardType.DeviceCode }, ...(approvable ? [{ confirmation_type: GuardType.DeviceConfirmation }] : [])]
          : [{ confirmation_type: GuardType.None }];
    return {
      eresult,
      body: {
        client_id: clientId,
        request_id: session.requestId,
        interval: 0.1,
        allowed_confirmations: confirmations,
        steamid: this.steamIdOf(account),
      },
    };
  }

  /** A QR code to show: approved (or denied) by whichever account's app scans it. */
  beginQr(): { eresult: number; body: Record<string, unknown> } {
    const { clientId, session } = this.auth.begin('qr', null, true);
    this.record({ type: 'auth-qr' });
    return {
      eresult: EResult.OK,
      body: {
        client_id: clientId,
        challenge_url: session.challengeUrl,
        request_id: session.requestId,
        interval: 0.1,
        allowed_confirmations: [{ confirmation_type: GuardType.DeviceConfirmation }],
        version: 1,
      },
    };
  }

  submitGuardCode(request: Record<string, unknown>): { eresult: number } {
    const session = this.auth.get(String(request['client_id']));
    if (!session || session.state !== 'waiting' || !session.account) return { eresult: EResult.FileNotFound };
    const guard = session.account.guard ?? { type: 'none' };
    const kind = request['code_type'] === GuardType.EmailCode ? 'email' : 'authenticator';
    if (guard.type !== kind) return { eresult: EResult.InvalidParam };
    const accepted = guard.codes.includes(String(request['code'] ?? ''));
    this.record({ type: 'guard-code', accountName: session.account.accountName, kind, accepted });
    if (!accepted) return { eresult: kind === 'email' ? EResult.InvalidLoginAuthCode : EResult.TwoFactorCodeMismatch };
    session.state = 'approved';
    return { eresult: EResult.OK };
  }

  poll(request: Record<string, unknown>): { eresult: number; body?: Record<string, unknown> } {
    const outcome = this.auth.poll(String(request['client_id']), request['request_id']);
    if (outcome.state === 'unknown' || outcome.state === 'denied' || outcome.state === 'expired') return { eresult: EResult.FileNotFound };
    if (outcome.state === 'waiting') {
      // Not yet: the client polls again.
      return {
        eresult: EResult.OK,
        body: {
          had_remote_interaction: outcome.remoteInteraction,
          ...(outcome.newChallengeUrl ? { new_client_id: outcome.newClientId, new_challenge_url: outcome.newChallengeUrl } : {}),
        },
      };
    }
    const account = outcome.account;
    const steamId = this.steamIdOf(account);
    this.record({ type: 'tokens', accountName: account.accountName });
    const now = Math.floor(Date.now() / 1000);
    const jti = randomUint64();
    // steam-user requires a refresh token whose audience includes "client" and "derive".
    const refreshToken = token({
      iss: 'steam',
      sub: steamId,
      aud: ['client', 'web', 'derive'],
      exp: now + 200 * 86400,
      nbf: now,
      iat: now,
      jti,
      oat: now,
      per: 1,
    });
    this.#refreshTokens.set(refreshToken, account);
    const accessToken = this.accessToken(steamId, jti);
    this.issuedTokens.push(refreshToken, accessToken);
    return {
      eresult: EResult.OK,
      body: { refresh_token: refreshToken, access_token: accessToken, account_name: account.accountName },
    };
  }

  accessToken(steamId: string, refreshJti: string): string {
    const now = Math.floor(Date.now() / 1000);
    return token({ iss: `r:${refreshJti}`, sub: steamId, aud: ['client', 'web'], exp: now + 86400, nbf: now, iat: now, jti: randomUint64(), oat: now, per: 0 });
  }

  generateAccessToken(request: Record<string, unknown>): { eresult: number; body?: Record<string, unknown> } {
    const account = this.#refreshTokens.get(String(request['refresh_token'] ?? ''));
    if (!account) return { eresult: EResult.AccessDenied };
    const accessToken = this.accessToken(this.steamIdOf(account), randomUint64());
    this.issuedTokens.push(accessToken);
    return { eresult: EResult.OK, body: { access_token: accessToken } };
  }

  // ---- signing on, keys ---------------------------------------------------

  #logon(connection: CmConnection, message: CmMessage): void {
    const logon = decodeProto(proto('CMsgClientLogon'), message.body);
    const account = this.#refreshTokens.get(String(logon['access_token'] ?? ''));
    const response = proto('CMsgClientLogonResponse');
    if (!account) {
      this.record({ type: 'logon', accountName: String(logon['account_name'] ?? ''), eresult: EResult.AccessDenied });
      this.#reply(connection, message, EMsg.ClientLogOnResponse, {}, encodeProto(response, { eresult: EResult.AccessDenied }));
      return;
    }
    connection.account = account;
    connection.steamId = this.steamIdOf(account);
    connection.sessionId = randomInt(1, 2 ** 31 - 1);
    this.record({ type: 'logon', accountName: account.accountName, eresult: EResult.OK });
    // The header's steamid + session id are what make steam-user consider itself signed on.
    this.#reply(
      connection,
      message,
      EMsg.ClientLogOnResponse,
      {},
      encodeProto(response, {
        eresult: EResult.OK,
        heartbeat_seconds: 9, // 0 would make steam-user heartbeat in a tight loop
        legacy_out_of_game_heartbeat_seconds: 9,
        rtime32_server_time: Math.floor(Date.now() / 1000),
        cell_id: 1,
        public_ip: { v4: 0x7f000001 },
        client_supplied_steamid: connection.steamId,
        ip_country_code: account.country ?? 'US',
      }),
    );
    void connection.channel.send(
      encodeMessage(
        EMsg.ClientAccountInfo,
        { steamid: connection.steamId, client_sessionid: connection.sessionId },
        encodeProto(proto('CMsgClientAccountInfo'), { persona_name: account.accountName, ip_country: account.country ?? 'US' }),
      ),
    );
  }

  #registerKey(connection: CmConnection, message: CmMessage): void {
    const key = String(decodeProto(proto('CMsgClientRegisterKey'), message.body)['key'] ?? '');
    if (!connection.account) {
      this.record({ type: 'unsupported', what: 'ClientRegisterKey before signing on' });
      return;
    }
    this.tally.push({ accountName: connection.account.accountName, key, at: Date.now() });
    const script = this.keys.get(key) ?? this.unknownKey;
    const times = this.#sent.get(key) ?? 0;
    this.#sent.set(key, times + 1);
    const step: KeyStep = isStepList(script) ? script[Math.min(times, script.length - 1)]! : script;
    if (step === 'hold') {
      this.record({ type: 'register-key', key, answer: 'hold' });
      this.#held.set(key, (answer) => this.#answerKey(connection, message, key, answer));
      return;
    }
    if (step === 'no-answer' || step === 'drop') {
      this.record({ type: 'register-key', key, answer: step });
      if (step === 'drop') connection.socket.destroy(); // no Close frame: the TCP connection just ends
      return;
    }
    this.record({ type: 'register-key', key, answer: 'answered' });
    this.#answerKey(connection, message, key, step);
  }

  /** Steam answers a key that was scripted 'hold' now, with `answer`. False if no such key waits. */
  answerHeld(key: string, answer: KeyAnswer): boolean {
    const held = this.#held.get(key);
    this.#held.delete(key);
    held?.(answer);
    return held !== undefined;
  }

  #answerKey(connection: CmConnection, message: CmMessage, key: string, step: KeyAnswer): void {
    const detail = step.detail ?? 0;
    const eresult = step.eresult ?? (detail === 0 ? EResult.OK : EResult.Fail);
    const packages = step.packages ?? [];
    // Steam always sends a receipt; steam-user's redeemKey throws on an empty one.
    const receipt = step.emptyReceipt ? Buffer.alloc(0) : encodeReceipt(eresult, detail, packages);
    const answer = (): void => {
      if (!this.connections.has(connection) || !connection.account) return; // gone meanwhile
      if (step.delayMs !== undefined) this.record({ type: 'late-answer', key });
      this.#reply(
        connection,
        message,
        EMsg.ClientPurchaseResponse,
        {},
        encodeProto(proto('CMsgClientPurchaseResponse'), { eresult, purchase_result_details: detail, purchase_receipt_info: receipt }),
      );
    };
    if (step.delayMs === undefined) answer();
    else setTimeout(answer, step.delayMs);
  }

  /** Steam ends a signed-in session (e.g. 6 LoggedInElsewhere): ClientLoggedOff, then the connection closes. */
  logOffEveryone(eresult: number): void {
    for (const connection of this.connections) {
      if (!connection.account) continue;
      void connection.channel.send(
        encodeMessage(
          EMsg.ClientLoggedOff,
          { steamid: connection.steamId, client_sessionid: connection.sessionId },
          encodeProto(proto('CMsgClientLoggedOff'), { eresult }),
        ),
      );
      connection.account = null;
      connection.channel.close();
    }
  }

  /** Drops every CM connection without a closing handshake. */
  dropConnections(): void {
    for (const connection of this.connections) connection.socket.destroy();
  }
}

function isStepList(script: KeyScript): script is readonly KeyStep[] {
  return Array.isArray(script);
}

interface Service {
  request: string;
  response: string;
  handle(world: FakeWorld, request: Record<string, unknown>): { eresult: number; body?: Record<string, unknown> };
}

/** The Authentication service methods a sign-in uses (with a password or a QR code). */
const SERVICES: Record<string, Service | undefined> = {
  'Authentication.GetPasswordRSAPublicKey#1': {
    request: 'CAuthentication_GetPasswordRSAPublicKey_Request',
    response: 'CAuthentication_GetPasswordRSAPublicKey_Response',
    handle: (world) => ({ eresult: EResult.OK, body: world.rsaKey() }),
  },
  'Authentication.BeginAuthSessionViaCredentials#1': {
    request: 'CAuthentication_BeginAuthSessionViaCredentials_Request',
    response: 'CAuthentication_BeginAuthSessionViaCredentials_Response',
    handle: (world, request) => world.beginAuth(request),
  },
  'Authentication.BeginAuthSessionViaQR#1': {
    request: 'CAuthentication_BeginAuthSessionViaQR_Request',
    response: 'CAuthentication_BeginAuthSessionViaQR_Response',
    handle: (world) => world.beginQr(),
  },
  'Authentication.UpdateAuthSessionWithSteamGuardCode#1': {
    request: 'CAuthentication_UpdateAuthSessionWithSteamGuardCode_Request',
    response: 'CAuthentication_UpdateAuthSessionWithSteamGuardCode_Response',
    handle: (world, request) => world.submitGuardCode(request),
  },
  'Authentication.PollAuthSessionStatus#1': {
    request: 'CAuthentication_PollAuthSessionStatus_Request',
    response: 'CAuthentication_PollAuthSessionStatus_Response',
    handle: (world, request) => world.poll(request),
  },
  'Authentication.GenerateAccessTokenForApp#1': {
    request: 'CAuthentication_AccessToken_GenerateForApp_Request',
    response: 'CAuthentication_AccessToken_GenerateForApp_Response',
    handle: (world, request) => world.generateAccessToken(request),
  },
};
