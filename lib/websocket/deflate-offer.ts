/**
 * Negotiating permessage-deflate (RFC 7692 §5, §7.1), server side: pure
 * functions from the client's Sec-WebSocket-Extensions value and the
 * server's options to the parameters both sides will use and the value of
 * the response header — or to nothing, when no offer can be honoured (the
 * connection then goes on without compression: declining is always allowed,
 * §5). No zlib here.
 */

/** The extension's name (§7); compared without regard to case, like every token (RFC 7230 §3.2.6). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** One extension in the header: its name (lower case) and parameters in order, values unquoted (null: none). */
export interface ExtensionOffer {
  name: string;
  params: [name: string, value: string | null][];
}

/** RFC 7230 §3.2.6 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a Sec-WebSocket-Extensions value by RFC 6455 §9.1's grammar:
 * 1#( token *( ";" token [ "=" ( token | quoted-string ) ] ) ), a quoted value
 * being a token once unescaped (§9.1). Names are lower-cased; values are kept
 * as sent (they are compared as numbers, or must be absent). Returns null for a
 * value that breaks the grammar, which RFC 6455 §9.1 answers by failing the
 * handshake; empty list elements are allowed (RFC 7230 §7).
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const token = (): string | null => {
    const start = i;
    while (i < n && !' \t,;="'.includes(value[i]!)) i++;
    const text = value.slice(start, i);
    return TOKEN.test(text) ? text : null;
  };
  while (i < n) {
    skipSpace();
    if (value[i] === ',') {
      i++;
      continue; // an empty element
    }
    if (i >= n) break;
    const name = token();
    if (name === null) return null;
    const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    skipSpace();
    while (value[i] === ';') {
      i++;
      skipSpace();
      const key = token();
      if (key === null) return null;
      skipSpace();
      let param: string | null = null;
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') {
          // quoted-string (RFC 7230 §3.2.6), then §9.1: its content must be a token.
          i++;
          let text = '';
          for (;;) {
            if (i >= n) return null;
            const c = value[i++]!;
            if (c === '"') break;
            text += c === '\\' && i < n ? value[i++]! : c;
          }
          if (!TOKEN.test(text)) return null;
          param = text;
        } else {
          param = token();
          if (param === null) return null;
        }
        skipSpace();
      }
      offer.params.push([key.toLowerCase(), param]);
    }
    if (i < n && value[i] !== ',') return null;
    out.push(offer);
  }
  return out.length > 0 ? out : null;
}

/** Window sizes, in bits, that zlib's raw deflate can use (see deflateWindowBits). */
const MIN_WINDOW_BITS = 9;
const MAX_WINDOW_BITS = 15;

/** What the server is willing to do; every field optional (see DEFAULT_DEFLATE_OPTIONS). */
export interface DeflateOptions {
  /**
   * Reset our compressor after every message (§7.1.1.1) even when the client
   * does not ask: no compressor memory is kept between messages.
   */
  serverNoContextTakeover?: boolean;
  /** Ask the client to reset its compressor after every message (§7.1.1.2): no inflater memory is kept between messages. */
  clientNoContextTakeover?: boolean;
  /** Our compressor's window (§7.1.2.1), 9–15; a client may ask for a smaller one. */
  serverMaxWindowBits?: number;
  /** The client's window we ask for (§7.1.2.2), 9–15, when it says it can limit it. */
  clientMaxWindowBits?: number;
  /** Messages shorter than this (bytes, text counted in UTF-16 units) are sent uncompressed. */
  threshold?: number;
  /** zlib compression level, 0–9 (node:zlib's default: 6 through Z_DEFAULT_COMPRESSION). */
  level?: number;
  /** zlib memLevel, 1–9: the compressor's hash table and buffer, 2^(memLevel+9) bytes each. */
  memLevel?: number;
  /** zlib jobs (compress or inflate) running at once over the whole process; the rest wait in order. */
  concurrency?: number;
}

export type ResolvedDeflateOptions = Required<DeflateOptions>;

/**
 * The defaults, from the measurements in docs/rfc7692.md. Context takeover
 * stays on (like ws and browsers): without it 1 KiB JSON messages compress
 * to about twice the bytes. Instead contexts are made on first use (an idle
 * connection holds none), our compressor is freed after an interval unused
 * (PerMessageDeflate.trim). memLevel is zlib's 8, as ws's: memLevel 5
 * (~170 KiB of RSS per busy compressor instead of ~250) cut zlib's blocks to
 * 2,048 symbols: a 1 MiB JSON text cost 8% more server CPU than ws, half of it
 * building Huffman trees, and 1.5% more bytes, while an idle compressed
 * connection's RSS stayed level with ws's either way (docs/deflate-benchmarks.md).
 */
export const DEFAULT_DEFLATE_OPTIONS: Readonly<ResolvedDeflateOptions> = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: MAX_WINDOW_BITS,
  clientMaxWindowBits: MAX_WINDOW_BITS,
  threshold: 1024,
  level: 6,
  memLevel: 8,
  concurrency: 10,
});

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`deflate option ${name} must be an integer from ${min} to ${max}, got ${value}`);
}

/** Fills in the defaults; throws RangeError for an option zlib or the RFC cannot honour. */
export function resolveDeflateOptions(options: DeflateOptions | boolean = {}): ResolvedDeflateOptions {
  const resolved = { ...DEFAULT_DEFLATE_OPTIONS, ...(typeof options === 'object' ? options : {}) };
  checkInt('serverMaxWindowBits', resolved.serverMaxWindowBits, MIN_WINDOW_BITS, MAX_WINDOW_BITS);
  checkInt('clientMaxWindowBits', resolved.clientMaxWindowBits, MIN_WINDOW_BITS, MAX_WINDOW_BITS);
  checkInt('threshold', resolved.threshold, 0, Number.MAX_SAFE_INTEGER);
  checkInt('level', resolved.level, 0, 9);
  checkInt('memLevel', resolved.memLevel, 1, 9);
  checkInt('concurrency', resolved.concurrency, 1, 1024);
  return resolved;
}

/** The parameters agreed for one connection (§7.1): what both sides' compressors do. */
export interface DeflateParams {
  /** We reset our compressor after each message (server_no_context_takeover). */
  serverNoContextTakeover: boolean;
  /** The client resets its compressor after each message: we may reset our inflater too. */
  clientNoContextTakeover: boolean;
  /** Our compressor's window. */
  serverMaxWindowBits: number;
  /** The window of the client's compressor; our inflater uses it (15 when not limited). */
  clientMaxWindowBits: number;
}

export interface DeflateAgreement {
  params: DeflateParams;
  /** The Sec-WebSocket-Extensions value of the 101 response. */
  response: string;
}

/** A window-bits value (§7.1.2): a decimal integer without leading zeros, 8 to 15. */
function windowBits(value: string | null): number | null {
  return value !== null && /^(?:8|9|1[0-5])$/.test(value) ? Number(value) : null;
}

/**
 * Turns one permessage-deflate offer into the parameters we would use, or
 * null to decline it. §7: a server MUST decline an offer that has a parameter
 * not defined for an offer, a parameter with an invalid value, or the same
 * parameter twice, and one whose configuration it does not support.
 */
export function acceptOffer(params: ExtensionOffer['params'], options: ResolvedDeflateOptions): DeflateAgreement | null {
  const seen = new Set<string>();
  let serverNoContextTakeover = options.serverNoContextTakeover;
  let clientNoContextTakeover = options.clientNoContextTakeover;
  let serverMaxWindowBits = options.serverMaxWindowBits;
  /** null: the client did not say it can limit its window, so we may not ask (§7.1.2.2). */
  let clientWindow: number | null = null;
  for (const [name, value] of params) {
    if (seen.has(name)) return null; // §7: the same parameter twice
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover': // §7.1.1.1: no value
        if (value !== null) return null;
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover': // §7.1.1.2: no value; the client will reset anyway
        if (value !== null) return null;
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        // §7.1.2.1: a value is required; we answer with it or a smaller one.
        const bits = windowBits(value);
        if (bits === null) return null;
        // zlib's raw deflate has no 256-byte window (deflateInit2 refuses
        // windowBits 8 since zlib 1.2.9, and node:zlib silently turns 8 into
        // 9 for DeflateRaw, a 512-byte window: more than the client allows).
        // ws accepts 8 and so compresses with 9 through that mapping; python-
        // websockets (10.4) accepts it and then fails when it makes its
        // compressor (zlib.compressobj(wbits=-8): "Invalid initialization
        // option"). We decline the offer instead: "the server doesn't support
        // the offered configuration" (§7), and a later offer may still do.
        if (bits < MIN_WINDOW_BITS) return null;
        serverMaxWindowBits = Math.min(serverMaxWindowBits, bits);
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: no value (the client can limit its window) or 8–15 (its limit already).
        if (value === null) clientWindow = MAX_WINDOW_BITS;
        else {
          const bits = windowBits(value);
          if (bits === null) return null;
          clientWindow = bits;
        }
        break;
      }
      default:
        return null; // §7: a parameter not defined for an offer
    }
  }
  // The client's window: ours to limit only if it offered client_max_window_bits (§7.1.2.2).
  // Inflating with a window at least as large as the sender's always works, so
  // without one we assume 15; zlib's raw inflate does accept 8.
  const clientMaxWindowBits = clientWindow === null ? MAX_WINDOW_BITS : Math.min(clientWindow, options.clientMaxWindowBits);
  const response = [PERMESSAGE_DEFLATE];
  if (serverNoContextTakeover) response.push('server_no_context_takeover');
  if (clientNoContextTakeover) response.push('client_no_context_takeover');
  // §7.1.2.1: a server MAY send server_max_window_bits unasked, to use a smaller window.
  if (serverMaxWindowBits < MAX_WINDOW_BITS || seen.has('server_max_window_bits')) response.push(`server_max_window_bits=${serverMaxWindowBits}`);
  // §7.1.2.2: only if offered; needed when smaller than what the client may use.
  if (clientWindow !== null && clientMaxWindowBits < MAX_WINDOW_BITS) response.push(`client_max_window_bits=${clientMaxWindowBits}`);
  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    response: response.join('; '),
  };
}

/**
 * Picks the first permessage-deflate offer we can honour, in the client's
 * order of preference (§5: the server picks one of the offers, and a client
 * lists them best first); other extensions are ignored. Null: accept none.
 */
export function negotiateDeflate(offers: readonly ExtensionOffer[], options: ResolvedDeflateOptions): DeflateAgreement | null {
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const agreement = acceptOffer(offer.params, options);
    if (agreement !== null) return agreement;
  }
  return null;
}
