// The testimonial wall of the viewer page (真实好评 + 晒单): approved reviews from verified buyers,
// newest approval first, each with its stars, words and photos (tap one to see it large). A review
// a moderator approves appears at once; one taken down disappears. Everything buyers wrote goes in
// as text, never as markup; photo addresses are used only if they are the server's own.
//
//   mountWall(document.getElementById('wall-panel'), 'demo-farm', { tab: tabButton });
//
// Events and acks: server/realtime/reviews_events.py.

import './strings-wall.js';
import { lang, onLangChange, t } from './i18n.js';
import { roomSocket } from './socket.js';
import { el } from './el.js';

const ACK_TIMEOUT_MS = 10000;
const MAX_SHOWN = 50;
const PHOTO_URL = /^\/media\/reviews\/[0-9a-f]{64}-(320|1080)\.jpg$/;

function isReview(r) {
  return r && typeof r === 'object' && Number.isFinite(r.id) && typeof r.text === 'string';
}

function rating(r) {
  const n = Math.round(Number(r.rating));
  return Number.isFinite(n) ? Math.min(5, Math.max(1, n)) : 0;
}

function photos(r) {
  return (Array.isArray(r.photos) ? r.photos : []).filter(
    (p) => p && typeof p.thumb === 'string' && typeof p.large === 'string' && PHOTO_URL.test(p.thumb) && PHOTO_URL.test(p.large),
  );
}

function approvedDate(r) {
  const d = new Date(String(r.approved_at || r.created_at || ''));
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en', { month: 'short', day: 'numeric' });
}

export function mountWall(panel, roomId, { tab = null } = {}) {
  const root = el('div', 'wall');
  const summary = el('p', 'wall-summary');
  summary.id = 'wall-summary';
  const list = el('ol', 'wall-list');
  list.id = 'wall-list';
  const empty = el('p', 'wall-empty');
  const scroller = el('div', 'wall-scroll');
  scroller.append(summary, list, empty);

  // The large photo, over the panel; closed by a tap anywhere or Escape.
  const viewer = el('div', 'wall-viewer');
  viewer.id = 'wall-viewer';
  viewer.hidden = true;
  viewer.setAttribute('role', 'dialog');
  viewer.setAttribute('aria-modal', 'true');
  const large = el('img', 'wall-large');
  large.alt = '';
  const close = el('button', 'wall-close', '×');
  close.type = 'button';
  viewer.append(large, close);

  root.append(scroller, viewer);
  panel.replaceChildren(root);
  panel.classList.add('wall-panel');

  let socket = null;
  let subscribed = false;
  const reviews = new Map(); // id -> review (public view), in wall order

  function paintStatic() {
    list.setAttribute('aria-label', t('wall.list'));
    empty.textContent = t('wall.empty');
    close.setAttribute('aria-label', t('wall.close'));
    if (tab && tab.dataset.dot) tab.title = t('wall.new');
  }

  function item(r) {
    const li = el('li', 'wall-item');
    li.dataset.id = String(r.id);
    const top = el('div', 'wall-top');
    const nick = el('span', 'wall-nick', String(r.nickname || ''));
    nick.dir = 'auto';
    top.append(nick);
    if (r.verified === true) {
      const badge = el('span', 'wall-verified', `✓ ${t('wall.verified')}`);
      badge.title = t('wall.verifiedTitle');
      top.append(badge);
    }
    const n = rating(r);
    const stars = el('span', 'wall-stars');
    stars.setAttribute('role', 'img');
    stars.setAttribute('aria-label', t('wall.stars', { n }));
    stars.append(el('span', 'wall-on', '★'.repeat(n)), el('span', 'wall-off', '★'.repeat(5 - n)));
    top.append(stars);
    li.append(top);
    if (r.text) {
      const text = el('p', 'wall-text', r.text);
      text.dir = 'auto';
      li.append(text);
    }
    const shots = photos(r);
    if (shots.length) {
      const row = el('div', 'wall-photos');
      shots.forEach((p, i) => {
        const button = el('button', 'wall-photo');
        button.type = 'button';
        const img = el('img');
        img.loading = 'lazy';
        img.decoding = 'async';
        img.src = p.thumb;
        img.alt = t('wall.photo', { name: String(r.nickname || ''), i: i + 1 });
        button.append(img);
        button.addEventListener('click', () => open(p.large, img.alt));
        row.append(button);
      });
      li.append(row);
    }
    const products = Array.isArray(r.products) ? r.products.filter((x) => typeof x === 'string') : [];
    const meta = [products.join('、'), approvedDate(r)].filter(Boolean).join(' · ');
    if (meta) li.append(el('p', 'wall-meta', meta));
    return li;
  }

  function paintList() {
    const shown = Array.from(reviews.values()).slice(0, MAX_SHOWN);
    list.replaceChildren(...shown.map(item));
    empty.hidden = shown.length > 0;
    summary.hidden = shown.length === 0;
    if (shown.length) {
      const average = shown.reduce((sum, r) => sum + rating(r), 0) / shown.length;
      summary.textContent = `${t('wall.summary', { n: shown.length })} · ${t('wall.average', { r: average.toFixed(1) })}`;
    }
  }

  function replaceAll(list_) {
    reviews.clear();
    for (const r of list_) if (isReview(r) && r.room === roomId) reviews.set(r.id, r);
    paintList();
  }

  function add(r) {
    if (!isReview(r) || r.room !== roomId) return;
    // The newest approval goes first.
    const rest = Array.from(reviews.values()).filter((x) => x.id !== r.id);
    reviews.clear();
    for (const x of [r, ...rest]) reviews.set(x.id, x);
    paintList();
    const first = list.firstElementChild;
    if (first) first.classList.add('wall-fresh');
    if (tab && (panel.hidden || tab.getAttribute('aria-selected') !== 'true')) {
      tab.dataset.dot = 'new';
      tab.title = t('wall.new');
    }
  }

  function open(src, alt) {
    large.src = src;
    large.alt = alt;
    viewer.hidden = false;
    close.focus();
  }

  function shut() {
    viewer.hidden = true;
    large.removeAttribute('src');
  }

  viewer.addEventListener('click', shut);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !viewer.hidden) shut(); });
  if (tab) {
    tab.addEventListener('click', () => { delete tab.dataset.dot; tab.removeAttribute('title'); });
  }

  async function fetchWall() {
    // Without Socket.IO (blocked, or an old webview): the wall once over HTTP.
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/reviews`, { credentials: 'same-origin' });
      if (r.ok && !subscribed) replaceAll((await r.json()).reviews || []);
    } catch { /* offline: stays as it is */ }
  }

  function subscribe() {
    if (!socket) return;
    socket.timeout(ACK_TIMEOUT_MS).emit('reviews:wall', { room: roomId }, (err, ack) => {
      if (err || !ack || !ack.ok) return;
      subscribed = true;
      replaceAll(Array.isArray(ack.reviews) ? ack.reviews : []);
    });
  }

  onLangChange(() => { paintStatic(); paintList(); });
  paintStatic();
  paintList();

  roomSocket().then((s) => {
    socket = s;
    socket.on('connect', subscribe);
    socket.on('disconnect', () => { subscribed = false; });
    socket.on('review:approved', (p) => { if (p && p.room === roomId) add(p.review); });
    socket.on('review:removed', (p) => {
      if (!p || p.room !== roomId || !reviews.delete(p.id)) return;
      paintList();
    });
    if (socket.connected) subscribe();
  }, fetchWall);

  return {
    get subscribed() { return subscribed; },
    count: () => reviews.size,
  };
}
