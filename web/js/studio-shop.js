// The studio's product card: the live session's products, and 讲解 (pin) / 取消讲解 (unpin) for
// the one the host is explaining. Its card shows on the stream and on every viewer's page.
// Live over the page's shared Socket.IO connection (shop.join, then product.pinned,
// stock.changed, shop.changed); pins go over REST with the room's stream key, which the studio
// holds anyway (a signed-in host's cookie works too).
//
//   mountStudioShop(document.getElementById('shop-card'), 'demo-farm', () => keyInput.value);

import './strings-pin.js';
import { applyI18n, lang, onLangChange, t } from './i18n.js';
import { yuan } from './money.js';
import { roomSocket } from './socket.js';
import { el } from './el.js';

const REFRESH_MS = 30000; // the shop state again now and then, should an event be missed

export function mountStudioShop(card, roomId, getKey) {
  const list = card.querySelector('.pin-list');
  const msg = card.querySelector('.pin-msg');
  const sessionLine = card.querySelector('.pin-session');
  let state = null; // the shop state: { session, products, pinned_product_id, ... }
  let busy = false;

  const name = (p) => (lang === 'en' && p.name_en ? p.name_en : p.name_zh);

  function say(text, kind = '') {
    msg.textContent = text || '';
    msg.className = `message pin-msg ${kind}`.trim();
  }

  function render() {
    list.replaceChildren();
    if (!state || !state.session) {
      sessionLine.textContent = '';
      list.append(el('li', 'pin-empty', t('pin.noSession')));
      return;
    }
    sessionLine.textContent = state.session.title || '';
    if (!state.products.length) {
      list.append(el('li', 'pin-empty', t('pin.noProducts')));
      return;
    }
    for (const p of state.products) {
      const pinned = p.id === state.pinned_product_id;
      const li = el('li', pinned ? 'pin-item pinned' : 'pin-item');
      li.dataset.productId = String(p.id);
      const photo = el('div', 'pin-photo');
      if (p.photos && p.photos.length) {
        const img = document.createElement('img');
        img.src = p.photos[0];
        img.alt = '';
        img.loading = 'lazy';
        photo.append(img);
      }
      const text = el('div', 'pin-text');
      const title = el('div', 'pin-name', name(p));
      if (pinned) title.prepend(el('span', 'pin-now', t('pin.now')));
      text.append(title, el('div', 'pin-meta', `${yuan(p.price_fen)} / ${p.unit} · ${t('pin.stock', { n: p.stock })}`));
      const btn = el('button', pinned ? 'btn btn-quiet btn-small' : 'btn btn-primary btn-small', t(pinned ? 'pin.unpin' : 'pin.pin'));
      btn.type = 'button';
      btn.disabled = busy;
      btn.addEventListener('click', () => (pinned ? unpin() : pin(p.id)));
      li.append(photo, text, btn);
      list.append(li);
    }
  }

  async function load() {
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/shop`, { cache: 'no-store', credentials: 'same-origin' });
      if (r.ok) { state = await r.json(); render(); }
    } catch { /* offline: the next refresh */ }
  }

  async function send(method, body) {
    const key = (getKey() || '').trim();
    const headers = { 'Content-Type': 'application/json' };
    busy = true;
    render();
    say('');
    try {
      if (key) headers.Authorization = `Bearer ${key}`;
      else {
        // No key: a signed-in host's session, which writes with its CSRF token.
        const me = await fetch('/api/me', { cache: 'no-store', credentials: 'same-origin' });
        const csrf = me.ok ? (await me.json()).csrf : null;
        if (csrf) headers['X-CSRF-Token'] = csrf;
      }
      const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/pin`, {
        method, headers, credentials: 'same-origin', cache: 'no-store', body: body ? JSON.stringify(body) : undefined,
      });
      if (r.ok) return true;
      let reply = null;
      try { reply = await r.json(); } catch { /* no body */ }
      if (r.status === 401) say(t(key ? 'pin.err.key' : 'pin.err.noKey'), 'error');
      else say(t('pin.err.generic', { m: (reply && reply.message) || r.status }), 'error');
      return false;
    } catch {
      say(t('pin.err.offline'), 'error');
      return false;
    } finally {
      busy = false;
      render();
    }
  }

  async function pin(productId) {
    if (await send('POST', { product_id: productId }) && state) { state.pinned_product_id = productId; render(); }
  }

  async function unpin() {
    if (await send('DELETE') && state) { state.pinned_product_id = null; render(); }
  }

  roomSocket().then((socket) => {
    const join = () => socket.emit('shop.join', { room: roomId }, (reply) => {
      if (reply && reply.shop) { state = reply.shop; render(); }
    });
    socket.on('connect', join);
    if (socket.connected) join();
    socket.on('product.pinned', (e) => {
      if (!e || e.room !== roomId || !state) return;
      state.pinned_product_id = e.product ? e.product.id : null;
      render();
    });
    socket.on('stock.changed', (e) => {
      if (!e || e.room !== roomId || !state || e.claim_id != null) return;
      const p = state.products.find((x) => x.id === e.product_id);
      if (p) { p.stock = e.remaining; render(); }
    });
    socket.on('shop.changed', (e) => { if (e && e.room === roomId) load(); });
  }).catch(() => { /* no Socket.IO client: the refresh below keeps the card current */ });

  onLangChange(render);
  applyI18n(card); // its strings came with this module, after the page was translated
  render();
  load();
  setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
}
