// The shop panel of the viewer page: the product being explained (讲解中), my community's
// group-buy progress, the flash claim with its countdown, the products, a two-tap buy sheet and
// my orders with their timelines. Live over the page's shared Socket.IO connection
// (server/realtime/commerce_events.py); everything the server or other people wrote goes in as
// text, never as markup. Prices come from the server: the page only shows them.
//
//   mountShop(document.getElementById('shop-panel'), 'demo-farm', { tab: tabButton });

import './strings-shop.js';
import { lang, onLangChange, t } from './i18n.js';
import { yuan } from './money.js';
import { reconnectSocket, roomSocket } from './socket.js';
import { el } from './el.js';

const ACK_TIMEOUT_MS = 15000;
const CONTACT_KEY = 'fieldcast.contact';

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${String(m).padStart(2, '0')}:${sec}`;
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return 'w-' + crypto.randomUUID().replace(/-/g, '');
  return 'w-' + Math.random().toString(36).slice(2) + Date.now().toString(36);
}

async function api(method, url, body, csrf) {
  const headers = { 'Content-Type': 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(url, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    return { status: 0, body: null };
  }
  let json = null;
  try { json = await r.json(); } catch { /* empty */ }
  return { status: r.status, body: json };
}

function emitAck(socket, event, data) {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => { if (!done) { done = true; resolve({ error: 'timeout', message: 'timeout' }); } }, ACK_TIMEOUT_MS);
    socket.emit(event, data, (reply) => { if (!done) { done = true; clearTimeout(timer); resolve(reply || {}); } });
  });
}

function errorText(reply) {
  const code = reply && reply.error;
  const known = code && t(`shop.err.${code}`);
  if (known && known !== `shop.err.${code}`) return known;
  return t('shop.err.generic', { m: (reply && reply.message) || code || '?' });
}

export function mountShop(panel, roomId, { tab = null } = {}) {
  const root = el('div', 'shop');
  const communityBar = el('div', 'shop-community');
  communityBar.id = 'shop-community';
  const progress = el('div', 'shop-progress');
  progress.id = 'shop-progress';
  const claimBox = el('div', 'shop-claim');
  claimBox.id = 'shop-claim';
  claimBox.hidden = true;
  const list = el('ul', 'shop-products');
  list.id = 'shop-products';
  const empty = el('p', 'placeholder');
  const notice = el('p', 'shop-notice');
  notice.id = 'shop-notice';
  notice.setAttribute('role', 'status');
  const ordersTitle = el('h3', 'shop-orders-title');
  const orders = el('ol', 'shop-orders');
  orders.id = 'shop-orders';
  root.append(communityBar, progress, claimBox, notice, list, empty, ordersTitle, orders);
  panel.replaceChildren(root);

  let me = null; // { user, csrf }
  let communities = [];
  let shop = null; // ShopState from the server
  let socket = null;
  let myOrders = new Map();
  let tick = 0;

  const myCommunity = () => (me && me.user ? communities.find((c) => c.id === me.communityId) || null : null);
  const product = (id) => (shop ? shop.products.find((p) => p.id === id) : null);

  function say(text) {
    notice.textContent = text || '';
  }

  // -- community ----------------------------------------------------------------------------

  function renderCommunity() {
    communityBar.replaceChildren();
    const mine = myCommunity();
    const select = el('select', 'shop-community-select');
    select.id = 'shop-community-select';
    select.setAttribute('aria-label', t('shop.community'));
    const none = el('option', '', t('shop.pickCommunity'));
    none.value = '';
    select.append(none);
    for (const c of communities) {
      const o = el('option', '', c.name);
      o.value = String(c.id);
      if (mine && mine.id === c.id) o.selected = true;
      select.append(o);
    }
    select.addEventListener('change', () => chooseCommunity(Number(select.value)));
    communityBar.append(el('span', 'shop-community-label', t('shop.community')), select);
  }

  async function ensureSignedIn() {
    if (me && me.user) return true;
    // The sign-in sheet loads only when someone who is not signed in wants to buy.
    const { openSignIn } = await import('./signin.js');
    const user = await openSignIn();
    if (!user) return false;
    await loadMe();
    reconnectSocket();
    return !!(me && me.user);
  }

  async function chooseCommunity(id) {
    if (!id) return;
    if (!(await ensureSignedIn())) { renderCommunity(); return; }
    const r = await api('PUT', '/api/me/community', { community_id: id }, me.csrf);
    if (r.status === 200) {
      me.communityId = r.body.community_id;
      renderCommunity();
      renderProgress();
      if (socket) join();
    } else {
      say(errorText(r.body));
    }
  }

  // -- group-buy progress (my community) -------------------------------------------------------

  function renderProgress() {
    progress.replaceChildren();
    const mine = myCommunity();
    if (!shop || !mine) return;
    for (const g of shop.group_buys.filter((x) => x.community_id === mine.id && x.state === 'open')) {
      const p = product(g.product_id);
      const row = el('div', 'shop-gb');
      row.dataset.groupBuy = String(g.id);
      const title = el('div', 'shop-gb-title', `${t('shop.groupBuy')} · ${p ? (lang === 'en' && p.name_en ? p.name_en : p.name_zh) : ''}`);
      const text = el('div', 'shop-gb-text', lang === 'en' ? g.text_en : g.text_zh);
      const target = g.missing ? g.buyers + g.missing : Math.max(g.buyers, ...g.tiers.map((x) => x.buyers));
      const bar = el('div', 'shop-gb-bar');
      const fill = el('div', 'shop-gb-fill');
      fill.style.width = `${Math.min(100, target ? (100 * g.buyers) / target : 100)}%`;
      if (g.unlocked) fill.classList.add('unlocked');
      bar.append(fill);
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', String(target));
      bar.setAttribute('aria-valuenow', String(g.buyers));
      row.append(title, bar, text);
      progress.append(row);
    }
  }

  // -- flash claim ---------------------------------------------------------------------------

  function currentClaim() {
    if (!shop) return null;
    const now = Date.now();
    const open = shop.flash_claims.filter((c) => Date.parse(c.ends_at) > now).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    return open.find((c) => Date.parse(c.starts_at) <= now) || open[0] || null;
  }

  function renderClaim() {
    const c = currentClaim();
    claimBox.hidden = !c;
    if (!c) { claimBox.replaceChildren(); return; }
    const p = product(c.product_id);
    const now = Date.now();
    const started = Date.parse(c.starts_at) <= now;
    const when = started ? t('shop.claimEnds', { t: clock((Date.parse(c.ends_at) - now) / 1000) })
      : t('shop.claimStarts', { t: clock((Date.parse(c.starts_at) - now) / 1000) });
    const button = el('button', 'btn btn-primary shop-claim-btn', c.remaining > 0 ? t('shop.claim') : t('shop.soldOut'));
    button.type = 'button';
    button.id = 'shop-claim-btn';
    button.disabled = !started || c.remaining <= 0;
    button.addEventListener('click', () => claim(c));
    claimBox.replaceChildren(
      el('div', 'shop-claim-title', `${t('shop.claimTitle')} ${yuan(c.price_fen)} · ${p ? p.name_zh : ''}`),
      el('div', 'shop-claim-meta', `${t('shop.claimLeft', { n: c.remaining, total: c.quantity })} · ${when}`),
      button,
    );
  }

  async function claim(c) {
    if (!(await ensureSignedIn())) return;
    const contact = savedContact();
    const mine = myCommunity();
    if (!mine) { say(t('shop.err.community_required')); return; }
    if (!contact.name || !contact.phone || !mine.pickup_points.length) { openBuy(product(c.product_id), c); return; }
    const reply = await emitAck(socket, 'claim', {
      claim_id: c.id, quantity: 1, idempotency_key: newKey(),
      delivery: { fulfilment: 'pickup', pickup_point_id: mine.pickup_points[0].id, contact_name: contact.name, contact_phone: contact.phone },
    });
    if (reply.ok) { say(t('shop.claimed', { id: reply.order.id })); upsertOrder(reply.order); } else say(errorText(reply));
  }

  // -- products ------------------------------------------------------------------------------

  function renderProducts() {
    list.replaceChildren();
    const products = shop ? [...shop.products] : [];
    empty.textContent = t('shop.empty');
    empty.hidden = products.length > 0;
    const pinned = shop ? shop.pinned_product_id : null;
    products.sort((a, b) => (b.id === pinned) - (a.id === pinned));
    for (const p of products) {
      const li = el('li', 'shop-product');
      li.dataset.product = String(p.id);
      if (p.id === pinned) { li.classList.add('pinned'); li.append(el('span', 'shop-badge', t('shop.pinned'))); }
      const photo = el('div', 'shop-photo');
      const url = (p.photos || [])[0];
      if (typeof url === 'string' && /^(https:\/\/|\/static\/|\/media\/)/.test(url)) {
        const img = el('img');
        img.src = url;
        img.alt = '';
        img.loading = 'lazy';
        photo.append(img);
      } else {
        photo.textContent = Array.from(p.name_zh || '·')[0];
      }
      const body = el('div', 'shop-product-body');
      body.append(
        el('div', 'shop-product-name', lang === 'en' && p.name_en ? p.name_en : p.name_zh),
        el('div', 'shop-product-price', `${yuan(p.price_fen)} / ${p.unit}`),
        el('div', 'shop-product-stock', p.stock > 0 ? t('shop.left', { n: p.stock }) : t('shop.soldOut')),
      );
      const buy = el('button', 'btn btn-primary shop-buy', t('shop.buy'));
      buy.type = 'button';
      buy.disabled = p.stock <= 0;
      buy.addEventListener('click', () => openBuy(p, null));
      li.append(photo, body, buy);
      list.append(li);
    }
  }

  // -- the buy sheet (two taps: 购买, then 提交订单) ------------------------------------------

  function savedContact() {
    try { return JSON.parse(localStorage.getItem(CONTACT_KEY) || '{}') || {}; } catch { return {}; }
  }

  async function openBuy(p, claimOffer) {
    if (!p) return;
    if (!(await ensureSignedIn())) return;
    const mine = myCommunity();
    if (!mine) { say(t('shop.err.community_required')); communityBar.querySelector('select')?.focus(); return; }
    const contact = savedContact();
    const dialog = el('dialog', 'sheet shop-sheet');
    dialog.id = 'shop-sheet';
    const form = el('form', 'sheet-form');
    form.method = 'dialog';
    const title = el('h2', 'sheet-title', claimOffer ? `${t('shop.claimTitle')} · ${p.name_zh}` : p.name_zh);
    const qty = el('input', 'sheet-input');
    Object.assign(qty, { type: 'number', min: '1', max: claimOffer ? String(claimOffer.per_buyer_limit) : '99', value: '1', id: 'shop-qty' });
    const how = el('select', 'sheet-input');
    how.id = 'shop-fulfilment';
    for (const pt of mine.pickup_points) {
      const o = el('option', '', `${t('shop.pickup')} · ${pt.name}`);
      o.value = `pickup:${pt.id}`;
      how.append(o);
    }
    if (mine.delivery) { const o = el('option', '', t('shop.delivery')); o.value = 'delivery'; how.append(o); }
    const address = el('input', 'sheet-input');
    Object.assign(address, { type: 'text', maxLength: 200, value: contact.address || '', id: 'shop-address' });
    const name = el('input', 'sheet-input');
    Object.assign(name, { type: 'text', maxLength: 24, value: contact.name || (me.user.nickname || ''), id: 'shop-name', autocomplete: 'name' });
    const phone = el('input', 'sheet-input');
    Object.assign(phone, { type: 'tel', maxLength: 20, value: contact.phone || '', id: 'shop-phone', autocomplete: 'tel' });
    const lines = el('ul', 'shop-lines');
    lines.id = 'shop-lines';
    const total = el('div', 'shop-total');
    total.id = 'shop-total';
    const error = el('p', 'sheet-error');
    error.setAttribute('role', 'alert');
    const submit = el('button', 'btn btn-primary', t('shop.submit'));
    submit.type = 'submit';
    submit.id = 'shop-submit';
    const cancel = el('button', 'btn btn-ghost', t('shop.cancel'));
    cancel.type = 'button';
    cancel.addEventListener('click', () => dialog.close());
    const field = (label, input) => { const w = el('label', 'sheet-field'); w.append(el('span', 'sheet-label', label), input); return w; };
    const addressField = field(t('shop.address'), address);
    form.append(title, field(t('shop.quantity'), qty), field(t('shop.pickup') + ' / ' + t('shop.delivery'), how), addressField,
      field(t('shop.name'), name), field(t('shop.phone'), phone), lines, total, error, submit, cancel);
    dialog.append(form);
    document.body.append(dialog);

    let quoted = null;
    // One key per sheet: a retry after a dropped connection is the same order, not a second one.
    const key = newKey();
    const syncAddress = () => { addressField.hidden = how.value !== 'delivery'; };
    async function requote() {
      const quantity = Math.max(1, Math.floor(Number(qty.value) || 1));
      if (claimOffer) {
        quoted = { total_fen: claimOffer.price_fen * quantity, lines: [] };
        lines.replaceChildren(el('li', '', `${t('shop.claimTitle')} ${yuan(claimOffer.price_fen)} × ${quantity}`));
      } else {
        const r = await api('POST', '/api/orders/quote', { room_id: roomId, product_id: p.id, quantity }, me.csrf);
        if (r.status !== 200) { error.textContent = errorText(r.body); quoted = null; return; }
        quoted = r.body;
        lines.replaceChildren(...quoted.lines.map((l) => {
          const li = el('li', 'shop-line');
          li.append(el('span', '', lang === 'en' ? l.label_en : l.label_zh), el('span', '', yuan(l.amount_fen)));
          return li;
        }));
      }
      error.textContent = '';
      total.textContent = `${t('shop.total')} ${yuan(quoted.total_fen)}`;
    }
    qty.addEventListener('change', requote);
    how.addEventListener('change', syncAddress);
    syncAddress();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      const quantity = Math.max(1, Math.floor(Number(qty.value) || 1));
      const [kind, point] = how.value.split(':');
      const delivery = { fulfilment: kind === 'delivery' ? 'delivery' : 'pickup', pickup_point_id: point ? Number(point) : null,
        address: kind === 'delivery' ? address.value : '', contact_name: name.value, contact_phone: phone.value };
      try { localStorage.setItem(CONTACT_KEY, JSON.stringify({ name: name.value, phone: phone.value, address: address.value })); } catch { /* private mode */ }
      const reply = claimOffer
        ? await emitAck(socket, 'claim', { claim_id: claimOffer.id, quantity, delivery, idempotency_key: key })
        : await emitAck(socket, 'order.create', { room_id: roomId, product_id: p.id, quantity, delivery, idempotency_key: key,
          expected_total_fen: quoted ? quoted.total_fen : null });
      submit.disabled = false;
      if (reply.ok) {
        const pt = mine.pickup_points.find((x) => x.id === reply.order.pickup_point_id);
        say(pt ? t('shop.placed', { id: reply.order.id, point: pt.name }) : t('shop.placedDelivery', { id: reply.order.id }));
        upsertOrder(reply.order);
        dialog.close();
      } else {
        error.textContent = errorText(reply);
        if (reply.error === 'price_changed') requote();
      }
    });
    dialog.addEventListener('close', () => dialog.remove());
    dialog.showModal();
    requote();
  }

  // -- my orders -----------------------------------------------------------------------------

  function upsertOrder(o) {
    if (!o || !Number.isFinite(o.id)) return;
    myOrders.set(o.id, o);
    renderOrders();
  }

  function renderOrders() {
    ordersTitle.textContent = t('shop.orders');
    ordersTitle.hidden = myOrders.size === 0;
    orders.replaceChildren(...[...myOrders.values()].sort((a, b) => b.id - a.id).slice(0, 20).map((o) => {
      const li = el('li', 'shop-order');
      li.dataset.order = String(o.id);
      li.append(el('div', 'shop-order-head', `#${o.id} ${lang === 'en' && o.product_name_en ? o.product_name_en : o.product_name_zh} × ${o.quantity} · ${yuan(o.due_fen)} · ${t('order.' + o.state)}`));
      const steps = el('ol', 'shop-timeline');
      for (const e of o.timeline || []) {
        const d = new Date(e.at);
        steps.append(el('li', '', `${t('order.' + e.state)} ${Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' })}`));
      }
      li.append(steps);
      return li;
    }));
  }

  // -- loading and live updates --------------------------------------------------------------

  async function loadMe() {
    const r = await api('GET', '/api/me');
    if (r.status === 200 && r.body) {
      me = { user: r.body.user, csrf: r.body.csrf, communityId: r.body.user ? r.body.user.community_id ?? null : null };
      if (me.user && me.communityId == null) {
        // /api/me predates community ids: match the community by its name.
        const byName = communities.find((c) => c.name === me.user.community);
        if (byName) me.communityId = byName.id;
      }
    }
  }

  function renderAll() {
    renderCommunity();
    renderProgress();
    renderClaim();
    renderProducts();
    renderOrders();
  }

  async function join() {
    const reply = await emitAck(socket, 'shop.join', { room: roomId });
    if (reply && reply.ok) { shop = reply.shop; renderAll(); }
  }

  async function refetch() {
    const r = await api('GET', `/api/rooms/${encodeURIComponent(roomId)}/shop`);
    if (r.status === 200) { shop = r.body; renderAll(); }
  }

  async function start() {
    const c = await api('GET', '/api/communities');
    communities = c.status === 200 && Array.isArray(c.body) ? c.body : [];
    await loadMe();
    await refetch();
    if (me && me.user) {
      const o = await api('GET', '/api/orders/mine');
      if (o.status === 200 && Array.isArray(o.body)) for (const x of o.body) myOrders.set(x.id, x);
      renderOrders();
    }
    try { socket = await roomSocket(); } catch { return; }
    socket.on('connect', join);
    if (socket.connected) join();
    socket.on('product.pinned', (d) => {
      if (!shop || !d || d.room !== roomId) return;
      shop.pinned_product_id = d.product ? d.product.id : null;
      if (d.product) { const i = shop.products.findIndex((x) => x.id === d.product.id); if (i >= 0) shop.products[i] = d.product; }
      renderProducts();
      if (tab && d.product && tab.getAttribute('aria-selected') !== 'true') tab.dataset.dot = '1';
    });
    socket.on('stock.changed', (d) => {
      if (!shop || !d || d.room !== roomId) return;
      if (d.claim_id != null) {
        const c = shop.flash_claims.find((x) => x.id === d.claim_id);
        if (c) { c.remaining = d.remaining; renderClaim(); }
      } else {
        const p = product(d.product_id);
        if (p) { p.stock = d.remaining; renderProducts(); }
      }
    });
    socket.on('groupbuy.progress', (d) => {
      if (!shop || !d || d.room !== roomId) return;
      const i = shop.group_buys.findIndex((x) => x.id === d.id);
      if (i >= 0) shop.group_buys[i] = d; else shop.group_buys.push(d);
      renderProgress();
    });
    socket.on('shop.changed', (d) => { if (d && d.room === roomId) refetch(); });
    socket.on('order.status', (o) => upsertOrder(o));
    tick = setInterval(() => { if (!claimBox.hidden || currentClaim()) renderClaim(); }, 1000);
  }

  onLangChange(renderAll);
  start();
  window.fieldcastShop = { state: () => shop, stop: () => clearInterval(tick) };
}
