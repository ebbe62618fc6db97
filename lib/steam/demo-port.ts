/**
 * A simulated Steam for `steam-key serve --demo`: demo accounts that show
 * every sign-in path (Steam Guard by e-mail and by the mobile app, a wrong
 * code, an approval in the app, each failure), a QR sign-in, and demo keys
 * that produce every result status — including a rate limit and a key that
 * never gets an answer — so anyone can try the whole flow offline. It answers
 * as the steam-user adapter would, through the same SteamPort, so the session
 * cannot tell the difference. The approvals come from the demo's Steam app
 * (demo-app.ts), which the demo server shows as a page.
 */
import { systemClock, type Clock } from './clock.js';
import { DEMO_QR_ACCOUNT, DemoSteamApp, type WaitingApproval } from './demo-app.js';
import {
  LoginError,
  RedeemError,
  type AccountInfo,
  type GuardRequest,
  type SignIn,
  type SignInPrompts,
  type LoginFailure,
  type PurchaseReply,
  type SteamPort,
  type SteamPortFactory,
} from './port.js';
import { EResult, PurchaseDetail } from './results.js';

/** The password of every demo account. */
export const DEMO_PASSWORD = 'demo';
/** The Steam Guard code the demo accepts (e-mail and mobile app alike). */
export const DEMO_GUARD_CODE = '12345';
/** The e-mail domain a demo e-mail code "goes" to. */
export const DEMO_EMAIL_DOMAIN = 'example.com';

export interface DemoAccount {
  guard?: 'email' | 'authenticator';
  /** The sign-in can also be approved (or denied) in the demo's Steam app, instead of typing the code. */
  approvable?: boolean;
  /** Sign-in fails this way, whatever the password. */
  failure?: LoginFailure;
  what: string;
}

export const DEMO_ACCOUNTS: Readonly<Record<string, DemoAccount>> = Object.freeze({
  demo: { what: 'signs in at once' },
  'demo-mail': { guard: 'email', what: `asks for an e-mail code (sent to *@${DEMO_EMAIL_DOMAIN})` },
  'demo-app': { guard: 'authenticator', what: 'asks for a mobile authenticator code' },
  'demo-approve': {
    guard: 'authenticator',
    approvable: true,
    what: 'asks for a mobile authenticator code, or an approval on the demo Steam app page (/demo-app/)',
  },
  'demo-throttled': { failure: 'throttled', what: 'fails: account throttled (EResult 87)' },
  'demo-limited': { failure: 'rate-limited', what: 'fails: too many sign-in attempts (EResult 84)' },
  'demo-offline': { failure: 'unreachable', what: 'fails: Steam unreachable' },
});

type Behaviour =
  | { reply: PurchaseReply }
  /** RateLimited the first time this port sees the key, then `reply`. */
  | { rateLimitedOnce: PurchaseReply }
  /** No answer: rejects with 'timeout' after the port's timeoutMs (steam-user waits 90 s). */
  | { timeout: true }
  /** Steam drops the connection while the key is out. */
  | { disconnect: true };

export interface DemoKey {
  key: string;
  what: string;
  behaviour: Behaviour;
}

const fail = (detail: number, packages: PurchaseReply['packages'] = []): { reply: PurchaseReply } => ({
  reply: { eresult: EResult.Fail, detail, packages },
});

const GAME = { id: 900001, name: 'Demo Game: Starter Edition' };

export const DEMO_KEYS: readonly DemoKey[] = Object.freeze([
  { key: 'DEMO1-ACTIV-ATED1', what: 'activated: one package', behaviour: { reply: { eresult: EResult.OK, detail: 0, packages: [GAME] } } },
  {
    key: 'DEMO2-ACTIV-ATED3',
    what: 'activated: a bundle of three packages',
    behaviour: {
      reply: {
        eresult: EResult.OK,
        detail: 0,
        packages: [
          { id: 900010, name: 'Demo Bundle: Base Game' },
          { id: 900011, name: 'Demo Bundle: Soundtrack' },
          { id: 900012, name: 'Demo Bundle: Art Book' },
        ],
      },
    },
  },
  { key: 'DEMO3-ALREA-DYOWN', what: 'already owned', behaviour: fail(PurchaseDetail.AlreadyPurchased, [GAME]) },
  { key: 'DEMO4-INVAL-IDKEY', what: 'invalid key', behaviour: fail(PurchaseDetail.BadActivationCode) },
  { key: 'DEMO5-ALREA-DYUSE', what: 'key already used', behaviour: fail(PurchaseDetail.DuplicateActivationCode) },
  { key: 'DEMO6-REGIO-NLOCK', what: 'region-locked', behaviour: fail(PurchaseDetail.RestrictedCountry) },
  {
    key: 'DEMO7-NEEDS-BASEG',
    what: 'needs the base game (DLC)',
    behaviour: fail(PurchaseDetail.DoesNotOwnRequiredApp, [{ id: 900030, name: 'Demo Game: Expansion' }]),
  },
  { key: 'DEMO8-WALLE-TCODE', what: 'wallet code, not a game key', behaviour: fail(PurchaseDetail.CannotRedeemCodeFromClient) },
  {
    key: 'DEMO9-RATEL-IMITS',
    what: 'rate-limited the first time (the queue cools down), activated when sent again',
    behaviour: { rateLimitedOnce: { eresult: EResult.OK, detail: 0, packages: [{ id: 900020, name: 'Demo Game: Patience' }] } },
  },
  { key: 'DEMOA-TIMES-OUT00', what: 'no answer: timed out (unknown — check your library)', behaviour: { timeout: true } },
  {
    key: 'DEMOB-DISCO-NNECT',
    what: 'Steam drops the connection while the key is out (unknown; sign in again to go on)',
    behaviour: { disconnect: true },
  },
  { key: 'DEMOC-OTHER-FAILS', what: 'another failure (account blocked from activating)', behaviour: fail(PurchaseDetail.AcctIsBlocked) },
]);

/** Each demo account its own SteamID64 (one session per account: the store tells accounts apart by it). */
export function demoSteamId(accountName: string): string {
  return String(76561197960265729n + BigInt(Math.max(0, Object.keys(DEMO_ACCOUNTS).indexOf(accountName))));
}

const BY_KEY = new Map(DEMO_KEYS.map((k) => [k.key, k.behaviour]));
/** Any other key: Steam does not know it. */
const UNKNOWN_KEY = fail(PurchaseDetail.BadActivationCode);

const FAILURE_ERESULT: Partial<Record<LoginFailure, number>> = {
  'rate-limited': EResult.RateLimitExceeded,
  throttled: EResult.AccountLoginDeniedThrottle,
  'invalid-password': EResult.InvalidPassword,
  'guard-failed': EResult.TwoFactorCodeMismatch,
};

export interface DemoPortOptions {
  /** How long Steam takes to answer anything (default 400 ms). */
  latencyMs?: number;
  /** How long the timeout key takes to time out (default 3 s; steam-user's is 90 s). */
  timeoutMs?: number;
  /** The demo accounts' password (default DEMO_PASSWORD). */
  password?: string;
  /** The accepted Steam Guard code (default DEMO_GUARD_CODE). */
  guardCode?: string;
  /** The demo's Steam app that approves QR codes and sign-ins (default: one per factory). */
  app?: DemoSteamApp;
  /** How long a QR code or an approval waits for the demo app (default 5 minutes, as the real adapter). */
  approvalTimeoutMs?: number;
  /** Steam changes the QR code this often while it waits (default: never). */
  qrRenewMs?: number;
  clock?: Clock;
}

/** A factory of demo ports, one per sign-in like the real one, sharing one demo app. */
export function demoPortFactory(options: DemoPortOptions = {}): SteamPortFactory {
  const shared = { ...options, app: options.app ?? new DemoSteamApp() };
  return () => new DemoPort(shared);
}

/** EResult 9 FileNotFound: how Steam ends a sign-in denied in the app, or not approved in time. */
const DENIED_OR_EXPIRED = 9;

export class DemoPort implements SteamPort {
  #loggedOn = false;
  #loggedOff = false;
  #signInUsed = false;
  readonly #rateLimited = new Set<string>();
  readonly #listeners: ((info: { eresult: number; message: string }) => void)[] = [];
  readonly #sleepers = new Set<() => void>();
  readonly #latency: number;
  readonly #timeout: number;
  readonly #password: string;
  readonly #guardCode: string;
  readonly #app: DemoSteamApp;
  readonly #approvalTimeout: number;
  readonly #qrRenew: number | undefined;
  readonly #clock: Clock;

  constructor(options: DemoPortOptions = {}) {
    this.#latency = options.latencyMs ?? 400;
    this.#timeout = options.timeoutMs ?? 3_000;
    this.#password = options.password ?? DEMO_PASSWORD;
    this.#guardCode = options.guardCode ?? DEMO_GUARD_CODE;
    this.#app = options.app ?? new DemoSteamApp();
    this.#approvalTimeout = options.approvalTimeoutMs ?? 5 * 60_000;
    this.#qrRenew = options.qrRenewMs;
    this.#clock = options.clock ?? systemClock;
  }

  get loggedOn(): boolean {
    return this.#loggedOn;
  }

  async logOn(signIn: SignIn, prompts: SignInPrompts): Promise<AccountInfo> {
    if (this.#signInUsed) throw new LoginError('other', 'one sign-in per port');
    this.#signInUsed = true;
    if (!(await this.#sleep(this.#latency))) throw cancelled();
    if (signIn.method === 'qr') {
      await this.#waitForApp('qr', DEMO_QR_ACCOUNT, prompts);
      return this.#signedIn(DEMO_QR_ACCOUNT);
    }
    const name = signIn.accountName.trim().toLowerCase();
    const account = DEMO_ACCOUNTS[name];
    if (account?.failure) throw new LoginError(account.failure, `demo: ${account.failure}`, FAILURE_ERESULT[account.failure]);
    if (!account || signIn.password !== this.#password) {
      throw new LoginError('invalid-password', 'InvalidPassword', EResult.InvalidPassword);
    }
    if (account.guard && account.approvable) await this.#waitForApp('password', name, prompts, account.guard);
    else if (account.guard) await this.#askCode(account.guard, prompts, false);
    return this.#signedIn(name);
  }

  #signedIn(accountName: string): AccountInfo {
    this.#loggedOn = true;
    return { accountName, steamId: demoSteamId(accountName), country: 'US' };
  }

  /** Asks for the Steam Guard code until it is right (the third wrong one fails); resolves once it is. */
  async #askCode(kind: NonNullable<DemoAccount['guard']>, prompts: SignInPrompts, approvable: boolean, over = (): boolean => false): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const request: GuardRequest = {
        kind,
        ...(kind === 'email' ? { domain: DEMO_EMAIL_DOMAIN } : {}),
        lastCodeWrong: attempt > 1,
        ...(approvable ? { approvable: true } : {}),
      };
      let code: string;
      try {
        code = await prompts.guard(request);
      } catch {
        throw cancelled();
      }
      if (over()) return;
      if (!(await this.#sleep(this.#latency))) throw cancelled();
      if (code.trim().toUpperCase() === this.#guardCode.toUpperCase()) return;
      if (attempt === 3) throw new LoginError('guard-failed', 'TwoFactorCodeMismatch', EResult.TwoFactorCodeMismatch);
    }
  }

  /**
   * Waits for the demo app: a QR code to scan and approve, or a password
   * sign-in to approve there (while its code is asked for too: whichever
   * comes first). A denial, and no decision within the approval timeout,
   * fail as Steam's would.
   */
  #waitForApp(kind: 'qr' | 'password', accountName: string, prompts: SignInPrompts, guard?: NonNullable<DemoAccount['guard']>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let over = false;
      const cleanups: (() => void)[] = [];
      const finish = (error: LoginError | null): void => {
        if (over) return;
        over = true;
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve();
      };
      let waiting: WaitingApproval;
      try {
        waiting = this.#app.request(kind, accountName, (state) => {
          if (state === 'opened') prompts.remoteInteraction?.();
          else if (state === 'approved') finish(null);
          else finish(new LoginError('denied', 'demo: denied in the Steam app', DENIED_OR_EXPIRED));
        });
      } catch (error) {
        reject(error);
        return;
      }
      cleanups.push(() => waiting.end());
      cleanups.push(this.#clock.setTimeout(() => finish(new LoginError('expired', 'demo: not approved in time', DENIED_OR_EXPIRED)), this.#approvalTimeout));
      const wake = (): void => finish(cancelled());
      this.#sleepers.add(wake);
      cleanups.push(() => this.#sleepers.delete(wake));
      if (kind === 'qr') {
        prompts.qrChallenge?.(waiting.url);
        if (this.#qrRenew !== undefined) this.#renewEvery(this.#qrRenew, waiting, prompts, cleanups);
      } else if (guard) {
        this.#askCode(guard, prompts, true, () => over).then(
          () => finish(null),
          (error: LoginError) => finish(error),
        );
      }
    });
  }

  /** Steam changes a waiting QR code now and then: a new link, shown again. */
  #renewEvery(ms: number, waiting: WaitingApproval, prompts: SignInPrompts, cleanups: (() => void)[]): void {
    let cancel = (): void => {};
    const tick = (): void => {
      waiting.renew();
      prompts.qrChallenge?.(waiting.url);
      cancel = this.#clock.setTimeout(tick, ms);
    };
    cancel = this.#clock.setTimeout(tick, ms);
    cleanups.push(() => cancel());
  }

  async redeemKey(key: string): Promise<PurchaseReply> {
    if (!this.#loggedOn) throw new RedeemError('not-logged-on', 'not logged on');
    const normalised = key.toUpperCase();
    const behaviour = BY_KEY.get(normalised) ?? UNKNOWN_KEY;
    const dropped = (): RedeemError => new RedeemError('disconnected', 'the connection to Steam closed');
    if ('timeout' in behaviour) {
      if (!(await this.#sleep(this.#timeout))) throw dropped();
      throw new RedeemError('timeout', 'no answer from Steam in time');
    }
    if (!(await this.#sleep(this.#latency))) throw dropped();
    if ('disconnect' in behaviour) {
      this.#drop();
      throw dropped();
    }
    if ('rateLimitedOnce' in behaviour) {
      if (this.#rateLimited.has(normalised)) return copy(behaviour.rateLimitedOnce);
      this.#rateLimited.add(normalised);
      return { eresult: EResult.Fail, detail: PurchaseDetail.RateLimited, packages: [] };
    }
    return copy(behaviour.reply);
  }

  async logOff(): Promise<void> {
    this.#loggedOff = true;
    this.#loggedOn = false;
    for (const wake of [...this.#sleepers]) wake();
  }

  onDisconnected(listener: (info: { eresult: number; message: string }) => void): void {
    this.#listeners.push(listener);
  }

  #drop(): void {
    this.#loggedOn = false;
    for (const listener of this.#listeners) listener({ eresult: EResult.NoConnection, message: 'NoConnection' });
  }

  /** Waits `ms`; resolves false instead if the port is logged off meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    if (this.#loggedOff) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        cancel();
        this.#sleepers.delete(wake);
        resolve(false);
      };
      const cancel = this.#clock.setTimeout(() => {
        this.#sleepers.delete(wake);
        resolve(!this.#loggedOff);
      }, ms);
      this.#sleepers.add(wake);
    });
  }
}

function cancelled(): LoginError {
  return new LoginError('cancelled', 'signed off during sign-in');
}

function copy(reply: PurchaseReply): PurchaseReply {
  return { ...reply, packages: reply.packages.map((p) => ({ ...p })) };
}
