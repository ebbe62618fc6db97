/**
 * Signing in from a terminal, for `steam-key redeem`: with the password (then
 * a Steam Guard code typed without echo — or, when Steam offers it, an
 * approval in the Steam app, whichever comes first), or with a QR code drawn
 * in the terminal for the Steam app to scan (`--qr`: the password never
 * reaches steam-key). It drives the RedeemSession's sign-in and shows what
 * the session's login states say.
 *
 * Where things go: the QR code and the prompts on the terminal (/dev/tty),
 * next to each other; progress lines on stderr, like the rest of redeem's
 * messages for a person. Without a terminal a QR sign-in prints the link on
 * stderr, and a sign-in that can be approved in the app waits for that.
 */
import type { AccountInfo } from '../steam/port.js';
import type { RedeemSession, SessionEvent } from '../steam/session.js';
import { qrLines } from './qr-terminal.js';
import { PromptInterrupted, PromptWithdrawn, type Terminal } from './terminal.js';

/** How this run proves the account: the password, or a QR code scanned in the Steam app. */
export type TerminalSignIn = { method: 'password'; accountName: string; password: string } | { method: 'qr' };

/** The sign-in did not happen: Steam said no, or the person stopped it (`interrupted`). */
export class SignInFailed extends Error {
  override name = 'SignInFailed';
  constructor(
    message: string,
    readonly interrupted: boolean,
  ) {
    super(message);
  }
}

/** Where Ctrl-C is reported while signing in (redeem's signal counter). */
export interface InterruptTarget {
  onInterrupt: (count: number) => void;
}

export interface SignInOptions {
  /** The demo's Steam app page, named when a demo sign-in can be approved there. */
  demoAppUrl?: string;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

const LINK_HINT = 'Or open this link on the phone where the Steam app is signed in:';

/** Signs `session` in, asking on `terminal`; resolves with the account, or rejects with SignInFailed. */
export async function signInOnTerminal(
  session: RedeemSession,
  terminal: Terminal | null,
  signIn: TerminalSignIn,
  interrupts: InterruptTarget,
  options: SignInOptions = {},
): Promise<AccountInfo> {
  const say = options.say ?? ((line: string) => void process.stderr.write(`${line}\n`));
  let why: SignInFailed | null = null;
  const stop = (failure: SignInFailed): void => {
    why ??= failure;
    void session.close('shutdown');
  };
  interrupts.onInterrupt = () => stop(new SignInFailed('interrupted', true));
  const view = new LoginView(session, terminal, say, stop, options.demoAppUrl);
  const unsubscribe = session.subscribe((event) => {
    if (event.type === 'login') view.show(event);
  });
  try {
    for (;;) {
      say(signIn.method === 'qr' ? 'Signing in to Steam with a QR code…' : `Signing in to Steam as ${signIn.accountName}…`);
      const ok = await session.login(signIn.method === 'qr' ? { method: 'qr' } : { accountName: signIn.accountName, password: signIn.password });
      view.settled(ok);
      if (why) throw why;
      const login = session.snapshot().login;
      if (ok && login.account) return login.account;
      // A QR code that nobody approved in time: a fresh one, when the person asks for it.
      if (signIn.method === 'qr' && login.reason === 'expired' && terminal) {
        await askAgain(terminal, `${login.message?.en ?? 'The code expired.'}\nPress Enter for a new code, Ctrl-C to stop: `);
        continue;
      }
      throw new SignInFailed(`sign-in failed: ${login.message?.en ?? 'Steam refused the sign-in.'}`, false);
    }
  } finally {
    unsubscribe();
    view.dispose();
  }
}

async function askAgain(terminal: Terminal, question: string): Promise<void> {
  try {
    await terminal.prompt(question, { echo: true });
  } catch (error) {
    if (error instanceof PromptInterrupted) throw new SignInFailed('interrupted', true);
    throw error;
  }
}

type LoginEvent = Extract<SessionEvent, { type: 'login' }>;

/** Shows one sign-in's login states: the QR code (again when Steam changes it), the code prompt, what the app did. */
class LoginView {
  /** The code prompt on screen, withdrawn when the sign-in ends without it (approved in the app). */
  #prompt: AbortController | null = null;
  #qrUrl: string | null = null;
  #scannedSaid = false;
  #approvalHinted = false;

  constructor(
    readonly session: RedeemSession,
    readonly terminal: Terminal | null,
    readonly say: (line: string) => void,
    readonly stop: (failure: SignInFailed) => void,
    readonly demoAppUrl: string | undefined,
  ) {}

  show(event: LoginEvent): void {
    if (event.state === 'qr' && event.qr) this.#qr(event.qr.url, event.qr.scanned, event.message?.en);
    else if (event.state === 'guard' && event.guard) this.#guard(event);
  }

  /** The sign-in is over: a code prompt still open is not needed any more. */
  settled(ok: boolean): void {
    if (this.#prompt && ok) this.say('Approved in the Steam app.');
    this.dispose();
    this.#qrUrl = null;
    this.#scannedSaid = false;
    this.#approvalHinted = false;
  }

  dispose(): void {
    this.#prompt?.abort();
    this.#prompt = null;
  }

  #qr(url: string, scanned: boolean, message: string | undefined): void {
    if (url !== this.#qrUrl) {
      const changed = this.#qrUrl !== null;
      this.#qrUrl = url;
      this.#scannedSaid = false;
      const heading = changed ? 'Steam changed the code: scan this one.' : (message ?? 'Scan this code with the Steam app.');
      if (this.terminal) {
        this.terminal.write(`\n${heading}\n\n${qrLines(url).join('\n')}\n\n${LINK_HINT}\n${url}\n\n`);
        if (!changed) this.say('Waiting for the Steam app… (Ctrl-C to stop)');
      } else {
        this.say(`${changed ? 'Steam changed the code. ' : ''}${LINK_HINT} ${url}`);
      }
    }
    if (scanned && !this.#scannedSaid) {
      this.#scannedSaid = true;
      this.say(message ?? 'Scanned — now approve the sign-in in the Steam app.');
    }
  }

  #guard(event: LoginEvent): void {
    const guard = event.guard!;
    if (this.#prompt) {
      // The same request again, now opened in the app: the prompt stays as it is.
      if (guard.scanned) this.say('The sign-in is open in the Steam app: approve it there, or type the code.');
      return;
    }
    if (guard.approvable && !this.#approvalHinted) {
      this.#approvalHinted = true;
      if (this.demoAppUrl) this.say(`demo: approve it on the demo's Steam app page, ${this.demoAppUrl}`);
    }
    const message = event.message?.en ?? 'Enter the Steam Guard code.';
    if (!this.terminal) {
      if (guard.approvable) this.say(`${message}\nNo terminal to type a code on: waiting for the approval in the Steam app… (Ctrl-C to stop)`);
      else this.stop(new SignInFailed('Steam asks for a Steam Guard code and there is no terminal to type it on', false));
      return;
    }
    const controller = new AbortController();
    this.#prompt = controller;
    const label = guard.approvable ? 'Steam Guard code (or approve in the Steam app): ' : 'Steam Guard code: ';
    this.terminal.prompt(`${message}\n${label}`, { echo: false, signal: controller.signal }).then(
      (code) => {
        if (this.#prompt === controller) this.#prompt = null;
        if (!this.session.closed && this.session.loginState === 'guard') this.session.answerGuard(code.trim());
      },
      (error: unknown) => {
        if (this.#prompt === controller) this.#prompt = null;
        if (error instanceof PromptWithdrawn) return;
        this.stop(error instanceof PromptInterrupted ? new SignInFailed('interrupted', true) : new SignInFailed(String(error), false));
      },
    );
  }
}
