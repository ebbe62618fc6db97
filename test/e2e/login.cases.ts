/**
 * Signing in, end to end: a page on /ws, the server with the real steam-user,
 * the fake Steam. Each case checks what the page is told. Run by
 * login.test.ts in a process that trusts the fake's test CA.
 */
import t from 'tap';
import type { FakeAccount } from '../fake-steam/fake-steam.js';
import { guardCode, login, startE2E } from './real-steam.js';

const PASSWORD = 'correct horse battery';
const ALICE: FakeAccount = { accountName: 'alice', password: PASSWORD, country: 'DE', steamId: '76561197960287930' };

t.test('a password sign-in: signing-in, then signed-in with the account', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE] });
  const client = await run.connect();
  await client.hello();
  const events = await login(client, 'alice', PASSWORD);
  t.same(events, [
    { type: 'login', state: 'signing-in' },
    { type: 'login', state: 'signed-in', account: { accountName: 'alice', steamId: '76561197960287930', country: 'DE' } },
  ]);
  t.match(steam.log.filter((e) => e.type === 'logon'), [{ accountName: 'alice', eresult: 1 }], 'Steam saw one sign-on');

  client.send({ type: 'login', id: 'again', accountName: 'alice', password: PASSWORD });
  t.match(await client.until('error'), { id: 'again', code: 'wrong-state' }, 'no second sign-in while signed in');

  client.send({ type: 'logout' });
  t.match(await client.until('bye'), { reason: 'logged-out' });
  t.equal((await client.closed).code, 1000);
  await run.logged(/session-closed/);
  t.ok(steam.log.some((e) => e.type === 'logoff'), 'logout signed out of Steam (ClientLogOff)');
});

t.test('e-mail Steam Guard: the prompt names the domain; a wrong code, then the right one', async (t) => {
  const { steam, run } = await startE2E(t, {
    accounts: [{ ...ALICE, guard: { type: 'email', domain: 'example.com', codes: ['GOOD1'] } }],
  });
  const client = await run.connect();
  await client.hello();

  const asked = await login(client, 'alice', PASSWORD);
  t.same(asked.at(-1), {
    type: 'login',
    state: 'guard',
    guard: { kind: 'email', domain: 'example.com', lastCodeWrong: false },
    message: {
      en: 'Enter the Steam Guard code that Steam e-mailed to your address at *@example.com.',
      zh: '请输入 Steam 发送到你的邮箱（*@example.com）的 Steam 令牌验证码。',
    },
  });

  const wrong = await guardCode(client, 'WRONG');
  t.same(wrong[0], { type: 'login', state: 'signing-in' }, 'the code goes to Steam');
  t.match(wrong.at(-1), {
    state: 'guard',
    guard: { kind: 'email', domain: 'example.com', lastCodeWrong: true },
    message: { en: /^That code was wrong\. Enter the Steam Guard code that Steam e-mailed/, zh: /^验证码错误。/ },
  });

  const right = await guardCode(client, 'GOOD1');
  t.match(right.at(-1), { state: 'signed-in', account: { accountName: 'alice', country: 'DE' } });
  t.same(
    steam.log.flatMap((e) => (e.type === 'guard-code' ? [`${e.kind}:${e.accepted}`] : [])),
    ['email:false', 'email:true'],
    'Steam checked both codes',
  );
});

t.test('authenticator Steam Guard: a wrong code, then the right one', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [{ ...ALICE, guard: { type: 'authenticator', codes: ['7QX2K'] } }] });
  const client = await run.connect();
  await client.hello();

  t.same((await login(client, 'alice', PASSWORD)).at(-1), {
    type: 'login',
    state: 'guard',
    guard: { kind: 'authenticator', lastCodeWrong: false },
    message: { en: 'Enter the code shown by the Steam Mobile app (Steam Guard).', zh: '请输入 Steam 手机应用（Steam 令牌）上显示的验证码。' },
  });
  t.match((await guardCode(client, 'AAAAA')).at(-1), {
    state: 'guard',
    guard: { kind: 'authenticator', lastCodeWrong: true },
    message: { en: 'That code was wrong. Enter the code shown by the Steam Mobile app (Steam Guard).' },
  });
  t.match((await guardCode(client, '7qx2k ')).at(-1), { state: 'signed-in' }, 'a code as typed: lower case, a space');
  t.same(
    steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
    [false, true],
  );
});

t.test('a wrong password: signed-out invalid-password, and the page may try again', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE] });
  const client = await run.connect();
  await client.hello();
  const events = await login(client, 'alice', 'not the password');
  t.same(events, [
    { type: 'login', state: 'signing-in' },
    {
      type: 'login',
      state: 'signed-out',
      reason: 'invalid-password',
      message: {
        en: 'Wrong account name or password. (Use the account name you sign in with, not your profile name.)',
        zh: '账户名或密码错误。（请使用登录用的账户名，而不是个人资料昵称。）',
      },
    },
  ]);
  t.match((await login(client, 'nobody', PASSWORD)).at(-1), { reason: 'invalid-password' }, 'an unknown account: the same answer');
  t.match((await login(client, 'alice', PASSWORD)).at(-1), { state: 'signed-in' }, 'then the right password works');
  t.same(
    steam.log.flatMap((e) => (e.type === 'auth' ? [e.eresult] : [])),
    [5, 5, 1],
  );
  await run.logged(/login-failed .*reason=invalid-password eresult=5/);
});

t.test('too many sign-ins from this server (EResult 84): rate-limited, wait 30 minutes', async (t) => {
  const { run } = await startE2E(t, {
    accounts: [{ ...ALICE, loginResult: 84 }, { accountName: 'carol', password: 'pw', loginResult: 87 }],
  });
  const client = await run.connect();
  await client.hello();
  t.same((await login(client, 'alice', PASSWORD)).at(-1), {
    type: 'login',
    state: 'signed-out',
    reason: 'rate-limited',
    message: {
      en: 'Too many sign-in attempts from this server. Wait at least 30 minutes before trying again.',
      zh: '此服务器的登录尝试次数过多，请至少等待 30 分钟后再试。',
    },
  });
  await run.logged(/login-failed .*reason=rate-limited eresult=84/);
  t.match((await login(client, 'carol', 'pw')).at(-1), {
    state: 'signed-out',
    reason: 'throttled',
    message: { en: 'Steam is holding back sign-ins to this account. Wait a while before trying again.' },
  }, 'and 87 AccountLoginDeniedThrottle');
});

t.test('Steam cannot be reached: signed-out unreachable once the sign-in times out', async (t) => {
  const { steam, run } = await startE2E(t, { accounts: [ALICE] }, {}, 1_500);
  steam.reachable.cm = false; // steam-user would retry the connection manager for ever
  const client = await run.connect();
  await client.hello();
  t.same((await login(client, 'alice', PASSWORD)).at(-1), {
    type: 'login',
    state: 'signed-out',
    reason: 'unreachable',
    message: {
      en: 'Could not reach Steam. Check the server’s network connection and try again.',
      zh: '无法连接到 Steam，请检查服务器的网络连接后重试。',
    },
  });
  steam.reachable.cm = true;
  t.match((await login(client, 'alice', PASSWORD)).at(-1), { state: 'signed-in' }, 'and a later sign-in works');
});

t.test('keys pasted before signing in wait, and go out once signed in', async (t) => {
  const { steam, run } = await startE2E(t, {
    accounts: [ALICE],
    keys: { 'AAAAA-BBBBB-CCCCC': { packages: [{ id: 10, name: 'Ten' }] } },
  });
  const client = await run.connect();
  await client.hello();
  client.send({ type: 'add-keys', text: 'AAAAA-BBBBB-CCCCC' });
  await client.until('keys-added');
  t.match(await client.until('queue'), { state: 'stalled', stalledBy: 'signed-out' });
  t.same(steam.keysReceived, []);
  await login(client, 'alice', PASSWORD);
  t.match(await client.until('key', (m) => m.entry.state === 'done'), { entry: { n: 1, result: { status: 'activated' } } });
  t.same(steam.keysReceived, ['AAAAA-BBBBB-CCCCC']);
});
