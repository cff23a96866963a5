// The operator's orders page (/ops): pick lists per pickup point (what to pack for each, printable),
// the orders of a community or pickup point, and their CSV export. Everything comes from the REST
// API (GET /api/communities, /api/pick-lists, /api/orders, /api/orders.csv), which asks for the
// operator role; the page asks a stranger to sign in and tells anyone else why not. What people
// wrote (names, addresses) goes in as text, never as markup.

import './strings-ops.js';
import './strings-shop.js';
import { applyI18n, bindLangToggle, lang, onLangChange, t } from './i18n.js';
import { yuan } from './money.js';
import { getJson } from './http.js';
import { el } from './el.js';

const $ = (id) => document.getElementById(id);
const state = { value: 'loading', me: null, communities: [], picks: [], orders: [] };

function showGate(kind) {
  state.value = kind;
  document.body.dataset.state = kind;
  $('work').hidden = true;
  $('gate').hidden = false;
  $('gate-title').textContent = t(`ops.gate.${kind}.title`);
  const user = state.me && state.me.user;
  $('gate-text').textContent = t(`ops.gate.${kind}.text`, { name: user ? String(user.nickname || user.identifier || '') : '' });
  $('signin').hidden = kind !== 'signin' && kind !== 'forbidden';
}

function filters() {
  const q = new URLSearchParams();
  if ($('community').value) q.set('community_id', $('community').value);
  if ($('point').value) q.set('pickup_point_id', $('point').value);
  return q.toString();
}

function paintFilters() {
  const community = $('community');
  const keep = community.value;
  community.replaceChildren(el('option', '', t('ops.all')));
  community.options[0].value = '';
  for (const c of state.communities) {
    const o = el('option', '', c.name);
    o.value = String(c.id);
    community.append(o);
  }
  community.value = state.communities.some((c) => String(c.id) === keep) ? keep : '';
  paintPoints();
}

function paintPoints() {
  const point = $('point');
  const keep = point.value;
  point.replaceChildren(el('option', '', t('ops.all')));
  point.options[0].value = '';
  const chosen = state.communities.filter((c) => !$('community').value || String(c.id) === $('community').value);
  for (const c of chosen) {
    for (const p of c.pickup_points || []) {
      const o = el('option', '', chosen.length > 1 ? `${c.name} · ${p.name}` : p.name);
      o.value = String(p.id);
      point.append(o);
    }
  }
  point.value = [...point.options].some((o) => o.value === keep) ? keep : '';
}

function paintPicks() {
  const box = $('picks');
  box.replaceChildren();
  if (!state.picks.length) { box.append(el('p', 'pin-empty', t('ops.noPicks'))); return; }
  for (const pick of state.picks) {
    const card = el('article', 'ops-pick');
    const head = el('header', 'ops-pick-head');
    head.append(el('strong', '', pick.pickup_point_id == null ? t('ops.delivery') : pick.pickup_point_name));
    if (pick.community_name) head.append(el('span', 'ops-pick-community', pick.community_name));
    head.append(el('span', 'ops-pick-count', t('ops.orderCount', { n: pick.order_ids.length })));
    const list = el('ul', 'ops-pick-lines');
    for (const line of pick.lines) {
      const li = el('li');
      li.append(el('span', 'ops-pick-name', line.product_name_zh), el('span', 'ops-pick-qty', `× ${line.quantity}`),
        el('span', 'ops-pick-orders', t('ops.orderCount', { n: line.orders })));
      list.append(li);
    }
    card.append(head, list);
    box.append(card);
  }
}

function paintOrders() {
  const body = $('orders');
  body.replaceChildren();
  const points = new Map();
  for (const c of state.communities) for (const p of c.pickup_points || []) points.set(p.id, `${c.name} · ${p.name}`);
  for (const o of state.orders) {
    const tr = el('tr');
    tr.dataset.orderId = String(o.id);
    const when = new Date(o.created_at);
    const id = el('td', 'ops-id');
    id.append(el('strong', '', `#${o.id}`), el('small', '', Number.isNaN(when.getTime()) ? '' : when.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN')));
    const name = lang === 'en' && o.product_name_en ? o.product_name_en : o.product_name_zh;
    const contact = el('td');
    contact.append(el('span', '', o.contact_name), el('small', '', o.contact_phone));
    const where = o.fulfilment === 'delivery' ? o.delivery_address : (points.get(o.pickup_point_id) || '');
    tr.append(id, el('td', '', `${name} × ${o.quantity}`), el('td', 'ops-money', yuan(o.due_fen)), contact,
      el('td', 'ops-where', where), el('td', `ops-state ops-state-${o.state}`, t(`order.${o.state}`)));
    body.append(tr);
  }
  $('orders-empty').textContent = state.orders.length ? '' : t('ops.noOrders');
}

function paint() {
  applyI18n();
  if (state.value === 'loading') return;
  if (state.value !== 'ready') { showGate(state.value); return; }
  paintFilters();
  paintPicks();
  paintOrders();
}

async function load() {
  const q = filters();
  const [picks, orders] = await Promise.all([getJson(`/api/pick-lists?${q}`), getJson(`/api/orders?${q}`)]);
  if (picks.status === 401 || picks.status === 403) { await enter(); return; }
  state.picks = Array.isArray(picks.body) ? picks.body : [];
  state.orders = Array.isArray(orders.body) ? orders.body.slice().reverse() : [];
  $('csv').href = `/api/orders.csv${q ? `?${q}` : ''}`;
  paintPicks();
  paintOrders();
}

async function enter() {
  const me = await getJson('/api/me');
  state.me = me.status === 200 ? me.body : null;
  const user = state.me && state.me.user;
  $('me-name').textContent = user ? String(user.nickname || user.identifier || '') : '';
  if (!state.me || state.me.role !== 'operator') { showGate(user ? 'forbidden' : 'signin'); return; }
  const communities = await getJson('/api/communities');
  state.communities = Array.isArray(communities.body) ? communities.body : [];
  state.value = 'ready';
  document.body.dataset.state = 'ready';
  $('gate').hidden = true;
  $('work').hidden = false;
  $('signin').hidden = true;
  paintFilters();
  await load();
}

async function signIn() {
  const { openSignIn } = await import('./signin.js');
  if (await openSignIn()) await enter();
}

bindLangToggle($('lang'));
onLangChange(paint);
$('signin').addEventListener('click', signIn);
$('community').addEventListener('change', () => { paintPoints(); load(); });
$('point').addEventListener('change', load);
$('print').addEventListener('click', () => window.print());
applyI18n();
enter();

window.fieldcastOps = { get state() { return state.value; } };
