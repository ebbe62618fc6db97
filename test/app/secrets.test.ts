import t from 'tap';
import { startApp } from '../helpers/app.js';
import { secretPieces } from '../helpers/secrets.js';

// Distinctive values, so that finding one anywhere is not a coincidence.
const PASSWORD = 'Tr0ub4dor&3-secret';
const WRONG_PASSWORD = 'Wr0ngPass-secret';
const CODE = 'K9QZ4';
const WRONG_CODE = 'W7RNG';
const SECRETS = [PASSWORD, WRONG_PASSWORD, CODE, WRONG_CODE];

t.test('no log line and nothing sent to the page contains a password or a guard code', async (t) => {
  const run = await startApp({}, { password: PASSWORD, guardCode: CODE });
  t.teardown(run.close);
  const client = await run.connect();
  await client.hello();

  // Sign-in failures.
  client.send({ type: 'login', accountName: 'demo', password: WRONG_PASSWORD });
  t.match(await client.until('login', (m) => m.state === 'signed-out'), { reason: 'invalid-password' });
  client.send({ type: 'login', accountName: 'demo-limited', password: PASSWORD });
  t.match(await client.until('login', (m) => m.state === 'signed-out'), { reason: 'rate-limited' });

  // Malformed and misplaced messages that carry the secrets.
  client.send(`{"type":"login","accountName":"demo","password":"${PASSWORD}"`);
  t.match(await client.until('error'), { code: 'bad-json' });
  client.send(`{"type":"login","accountName":"demo","password":${PASSWORD}}`); // V8's message would quote this one
  t.match(await client.until('error'), { code: 'bad-json' });
  client.send({ type: 'login', accountName: 'x'.repeat(100), password: PASSWORD });
  t.match(await client.until('error'), { code: 'bad-message' });
  client.send({ type: 'login', accountName: 'demo', password: PASSWORD, id: { nested: PASSWORD } });
  t.match(await client.until('error'), { code: 'bad-message' });
  client.send({ type: 'guard-code', code: WRONG_CODE });
  t.match(await client.until('error'), { code: 'wrong-state' });
  client.send({ type: 'guard-code', code: `${CODE} ${PASSWORD}` });
  t.match(await client.until('error'), { code: 'bad-message' });

  // A sign-in with a wrong and then the right authenticator code.
  client.send({ type: 'login', accountName: 'demo-app', password: PASSWORD });
  await client.until('login', (m) => m.state === 'guard');
  client.send({ type: 'guard-code', code: WRONG_CODE });
  await client.until('login', (m) => m.state === 'guard' && m.guard?.lastCodeWrong === true);
  client.send({ type: 'login', accountName: 'demo-app', password: PASSWORD }); // while asked for a code
  t.match(await client.until('error'), { code: 'wrong-state' });
  client.send({ type: 'guard-code', code: CODE });
  await client.until('login', (m) => m.state === 'signed-in');

  // Keys, including one that times out.
  client.send({ type: 'add-keys', text: 'DEMO1-ACTIV-ATED1 DEMOA-TIMES-OUT00' });
  await client.until('key', (m) => m.entry.result?.status === 'unknown');
  client.send({ type: 'logout' });
  await client.closed;
  await run.logged(/session-closed/);

  const everything = [...client.frames, ...run.logs];
  t.ok(client.frames.length > 20 && run.logs.length > 10, 'there was plenty to look at');
  for (const secret of SECRETS) {
    const leaked = secretPieces(secret).filter((piece) => everything.some((line) => line.includes(piece)));
    t.same(leaked, [], `no part of "${secret}" appears anywhere`);
  }
  const token = client.token!;
  t.notOk(run.logs.some((line) => line.includes(token)), 'the resume token is not logged');
  t.notOk(run.logs.some((line) => line.includes('DEMO1-ACTIV-ATED1')), 'logs show a key by its first group only');
  t.ok(run.logs.some((line) => line.includes('key=DEMO1-*****-*****')));
  t.ok(run.logs.some((line) => /login-failed .*reason=invalid-password/.test(line)), 'the reason is logged');
});
