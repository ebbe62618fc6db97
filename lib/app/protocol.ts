/**
 * The application protocol between the page (or any client) and the server,
 * over one WebSocket: JSON text messages, each an object with a `type`.
 * Documented in docs/protocol.md; version 2 (sessions made at sign-in or
 * first paste, one per Steam account: docs/sessions.md).
 *
 * Every message received is validated here before anything acts on it. A
 * malformed or unknown message gets an `error` reply and the connection
 * stays open. Error texts name the field and what was expected, never the
 * value: a password must not come back in an error (V8's own JSON.parse
 * message quotes the input, so it is never passed on).
 */
import type { DroppedKey, DropReason } from '../steam/keys.js';
import type { KeyEntry } from '../steam/queue.js';
import type { Text } from '../steam/results.js';
import type { EvictReason } from '../steam/session-store.js';
import type { LoginStatus, QueueInfo, SessionErrorCode, SessionSnapshot } from '../steam/session.js';

/** Compile-time checks that the runtime lists below are complete. */
type Assert<T extends true> = T;
type _SessionCodesAreErrorCodes = Assert<SessionErrorCode extends ErrorCode ? true : false>;

export const PROTOCOL_VERSION = 2;
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** A client's label for a request, echoed in the direct reply (welcome, keys-added, error). */
export type RequestId = string | number;

export type ClientMessage =
  | { type: 'hello'; version: number; resume?: string; id?: RequestId }
  | { type: 'login'; accountName: string; password: string; id?: RequestId }
  | { type: 'login-qr'; id?: RequestId }
  | { type: 'cancel-login'; id?: RequestId }
  | { type: 'guard-code'; code: string; id?: RequestId }
  | { type: 'add-keys'; text: string; allow?: { digitsOnly?: boolean; unknown?: boolean }; id?: RequestId }
  | { type: 'cancel'; id?: RequestId }
  | { type: 'resume'; id?: RequestId }
  | { type: 'logout'; id?: RequestId };

export type ClientType = ClientMessage['type'];

/** Every error code (see docs/protocol.md, "Errors"). */
export const ERROR_CODES = [
  /** Not JSON text (a binary frame, or text that does not parse). */
  'bad-json',
  /** JSON, but not a valid message: not an object, or a field missing or wrong. */
  'bad-message',
  'unknown-type',
  /** hello asked for a version this server does not speak; `versions` lists those it does. */
  'unsupported-version',
  /** The first message must be hello. */
  'hello-first',
  'already-greeted',
  /** No room for another session on the server now. */
  'server-busy',
  /** This client address holds as many sessions as it may. */
  'too-many-sessions',
  /** The request needs a session and this connection has none (sign in or add keys first). */
  'no-session',
  /** Too many sign-ins from this address or session, or on the server, for now: `retryAt` says when. */
  'sign-in-limited',
  /** Steam refused sign-ins from this server (EResult 84) or to this account (87) lately: none is sent until `retryAt`. */
  'steam-cooldown',
  /** This client address pasted as much text as it may for now: nothing was added; `retryAt` says when. */
  'paste-limited',
  // From the session (SessionErrorCode):
  'wrong-state',
  'other-account',
  'too-many-keys',
  'closed',
] as const satisfies readonly string[];

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Why the server closes a connection: its session ended or it took its place, or too many connections from its address. */
export type ByeReason = EvictReason | 'too-many-connections';

export type ErrorMessage = {
  type: 'error';
  code: ErrorCode;
  message: string;
  id?: RequestId;
  versions?: readonly number[];
  /** With sign-in-limited, steam-cooldown and paste-limited: when to try again, in milliseconds since the epoch (server clock). */
  retryAt?: number;
};

/** How many keys-added lists of dropped keys at most; `droppedCounts` counts them all. */
export const MAX_DROPPED_LISTED = 20;

export type ServerMessage =
  | { type: 'welcome'; version: number; session: string | null; resumed: boolean; snapshot: SessionSnapshot; id?: RequestId }
  | { type: 'session'; session: string; joined: boolean; snapshot: SessionSnapshot }
  | ({ type: 'login' } & LoginStatus)
  | ({ type: 'queue' } & QueueInfo)
  | { type: 'key'; entry: KeyEntry }
  | {
      type: 'keys-added';
      added: KeyEntry[];
      dropped: DroppedKey[];
      droppedCounts: Partial<Record<DropReason, number>>;
      id?: RequestId;
    }
  | ErrorMessage
  | { type: 'bye'; reason: ByeReason; message: Text };

export type ServerType = ServerMessage['type'];

/** Every server message type. */
export const SERVER_TYPES = ['welcome', 'session', 'login', 'queue', 'key', 'keys-added', 'error', 'bye'] as const satisfies readonly ServerType[];
type _EveryServerTypeListed = Assert<ServerType extends (typeof SERVER_TYPES)[number] ? true : false>;

interface StringRule {
  kind: 'string';
  min: number;
  max: number;
  /** Leading and trailing white space is removed before the length check (not for passwords). */
  trim?: boolean;
  pattern?: RegExp;
  /** What the pattern means, for the error text. */
  expect?: string;
  optional?: boolean;
}

interface IntegerRule {
  kind: 'integer';
  min: number;
  max: number;
  optional?: boolean;
}

/** An object of yes/no flags, each optional; other names are ignored like unknown fields. */
interface FlagsRule {
  kind: 'flags';
  names: readonly string[];
  optional?: boolean;
}

type Rule = StringRule | IntegerRule | FlagsRule;

/**
 * The largest message the server reads, in bytes of UTF-8 (docs/protocol.md,
 * "Limits"); a larger one closes the connection with 1009 (RFC 6455 §7.4.1).
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The longest `add-keys` text, in UTF-16 code units (a string's length).
 * Outside ASCII it does not fit in one message: 1,000,000 Chinese characters
 * are 3 MB. A client with such a text sends the keys it finds instead, as
 * the page does (lib/app/page/add-keys.js).
 */
export const MAX_ADD_KEYS_TEXT = 1_000_000;

/** Each message type's fields (besides `type` and `id`). Fields not listed are ignored. */
export const SCHEMAS: Readonly<Record<ClientType, Readonly<Record<string, Rule>>>> = {
  hello: {
    version: { kind: 'integer', min: 1, max: 1_000_000 },
    resume: { kind: 'string', min: 1, max: 128, optional: true },
  },
  login: {
    accountName: { kind: 'string', min: 1, max: 64, trim: true },
    password: { kind: 'string', min: 1, max: 1024 },
  },
  'guard-code': {
    code: { kind: 'string', min: 1, max: 32, trim: true, pattern: /^[A-Za-z0-9]+$/, expect: 'letters and digits' },
  },
  'login-qr': {},
  'cancel-login': {},
  'add-keys': {
    text: { kind: 'string', min: 0, max: MAX_ADD_KEYS_TEXT },
    allow: { kind: 'flags', names: ['digitsOnly', 'unknown'], optional: true },
  },
  cancel: {},
  resume: {},
  logout: {},
};

export const CLIENT_TYPES = Object.keys(SCHEMAS) as ClientType[];

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; error: ErrorMessage };

function error(code: ErrorCode, message: string, id?: RequestId): { ok: false; error: ErrorMessage } {
  return { ok: false, error: id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 64) || Number.isSafeInteger(value);
}

/** Checks one field; returns its (trimmed) value or an error text that does not quote it. */
function check(name: string, rule: Rule, value: unknown): { value: unknown } | { problem: string } {
  if (rule.kind === 'integer') {
    if (!Number.isSafeInteger(value) || (value as number) < rule.min || (value as number) > rule.max) {
      return { problem: `"${name}" must be a whole number from ${rule.min} to ${rule.max}` };
    }
    return { value };
  }
  if (rule.kind === 'flags') {
    if (!isRecord(value)) return { problem: `"${name}" must be an object of true/false flags` };
    const flags: Record<string, boolean> = {};
    for (const flag of rule.names) {
      if (value[flag] === undefined) continue;
      if (typeof value[flag] !== 'boolean') return { problem: `"${name}.${flag}" must be true or false` };
      flags[flag] = value[flag];
    }
    return { value: flags };
  }
  if (typeof value !== 'string') return { problem: `"${name}" must be a string` };
  const text = rule.trim ? value.trim() : value;
  if (text.length < rule.min || text.length > rule.max) {
    return { problem: `"${name}" must be ${rule.min === 0 ? 'at most' : `${rule.min} to`} ${rule.max} characters` };
  }
  if (rule.pattern && !rule.pattern.test(text)) return { problem: `"${name}" must be ${rule.expect}` };
  return { value: text };
}

/** Validates one received WebSocket message. */
export function parseClientMessage(data: string | Buffer): Parsed {
  if (typeof data !== 'string') return error('bad-json', 'messages are JSON in text frames, not binary');
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return error('bad-json', 'the message is not valid JSON');
  }
  if (!isRecord(value)) return error('bad-message', 'a message is a JSON object with a "type"');
  if (value.id !== undefined && !isRequestId(value.id)) {
    return error('bad-message', '"id" must be a string of at most 64 characters or a whole number');
  }
  const id = value.id as RequestId | undefined;
  if (typeof value.type !== 'string') return error('bad-message', 'a message needs a "type" (a string)', id);
  if (!Object.hasOwn(SCHEMAS, value.type)) {
    return error('unknown-type', `unknown message type; known types: ${CLIENT_TYPES.join(', ')}`, id);
  }
  const type = value.type as ClientType;
  const message: Record<string, unknown> = { type };
  if (id !== undefined) message.id = id;
  for (const [name, rule] of Object.entries(SCHEMAS[type])) {
    const field = value[name];
    if (field === undefined) {
      if (rule.optional) continue;
      return error('bad-message', `"${type}" needs "${name}"`, id);
    }
    const checked = check(name, rule, field);
    if ('problem' in checked) return error('bad-message', checked.problem, id);
    message[name] = checked.value;
  }
  return { ok: true, message: message as ClientMessage }; // every field checked against SCHEMAS above
}

/** A server message as it goes on the wire. */
export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}
