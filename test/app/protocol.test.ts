import t from 'tap';
import { CLIENT_TYPES, parseClientMessage } from '../../lib/app/protocol.js';

const parse = (value: unknown) => parseClientMessage(JSON.stringify(value));

t.test('every message type, valid', async (t) => {
  const valid: [unknown, unknown][] = [
    [{ type: 'hello', version: 2 }, { type: 'hello', version: 2 }],
    [{ type: 'hello', version: 2, resume: 'tok', id: 'a' }, { type: 'hello', version: 2, resume: 'tok', id: 'a' }],
    [
      { type: 'login', accountName: '  alice ', password: ' pass word ' },
      { type: 'login', accountName: 'alice', password: ' pass word ' },
    ],
    [{ type: 'guard-code', code: ' AB12C\n', id: 7 }, { type: 'guard-code', code: 'AB12C', id: 7 }],
    [{ type: 'add-keys', text: '' }, { type: 'add-keys', text: '' }],
    [
      { type: 'add-keys', text: 'x', allow: { unknown: true, digitsOnly: false, other: 1 } },
      { type: 'add-keys', text: 'x', allow: { unknown: true, digitsOnly: false } },
    ],
    [{ type: 'login-qr' }, { type: 'login-qr' }],
    [{ type: 'cancel-login', id: 3 }, { type: 'cancel-login', id: 3 }],
    [{ type: 'cancel' }, { type: 'cancel' }],
    [{ type: 'resume' }, { type: 'resume' }],
    [{ type: 'logout', extra: 'ignored' }, { type: 'logout' }],
  ];
  for (const [input, output] of valid) t.same(parse(input), { ok: true, message: output }, JSON.stringify(input));
  t.same(
    new Set(valid.map(([input]) => (input as { type: string }).type)),
    new Set(CLIENT_TYPES),
    'the test covers every type',
  );
});

t.test('the password is kept exactly as typed (no trimming)', async (t) => {
  const parsed = parse({ type: 'login', accountName: 'a', password: '  x  ' });
  t.ok(parsed.ok && parsed.message.type === 'login' && parsed.message.password === '  x  ');
});

t.test('malformed messages get an error with a code, and the request id when it had a valid one', async (t) => {
  const cases: [string | Buffer, string, RegExp][] = [
    [Buffer.from('{"type":"cancel"}'), 'bad-json', /not binary/],
    ['{"type": "cancel"', 'bad-json', /not valid JSON/],
    ['', 'bad-json', /not valid JSON/],
    ['[1,2]', 'bad-message', /JSON object/],
    ['null', 'bad-message', /JSON object/],
    ['"hello"', 'bad-message', /JSON object/],
    ['{}', 'bad-message', /needs a "type"/],
    ['{"type": 5}', 'bad-message', /needs a "type"/],
    ['{"type": "dance"}', 'unknown-type', /known types: hello, login/],
    ['{"type": "__proto__"}', 'unknown-type', /unknown/],
    ['{"type": "toString"}', 'unknown-type', /unknown/],
    ['{"type": "hello"}', 'bad-message', /"hello" needs "version"/],
    ['{"type": "hello", "version": "1"}', 'bad-message', /"version" must be a whole number/],
    ['{"type": "hello", "version": 1.5}', 'bad-message', /"version" must be a whole number/],
    ['{"type": "hello", "version": 1, "resume": ""}', 'bad-message', /"resume" must be 1 to 128/],
    ['{"type": "login", "accountName": "a"}', 'bad-message', /"login" needs "password"/],
    ['{"type": "login", "accountName": "   ", "password": "p"}', 'bad-message', /"accountName" must be 1 to 64/],
    [`{"type": "login", "accountName": "${'a'.repeat(65)}", "password": "p"}`, 'bad-message', /"accountName"/],
    ['{"type": "login", "accountName": "a", "password": 123}', 'bad-message', /"password" must be a string/],
    ['{"type": "guard-code", "code": "12 34"}', 'bad-message', /"code" must be letters and digits/],
    ['{"type": "add-keys", "text": ["AAAAA-BBBBB-CCCCC"]}', 'bad-message', /"text" must be a string/],
    ['{"type": "add-keys", "text": "", "allow": true}', 'bad-message', /"allow" must be an object of true\/false flags/],
    ['{"type": "add-keys", "text": "", "allow": {"unknown": 1}}', 'bad-message', /"allow.unknown" must be true or false/],
    ['{"type": "cancel", "id": {"x": 1}}', 'bad-message', /"id" must be/],
  ];
  for (const [input, code, text] of cases) {
    const parsed = parseClientMessage(input);
    t.equal(parsed.ok, false, String(input));
    if (!parsed.ok) {
      t.equal(parsed.error.code, code, String(input));
      t.match(parsed.error.message, text, String(input));
      t.equal(parsed.error.type, 'error');
    }
  }
  const withId = parseClientMessage('{"type": "login", "id": "req-1", "accountName": "a"}');
  t.match(withId, { ok: false, error: { code: 'bad-message', id: 'req-1' } }, 'the reply names the request');
});

t.test('no error text quotes the value it rejects', async (t) => {
  const secret = 'hunter2-Pa55w0rd!';
  const inputs = [
    `{"type":"login","accountName":"alice","password":"${secret}"`, // cut short: V8 would quote it
    `{"type":"login","accountName":"alice","password":"${secret}", }`,
    `{"type":"login","accountName":"alice","password":${secret}}`, // unquoted: V8's message quotes the input
    `{"type":"login","accountName":"${secret}${'x'.repeat(64)}","password":"p"}`,
    `{"type":"login","accountName":"alice","password":"${secret}","id":{"bad":true}}`,
    `{"type":"guard-code","code":"${secret}"}`,
    `{"type":"${secret}","password":"${secret}"}`,
    `{"type":"login","accountName":"alice","password":"${secret}"}`.replace('"type":"login"', '"type":7'),
  ];
  for (const input of inputs) {
    const parsed = parseClientMessage(input);
    t.equal(parsed.ok, false);
    t.notMatch(JSON.stringify(parsed), secret, input.slice(0, 40));
    t.notMatch(JSON.stringify(parsed), 'hunter2');
  }
});
