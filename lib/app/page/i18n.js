// Every word the page itself writes, in English and Chinese. Results, sign-in
// failures and guard prompts come from the server, already in both languages.

const pad = (n) => String(n).padStart(2, '0');
/** 75000 → "1:15"; 3725000 → "1:02:05". */
export function clock(ms) {
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** The clock time of `ms` (epoch) as people of `lang` write it: "2:32 PM", "14:32". */
export function timeOfDay(ms, lang) {
  return new Date(ms).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-US', { hour: 'numeric', minute: '2-digit' });
}

const keys = (n) => (n === 1 ? '1 key' : `${n} keys`);
/** "A", "A and B", "A, B and 3 more": at most three keys named. */
function list(items, more) {
  const named = items.slice(0, 3);
  const rest = items.length - named.length;
  if (rest > 0) return `${named.join(', ')} ${more(rest)}`;
  return named.length > 1 ? `${named.slice(0, -1).join(', ')} and ${named.at(-1)}` : (named[0] ?? '');
}
const listZh = (items) => (items.length > 3 ? `${items.slice(0, 3).join('、')} 等 ${items.length} 个` : items.join('、'));

/** What became of a session's keys when it ended: the ones with Steam, and how many were not sent. */
function endedEn(withSteam, notSent) {
  const parts = [];
  if (withSteam.length) {
    parts.push(`${list(withSteam, (n) => `and ${n} more`)} ${withSteam.length === 1 ? 'was' : 'were'} with Steam: "unknown — check your library", ${withSteam.length === 1 ? 'it' : 'they'} may have been activated.`);
  }
  if (notSent) parts.push(`${notSent === 1 ? '1 key was' : `${notSent} keys were`} not sent: ${notSent === 1 ? 'it is' : 'they are'} under "Not sent" below, to put back in the box.`);
  return parts.join(' ');
}
function endedZh(withSteam, notSent) {
  let s = '';
  if (withSteam.length) s += `${listZh(withSteam)} 当时正在由 Steam 处理：结果未知，可能已被激活，请检查游戏库。`;
  if (notSent) s += `${notSent} 个激活码未发送：见下方“未发送”，可放回输入框重新激活。`;
  return s;
}

export const MESSAGES = {
  en: {
    title: 'steam-key — redeem Steam keys',
    switchTo: '中文',
    switchLabel: '切换到中文',
    connecting: 'Connecting…',
    online: 'Connected',
    lost: 'Connection lost. Reconnecting…',
    unreachable: (s) => `Cannot reach the server. Trying again in ${s} s…`,
    stopped: 'Disconnected.',
    signOut: 'Sign out',
    signedInAs: (name) => `Signed in as ${name}`,
    signInTitle: 'Sign in to Steam',
    accountName: 'Account name',
    accountHint: 'The name you sign in to Steam with — not your profile name.',
    password: 'Password',
    passwordTitle: 'With your password',
    passwordHint: 'The server hands your password to Steam for this sign-in only, then drops it: neither the server nor this page stores it.',
    qrTitle: 'With the Steam app',
    qrSees: 'The server never sees your password: you approve the sign-in in the Steam app, and Steam gives the server a sign-in token that it keeps in memory only, until you sign out.',
    qrStart: 'Show a QR code',
    qrAgain: 'Show a new code',
    qrStarting: 'Asking Steam for a code…',
    qrCancel: 'Cancel',
    qrOnPhone: 'On a phone the QR code is no use: open the link below on the phone where the Steam app is signed in.',
    qrLinkLabel: 'Or open this link on the phone where the Steam app is signed in:',
    approveWaiting: 'Waiting for your approval in the Steam app…',
    approveOpened: 'Opened in the Steam app: approve it there — or type the code.',
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    needBoth: 'Enter your account name and password.',
    guardTitle: 'Steam Guard',
    guardCode: 'Code',
    guardSubmit: 'Continue',
    guardCancel: 'Cancel sign-in',
    checking: 'Checking…',
    needCode: 'Enter the code: letters and digits only.',
    pasteTitle: 'Keys',
    pasteLabel: 'Paste any text that contains keys (e-mails, bundle pages, lists):',
    pasteHint: 'A key is 3 to 5 groups of 5 letters or digits joined by dashes. Duplicates, format masks and keys already settled are left out. Ctrl+Enter redeems.',
    redeem: 'Redeem',
    cancel: 'Cancel the rest',
    found: (n) => (n === 1 ? '1 new key found' : `${n} new keys found`),
    droppedRepeated: (n) => `${n} repeated in the text`,
    droppedInSession: (n) => `${n} already in the list`,
    droppedPlaceholder: (n) => (n === 1 ? '1 format mask (like XXXXX-XXXXX-XXXXX)' : `${n} format masks (like XXXXX-XXXXX-XXXXX)`),
    droppedSettled: (n) => `${n} settled before (Steam would answer the same)`,
    droppedLabel: 'left out: ',
    heldDigits: (n) => `${n} of digits only`,
    heldUnknown: (n) => `${n} that may have been activated`,
    heldLabel: 'held back: ',
    noKeysFound: 'No keys found in this text yet.',
    added: (n) => `Added ${keys(n)}`,
    nothingAdded: 'No key added',
    notSignedInYet: (n) => `${n === 1 ? 'It' : 'They'} will be sent once you sign in.`,
    heldDigitsTitle: 'Held back: digits only',
    heldDigitsHint: 'These look like order or phone numbers, not keys, so they were not sent. If they are keys, send them.',
    heldDigitsSend: 'They are keys: send them',
    heldUnknownTitle: 'Held back: may have been activated',
    heldUnknownHint: 'Steam never answered these when they were sent before: they may be in your library already. Check it first.',
    heldUnknownSend: 'I checked: send them again',
    resultsTitle: 'Results',
    noKeys: 'No keys yet.',
    progress: (done, total) => `${done} of ${total} done`,
    inFlight: (key) => `now redeeming ${key}`,
    allDone: (total) => (total === 1 ? 'The key is done.' : `All ${total} keys done.`),
    cancelledCount: (n) => `${n} cancelled`,
    cooldown: (t, at) => `Steam is limiting activations. The waiting keys were not used; sending resumes by itself in ${t} (at ${timeOfDay(at, 'en')}).`,
    resume: 'Resume',
    summary: (n, parts) => `${n === 1 ? '1 key' : `${n} keys`} in this list: ${parts.join(', ')}.`,
    colNumber: '#',
    colKey: 'Key',
    colStatus: 'Status',
    colDetails: 'Details',
    exportCsv: 'Download CSV',
    exportJson: 'Download JSON',
    keptHint:
      'This browser keeps every key and result shown here, with the time of each change, in its storage for this site (per Steam account), and the session’s token, so that a closed tab, a reload, a browser restart or a server restart loses nothing. Never your password or Steam Guard codes.',
    forget: 'Forget these results',
    forgetAsk: (n, signedIn) =>
      `Remove ${n === 1 ? 'the key' : `all ${n} keys`} and ${n === 1 ? 'its result' : 'their results'} from this browser, and the session’s token${signedIn ? ', and sign out' : ''}? Download them first if you need them.`,
    forgetYes: 'Forget',
    forgetNo: 'Keep them',
    forgotten: 'Forgotten: this browser keeps no keys or results of this page any more.',
    storageFull: 'This browser’s storage for the page is full: the latest results are shown but not kept. Download them now.',
    otherAccounts: (items) => `This browser also keeps results for ${items.map((a) => `${a.account} (${keys(a.count)})`).join(', ')}: sign in to that account to see them.`,
    notSentDetail: 'Not sent: the session ended before this key went to Steam, so it is unused. Put it back in the box to redeem it.',
    lostWithSteam: 'The session ended while Steam had this key: it may have been activated. Check your library before you send it again.',
    sub: (id) => ` (sub ${id})`,
    leftTitle: 'Keys not activated',
    leftHint: 'Every key that did not activate, by what it is still good for. Each list copies on its own.',
    groupNotSent: 'Not sent',
    groupNotSentHint: 'Never sent to Steam (cancelled, or the session ended first): unused.',
    groupUsable: 'Still usable by someone else',
    groupUsableHint: 'Not used: already owned, region-locked, needs the base game, or a wallet code (redeem those on the wallet page). You can give these away.',
    groupCheck: 'Check your library',
    groupCheckHint: 'Steam never answered these: they may have been activated. Look in your library before you use or give them away.',
    groupRefused: 'Refused for another reason',
    groupRefusedHint: 'Steam refused these for a reason of its own: the details above say which.',
    groupDead: 'Dead',
    groupDeadHint: 'Invalid or already used: no account can activate these.',
    refill: 'Put them back in the box',
    sendAgain: 'I checked: send them again',
    copy: 'Copy',
    copied: 'Copied.',
    copyFailed: 'Could not copy: select the list and copy it yourself.',
    announce: (n, key, status) => `Key ${n}, ${key}: ${status}`,
    sessionLost: (withSteam, notSent) =>
      `The server no longer had your session (it restarted, or the page was away longer than it waits). Nothing the page had shown is lost. ${endedEn(withSteam, notSent)}${withSteam.length || notSent ? ' ' : ''}Sign in again to go on.`,
    signedOutKept: (withSteam, notSent) => `You signed out. ${endedEn(withSteam, notSent)}`,
    signOutAsk: (n) => `${n === 1 ? '1 key is' : `${n} keys are`} still waiting to be sent. Signing out stops ${n === 1 ? 'it' : 'them'}; ${n === 1 ? 'it stays' : 'they stay'} in the list as not sent. Sign out anyway?`,
    signOutYes: 'Sign out',
    signOutNo: 'Stay signed in',
    replaced: 'This session is open in too many tabs or windows, so this one — the oldest — has stopped.',
    reconnectHere: 'Use it here again',
    serverBusy: 'The server has no room for another session right now. Try again in a few minutes.',
    tooManySessions: 'Too many sessions from your address are open on this server. Sign out of one (or wait a few minutes for an unused one to end), then try again.',
    pasteLimited: (at) => `This server has taken as much pasted text from your address as it takes for now, so nothing was added; your text is still in the box. Add it again after ${timeOfDay(at, 'en')}.`,
    signInLimited: (at) => `Too many sign-in attempts for now: this server protects your address and its own from Steam’s limits. Try again after ${timeOfDay(at, 'en')}.`,
    steamCooldown: (at) => `Steam refused sign-ins from this server (or to this account) a short while ago, so none is sent until ${timeOfDay(at, 'en')}: each attempt would prolong it.`,
    tooManyConnections: 'Too many connections to this server from your address. Close some tabs; the page tries again by itself.',
    notSignedIn: 'The session ended because nobody signed in to Steam in time. The keys in it were never sent.',
    outdated: 'This page is older than the server. Reload it.',
    reload: 'Reload',
    joined: 'This account already had a session on this server (in another tab, browser or device): its keys and results are below.',
    joinedBrought: (added, already, full) =>
      `Of the keys you pasted before signing in, ${added === 0 ? 'none was new' : `${keys(added)} ${added === 1 ? 'was' : 'were'} added`}${already.length ? `; ${list(already, (n) => `and ${n} more`)} ${already.length === 1 ? 'was' : 'were'} there already` : ''}${full ? `; ${keys(full)} did not fit, as the session holds as many keys as it may: paste ${full === 1 ? 'it' : 'them'} again later` : ''}.`,
    otherAccount: (name) => `This session is signed in to the Steam account ${name} and has keys waiting for it. Sign in as ${name}, or sign out first to use another account.`,
    tooManyKeys: 'That would take this session past its limit of keys; nothing was added. Paste fewer keys.',
    pasteTooLarge: 'This text is too large to send, even just the keys in it; nothing was sent. Paste it in smaller parts.',
    pasteLost: 'The connection dropped before the server took your keys, so none were added. Your text is still in the box: press Redeem again.',
    pasteRefused: 'The server refused your text as too large, so no keys were added. It is still in the box: paste it in smaller parts.',
    pasteBusy: 'The server is busy receiving other large texts from your network, so none of your keys were added. Your text is still in the box: press Redeem again in a moment.',
    closed: 'The session has ended. Reload the page to start again.',
    wrongState: 'That step no longer fits: the page now shows where the session is.',
    protocol: (code, message) => `The server did not accept what the page sent (${code}: ${message}). Reload the page.`,
    states: {
      queued: 'Queued',
      waiting: 'Waiting',
      redeeming: 'Redeeming…',
      cancelled: 'Cancelled',
      'not-sent': 'Not sent',
    },
    cancelledDetail: 'Cancelled before it was sent: the key was not used.',
    statuses: {
      activated: 'Activated',
      'already-owned': 'Already owned',
      'invalid-key': 'Invalid key',
      'key-used': 'Already used',
      'region-locked': 'Region-locked',
      'needs-base-game': 'Needs the base game',
      'wallet-code': 'Wallet code',
      'rate-limited': 'Rate-limited',
      unknown: 'Unknown — check your library',
      failed: 'Failed',
    },
  },
  zh: {
    title: 'steam-key — 批量激活 Steam 激活码',
    switchTo: 'English',
    switchLabel: 'Switch to English',
    connecting: '正在连接…',
    online: '已连接',
    lost: '连接已断开，正在重新连接…',
    unreachable: (s) => `无法连接到服务器，${s} 秒后重试…`,
    stopped: '已断开连接。',
    signOut: '退出登录',
    signedInAs: (name) => `已登录：${name}`,
    signInTitle: '登录 Steam',
    accountName: '账户名',
    accountHint: '登录 Steam 用的账户名，不是个人资料昵称。',
    password: '密码',
    passwordTitle: '使用密码',
    passwordHint: '服务器只在本次登录时把你的密码交给 Steam，随后即丢弃：服务器和本页面都不会保存它。',
    qrTitle: '使用 Steam 应用',
    qrSees: '服务器永远看不到你的密码：你在 Steam 应用中批准登录后，Steam 会给服务器一个登录令牌，服务器只把它保存在内存中，直到你退出登录。',
    qrStart: '显示二维码',
    qrAgain: '显示新的二维码',
    qrStarting: '正在向 Steam 获取二维码…',
    qrCancel: '取消',
    qrOnPhone: '在手机上二维码没有用：请在登录了 Steam 应用的手机上打开下面的链接。',
    qrLinkLabel: '或者在登录了 Steam 应用的手机上打开此链接：',
    approveWaiting: '正在等待你在 Steam 应用中批准…',
    approveOpened: '已在 Steam 应用中打开：请在那里批准，或输入验证码。',
    signIn: '登录',
    signingIn: '正在登录…',
    needBoth: '请输入账户名和密码。',
    guardTitle: 'Steam 令牌',
    guardCode: '验证码',
    guardSubmit: '继续',
    guardCancel: '取消登录',
    checking: '正在验证…',
    needCode: '请输入验证码（仅字母和数字）。',
    pasteTitle: '激活码',
    pasteLabel: '粘贴任何包含激活码的文本（邮件、礼包页面、列表）：',
    pasteHint: '激活码由 3 到 5 组、每组 5 个字母或数字组成，以连字符相连。重复的激活码、格式示例和已有结果的激活码不会发送。按 Ctrl+Enter 开始激活。',
    redeem: '激活',
    cancel: '取消剩余',
    found: (n) => `找到 ${n} 个新激活码`,
    droppedRepeated: (n) => `${n} 个在文本中重复`,
    droppedInSession: (n) => `${n} 个已在列表中`,
    droppedPlaceholder: (n) => `${n} 个格式示例（如 XXXXX-XXXXX-XXXXX）`,
    droppedSettled: (n) => `${n} 个之前已有结果（Steam 会给出相同的回应）`,
    droppedLabel: '不发送：',
    heldDigits: (n) => `${n} 个全是数字`,
    heldUnknown: (n) => `${n} 个可能已被激活`,
    heldLabel: '暂不发送：',
    noKeysFound: '这段文本中还没有找到激活码。',
    added: (n) => `已添加 ${n} 个激活码`,
    nothingAdded: '没有添加激活码',
    notSignedInYet: () => '登录后将开始发送。',
    heldDigitsTitle: '暂不发送：全是数字',
    heldDigitsHint: '这些看起来像订单号或电话号码，而不是激活码，因此没有发送。如果它们确实是激活码，请发送。',
    heldDigitsSend: '它们是激活码：发送',
    heldUnknownTitle: '暂不发送：可能已被激活',
    heldUnknownHint: '之前发送这些激活码时 Steam 没有回应：它们可能已在你的游戏库中。请先检查。',
    heldUnknownSend: '已检查：重新发送',
    resultsTitle: '结果',
    noKeys: '还没有激活码。',
    progress: (done, total) => `已完成 ${done} / ${total}`,
    inFlight: (key) => `正在激活 ${key}`,
    allDone: (total) => `全部 ${total} 个激活码已处理完毕。`,
    cancelledCount: (n) => `已取消 ${n} 个`,
    cooldown: (t, at) => `Steam 暂时限制了激活。等待中的激活码未被使用，将在 ${t} 后（${timeOfDay(at, 'zh')}）自动继续。`,
    resume: '继续',
    summary: (n, parts) => `列表中共 ${n} 个激活码：${parts.join('，')}。`,
    colNumber: '#',
    colKey: '激活码',
    colStatus: '状态',
    colDetails: '详情',
    exportCsv: '下载 CSV',
    exportJson: '下载 JSON',
    keptHint:
      '本浏览器会在此网站的本地存储中（按 Steam 账户）保存这里显示的每个激活码、结果及每次变化的时间，以及会话令牌，因此关闭标签页、重新加载、重启浏览器或服务器重启都不会丢失任何内容。绝不保存你的密码或 Steam 令牌验证码。',
    forget: '清除这些结果',
    forgetAsk: (n, signedIn) => `要从本浏览器中删除这 ${n} 个激活码及其结果和会话令牌${signedIn ? '，并退出登录' : ''}吗？如有需要，请先下载。`,
    forgetYes: '清除',
    forgetNo: '保留',
    forgotten: '已清除：本浏览器不再保存本页面的任何激活码或结果。',
    storageFull: '本浏览器为本页面提供的存储空间已满：最新结果会显示但不会保存。请立即下载。',
    otherAccounts: (items) => `本浏览器还保存了 ${items.map((a) => `${a.account}（${a.count} 个激活码）`).join('、')} 的结果：登录该账户即可查看。`,
    notSentDetail: '未发送：会话在这个激活码发送给 Steam 之前就结束了，它未被使用。放回输入框即可重新激活。',
    lostWithSteam: '会话结束时 Steam 正在处理这个激活码：它可能已被激活。重新发送之前请先检查游戏库。',
    sub: (id) => `（礼包 ${id}）`,
    leftTitle: '未激活的激活码',
    leftHint: '所有未激活的激活码，按用途分组。每个列表可单独复制。',
    groupNotSent: '未发送',
    groupNotSentHint: '从未发送给 Steam（已取消，或会话先结束了）：未被使用。',
    groupUsable: '他人仍可使用',
    groupUsableHint: '未被使用：已拥有、地区限制、需要本体游戏，或是钱包充值码（请在钱包页面兑换）。可以送给别人。',
    groupCheck: '请检查游戏库',
    groupCheckHint: 'Steam 从未回应这些激活码：它们可能已被激活。使用或送人之前请先查看游戏库。',
    groupRefused: '因其他原因被拒绝',
    groupRefusedHint: 'Steam 因其自身原因拒绝了这些激活码：原因见上方详情。',
    groupDead: '已失效',
    groupDeadHint: '无效或已被使用：任何账户都无法激活。',
    refill: '放回输入框',
    sendAgain: '已检查：重新发送',
    copy: '复制',
    copied: '已复制。',
    copyFailed: '无法复制：请手动选择列表并复制。',
    announce: (n, key, status) => `第 ${n} 个，${key}：${status}`,
    sessionLost: (withSteam, notSent) => `服务器上已没有你的会话（服务器已重启，或本页离开的时间超过了等待时间）。本页显示过的内容都没有丢失。${endedZh(withSteam, notSent)}请重新登录以继续。`,
    signedOutKept: (withSteam, notSent) => `你已退出登录。${endedZh(withSteam, notSent)}`,
    signOutAsk: (n) => `还有 ${n} 个激活码等待发送。退出登录会停止发送，它们会以“未发送”留在列表中。仍要退出登录吗？`,
    signOutYes: '退出登录',
    signOutNo: '保持登录',
    replaced: '此会话在太多标签页或窗口中打开，因此最早的这个页面已停止。',
    reconnectHere: '在这里继续使用',
    serverBusy: '服务器目前无法容纳更多会话，请几分钟后再试。',
    tooManySessions: '你的地址在此服务器上打开的会话过多。请退出其中一个（或等几分钟让未使用的会话结束）后再试。',
    pasteLimited: (at) => `此服务器暂时不再接受来自你的地址的粘贴内容，因此未添加任何激活码；你的文本仍在输入框中。请在 ${timeOfDay(at, 'zh')} 之后再添加。`,
    signInLimited: (at) => `登录尝试次数过多：此服务器在保护你的地址和它自己不触发 Steam 的限制。请在 ${timeOfDay(at, 'zh')} 之后再试。`,
    steamCooldown: (at) => `不久前 Steam 拒绝了来自此服务器（或此账户）的登录，因此在 ${timeOfDay(at, 'zh')} 之前不会再发送登录请求：每次尝试都会延长限制。`,
    tooManyConnections: '你的地址与此服务器的连接过多。请关闭一些标签页；页面会自动重试。',
    notSignedIn: '由于未及时登录 Steam，会话已结束。其中的激活码从未发送。',
    outdated: '此页面比服务器旧，请重新加载。',
    reload: '重新加载',
    joined: '此账户在本服务器上已有一个会话（在其他标签页、浏览器或设备中）：它的激活码和结果显示在下方。',
    joinedBrought: (added, already, full) =>
      `你登录前粘贴的激活码中，${added === 0 ? '没有新的' : `${added} 个已添加`}${already.length ? `；${listZh(already)} 已在其中` : ''}${full ? `；${full} 个因会话的激活码已达上限而未加入，请稍后重新粘贴` : ''}。`,
    otherAccount: (name) => `此会话登录的是 Steam 账户 ${name}，并有激活码在等待。请以 ${name} 登录，或先退出登录再使用其他账户。`,
    tooManyKeys: '这会超过本会话的激活码上限，未添加任何激活码。请减少粘贴的数量。',
    pasteTooLarge: '文本太大，即使只发送其中的激活码也超出限制，因此没有发送。请分成几部分粘贴。',
    pasteLost: '服务器收到激活码之前连接已断开，未添加任何激活码。文本仍在输入框中，请再次点击“激活”。',
    pasteRefused: '服务器因文本过大而拒绝接收，未添加任何激活码。文本仍在输入框中，请分成几部分粘贴。',
    pasteBusy: '服务器正忙于接收来自您网络的其他大段文本，未添加任何激活码。文本仍在输入框中，请稍后再次点击“激活”。',
    closed: '会话已结束。请重新加载页面。',
    wrongState: '这一步已不适用：页面已显示会话的当前状态。',
    protocol: (code, message) => `服务器未接受页面发送的内容（${code}：${message}）。请重新加载页面。`,
    states: {
      queued: '排队中',
      waiting: '等待中',
      redeeming: '正在激活…',
      cancelled: '已取消',
      'not-sent': '未发送',
    },
    cancelledDetail: '发送前已取消：激活码未被使用。',
    statuses: {
      activated: '激活成功',
      'already-owned': '已拥有',
      'invalid-key': '无效激活码',
      'key-used': '已被使用',
      'region-locked': '地区限制',
      'needs-base-game': '需要本体游戏',
      'wallet-code': '钱包充值码',
      'rate-limited': '激活受限',
      unknown: '未知——请检查游戏库',
      failed: '失败',
    },
  },
};

/** The page's language from the browser's: Chinese for any zh-*, else English. */
export function languageOf(tags) {
  for (const tag of tags) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (base === 'zh') return 'zh';
    if (base === 'en') return 'en';
  }
  return 'en';
}

/** The page's own message `name` in `lang` (a function's result for `args`). */
export function say(lang, name, ...args) {
  const value = MESSAGES[lang][name];
  return typeof value === 'function' ? value(...args) : value;
}

/** The page's own message as a Text ({en, zh}), so a language switch redraws it. */
export function both(name, ...args) {
  return { en: say('en', name, ...args), zh: say('zh', name, ...args) };
}

/** A Text (from the server, or both()) in `lang`. */
export function pick(lang, message) {
  return message ? (message[lang] ?? message.en ?? '') : '';
}

/** An outcome (a result's status, or a state) in words, as a count names it: "activated", "not sent". */
export function outcomeWords(lang, outcome) {
  const words = MESSAGES[lang].statuses[outcome] ?? MESSAGES[lang].states[outcome] ?? outcome;
  return lang === 'en' ? words.toLowerCase() : words;
}

/** A key's state in words: its result's status when done, else its state. */
export function statusWords(lang, row) {
  if (row.state === 'done' && row.result) return MESSAGES[lang].statuses[row.result.status] ?? row.result.status;
  return MESSAGES[lang].states[row.state] ?? row.state;
}
