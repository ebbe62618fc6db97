/** A SteamPort the test drives by hand: it answers sign-ins and keys when told to. */
import {
  LoginError,
  RedeemError,
  type AccountInfo,
  type Credentials,
  type SignIn,
  type SignInPrompts,
  type GuardHandler,
  type GuardRequest,
  type PurchaseReply,
  type SteamPort,
  type SteamPortFactory,
} from '../../lib/steam/port.js';

export const ACCOUNT: AccountInfo = { accountName: 'alice', steamId: '76561197960287930', country: 'DE' };

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class FakePort implements SteamPort {
  loggedOn = false;
  logOffs = 0;
  /** What logOn received (to check pass-through). */
  credentials: Credentials[] = [];
  /** Codes the guard handler returned. */
  codes: string[] = [];
  redeems: ({ key: string } & Pending<PurchaseReply>)[] = [];
  #signIn: (Pending<AccountInfo> & { guard: GuardHandler; prompts: SignInPrompts }) | null = null;
  #listeners: ((info: { eresult: number; message: string }) => void)[] = [];

  logOn(signIn: SignIn, prompts: SignInPrompts): Promise<AccountInfo> {
    if (signIn.method !== 'qr') this.credentials.push({ accountName: signIn.accountName, password: signIn.password });
    return new Promise((resolve, reject) => (this.#signIn = { resolve, reject, guard: prompts.guard, prompts }));
  }

  /** Shows a QR challenge URL, as steam-session's startWithQR does (and again when it changes). */
  showQr(url: string): void {
    this.#signIn!.prompts.qrChallenge?.(url);
  }

  /** The code was scanned, or the prompt opened, in the Steam app. */
  scanned(): void {
    this.#signIn!.prompts.remoteInteraction?.();
  }

  /** Asks the session for a guard code, as steam-user's steamGuard event does. */
  async askGuard(request: GuardRequest): Promise<string> {
    const code = await this.#signIn!.guard(request);
    this.codes.push(code);
    return code;
  }

  succeed(account: AccountInfo = ACCOUNT): void {
    this.loggedOn = true;
    this.#signIn!.resolve(account);
    this.#signIn = null;
  }

  fail(error: LoginError): void {
    this.#signIn!.reject(error);
    this.#signIn = null;
  }

  redeemKey(key: string): Promise<PurchaseReply> {
    if (!this.loggedOn) return Promise.reject(new RedeemError('not-logged-on', 'not logged on'));
    return new Promise((resolve, reject) => this.redeems.push({ key, resolve, reject }));
  }

  /** Answers the latest key. */
  answer(reply: PurchaseReply): void {
    this.redeems.at(-1)!.resolve(reply);
  }

  /** When set, logOff() does its work and then rejects with it (Steam unreachable on the way out). */
  logOffError: Error | null = null;

  async logOff(): Promise<void> {
    this.logOffs++;
    this.loggedOn = false;
    this.#signIn?.reject(new LoginError('cancelled', 'logged off during sign-in'));
    this.#signIn = null;
    if (this.logOffError) throw this.logOffError;
  }

  onDisconnected(listener: (info: { eresult: number; message: string }) => void): void {
    this.#listeners.push(listener);
  }

  /** Steam drops the connection: pending keys fail with 'disconnected'. */
  disconnect(eresult = 3): void {
    this.loggedOn = false;
    for (const listener of this.#listeners) listener({ eresult, message: 'NoConnection' });
    for (const r of this.redeems.splice(0)) r.reject(new RedeemError('disconnected', 'connection lost'));
  }
}

/** A factory that remembers every port it made (one per sign-in). */
export function fakePorts(): { factory: SteamPortFactory; ports: FakePort[]; last: () => FakePort } {
  const ports: FakePort[] = [];
  return {
    ports,
    factory: () => {
      const port = new FakePort();
      ports.push(port);
      return port;
    },
    last: () => ports.at(-1)!,
  };
}
