/**
 * The demo's Steam mobile app: the sign-ins of the demo Steam (demo-port.ts)
 * that wait for an approval in the app — a QR code, or a password sign-in of
 * an account that offers one — and what a person did with them. The demo
 * server plays the app on a page of its own (lib/app/demo-app.ts, under
 * /demo-app/), so the QR flow can be tried offline with a second tab or a
 * phone on the same network: the demo's QR code is a link to that page.
 *
 *   const app = new DemoSteamApp();            // shared by the demo ports and the page
 *   app.baseUrl = 'http://192.168.1.20:3999/'; // where a phone reaches the server
 *   const waiting = app.request('qr', null, (state) => ...);  // the port: waiting.url goes in the QR code
 *   app.open(id); app.approve(id);             // the page: a person scanned it, then tapped Approve
 *   waiting.end();                             // the port, when the sign-in is over
 *
 * Only demo sign-ins are here; ids are random (128 bits), and the number
 * waiting at once is bounded.
 */
import { randomBytes } from 'node:crypto';
import { LoginError } from './port.js';

/** Where the demo server's "Steam app" page is, below its base URL. */
export const DEMO_APP_PATH = '/demo-app/';

/** At most this many sign-ins wait for the demo app at once (each is one sign-in in progress). */
export const MAX_WAITING = 100;

export type DemoApprovalKind = 'qr' | 'password';

/** waiting → opened (scanned, or the prompt viewed) → approved | denied; ended once the sign-in is over. */
export type DemoApprovalState = 'waiting' | 'opened' | 'approved' | 'denied' | 'ended';

/** A sign-in waiting for the demo app, as the page sees it. */
export interface DemoApproval {
  readonly id: string;
  readonly kind: DemoApprovalKind;
  /** The account a password sign-in is for; for a QR code, the account that approving signs in. */
  readonly accountName: string;
  readonly state: DemoApprovalState;
}

/** The port's handle on its sign-in's entry. */
export interface WaitingApproval {
  readonly id: string;
  /** The link to the app's page for this sign-in (what the QR code holds). */
  readonly url: string;
  /** Steam changes the QR code: a new id and link; the old link stops working. */
  renew(): void;
  /** The sign-in is over: the page says so from now on. */
  end(): void;
}

interface Entry {
  id: string;
  kind: DemoApprovalKind;
  accountName: string;
  state: DemoApprovalState;
  onChange: (state: 'opened' | 'approved' | 'denied') => void;
}

/** The account a demo QR code signs in to when approved. */
export const DEMO_QR_ACCOUNT = 'demo';

/** How many ended entries the page still recognises ("this sign-in is over"), oldest dropped first. */
const REMEMBER_ENDED = 100;

export class DemoSteamApp {
  /** The demo server's URL as a phone or another tab reaches it, ending in '/'. */
  #baseUrl = 'http://127.0.0.1:3999/';
  readonly #entries = new Map<string, Entry>();

  get baseUrl(): string {
    return this.#baseUrl;
  }

  set baseUrl(url: string) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`the demo app needs an http(s) URL, got ${url}`);
    this.#baseUrl = `${parsed.origin}/`;
  }

  /** The page that lists the password sign-ins waiting for an approval. */
  get homeUrl(): string {
    return new URL(DEMO_APP_PATH, this.#baseUrl).href;
  }

  /**
   * A sign-in starts waiting for the app; `onChange` hears what the person
   * does on the page. Throws LoginError when too many wait already.
   */
  request(kind: DemoApprovalKind, accountName: string | null, onChange: Entry['onChange']): WaitingApproval {
    if (this.waitingCount >= MAX_WAITING) throw new LoginError('other', 'demo: too many sign-ins are waiting for the demo app');
    let entry: Entry = this.#add({ id: newId(), kind, accountName: accountName ?? DEMO_QR_ACCOUNT, state: 'waiting', onChange });
    const app = this;
    return {
      get id() {
        return entry.id;
      },
      get url() {
        return app.#url(entry.id);
      },
      renew() {
        if (entry.state !== 'waiting' && entry.state !== 'opened') return;
        const { onChange } = entry; // #end silences the old entry
        app.#end(entry);
        entry = app.#add({ ...entry, id: newId(), state: 'waiting', onChange });
      },
      end() {
        app.#end(entry);
      },
    };
  }

  /** A sign-in by its id (from the page's URL), or undefined. */
  find(id: string): DemoApproval | undefined {
    const entry = this.#entries.get(id);
    return entry && { id: entry.id, kind: entry.kind, accountName: entry.accountName, state: entry.state };
  }

  /** Password sign-ins waiting for an approval, oldest first (a QR code is reached by scanning it). */
  get waitingPasswordSignIns(): DemoApproval[] {
    return [...this.#entries.values()]
      .filter((e) => e.kind === 'password' && (e.state === 'waiting' || e.state === 'opened'))
      .map((e) => this.find(e.id)!);
  }

  get waitingCount(): number {
    return [...this.#entries.values()].filter((e) => e.state === 'waiting' || e.state === 'opened').length;
  }

  /** The person scanned the code or opened the prompt (Steam's "remote interaction"). */
  open(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry?.state !== 'waiting') return false;
    entry.state = 'opened';
    entry.onChange('opened');
    return true;
  }

  approve(id: string): boolean {
    return this.#decide(id, 'approved');
  }

  deny(id: string): boolean {
    return this.#decide(id, 'denied');
  }

  #decide(id: string, state: 'approved' | 'denied'): boolean {
    const entry = this.#entries.get(id);
    if (entry?.state !== 'waiting' && entry?.state !== 'opened') return false;
    entry.state = state;
    entry.onChange(state);
    return true;
  }

  #add(entry: Entry): Entry {
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** Ends an entry; the page keeps recognising the latest ended ones. */
  #end(entry: Entry): void {
    // Approved or denied stay so: the page goes on saying which.
    if (entry.state === 'waiting' || entry.state === 'opened') entry.state = 'ended';
    entry.onChange = () => {};
    const ended = [...this.#entries.values()].filter((e) => e.state !== 'waiting' && e.state !== 'opened');
    for (const old of ended.slice(0, Math.max(0, ended.length - REMEMBER_ENDED))) this.#entries.delete(old.id);
  }

  #url(id: string): string {
    return new URL(`${DEMO_APP_PATH}r/${id}`, this.#baseUrl).href;
  }
}

function newId(): string {
  return randomBytes(16).toString('base64url');
}
