/**
 * No password or guard code in any log line, any message to the page, or
 * anything printed by the process — with the real steam-user in the loop
 * (test/app/secrets.test.ts covers the demo port) — and no refresh or access
 * token there or in a trace line, with steam-session's debug output on. Run by secrets.test.ts in
 * a process that trusts the fake's test CA.
 */
import t from 'tap';
import { formatRedactedTrace } from '../../lib/app/trace.js';
import { guardCode, keyState, login, startE2E, type E2E } from './real-steam.js';
import { capturePrinted, secretPieces, tokenPieces } from '../helpers/secrets.js';

// Distinctive values, so that finding one anywhere is not a coincidence.
const PASSWORD = 'Tr0ub4dor&3-secret';
const WRONG_PASSWORD = 'Wr0ngPass-secret';
const CODE = 'K9QZ4';
const WRONG_CODE = 'W7RNG';
/** By name: the test's own output must not quote them either, or the capture below would find them. */
const SECRETS = { password: PASSWORD, 'wrong password': WRONG_PASSWORD, 'guard code': CODE, 'wrong guard code': WRONG_CODE };

t.test('no log line, page message or printed text holds a password or guard code', async (t) => {
  const stop = capturePrinted();
  let printed = '';
  try {
    const { steam, run } = await startE2E(
      t,
      {
        accounts: [
          { accountName: 'alice', password: PASSWORD, guard: { type: 'authenticator', codes: [CODE] } },
          { accountName: 'mallory', password: PASSWORD, loginResult: 84 },
        ],
        keys: { 'ACTIV-ATED1-ONEPK': { packages: [{ id: 1, name: 'One' }] }, 'NOANS-WER00-00000': 'no-answer' },
      },
      { redeemTimeoutMs: 200 },
    );
    const client = await run.connect();
    await client.hello();

    t.match((await login(client, 'alice', WRONG_PASSWORD)).at(-1), { reason: 'invalid-password' });
    t.match((await login(client, 'mallory', PASSWORD)).at(-1), { reason: 'rate-limited' });

    // Malformed and misplaced messages that carry the secrets.
    client.send(`{"type":"login","accountName":"alice","password":"${PASSWORD}"`);
    t.match(await client.until('error'), { code: 'bad-json' });
    client.send({ type: 'login', accountName: 'x'.repeat(100), password: PASSWORD });
    t.match(await client.until('error'), { code: 'bad-message' });
    client.send({ type: 'guard-code', code: WRONG_CODE });
    t.match(await client.until('error'), { code: 'wrong-state' });

    // A wrong and then the right authenticator code, through steam-user to the fake.
    t.match((await login(client, 'alice', PASSWORD)).at(-1), { state: 'guard' });
    t.match((await guardCode(client, WRONG_CODE)).at(-1), { state: 'guard', guard: { lastCodeWrong: true } });
    client.send({ type: 'login', accountName: 'alice', password: PASSWORD }); // while asked for a code
    t.match(await client.until('error'), { code: 'wrong-state' });
    t.match((await guardCode(client, CODE)).at(-1), { state: 'signed-in' });
    t.same(
      steam.log.flatMap((e) => (e.type === 'guard-code' ? [e.accepted] : [])),
      [false, true],
      'the codes did reach Steam',
    );

    // Keys, one without an answer; then Steam drops the connection, and the session ends.
    client.send({ type: 'add-keys', text: 'ACTIV-ATED1-ONEPK NOANS-WER00-00000' });
    await keyState(client, 2, 'done');
    steam.dropConnections();
    await client.until('login', (m) => m.state === 'signed-out');
    client.send({ type: 'logout' });
    await client.closed;
    await run.logged(/session-closed/);

    const everything = [...client.frames, ...run.logs];
    t.ok(client.frames.length > 15 && run.logs.length > 10, 'there was plenty to look at');
    for (const [name, secret] of Object.entries(SECRETS)) {
      const leaks = secretPieces(secret).filter((piece) => everything.some((line) => line.includes(piece))).length;
      t.equal(leaks, 0, `no part of the ${name} in the page's messages or the log`);
    }
    const token = client.token!;
    t.notOk(run.logs.some((line) => line.includes(token)), 'the resume token is not logged');
  } finally {
    printed = stop();
  }
  t.ok(printed.length > 0, 'the capture saw the output of the test itself');
  for (const [name, secret] of Object.entries(SECRETS)) {
    const leaks = secretPieces(secret).filter((piece) => printed.includes(piece)).length;
    t.equal(leaks, 0, `no part of the ${name} printed by the process`);
  }
});

t.test('no log line, page message, trace line or printed text holds a refresh or access token', async (t) => {
  const stop = capturePrinted();
  let printed = '';
  const trace: string[] = [];
  let steam!: E2E['steam'];
  let logs: string[] = [];
  let frames: string[] = [];
  try {
    const started = await startE2E(
      t,
      {
        accounts: [
          { accountName: 'alice', password: PASSWORD },
          { accountName: 'carol', password: PASSWORD, guard: { type: 'authenticator', codes: [CODE], approvable: true } },
        ],
        keys: { 'ACTIV-ATED1-ONEPK': { packages: [{ id: 1, name: 'One' }] } },
      },
      {},
      5_000,
      { trace: (frame) => trace.push(formatRedactedTrace(frame)) },
    );
    steam = started.steam;
    const { run } = started;

    // A password sign-in approved in the Steam app, over /ws as the page does it; keys; sign out.
    const client = await run.connect();
    await client.hello();
    t.match((await login(client, 'carol', PASSWORD)).at(-1), { state: 'guard', guard: { approvable: true } });
    await steam.app.confirmationFor('carol');
    steam.app.approve('carol');
    await client.until('login', (m) => m.state === 'signed-in');
    client.send({ type: 'add-keys', text: 'ACTIV-ATED1-ONEPK' });
    await keyState(client, 1, 'done');
    client.send({ type: 'logout' });
    await client.closed;

    // A QR sign-in over /ws as the page does it: the page gets the challenge, scanned, signed in — never a token.
    const qr = await run.connect();
    await qr.hello();
    qr.send({ type: 'login-qr' });
    const url = await steam.app.nextChallenge();
    t.match(await qr.until('login', (m) => m.state === 'qr'), { qr: { url } }, 'the page is sent the challenge');
    steam.app.scan(url, 'alice');
    await qr.until('login', (m) => m.state === 'qr' && m.qr?.scanned === true);
    steam.app.approve(url);
    await qr.until('login', (m) => m.state === 'signed-in');
    qr.send({ type: 'add-keys', text: 'ACTIV-ATED1-ONEPK' });
    await keyState(qr, 1, 'done');
    qr.send({ type: 'logout' });
    await qr.closed;
    await run.logged(/session-closed/, 2);
    logs = run.logs;
    frames = [...client.frames, ...qr.frames];
  } finally {
    printed = stop();
  }
  t.equal(steam.log.filter((e) => e.type === 'tokens').length, 2, 'Steam issued tokens for both sign-ins');
  t.ok(steam.issuedTokens.length >= 4, 'refresh and access tokens, and those steam-user fetched');
  t.ok(trace.length > 10 && logs.length > 5 && frames.length > 5, 'there was plenty to look at');
  t.match(printed, /steam-session:WebSocketCMTransport/, 'steam-session\'s debug output was on (DEBUG), and captured');
  const places = { 'log lines': logs.join('\n'), 'page messages': frames.join('\n'), 'trace lines': trace.join('\n'), 'printed text': printed };
  for (const [where, text] of Object.entries(places)) {
    const leaks = steam.issuedTokens.flatMap(tokenPieces).filter((piece) => text.includes(piece)).length;
    t.equal(leaks, 0, `no piece of a token in the ${where}`);
  }
});
