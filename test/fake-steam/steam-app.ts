/**
 * The fake Steam's authentication sessions, and a test-side "Steam mobile
 * app" that acts on them: scans a QR code, opens an approval prompt, approves
 * or denies a sign-in, lets a code expire, and makes Steam change a QR
 * challenge. cm.ts answers the Authentication service calls from what is
 * here: BeginAuthSessionViaCredentials and BeginAuthSessionViaQR start a
 * session, UpdateAuthSessionWithSteamGuardCode or the app approve it, and
 * PollAuthSessionStatus reports what happened:
 *
 *   not yet     OK, with had_remote_interaction once the app opened it, and
 *               new_client_id + new_challenge_url after a change of QR code
 *   approved    OK with the refresh and access tokens and the account name
 *   denied,
 *   expired     EResult 9 FileNotFound, as Steam answers both
 *
 * A real phone approves through UpdateAuthSessionWithMobileConfirmation with
 * its own signed-in session; the test-side app changes the state directly,
 * which is all the client under test can observe.
 *
 *   const url = await steam.app.nextChallenge();        // a QR code the client shows
 *   steam.app.scan(url, 'alice');                       // had_remote_interaction
 *   steam.app.approve(url);                             // the next poll gets the tokens
 *   await steam.app.confirmationFor('bob');             // a password sign-in awaits the app
 *   steam.app.deny('bob');
 */
import { randomBytes } from 'node:crypto';
import type { FakeAccount } from './cm.js';

/** The guard types of Authentication.BeginAuthSession* (EAuthSessionGuardType). */
export const GuardType = { None: 1, EmailCode: 2, DeviceCode: 3, DeviceConfirmation: 4 } as const;

export interface AuthSession {
  kind: 'password' | 'qr';
  /** Every client id the session has had (a new QR challenge brings a new one). */
  clientIds: string[];
  requestId: Buffer;
  /** Password: the account signing in; QR: the account of the app that scanned it, null before. */
  account: FakeAccount | null;
  /** The app may approve it: QR codes, and password sign-ins of accounts whose guard is `approvable`. */
  confirmable: boolean;
  /** QR: the challenge the client should show now. */
  challengeUrl: string | null;
  /** QR: a challenge not yet reported to the client in a poll. */
  changedChallenge: boolean;
  remoteInteraction: boolean;
  state: 'waiting' | 'approved' | 'denied' | 'expired';
}

/** What a poll tells the client. */
export type PollOutcome =
  | { state: 'unknown' }
  | { state: 'waiting'; remoteInteraction: boolean; newClientId?: string; newChallengeUrl?: string }
  | { state: 'approved'; account: FakeAccount }
  | { state: 'denied' }
  | { state: 'expired' };

/** Something the app did, for the fake's event log. */
export interface AppEvent {
  type: 'app';
  action: 'scan' | 'open' | 'approve' | 'deny' | 'expire' | 'new-challenge';
  accountName?: string;
}

function randomUint64(): string {
  return randomBytes(8).readBigUInt64LE(0).toString();
}

/** Steam's QR challenges: https://s.team/q/<version>/<client id>. */
function challengeUrl(clientId: string): string {
  return `https://s.team/q/1/${clientId}`;
}

/** Every authentication session the fake knows, by client id. */
export class AuthSessions {
  readonly #byClientId = new Map<string, AuthSession>();
  #waiters: { ready: (session: AuthSession) => boolean; resolve: (session: AuthSession) => void }[] = [];

  constructor(readonly record: (event: AppEvent) => void) {}

  begin(kind: AuthSession['kind'], account: FakeAccount | null, confirmable: boolean, approved = false): { clientId: string; session: AuthSession } {
    const clientId = randomUint64();
    const session: AuthSession = {
      kind,
      clientIds: [clientId],
      requestId: randomBytes(16),
      account,
      confirmable,
      challengeUrl: kind === 'qr' ? challengeUrl(clientId) : null,
      changedChallenge: false,
      remoteInteraction: false,
      state: approved ? 'approved' : 'waiting',
    };
    this.#byClientId.set(clientId, session);
    this.#wake();
    return { clientId, session };
  }

  get(clientId: string): AuthSession | undefined {
    return this.#byClientId.get(clientId);
  }

  /** Sessions still waiting, oldest first. */
  get waiting(): AuthSession[] {
    return [...new Set(this.#byClientId.values())].filter((s) => s.state === 'waiting');
  }

  poll(clientId: string, requestId: unknown): PollOutcome {
    const session = this.#byClientId.get(clientId);
    if (!session || !Buffer.isBuffer(requestId) || !requestId.equals(session.requestId)) return { state: 'unknown' };
    switch (session.state) {
      case 'waiting': {
        const outcome: PollOutcome = { state: 'waiting', remoteInteraction: session.remoteInteraction };
        if (session.changedChallenge && session.challengeUrl) {
          session.changedChallenge = false;
          outcome.newClientId = session.clientIds.at(-1)!;
          outcome.newChallengeUrl = session.challengeUrl;
        }
        return outcome;
      }
      case 'approved':
        this.#forget(session);
        return { state: 'approved', account: session.account! };
      case 'denied':
      case 'expired':
        this.#forget(session);
        return session.state === 'denied' ? { state: 'denied' } : { state: 'expired' };
    }
  }

  /** Resolves with the first session (now or later) that `ready` accepts. */
  when(ready: (session: AuthSession) => boolean): Promise<AuthSession> {
    const found = this.waiting.find(ready);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  /** Tells waiters about a change. */
  changed(): void {
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      const found = this.waiting.find(waiter.ready);
      if (!found) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(found);
    }
  }

  #forget(session: AuthSession): void {
    for (const id of session.clientIds) this.#byClientId.delete(id);
  }

  /** A new QR challenge for a waiting session: a new client id too, as Steam does. */
  newChallenge(session: AuthSession): string {
    const clientId = randomUint64();
    session.clientIds.push(clientId);
    this.#byClientId.set(clientId, session);
    session.challengeUrl = challengeUrl(clientId);
    session.changedChallenge = true;
    this.#wake();
    return session.challengeUrl;
  }
}

/**
 * The Steam mobile app, driven by a test. A sign-in is named by its QR
 * challenge URL (any it has had) or, for a password sign-in, by its account
 * name. Each action returns false when there is no such sign-in waiting (it
 * was signed in, denied, expired or never started).
 */
export class FakeSteamApp {
  readonly #sessions: AuthSessions;
  readonly #accounts: (name: string) => FakeAccount | undefined;

  constructor(sessions: AuthSessions, accounts: (name: string) => FakeAccount | undefined) {
    this.#sessions = sessions;
    this.#accounts = accounts;
  }

  /** The QR challenges that wait, oldest first (each session's current one). */
  get challenges(): string[] {
    return this.#sessions.waiting.flatMap((s) => (s.challengeUrl ? [s.challengeUrl] : []));
  }

  /** Resolves with a QR challenge not in `seen` (the first to come, now or later). */
  async nextChallenge(seen: readonly string[] = []): Promise<string> {
    const session = await this.#sessions.when((s) => s.challengeUrl !== null && !seen.includes(s.challengeUrl));
    return session.challengeUrl!;
  }

  /** Resolves once a password sign-in of `accountName` waits for an approval in the app. */
  async confirmationFor(accountName: string): Promise<void> {
    await this.#sessions.when((s) => s.kind === 'password' && s.confirmable && s.account?.accountName.toLowerCase() === accountName.toLowerCase());
  }

  /** The app of `accountName` scans a QR code: Steam reports a remote interaction, and the code belongs to that account. */
  scan(url: string, accountName: string): boolean {
    const account = this.#accounts(accountName);
    if (!account) throw new Error(`the fake knows no account ${accountName}`);
    const session = this.#find(url);
    if (!session || session.kind !== 'qr') return false;
    session.account = account;
    session.remoteInteraction = true;
    this.#sessions.record({ type: 'app', action: 'scan', accountName: account.accountName });
    return true;
  }

  /** The approval prompt of a password sign-in is opened in the app (a remote interaction). */
  open(accountName: string): boolean {
    const session = this.#find(accountName);
    if (!session || session.kind !== 'password') return false;
    session.remoteInteraction = true;
    this.#sessions.record({ type: 'app', action: 'open', accountName: session.account!.accountName });
    return true;
  }

  /** Approves a sign-in: a scanned QR code (or scans it as `accountName` first), or a password sign-in's prompt. */
  approve(target: string, accountName?: string): boolean {
    if (accountName !== undefined && !this.scan(target, accountName)) return false;
    const session = this.#find(target);
    if (!session?.account) return false; // a QR code nobody scanned
    session.remoteInteraction = true;
    session.state = 'approved';
    this.#sessions.record({ type: 'app', action: 'approve', accountName: session.account.accountName });
    return true;
  }

  /**
   * Denies a sign-in in the app. Steam's next poll answers 9 at once: a
   * client that had not polled since the prompt was opened (scan, open)
   * never learns of that remote interaction, as with Steam.
   */
  deny(target: string): boolean {
    const session = this.#find(target);
    if (!session) return false;
    session.remoteInteraction = true;
    session.state = 'denied';
    this.#sessions.record({ type: 'app', action: 'deny', ...(session.account ? { accountName: session.account.accountName } : {}) });
    return true;
  }

  /** Steam lets a sign-in expire (nobody approved it in time). */
  expire(target: string): boolean {
    const session = this.#find(target);
    if (!session) return false;
    session.state = 'expired';
    this.#sessions.record({ type: 'app', action: 'expire' });
    return true;
  }

  /** Steam changes a QR code's challenge; the next poll reports it. Returns the new URL, or null. */
  newChallenge(url: string): string | null {
    const session = this.#find(url);
    if (!session || session.kind !== 'qr') return null;
    this.#sessions.record({ type: 'app', action: 'new-challenge' });
    return this.#sessions.newChallenge(session);
  }

  #find(target: string): AuthSession | undefined {
    const lower = target.toLowerCase();
    return this.#sessions.waiting.find((s) =>
      s.kind === 'qr'
        ? s.clientIds.some((id) => challengeUrl(id) === target)
        : s.confirmable && s.account?.accountName.toLowerCase() === lower,
    );
  }
}
