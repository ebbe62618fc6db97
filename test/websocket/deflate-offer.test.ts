import t from 'tap';
import {
  acceptOffer,
  DEFAULT_DEFLATE_OPTIONS,
  negotiateDeflate,
  parseExtensions,
  resolveDeflateOptions,
  type DeflateOptions,
} from '../../lib/websocket/deflate-offer.js';

const DEFAULTS = resolveDeflateOptions();

/** Negotiates a header value with these server options; null: declined (or no offer). */
function negotiate(value: string, options: DeflateOptions = {}): ReturnType<typeof negotiateDeflate> {
  const offers = parseExtensions(value);
  if (offers === null) throw new Error(`malformed: ${value}`);
  return negotiateDeflate(offers, resolveDeflateOptions(options));
}

t.test('parseExtensions: §9.1 grammar, several offers, quoted values, case, whitespace', async (t) => {
  t.same(parseExtensions('permessage-deflate'), [{ name: 'permessage-deflate', params: [] }]);
  t.same(parseExtensions('Permessage-Deflate; Client_Max_Window_Bits'), [{ name: 'permessage-deflate', params: [['client_max_window_bits', null]] }], 'names lower-cased');
  t.same(parseExtensions('permessage-deflate; server_max_window_bits="10"'), [{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] }], 'quoted value unquoted');
  t.same(parseExtensions('permessage-deflate; server_max_window_bits="1\\0"'), [{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] }], 'quoted-pair unescaped');
  t.same(
    parseExtensions('permessage-deflate; client_no_context_takeover ;server_max_window_bits = 10, x-foo,  permessage-deflate\t; client_max_window_bits'),
    [
      { name: 'permessage-deflate', params: [['client_no_context_takeover', null], ['server_max_window_bits', '10']] },
      { name: 'x-foo', params: [] },
      { name: 'permessage-deflate', params: [['client_max_window_bits', null]] },
    ],
    'three offers, spaces and tabs around separators',
  );
  t.same(parseExtensions(', permessage-deflate ,,'), [{ name: 'permessage-deflate', params: [] }], 'empty list elements (RFC 7230 §7)');
  for (const bad of ['', ' , ', 'permessage-deflate;', 'permessage-deflate; =10', 'per message', 'permessage-deflate; a="b', 'permessage-deflate; a="b c"', 'permessage-deflate; a=', 'permessage-deflate; a="1,2"', 'x;y=z w', '"quoted"', 'a;b=c=d']) {
    t.equal(parseExtensions(bad), null, `malformed: ${JSON.stringify(bad)}`);
  }
});

t.test('an offer without parameters is accepted with a plain answer', async (t) => {
  t.same(negotiate('permessage-deflate'), {
    params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    response: 'permessage-deflate',
  });
});

t.test('server_no_context_takeover: offered, it is agreed and answered (§7.1.1.1); the server may also impose it', async (t) => {
  t.match(negotiate('permessage-deflate; server_no_context_takeover'), { params: { serverNoContextTakeover: true }, response: 'permessage-deflate; server_no_context_takeover' });
  t.match(negotiate('permessage-deflate', { serverNoContextTakeover: true }), { params: { serverNoContextTakeover: true }, response: 'permessage-deflate; server_no_context_takeover' });
  t.equal(negotiate('permessage-deflate; server_no_context_takeover=1'), null, 'a value is invalid: declined');
});

t.test('client_no_context_takeover: the client\'s promise is recorded and answered; the server may ask for it (§7.1.1.2)', async (t) => {
  t.match(negotiate('permessage-deflate; client_no_context_takeover'), { params: { clientNoContextTakeover: true }, response: 'permessage-deflate; client_no_context_takeover' });
  t.match(negotiate('permessage-deflate', { clientNoContextTakeover: true }), { params: { clientNoContextTakeover: true }, response: 'permessage-deflate; client_no_context_takeover' });
  t.equal(negotiate('permessage-deflate; client_no_context_takeover="x"'), null, 'a value is invalid: declined');
});

t.test('server_max_window_bits: 9–15 honoured with the same or a smaller value; no value, a bad value, or 8 is declined (§7.1.2.1)', async (t) => {
  t.match(negotiate('permessage-deflate; server_max_window_bits=10'), { params: { serverMaxWindowBits: 10 }, response: 'permessage-deflate; server_max_window_bits=10' });
  t.match(negotiate('permessage-deflate; server_max_window_bits=15'), { params: { serverMaxWindowBits: 15 }, response: 'permessage-deflate; server_max_window_bits=15' });
  t.match(negotiate('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }), { params: { serverMaxWindowBits: 10 }, response: 'permessage-deflate; server_max_window_bits=10' }, 'smaller than offered');
  t.match(negotiate('permessage-deflate', { serverMaxWindowBits: 11 }), { params: { serverMaxWindowBits: 11 }, response: 'permessage-deflate; server_max_window_bits=11' }, 'sent unasked to use a smaller window');
  for (const bad of ['', '=7', '=16', '=010', '=1a', '="abc"']) t.equal(negotiate(`permessage-deflate; server_max_window_bits${bad}`), null, `declined: server_max_window_bits${bad}`);
  t.equal(negotiate('permessage-deflate; server_max_window_bits=8'), null, 'zlib cannot deflate with a 256-byte window: declined');
  t.match(negotiate('permessage-deflate; server_max_window_bits=8, permessage-deflate'), { response: 'permessage-deflate' }, 'the next offer is taken instead');
});

t.test('client_max_window_bits: with or without a value; answered only when offered, with the smaller window (§7.1.2.2)', async (t) => {
  t.match(negotiate('permessage-deflate; client_max_window_bits'), { params: { clientMaxWindowBits: 15 }, response: 'permessage-deflate' }, 'no value: nothing to limit with the default 15');
  t.match(negotiate('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }), { params: { clientMaxWindowBits: 10 }, response: 'permessage-deflate; client_max_window_bits=10' });
  t.match(negotiate('permessage-deflate; client_max_window_bits=12'), { params: { clientMaxWindowBits: 12 }, response: 'permessage-deflate; client_max_window_bits=12' }, 'its own limit is kept: our inflater needs no more');
  t.match(negotiate('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 9 }), { params: { clientMaxWindowBits: 9 }, response: 'permessage-deflate; client_max_window_bits=9' });
  t.match(negotiate('permessage-deflate; client_max_window_bits=8'), { params: { clientMaxWindowBits: 8 }, response: 'permessage-deflate; client_max_window_bits=8' }, '8 is fine for inflating');
  t.match(negotiate('permessage-deflate', { clientMaxWindowBits: 10 }), { params: { clientMaxWindowBits: 15 }, response: 'permessage-deflate' }, 'not offered: never asked for (MUST NOT)');
  for (const bad of ['=7', '=16', '=08', '=x']) t.equal(negotiate(`permessage-deflate; client_max_window_bits${bad}`), null, `declined: client_max_window_bits${bad}`);
});

t.test('every parameter at once, quoted, in any case', async (t) => {
  t.same(negotiate('PERMESSAGE-DEFLATE; Server_No_Context_Takeover; client_no_context_takeover; server_max_window_bits="9"; client_max_window_bits="10"'), {
    params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    response: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10',
  });
});

t.test('bad offers are declined, not failed (§7): unknown parameter, repeated parameter, bad value; a later good offer wins', async (t) => {
  t.equal(negotiate('permessage-deflate; foo'), null, 'unknown parameter');
  t.equal(negotiate('permessage-deflate; mux=1'), null, 'unknown parameter with a value');
  t.equal(negotiate('permessage-deflate; client_max_window_bits; client_max_window_bits=10'), null, 'same parameter twice');
  t.equal(negotiate('permessage-deflate; server_no_context_takeover; server_no_context_takeover'), null, 'same flag twice');
  t.equal(negotiate('x-webkit-deflate-frame'), null, 'another extension only');
  t.match(negotiate('permessage-deflate; foo, permessage-deflate; server_max_window_bits=10, permessage-deflate'), { params: { serverMaxWindowBits: 10 } }, 'the first acceptable offer, in the client\'s order');
  t.match(negotiate('x-foo; a=1, permessage-deflate; client_no_context_takeover'), { params: { clientNoContextTakeover: true } }, 'other extensions are skipped');
});

t.test('what browsers, ws and python-websockets offer is accepted', async (t) => {
  t.match(negotiate('permessage-deflate; client_max_window_bits'), { response: 'permessage-deflate' }, 'Chromium, Firefox, ws, python-websockets 10.4 (all offer this by default)');
  t.match(negotiate('permessage-deflate; server_max_window_bits=12; client_max_window_bits=12'), { response: 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=12' }, 'a client limiting both windows to 12 bits (python-websockets\' server defaults)');
});

t.test('acceptOffer is the per-offer rule', async (t) => {
  t.equal(acceptOffer([['server_max_window_bits', null]], DEFAULTS), null);
  t.match(acceptOffer([], DEFAULTS), { response: 'permessage-deflate' });
});

t.test('options: defaults and range checks', async (t) => {
  t.same(resolveDeflateOptions(true), DEFAULT_DEFLATE_OPTIONS);
  t.equal(resolveDeflateOptions({ threshold: 0 }).threshold, 0);
  for (const bad of [{ serverMaxWindowBits: 8 }, { clientMaxWindowBits: 16 }, { level: 10 }, { memLevel: 0 }, { concurrency: 0 }, { threshold: -1 }, { threshold: 1.5 }]) {
    t.throws(() => resolveDeflateOptions(bad), RangeError, JSON.stringify(bad));
  }
});
