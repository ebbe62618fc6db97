import t from 'tap';
import { createRequire } from 'node:module';
import {
  EResult,
  guardText,
  PurchaseDetail,
  resultFromReply,
  signedOutText,
  unknownResult,
  type KeyStatus,
} from '../../lib/steam/results.js';

// The constants were copied from steam-user (only the adapter may import it
// in lib/); the test holds them to the pinned package so a bump cannot skew them.
const require = createRequire(import.meta.url);
const steamEResult = require('steam-user/enums/EResult.js') as Record<string, number>;
const steamDetail = require('steam-user/enums/EPurchaseResultDetail.js') as Record<string, number>;

t.test('EResult and EPurchaseResultDetail constants match steam-user 5.3.0', async (t) => {
  for (const [name, value] of Object.entries(EResult)) t.equal(value, steamEResult[name], `EResult.${name}`);
  for (const [name, value] of Object.entries(PurchaseDetail)) t.equal(value, steamDetail[name], `detail ${name}`);
});

const FAIL = EResult.Fail;

t.test('every failure Steam reports maps to its status', async (t) => {
  const cases: [number, number, KeyStatus, boolean][] = [
    // eresult, detail, status, keyUnused
    [FAIL, PurchaseDetail.AlreadyPurchased, 'already-owned', true],
    [FAIL, PurchaseDetail.OwnsExcludedApp, 'already-owned', true],
    [FAIL, PurchaseDetail.BadActivationCode, 'invalid-key', false],
    [FAIL, PurchaseDetail.InvalidPackage, 'invalid-key', false],
    [FAIL, PurchaseDetail.DuplicateActivationCode, 'key-used', false],
    [FAIL, PurchaseDetail.RestrictedCountry, 'region-locked', true],
    [FAIL, PurchaseDetail.RegionNotSupported, 'region-locked', true],
    [FAIL, PurchaseDetail.DoesNotOwnRequiredApp, 'needs-base-game', true],
    [FAIL, PurchaseDetail.CannotRedeemCodeFromClient, 'wallet-code', true],
    [FAIL, PurchaseDetail.RateLimited, 'rate-limited', true],
    [FAIL, PurchaseDetail.Timeout, 'unknown', false],
    [FAIL, PurchaseDetail.AcctIsBlocked, 'failed', false],
    [FAIL, PurchaseDetail.ExceededSteamLimit, 'failed', false],
    [FAIL, PurchaseDetail.POSACodeNotActivated, 'failed', false],
    [FAIL, PurchaseDetail.ContactSupport, 'failed', false],
    [FAIL, 0, 'failed', false], // a bare Fail
    [EResult.AlreadyOwned, 0, 'already-owned', true], // a bare EResult, no detail
    [EResult.AlreadyRedeemed, 0, 'key-used', false],
    [EResult.RegionLocked, 0, 'region-locked', true],
    [EResult.Timeout, 0, 'unknown', false],
    [EResult.RateLimitExceeded, 0, 'rate-limited', true], // cool down; never burn the rest
    [EResult.ServiceUnavailable, 0, 'failed', false],
  ];
  for (const [eresult, detail, status, keyUnused] of cases) {
    const result = resultFromReply({ eresult, detail, packages: [] });
    t.equal(result.status, status, `eresult ${eresult} detail ${detail} → ${status}`);
    t.equal(result.keyUnused, keyUnused, `keyUnused for ${status} (detail ${detail})`);
    t.equal(result.eresult, eresult);
    t.equal(result.detail, detail);
    t.ok(result.message.en.length > 0 && result.message.zh.length > 0, 'has both languages');
  }
});

t.test('success keeps every package with its name', async (t) => {
  const packages = [
    { id: 12345, name: 'Some Game' },
    { id: 12346, name: 'Some Game Soundtrack' },
    { id: 99, name: '游戏' },
  ];
  const result = resultFromReply({ eresult: EResult.OK, detail: 0, packages });
  t.equal(result.status, 'activated');
  t.same(result.packages, packages);
  t.not(result.packages, packages, 'a copy: the port cannot change a result afterwards');
  t.match(result.message.en, /Some Game, Some Game Soundtrack, 游戏/);
  t.match(result.message.zh, /激活成功/);
});

t.test('a failed reply keeps the packages Steam named (e.g. the one already owned)', async (t) => {
  const result = resultFromReply({ eresult: FAIL, detail: PurchaseDetail.AlreadyPurchased, packages: [{ id: 7, name: 'Owned' }] });
  t.same(result.packages, [{ id: 7, name: 'Owned' }]);
});

t.test('other failures are said for people, with the codes for Steam Support', async (t) => {
  const result = resultFromReply({ eresult: FAIL, detail: 42, packages: [] });
  t.equal(result.status, 'failed');
  t.equal(result.message.en, 'Steam refused this key without saying why. If you ask Steam Support, give them these codes: EResult 2, detail 42.');
  t.match(result.message.zh, /^Steam 拒绝了该激活码，但没有说明原因。.*EResult 2, detail 42/);
  t.notMatch(result.message.en, /\(EResult/, 'not the raw "(EResult 2, detail 42)"');
  const support = resultFromReply({ eresult: FAIL, detail: PurchaseDetail.ContactSupport, packages: [] });
  t.match(support, { status: 'failed', message: { en: /contact Steam Support/, zh: /Steam 客服/ } }, 'detail 3: what Steam asks');
});

t.test('no answer is "unknown — check your library", never "failed"', async (t) => {
  for (const why of ['timeout', 'disconnected', 'error', 'stopped'] as const) {
    const result = unknownResult(why);
    t.equal(result.status, 'unknown');
    t.equal(result.eresult, null);
    t.equal(result.keyUnused, false);
    t.match(result.message.en, /may have been activated — check your library/);
    t.match(result.message.zh, /游戏库/);
  }
  for (const why of ['timeout', 'disconnected', 'error', 'stopped'] as const) {
    t.equal(unknownResult(why).message.en.match(/answer/g)?.length ?? 0, why === 'disconnected' ? 1 : why === 'timeout' ? 1 : 0, `${why}: says it once`);
  }
  t.equal(unknownResult('timeout').message.en, 'No answer in time: the key may have been activated — check your library.');
  t.match(unknownResult('timeout').message.en, /in time/);
  t.match(unknownResult('disconnected').message.en, /dropped/);
  t.match(unknownResult('stopped').message.en, /session ended/);
});

t.test('sign-in failures in words', async (t) => {
  t.match(signedOutText('invalid-password').en, /Wrong account name or password/);
  t.match(signedOutText('rate-limited').en, /Wait at least 30 minutes/);
  t.match(signedOutText('throttled').en, /holding back/);
  t.notMatch(signedOutText('steam-disconnected').en, /queued keys/, 'whether keys wait is the queue message\'s to say');
  t.match(signedOutText('unreachable').en, /Could not reach Steam/);
  t.match(signedOutText('other', 63).en, /EResult 63/);
  t.notMatch(signedOutText('invalid-password', 5).en, /EResult/);
  t.match(signedOutText('steam-disconnected').en, /^Steam closed the connection/);
  t.match(signedOutText('steam-disconnected', 3).en, /^Steam closed the connection/, 'NoConnection: the plain drop');
  for (const elsewhere of [6, 34]) {
    t.match(signedOutText('steam-disconnected', elsewhere), { en: /signed in somewhere else/, zh: /其他地方/ }, `EResult ${elsewhere}`);
  }
});

t.test('the guard prompt says which kind, where, and whether the last code was wrong', async (t) => {
  const mail = guardText({ kind: 'email', domain: 'example.com', lastCodeWrong: false });
  t.match(mail.en, /e-mailed to your address at \*@example\.com/);
  t.match(mail.zh, /\*@example\.com/);
  t.notMatch(mail.en, /wrong/);
  const app = guardText({ kind: 'authenticator', lastCodeWrong: true });
  t.match(app.en, /^That code was wrong\. .*Steam Mobile app/);
  t.match(app.zh, /^验证码错误/);
});
