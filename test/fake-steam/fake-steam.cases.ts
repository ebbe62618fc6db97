/**
 * The fake Steam on its own: its proxy, its certificate and server list, and
 * the unmodified steam-user signing in and redeeming through its public API.
 * Run by fake-steam.test.ts in a process that trusts the test CA.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { connect } from 'node:tls';
import { API_HOST, CA_PATH, CM_HOST, startFakeSteam, type FakeSteam } from './fake-steam.js';

/** Opens a CONNECT tunnel through the fake's proxy; resolves with the status and the socket. */
async function tunnel(steam: FakeSteam, target: string): Promise<{ status: number; socket: Socket }> {
  const req = request(steam.proxyUrl, { method: 'CONNECT', path: target });
  req.end();
  const [res, socket] = (await once(req, 'connect')) as [{ statusCode: number }, Socket];
  return { status: res.statusCode, socket };
}

t.test('the proxy lets through only the API host and the CM host', async (t) => {
  const steam = await startFakeSteam();
  t.teardown(() => steam.close());
  for (const target of ['example.com:443', `${API_HOST}:80`, '127.0.0.1:22']) {
    const { status, socket } = await tunnel(steam, target);
    t.equal(status, 403, target);
    socket.destroy();
  }
  steam.reachable.cm = false;
  const { status, socket } = await tunnel(steam, `${CM_HOST}:443`);
  t.equal(status, 403, 'the CM host once made unreachable');
  socket.destroy();
  t.same(
    steam.log.map((event) => event.type === 'proxy-connect' && event.allowed),
    [false, false, false, false],
  );
});

t.test('the server list, over TLS with a certificate for api.steampowered.com', async (t) => {
  const steam = await startFakeSteam();
  t.teardown(() => steam.close());
  const { status, socket } = await tunnel(steam, `${API_HOST}:443`);
  t.equal(status, 200);
  // The CA is passed by hand here; steam-user relies on NODE_EXTRA_CA_CERTS.
  const secure = connect({ socket, servername: API_HOST, ca: readFileSync(CA_PATH) });
  await once(secure, 'secureConnect');
  t.ok(secure.authorized, 'the certificate checks out for the API host');
  secure.write(`GET /ISteamDirectory/GetCMListForConnect/v0001/?cmtype=websockets HTTP/1.1\r\nHost: ${API_HOST}\r\nConnection: close\r\n\r\n`);
  let text = '';
  for await (const chunk of secure) text += String(chunk);
  t.match(text, /^HTTP\/1\.1 200 /);
  t.match(text, new RegExp(`"endpoint"\\t"${CM_HOST.replace(/\./g, '\\.')}:443"`));
  t.match(text, /"type"\t"websockets"/);
  t.match(text, /"realm"\t"steamglobal"/);
});

/** The public API of steam-user that these cases use (the adapter uses other parts). */
interface RawSteamUser {
  on(event: string, listener: (...args: never[]) => void): void;
  logOn(details: { accountName: string; password: string }): void;
  logOff(): void;
  redeemKey(key: string): Promise<{ purchaseResultDetails: number; packageList: Record<string, string> }>;
}
type RawSteamUserClass = (new (options: object) => RawSteamUser) & { EConnectionProtocol: { WebSocket: number } };

t.test('the unmodified steam-user signs in and redeems through its public API', async (t) => {
  const steam = await startFakeSteam({
    accounts: [{ accountName: 'Alice', password: 'correct horse', country: 'DE' }],
    keys: {
      'AAAAA-BBBBB-CCCCC': { packages: [{ id: 100, name: 'Game' }, { id: 101, name: 'Game Soundtrack' }] },
      'DDDDD-EEEEE-FFFFF': { detail: 9, packages: [{ id: 100, name: 'Game' }] },
    },
  });
  t.teardown(() => steam.close());
  const SteamUser = createRequire(import.meta.url)('steam-user') as RawSteamUserClass;
  const user = new SteamUser({ dataDirectory: null, autoRelogin: false, protocol: SteamUser.EConnectionProtocol.WebSocket, httpProxy: steam.proxyUrl });
  const failed = new Promise<never>((_resolve, reject) => user.on('error', reject));
  user.on('steamGuard', () => t.fail('no guard code was asked for'));
  const loggedOn = once(user as unknown as NodeJS.EventEmitter, 'loggedOn');
  user.logOn({ accountName: 'alice', password: 'correct horse' });
  const [details] = (await Promise.race([loggedOn, failed])) as [{ ip_country_code: string }];
  t.equal(details.ip_country_code, 'DE');

  // steam-user's own receipt parser reads what the fake wrote.
  const activated = await user.redeemKey('AAAAA-BBBBB-CCCCC');
  t.same(activated, { purchaseResultDetails: 0, packageList: { 100: 'Game', 101: 'Game Soundtrack' } });
  const owned = await user.redeemKey('DDDDD-EEEEE-FFFFF').then(
    () => t.fail('AlreadyPurchased must reject'),
    (error: { eresult: number; purchaseResultDetails: number; packageList: object }) => error,
  );
  t.match(owned, { eresult: 2, purchaseResultDetails: 9, packageList: { 100: 'Game' } });

  // A key Steam answers only when the test says so; the same key twice is counted twice.
  steam.setKey('GGGGG-HHHHH-IIIII', 'hold');
  const held = user.redeemKey('GGGGG-HHHHH-IIIII');
  await steam.keyReceived('GGGGG-HHHHH-IIIII');
  t.notOk(steam.answerHeld('JJJJJ-KKKKK-LLLLL', {}), 'no such key waits');
  t.ok(steam.answerHeld('GGGGG-HHHHH-IIIII', { packages: [{ id: 102, name: 'Late Game' }] }));
  t.same(await held, { purchaseResultDetails: 0, packageList: { 102: 'Late Game' } });
  t.same(steam.repeatedKeys(), [], 'no key reached Steam twice yet');
  await user.redeemKey('AAAAA-BBBBB-CCCCC');
  t.same(steam.repeatedKeys(), ['AAAAA-BBBBB-CCCCC']);
  t.same(
    steam.tally.map((e) => [e.accountName, e.key]),
    [['Alice', 'AAAAA-BBBBB-CCCCC'], ['Alice', 'DDDDD-EEEEE-FFFFF'], ['Alice', 'GGGGG-HHHHH-IIIII'], ['Alice', 'AAAAA-BBBBB-CCCCC']],
    'every key, in order, with its account',
  );
  t.ok(steam.tally.every((e, i) => i === 0 || e.at >= steam.tally[i - 1]!.at), 'and when it arrived');

  const disconnected = once(user as unknown as NodeJS.EventEmitter, 'disconnected');
  user.logOff();
  await disconnected;
  t.same(steam.keysReceived, ['AAAAA-BBBBB-CCCCC', 'DDDDD-EEEEE-FFFFF', 'GGGGG-HHHHH-IIIII', 'AAAAA-BBBBB-CCCCC']);
  t.ok(steam.log.some((event) => event.type === 'logoff'), 'the fake saw the logoff');
  t.notOk(steam.log.some((event) => event.type === 'unsupported'), 'steam-user sent nothing the fake does not know');
});

t.test("steam-user's redeemKey kills the process on an empty receipt (why the adapter does not call it)", async (t) => {
  const steam = await startFakeSteam({
    accounts: [{ accountName: 'alice', password: 'pw' }],
    keys: { 'AAAAA-BBBBB-CCCCC': { detail: 14, emptyReceipt: true } },
  });
  t.teardown(() => steam.close());
  const script = `
    const SteamUser = require('steam-user');
    const user = new SteamUser({ dataDirectory: null, autoRelogin: false, protocol: 2, httpProxy: process.argv[1] });
    user.on('error', (e) => { console.error('error event', e.message); process.exit(3); });
    user.on('loggedOn', () => user.redeemKey('AAAAA-BBBBB-CCCCC').then(
      () => { console.log('resolved'); process.exit(0); },
      (e) => { console.log('rejected', e.message); process.exit(0); }));
    user.logOn({ accountName: 'alice', password: 'pw' });`;
  // Plain Node, CommonJS, in the project's directory so that require finds steam-user.
  const child = spawn(process.execPath, ['-e', script, steam.proxyUrl], { cwd: process.cwd(), env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 1, 'the process died of an uncaught exception');
  // binarykvparser reads past the end of the empty buffer, inside the message handler.
  t.match(stderr, /ERR_BUFFER_OUT_OF_BOUNDS/);
  t.match(stderr, /binarykvparser[\\/]index\.js/);
  t.match(stderr, /steam-user[\\/]components[\\/]apps\.js/, 'thrown from redeemKey');
  t.same(steam.keysReceived, ['AAAAA-BBBBB-CCCCC'], 'Steam did answer the key');
});
