/**
 * What Steam's answers mean to a person: result codes mapped to a small set
 * of statuses, each with a message in English and Chinese. The numbers are
 * steam-user 5.3.0's enums (enums/EResult.js, enums/EPurchaseResultDetail.js),
 * copied here because only the adapter may import steam-user.
 */
import type { GuardRequest, LoginFailure, PurchaseReply } from './port.js';

/** A message for the page, in both languages it speaks. */
export interface Text {
  en: string;
  zh: string;
}

/** The EResult values this project acts on. */
export const EResult = {
  OK: 1,
  Fail: 2,
  NoConnection: 3,
  InvalidPassword: 5,
  Timeout: 16,
  ServiceUnavailable: 20,
  AlreadyRedeemed: 28,
  AlreadyOwned: 30,
  InvalidLoginAuthCode: 65,
  RegionLocked: 83,
  RateLimitExceeded: 84,
  AccountLoginDeniedThrottle: 87,
  TwoFactorCodeMismatch: 88,
} as const;

/** The EPurchaseResultDetail values that matter when redeeming a key. */
export const PurchaseDetail = {
  NoDetail: 0,
  ContactSupport: 3,
  Timeout: 4,
  InvalidPackage: 5,
  AlreadyPurchased: 9,
  RestrictedCountry: 13,
  BadActivationCode: 14,
  DuplicateActivationCode: 15,
  RegionNotSupported: 19,
  AcctIsBlocked: 20,
  DoesNotOwnRequiredApp: 24,
  ExceededSteamLimit: 46,
  CannotRedeemCodeFromClient: 50,
  RateLimited: 53,
  OwnsExcludedApp: 54,
  POSACodeNotActivated: 58,
} as const;

/** Every status a key can end with (or, for rate-limited, wait with). */
export const KEY_STATUSES = [
  'activated',
  'already-owned',
  'invalid-key',
  'key-used',
  'region-locked',
  'needs-base-game',
  'wallet-code',
  'rate-limited',
  /** No answer (timeout, disconnect): the key may or may not have been activated. */
  'unknown',
  'failed',
] as const;

export type KeyStatus = (typeof KEY_STATUSES)[number];

/**
 * Answers Steam gives again to anyone: sending such a key once more can only
 * count as a failed activation (about 10 an hour are allowed), so a later run
 * or paste leaves it out.
 */
export const FINAL_STATUSES: readonly KeyStatus[] = ['activated', 'invalid-key', 'key-used', 'wallet-code'];
/** Answers Steam gives again to the account that got them; another account may get a different one. */
export const FINAL_FOR_ACCOUNT_STATUSES: readonly KeyStatus[] = ['already-owned', 'region-locked', 'needs-base-game', 'failed'];

export interface Package {
  id: number;
  name: string;
}

export interface KeyResult {
  status: KeyStatus;
  /** Steam's EResult, or null when Steam did not answer. */
  eresult: number | null;
  /** Steam's EPurchaseResultDetail, or null when Steam did not answer. */
  detail: number | null;
  /** Every package the key granted (or, on some failures, concerns). */
  packages: Package[];
  /**
   * True when the key is known not to have been consumed, so the user can
   * still use it elsewhere or give it away (owned, region, base game, wallet,
   * rate-limited). False when it was used, is no key, or nobody knows.
   */
  keyUnused: boolean;
  message: Text;
}

interface Meaning {
  status: KeyStatus;
  keyUnused: boolean;
  message: Text;
}

const MEANINGS: Record<KeyStatus, Meaning> = {
  activated: { status: 'activated', keyUnused: false, message: { en: 'Activated.', zh: '激活成功。' } },
  'already-owned': {
    status: 'already-owned',
    keyUnused: true,
    message: {
      en: 'You already own this; the key was not used.',
      zh: '你已拥有该产品，激活码未被使用。',
    },
  },
  'invalid-key': {
    status: 'invalid-key',
    keyUnused: false,
    message: { en: 'Steam does not know this key.', zh: '无效的激活码。' },
  },
  'key-used': {
    status: 'key-used',
    keyUnused: false,
    message: { en: 'This key has already been used.', zh: '该激活码已被使用。' },
  },
  'region-locked': {
    status: 'region-locked',
    keyUnused: true,
    message: {
      en: 'This key cannot be activated in your region; the key was not used.',
      zh: '该激活码有地区限制，无法在你的地区激活，激活码未被使用。',
    },
  },
  'needs-base-game': {
    status: 'needs-base-game',
    keyUnused: true,
    message: {
      en: 'This needs a game you do not own yet (it is DLC); the key was not used.',
      zh: '需要先拥有本体游戏（这是 DLC），激活码未被使用。',
    },
  },
  'wallet-code': {
    status: 'wallet-code',
    keyUnused: true,
    message: {
      en: 'This is a Steam Wallet code, not a game key: redeem it at https://store.steampowered.com/account/redeemwalletcode',
      zh: '这是 Steam 钱包充值码，不是游戏激活码：请在 https://store.steampowered.com/account/redeemwalletcode 兑换。',
    },
  },
  'rate-limited': {
    status: 'rate-limited',
    keyUnused: true,
    message: {
      en: 'Steam is limiting activations for now; the key was not used and will be tried again after the pause.',
      zh: 'Steam 暂时限制了激活次数；激活码未被使用，将在等待结束后重试。',
    },
  },
  unknown: {
    status: 'unknown',
    keyUnused: false,
    message: {
      en: 'Steam did not answer: the key may have been activated — check your library.',
      zh: 'Steam 未响应：该激活码可能已激活，请检查你的游戏库。',
    },
  },
  failed: {
    status: 'failed',
    keyUnused: false,
    message: { en: 'Steam refused this key.', zh: 'Steam 拒绝了该激活码。' },
  },
};

/** Details that have a more precise message than their status's. */
const DETAIL_MESSAGES: Partial<Record<number, Text>> = {
  [PurchaseDetail.OwnsExcludedApp]: {
    en: 'You own a product that already includes this one; the key was not used.',
    zh: '你已拥有包含该产品的其他产品，激活码未被使用。',
  },
  [PurchaseDetail.AcctIsBlocked]: {
    en: 'This account is not allowed to activate keys right now.',
    zh: '该账户目前无法激活激活码。',
  },
  [PurchaseDetail.POSACodeNotActivated]: {
    en: 'The shop never activated this retail key; ask the seller.',
    zh: '该零售激活码尚未被商家激活，请联系卖家。',
  },
  [PurchaseDetail.ContactSupport]: {
    en: 'Steam refused this key and asks you to contact Steam Support about it.',
    zh: 'Steam 拒绝了该激活码，并请你就此联系 Steam 客服。',
  },
  [PurchaseDetail.ExceededSteamLimit]: {
    en: 'Steam says this account has reached a limit for this product.',
    zh: 'Steam 提示该账户已达到此产品的限制。',
  },
};

function statusOfDetail(detail: number): KeyStatus | undefined {
  switch (detail) {
    case PurchaseDetail.AlreadyPurchased:
    case PurchaseDetail.OwnsExcludedApp:
      return 'already-owned';
    case PurchaseDetail.BadActivationCode:
    case PurchaseDetail.InvalidPackage:
      return 'invalid-key';
    case PurchaseDetail.DuplicateActivationCode:
      return 'key-used';
    case PurchaseDetail.RestrictedCountry:
    case PurchaseDetail.RegionNotSupported:
      return 'region-locked';
    case PurchaseDetail.DoesNotOwnRequiredApp:
      return 'needs-base-game';
    case PurchaseDetail.CannotRedeemCodeFromClient:
      return 'wallet-code';
    case PurchaseDetail.RateLimited:
      return 'rate-limited';
    case PurchaseDetail.Timeout:
      return 'unknown'; // Steam's own side timed out: same doubt as ours
    default:
      return undefined;
  }
}

/** Some failures come as a bare EResult with no detail. */
function statusOfEResult(eresult: number): KeyStatus | undefined {
  switch (eresult) {
    case EResult.AlreadyOwned:
      return 'already-owned';
    case EResult.AlreadyRedeemed:
      return 'key-used';
    case EResult.RegionLocked:
      return 'region-locked';
    case EResult.Timeout:
      return 'unknown';
    case EResult.RateLimitExceeded:
      // Not seen on a key yet (Steam sends detail 53), but it would mean the same: cool down, never burn the rest.
      return 'rate-limited';
    default:
      return undefined;
  }
}

/** Maps Steam's answer to one key (failures included) to a status and message. */
export function resultFromReply(reply: PurchaseReply): KeyResult {
  const packages = reply.packages.map((p) => ({ id: p.id, name: p.name }));
  const { eresult, detail } = reply;
  if (eresult === EResult.OK && detail === PurchaseDetail.NoDetail) {
    const { status, keyUnused } = MEANINGS.activated;
    return { status, keyUnused, eresult, detail, packages, message: activatedMessage(packages) };
  }
  const status = statusOfDetail(detail) ?? statusOfEResult(eresult) ?? 'failed';
  const meaning = MEANINGS[status];
  let message = DETAIL_MESSAGES[detail] ?? meaning.message;
  if (status === 'failed' && !DETAIL_MESSAGES[detail]) {
    // Said for people; the codes are for Steam Support, should they ask.
    const codes = `EResult ${eresult}, detail ${detail}`;
    message = {
      en: `Steam refused this key without saying why. If you ask Steam Support, give them these codes: ${codes}.`,
      zh: `Steam 拒绝了该激活码，但没有说明原因。如需联系 Steam 客服，请提供以下代码：${codes}。`,
    };
  }
  return { status, keyUnused: meaning.keyUnused, eresult, detail, packages, message };
}

function activatedMessage(packages: Package[]): Text {
  if (packages.length === 0) return MEANINGS.activated.message;
  const names = packages.map((p) => p.name).join(', ');
  return { en: `Activated: ${names}`, zh: `激活成功：${names}` };
}

/** Why a key got no answer. */
export type NoAnswer = 'timeout' | 'disconnected' | 'error' | 'stopped';

/** A key sent to Steam that got no answer: "unknown", never "failed" (steam-user issue #367). */
export function unknownResult(why: NoAnswer): KeyResult {
  // Why there was no answer, then what it means, once (not "No answer in time. Steam did not answer: …").
  const cause: Record<NoAnswer, Text> = {
    timeout: { en: 'No answer in time', zh: '等待超时' },
    disconnected: { en: 'The connection to Steam dropped before it answered', zh: '与 Steam 的连接在回应前断开' },
    error: { en: 'Something went wrong while waiting for Steam', zh: '等待 Steam 回应时出错' },
    stopped: { en: 'The session ended while waiting for Steam', zh: '等待 Steam 回应时会话已结束' },
  };
  return {
    status: 'unknown',
    keyUnused: false,
    eresult: null,
    detail: null,
    packages: [],
    message: {
      en: `${cause[why].en}: the key may have been activated — check your library.`,
      zh: `${cause[why].zh}：该激活码可能已激活，请检查你的游戏库。`,
    },
  };
}

/** Why the session is signed out, in the terms a person acts on. */
export type SignedOutReason = LoginFailure | 'steam-disconnected' | 'logged-out' | 'other-account';

const SIGNED_OUT: Record<SignedOutReason, Text> = {
  'invalid-password': {
    en: 'Wrong account name or password. (Use the account name you sign in with, not your profile name.)',
    zh: '账户名或密码错误。（请使用登录用的账户名，而不是个人资料昵称。）',
  },
  'rate-limited': {
    en: 'Too many sign-in attempts from this server. Wait at least 30 minutes before trying again.',
    zh: '此服务器的登录尝试次数过多，请至少等待 30 分钟后再试。',
  },
  throttled: {
    en: 'Steam is holding back sign-ins to this account. Wait a while before trying again.',
    zh: 'Steam 暂时限制了该账户的登录，请稍候再试。',
  },
  'guard-failed': {
    en: 'The Steam Guard code was wrong or has expired. Sign in again to get a new one.',
    zh: 'Steam 令牌验证码错误或已过期，请重新登录以获取新的验证码。',
  },
  unreachable: {
    en: 'Could not reach Steam. Check the server’s network connection and try again.',
    zh: '无法连接到 Steam，请检查服务器的网络连接后重试。',
  },
  cancelled: { en: 'Sign-in was cancelled.', zh: '登录已取消。' },
  denied: {
    en: 'The sign-in was refused in the Steam app.',
    zh: '已在 Steam 应用中拒绝了此次登录。',
  },
  expired: {
    en: 'The sign-in was not approved in time. Start again to get a new code.',
    zh: '未在时限内批准登录，请重新开始以获取新的验证码。',
  },
  other: { en: 'Steam refused the sign-in.', zh: 'Steam 拒绝了登录。' },
  // Whether keys wait is the queue's to say (queueText), only when some do.
  'steam-disconnected': {
    en: 'Steam closed the connection. Sign in again to go on.',
    zh: 'Steam 断开了连接。请重新登录以继续。',
  },
  'logged-out': { en: 'Signed out.', zh: '已退出登录。' },
  'other-account': {
    en: 'That sign-in was for another Steam account than this session’s. Sign out first to use another account.',
    zh: '此次登录的 Steam 账户与本会话的账户不同。如需使用其他账户，请先退出登录。',
  },
};

/** EResults with which Steam ends a session because the account signed in somewhere else. */
const SIGNED_IN_ELSEWHERE = new Set([6 /* LoggedInElsewhere */, 34 /* LogonSessionReplaced */]);

const ELSEWHERE: Text = {
  en: 'Steam signed this session out: the account signed in somewhere else (the Steam client, another device). Sign in again to go on.',
  zh: 'Steam 结束了此会话：该账户在其他地方（Steam 客户端或其他设备）登录了。请重新登录以继续。',
};

/**
 * The message for a failed sign-in or a lost connection. `eresult` is shown
 * for 'other'; for a lost connection it tells "signed in elsewhere" apart.
 */
export function signedOutText(reason: SignedOutReason, eresult?: number): Text {
  if (reason === 'steam-disconnected' && eresult !== undefined && SIGNED_IN_ELSEWHERE.has(eresult)) return ELSEWHERE;
  const text = SIGNED_OUT[reason];
  if (reason !== 'other' || eresult === undefined) return text;
  return { en: `${text.en} (EResult ${eresult})`, zh: `${text.zh}（EResult ${eresult}）` };
}

/** The prompt for a Steam Guard code: which kind, where it went, and whether the last one was wrong. */
export function guardText(request: GuardRequest): Text {
  const prompt: Text =
    request.kind === 'email'
      ? {
          en: `Enter the Steam Guard code that Steam e-mailed to your address at *@${request.domain ?? '…'}.`,
          zh: `请输入 Steam 发送到你的邮箱（*@${request.domain ?? '…'}）的 Steam 令牌验证码。`,
        }
      : {
          en: 'Enter the code shown by the Steam Mobile app (Steam Guard).',
          zh: '请输入 Steam 手机应用（Steam 令牌）上显示的验证码。',
        };
  const withApproval: Text = request.approvable
    ? {
        en: `Approve this sign-in in the Steam app — or type the code. ${prompt.en}`,
        zh: `请在 Steam 应用中批准此次登录，或输入验证码。${prompt.zh}`,
      }
    : prompt;
  if (!request.lastCodeWrong) return withApproval;
  return { en: `That code was wrong. ${withApproval.en}`, zh: `验证码错误。${withApproval.zh}` };
}

/** The QR sign-in's prompt: before and after the code was scanned in the Steam app. */
export function qrText(scanned: boolean): Text {
  return scanned
    ? { en: 'Scanned — now approve the sign-in in the Steam app.', zh: '已扫描，请在 Steam 应用中批准登录。' }
    : {
        en: 'Scan this code with the Steam app on your phone (Steam Guard → the QR icon), then approve the sign-in there.',
        zh: '请用手机上的 Steam 应用扫描此二维码（Steam 令牌 → 二维码图标），然后在应用中批准登录。',
      };
}

/** What holds the queue back, for a stalled or cooling-down queue. */
export function queueText(
  status: { state: string; resumesAt?: number; stalledBy?: 'signed-out' | 'unknown-result' },
  now: number,
): Text | undefined {
  if (status.state === 'cooldown' && status.resumesAt !== undefined) {
    const ms = Math.max(0, status.resumesAt - now);
    const [n, en, zh] = ms >= 60_000 ? [Math.ceil(ms / 60_000), 'min', '分钟'] : [Math.ceil(ms / 1_000), 's', '秒'];
    return {
      en: `Steam is limiting activations. The waiting keys were not used; sending resumes by itself in about ${n} ${en}.`,
      zh: `Steam 暂时限制了激活。等待中的激活码未被使用，约 ${n} ${zh}后自动继续。`,
    };
  }
  if (status.state !== 'stalled') return undefined;
  if (status.stalledBy === 'unknown-result') {
    return {
      en: 'The last key got no answer. Check your library, then resume to send the rest.',
      zh: '上一个激活码没有收到回应。请检查你的游戏库，然后继续发送剩余的激活码。',
    };
  }
  return { en: 'Sign in to Steam to send the queued keys.', zh: '请登录 Steam 以发送队列中的激活码。' };
}
