// Small helpers the console's panels share: elements (text only, never markup), icons, times,
// acknowledged Socket.IO calls and the toast.

import { lang, t } from '../i18n.js';
import { el } from '../el.js';

export { el };

const SVG = 'http://www.w3.org/2000/svg';
const ACK_TIMEOUT_MS = 10000;
const TOAST_MS = 4500;

// User text: shown as text, and laid out by its own direction (Arabic, Hebrew) inside our layout.
export function userText(tag, cls, text) {
  const e = el(tag, cls, String(text == null ? '' : text));
  e.dir = 'auto';
  return e;
}

export function button(cls, text, { title, kind = 'button' } = {}) {
  const b = el('button', cls, text);
  b.type = kind;
  if (title) { b.title = title; b.setAttribute('aria-label', title); }
  return b;
}

// Stroke icons (24x24), drawn from path data: no markup parsing anywhere.
const PATHS = {
  trash: ['M4 7h16', 'M10 11v6M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3'],
  clock: ['M12 7v5l3 2', 'M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z'],
  ban: ['M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z', 'M5.7 5.7l12.6 12.6'],
  pin: ['M9 4h6l-1 6 3 3H7l3-3z', 'M12 13v7'],
  eyeOff: ['M3 3l18 18', 'M10.6 6.1A10 10 0 0 1 12 6c6.5 0 10 6 10 6a17 17 0 0 1-3.2 3.8', 'M6.6 6.6A17 17 0 0 0 2 12s3.5 6 10 6a9.9 9.9 0 0 0 5.4-1.6', 'M9.9 9.9a3 3 0 0 0 4.2 4.2'],
  eye: ['M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z', 'M15 12a3 3 0 1 1-6 0 3 3 0 0 1 6 0z'],
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  x: ['M6 6l12 12M18 6L6 18'],
  up: ['M12 19V5', 'M6 11l6-6 6 6'],
  external: ['M14 4h6v6', 'M20 4l-9 9', 'M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5'],
  shield: ['M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z'],
  lock: ['M6 11h12v9H6z', 'M8.5 11V8a3.5 3.5 0 0 1 7 0v3'],
  filter: ['M4 5h16l-6 7.5V19l-4-2v-4.5z'],
  spark: ['M12 3v4M12 17v4M3 12h4M17 12h4', 'M6.3 6.3l2.5 2.5M15.2 15.2l2.5 2.5M6.3 17.7l2.5-2.5M15.2 8.8l2.5-2.5'],
  user: ['M16 8a4 4 0 1 1-8 0 4 4 0 0 1 8 0z', 'M4 21c1-4 4.5-6 8-6s7 2 8 6'],
  chat: ['M20.5 11.5a8 8 0 0 1-11.7 7.1L4 19.8l1.2-4.4a8 8 0 1 1 15.3-3.9z'],
  star: ['M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z'],
  bag: ['M5.5 7.5h13l-1 12.5h-11z', 'M9 7.5a3 3 0 0 1 6 0'],
};

// A segmented filter control (one toggle button per filter); the panel paints labels and state.
export function segmented(filters, idPrefix, onPick) {
  const seg = el('div', 'seg');
  seg.setAttribute('role', 'group');
  const buttons = {};
  for (const f of filters) {
    const b = button('seg-btn', '');
    b.id = `${idPrefix}-${f}`;
    b.addEventListener('click', () => onPick(f));
    buttons[f] = b;
    seg.append(b);
  }
  return { seg, buttons };
}

export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', cls);
  for (const d of PATHS[name] || []) {
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

// ---- times

const locale = () => (lang === 'zh' ? 'zh-CN' : 'en');

export function parseTime(iso) {
  const d = iso ? new Date(iso) : null;
  return d && Number.isFinite(d.getTime()) ? d : null;
}

// "14:05" today, "3月2日 14:05" / "Mar 2, 14:05" on other days.
export function clock(iso) {
  const d = parseTime(iso);
  if (!d) return '';
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const opts = sameDay ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return d.toLocaleString(locale(), opts);
}

export function fullTime(iso) {
  const d = parseTime(iso);
  return d ? d.toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'medium' }) : '';
}

// "刚刚", "3 分钟前", "2 小时前"; older than a day: the clock time.
export function ago(iso) {
  const d = parseTime(iso);
  if (!d) return '';
  const s = Math.max(0, (Date.now() - d.getTime()) / 1000);
  if (s < 45) return t('mod.time.now');
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' });
  if (s < 3600) return rtf.format(-Math.round(s / 60), 'minute');
  if (s < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
  return clock(iso);
}

// A <time> that says how long ago, with the exact time on hover; refreshed by refreshTimes().
export function timeEl(iso, { relative = false } = {}) {
  const e = el('time', 'when', relative ? ago(iso) : clock(iso));
  if (iso) e.dateTime = String(iso);
  e.title = fullTime(iso);
  if (relative) e.dataset.relative = '1';
  return e;
}

export function refreshTimes(root = document) {
  for (const e of root.querySelectorAll('time.when')) {
    e.textContent = e.dataset.relative ? ago(e.dateTime) : clock(e.dateTime);
    e.title = fullTime(e.dateTime);
  }
}

// ---- Socket.IO

// Resolves with the server's reply, or {error: 'offline' | 'timeout'}: the caller always learns
// how it went, and never waits forever on a connection that dropped.
export function call(socket, event, payload, ms = ACK_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!socket || !socket.connected) { resolve({ error: 'offline', message: '' }); return; }
    socket.timeout(ms).emit(event, payload, (err, reply) => {
      if (err) resolve({ error: 'timeout', message: '' });
      else resolve(reply && typeof reply === 'object' ? reply : { error: 'bad_reply', message: '' });
    });
  });
}

// The refusal in the reader's language when we know the code, else the server's own words.
export function refusal(reply) {
  const code = String((reply && reply.error) || '');
  const msg = String((reply && reply.message) || code);
  const key = `mod.err.${code}`;
  const known = t(key, { msg });
  return known !== key ? known : t('mod.err.other', { msg });
}

// ---- toast

let toastBox = null;

export function toast(text, kind = 'info') {
  if (!toastBox) {
    toastBox = el('div', 'mod-toasts');
    toastBox.setAttribute('role', 'status');
    toastBox.setAttribute('aria-live', 'polite');
    document.body.append(toastBox);
  }
  const item = el('div', `mod-toast mod-toast-${kind}`, text);
  item.dir = 'auto';
  toastBox.append(item);
  while (toastBox.children.length > 3) toastBox.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS);
}

// Keeps a long list in order without moving what someone is typing in: moving a focused
// textarea's card would drop the focus (and the half-written answer's caret).
export function placeInOrder(list, nodes) {
  let prev = null;
  for (const node of nodes) {
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== node) list.insertBefore(node, want);
    prev = node;
  }
  const keep = new Set(nodes);
  for (let n = prev ? prev.nextSibling : list.firstChild; n;) {
    const next = n.nextSibling;
    if (!keep.has(n)) n.remove();
    n = next;
  }
}

export function typingIn(list) {
  const a = document.activeElement;
  return !!(a && list.contains(a) && (a.tagName === 'TEXTAREA' || a.tagName === 'INPUT'));
}
