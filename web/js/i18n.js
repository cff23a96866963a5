// Every string a person sees goes through t(). Chinese first; English via the 中/EN toggle.
// The choice is stored in localStorage; without one, navigator.language decides.

const STORE = 'fieldcast.lang';

export const dict = {
  zh: {
    'lang.other': 'EN',
    'lang.switch': 'Switch to English',
    'live': '直播',
    'standby': '待开播',
    'state.connecting': '正在进入直播间…',
    'state.reconnecting': '连接中断，正在重连…',
    'state.cantConnect': '暂时连不上直播',
    'state.retryIn': '{s} 秒后重试',
    'state.retryNow': '立即重试',
    'err.network': '网络不可用，请检查网络连接',
    'err.timeout': '服务器响应超时',
    'err.ice': '媒体连接失败',
    'err.stalled': '画面中断',
    'err.server': '服务器暂时不可用',
    'err.notFound': '直播间不存在',
    'err.unsupported': '当前浏览器不支持实时视频，请用手机自带浏览器或新版浏览器打开',
    'err.unauthorized': '推流密钥不正确',
    'err.conflict': '有人正在此直播间直播',
    'err.forbidden': '没有推流权限',
    'err.badRequest': '服务器拒绝了推流请求',
    'err.serverSays': '服务器：{msg}',
  },
  en: {
    'lang.other': '中',
    'lang.switch': '切换到中文',
    'live': 'LIVE',
    'standby': 'Standby',
    'state.connecting': 'Joining the live room…',
    'state.reconnecting': 'Connection lost — reconnecting…',
    'state.cantConnect': 'Can\u2019t reach the live stream yet',
    'state.retryIn': 'Retrying in {s}s',
    'state.retryNow': 'Retry now',
    'err.network': 'No network — check your connection',
    'err.timeout': 'The server took too long to respond',
    'err.ice': 'The media connection failed',
    'err.stalled': 'The picture stopped',
    'err.server': 'The server is unavailable right now',
    'err.notFound': 'This live room doesn\u2019t exist',
    'err.unsupported': 'This browser can\u2019t do live video — open the link in your phone\u2019s browser or a newer one',
    'err.unauthorized': 'Wrong stream key',
    'err.conflict': 'Someone is live in this room',
    'err.forbidden': 'Not allowed to publish',
    'err.badRequest': 'The server refused the stream',
    'err.serverSays': 'Server: {msg}',
  },
};

function stored() {
  try { return localStorage.getItem(STORE); } catch { return null; }
}

function detect() {
  const s = stored();
  if (s === 'zh' || s === 'en') return s;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'zh'];
  for (const l of langs) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh';
    if (low.startsWith('en')) return 'en';
  }
  return 'zh';
}

export let lang = detect();

// Pages add their own strings (each page carries only what it shows).
export function extend(more) {
  for (const l of Object.keys(dict)) Object.assign(dict[l], more[l]);
}

// t('key', {n: 3}) -> the string in the current language with {n} filled in (as text, never markup).
export function t(key, vars) {
  // Plain checks rather than ?? : older in-app browsers must still parse this module.
  let s = key in dict[lang] ? dict[lang][key] : key in dict.zh ? dict.zh[key] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// Elements carry data-i18n="key" (textContent) and data-i18n-<attr>="key" for attributes
// such as aria-label, title and placeholder.
const ATTRS = ['aria-label', 'title', 'placeholder'];

export function applyI18n(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const a of ATTRS) {
    for (const el of root.querySelectorAll(`[data-i18n-${a}]`)) el.setAttribute(a, t(el.getAttribute(`data-i18n-${a}`)));
  }
}

const listeners = new Set();
export function onLangChange(fn) { listeners.add(fn); }

export function setLang(next) {
  if (next !== 'zh' && next !== 'en') return;
  lang = next;
  try { localStorage.setItem(STORE, next); } catch { /* private mode: the choice lasts this page */ }
  applyI18n();
  for (const fn of listeners) fn(lang);
}

export function toggleLang() { setLang(lang === 'zh' ? 'en' : 'zh'); }

// Wire a 中/EN button: it shows the other language and switches to it.
export function bindLangToggle(button) {
  const paint = () => {
    button.textContent = t('lang.other');
    button.setAttribute('aria-label', t('lang.switch'));
    button.lang = lang === 'zh' ? 'en' : 'zh-CN';
  };
  button.addEventListener('click', toggleLang);
  onLangChange(paint);
  paint();
}

// 12345 -> "1.2万" (zh) / "12.3K" (en). Trailing ".0" dropped; never rounds up into the next unit.
export function formatCount(n) {
  n = Math.max(0, Math.floor(Number(n) || 0));
  const units = lang === 'zh' ? [[1e8, '亿'], [1e4, '万']] : [[1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
  for (const [size, suffix] of units) {
    if (n >= size) {
      const v = Math.floor((n / size) * 10) / 10;
      return (v >= 100 ? String(Math.floor(v)) : v.toFixed(1).replace(/\.0$/, '')) + suffix;
    }
  }
  return String(n);
}
