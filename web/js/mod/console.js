// The moderator console: /mod/{room_id}. The page is public; the data is not: it asks strangers to
// sign in, tells signed-in viewers they need the moderator role, and for moderators, hosts and
// operators lays out chat, questions, testimonials and the moderation log as columns (three on a
// desktop, two on a tablet, tabs on a phone). Every panel talks over the page's one Socket.IO
// connection and reloads its snapshot whenever that connection (re)opens.

import '../strings-mod.js';
import { applyI18n, bindLangToggle, formatCount, onLangChange, t } from '../i18n.js';
import { reconnectSocket, roomSocket } from '../socket.js';
import { watchPresence } from '../presence.js';
import { getJson } from '../http.js';
import { call, el, refreshTimes, toast } from './dom.js';
import { mountChat } from './chat.js';
import { mountQuestions } from './questions.js';
import { mountReviews } from './reviews.js';
import { mountLog } from './log.js';

const $ = (id) => document.getElementById(id);
const STAFF = new Set(['moderator', 'host', 'operator']);
const GATES = new Set(['signin', 'forbidden', 'not_found']);
const PANELS = ['chat', 'questions', 'reviews', 'log'];
const LAYOUTS = {
  3: [['chat'], ['questions'], ['reviews', 'log']],
  2: [['chat'], ['questions', 'reviews', 'log']],
  1: [PANELS],
};

function roomIdFromPath() {
  const m = location.pathname.match(/^\/mod\/([^/]+)\/?$/);
  if (m) { try { return decodeURIComponent(m[1]); } catch { /* fall through */ } }
  return new URLSearchParams(location.search).get('room') || 'demo-farm';
}
const roomId = roomIdFromPath();

const state = { value: 'loading', me: null, csrf: '' };
window.fieldcastMod = { get state() { return state.value; }, get me() { return state.me; } };

applyI18n();
bindLangToggle($('lang'));

// ---- who is here

async function whoAmI() {
  const r = await getJson('/api/me');
  if (r.status !== 200 || !r.body) return null;
  state.csrf = String(r.body.csrf || '');
  return { ...r.body, account_role: r.body.role, role: roleHere(r.body) };
}

// Hosts and moderators hold their role per room (operators everywhere): what this console may do
// is the role in THIS room, whatever the account's own role says.
function roleHere(me) {
  if (me.role === 'operator') return 'operator';
  const granted = me.rooms && typeof me.rooms === 'object' ? me.rooms[roomId] : undefined;
  if (granted === 'host' || granted === 'moderator') return granted;
  return STAFF.has(me.role) ? 'viewer' : String(me.role || 'viewer');
}

// ---- the gate: sign in / not allowed / no such room

function showGate(kind) {
  state.value = kind;
  document.body.dataset.state = kind;
  $('workspace').hidden = true;
  const gate = $('gate');
  gate.hidden = false;
  gate.dataset.kind = kind;
  $('gate-title').textContent = t(`mod.gate.${kind}.title`);
  const me = state.me && state.me.user;
  $('gate-text').textContent = kind === 'forbidden' && me
    ? t('mod.gate.forbidden.text', { name: String(me.nickname || me.identifier || ''), role: t(`mod.role.${state.me.role}`) })
    : t(`mod.gate.${kind}.text`);
  $('gate-signin').hidden = kind !== 'signin';
  $('gate-switch').hidden = kind !== 'forbidden';
  $('gate-viewer').hidden = kind === 'signin' || kind === 'not_found';
  paintMe();
}

async function signIn() {
  const { openSignIn } = await import('../signin.js');
  const user = await openSignIn();
  if (!user) return;
  reconnectSocket();  // the server reads who this is when the connection opens
  await enter();
}

async function signOut() {
  try {
    await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': state.csrf } });
  } catch { /* offline: the cookie stays; the gate still shows */ }
  state.me = null;
  reconnectSocket();
  showGate('signin');
}

function paintMe() {
  const user = state.me && state.me.user;
  $('me').hidden = !user;
  if (!user) return;
  $('me-name').textContent = String(user.nickname || user.identifier || '');
  $('me-role').textContent = t(`mod.role.${state.me.role}`);
}

// ---- the room header

let room = null;
let presence = { live: null, viewers: null };

function paintRoom() {
  const title = room ? String(room.title || room.id) : roomId;
  $('room-title').textContent = title;
  $('room-brand').textContent = room && room.brand ? String(room.brand) : '';
  document.title = `${t('mod.title')} · ${title}`;
  $('viewer-link').href = `/r/${encodeURIComponent(roomId)}`;
  $('gate-viewer').href = $('viewer-link').href;
  const badge = $('live-badge');
  badge.dataset.state = presence.live ? 'live' : 'idle';
  badge.textContent = t(presence.live ? 'mod.live' : 'mod.offAir');
  const count = $('viewer-count');
  count.hidden = presence.viewers == null;
  $('viewers-n').textContent = formatCount(presence.viewers || 0);
  count.title = t('mod.viewers', { n: presence.viewers || 0 });
}

// ---- the workspace: panels docked into columns

const panels = {};
const tabs = {};
const sections = {};
const selected = new Map();   // dock index -> panel name
let columns = 0;
let socket = null;

const ctxFor = (name) => ({
  roomId,
  async call(event, payload) {
    const reply = await call(socket, event, payload);
    if (reply.error === 'forbidden' || reply.error === 'unauthorized') recheck();
    return reply;
  },
  on(event, fn) { roomSocket().then((s) => s.on(event, fn)); },
  badge(n) {
    const c = tabs[name].querySelector('.count');
    c.textContent = n > 99 ? '99+' : String(n);
    c.hidden = !n;
  },
  changed() { if (panels.log) panels.log.changed(); },
});

function buildWorkspace() {
  for (const name of PANELS) {
    const tab = el('button', 'dock-tab');
    tab.type = 'button';
    tab.id = `tab-${name}`;
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-controls', `panel-${name}`);
    tab.append(el('span', 'dock-tab-label'), el('span', 'count'));
    tab.querySelector('.count').hidden = true;
    tab.addEventListener('click', () => select(name));
    tabs[name] = tab;
    const section = el('section', `panel panel-${name}`);
    section.id = `panel-${name}`;
    section.setAttribute('role', 'tabpanel');
    section.setAttribute('aria-labelledby', tab.id);
    sections[name] = section;
  }
  panels.chat = mountChat(sections.chat, ctxFor('chat'));
  panels.questions = mountQuestions(sections.questions, ctxFor('questions'));
  panels.reviews = mountReviews(sections.reviews, ctxFor('reviews'));
  panels.log = mountLog(sections.log, ctxFor('log'));
  paintTabs();
}

function paintTabs() {
  for (const name of PANELS) {
    tabs[name].querySelector('.dock-tab-label').textContent = t(`mod.panel.${name}`);
    tabs[name].title = t('mod.panel.key', { key: PANELS.indexOf(name) + 1 });
  }
}

function wantedColumns() {
  if (matchMedia('(min-width: 1200px)').matches) return 3;
  if (matchMedia('(min-width: 760px)').matches) return 2;
  return 1;
}

function layout() {
  const n = wantedColumns();
  if (n === columns) return;
  columns = n;
  const ws = $('workspace');
  const docks = LAYOUTS[n].map((names, i) => {
    const dock = el('div', 'dock');
    dock.dataset.panels = names.join(' ');
    const bar = el('div', 'dock-tabs');
    bar.setAttribute('role', 'tablist');
    bar.setAttribute('aria-label', t('mod.panels'));
    const body = el('div', 'dock-body');
    for (const name of names) { bar.append(tabs[name]); body.append(sections[name]); }
    dock.append(bar, body);
    const keep = selected.get(i);
    selected.set(i, keep && names.includes(keep) ? keep : names[0]);
    return dock;
  });
  ws.dataset.columns = String(n);
  ws.replaceChildren(...docks);
  paintSelection();
}

function dockOf(name) { return LAYOUTS[columns].findIndex((names) => names.includes(name)); }

function paintSelection() {
  LAYOUTS[columns].forEach((names, i) => {
    for (const name of names) {
      const on = selected.get(i) === name;
      tabs[name].setAttribute('aria-selected', String(on));
      tabs[name].tabIndex = on ? 0 : -1;
      sections[name].hidden = !on;
    }
  });
}

function select(name, { focus = false } = {}) {
  selected.set(dockOf(name), name);
  paintSelection();
  if (focus) panels[name].focus();
}

// Arrow keys move along a dock's tabs; Alt+1..4 jumps to a panel from anywhere.
document.addEventListener('keydown', (e) => {
  const tab = e.target.closest && e.target.closest('.dock-tab');
  if (tab && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) {
    const names = LAYOUTS[columns][dockOf(tab.id.slice(4))];
    const i = names.indexOf(tab.id.slice(4));
    const next = names[(i + (e.key === 'ArrowRight' ? 1 : names.length - 1)) % names.length];
    select(next);
    tabs[next].focus();
    e.preventDefault();
    return;
  }
  if (e.altKey && !e.ctrlKey && !e.metaKey && /^Digit[1-4]$/.test(e.code) && state.value === 'ready') {
    e.preventDefault();
    select(PANELS[Number(e.code.slice(5)) - 1], { focus: true });
  }
});

// ---- connection

let started = false;

async function refreshAll() {
  await Promise.all(PANELS.map((name) => panels[name].refresh()));
  if (state.value === 'connecting') state.value = 'ready';
}

function startConsole() {
  state.value = 'connecting';
  document.body.dataset.state = 'ready';
  $('gate').hidden = true;
  $('workspace').hidden = false;
  paintMe();
  if (!started) {
    started = true;
    buildWorkspace();
    layout();
    addEventListener('resize', layout);
    roomSocket().then((s) => {
      socket = s;
      const banner = $('conn');
      s.on('connect', () => { banner.hidden = true; if (!$('workspace').hidden) refreshAll(); });
      s.on('disconnect', () => { banner.hidden = false; });
      s.on('connect_error', () => { banner.hidden = false; });
      if (s.connected) refreshAll();
    }, () => { $('conn').hidden = false; });
  } else if (socket && socket.connected) {
    refreshAll();
  }
}

async function enter() {
  state.me = await whoAmI();
  if (!state.me) { showGate('signin'); toast(t('mod.err.offline'), 'error'); return; }
  if (!state.me.user && !STAFF.has(state.me.role)) { showGate('signin'); return; }
  if (!STAFF.has(state.me.role)) { showGate('forbidden'); return; }
  startConsole();
}

let rechecking = false;
async function recheck() {
  if (rechecking) return;
  rechecking = true;
  state.me = await whoAmI();
  rechecking = false;
  if (!state.me || !STAFF.has(state.me.role)) showGate(state.me && state.me.user ? 'forbidden' : 'signin');
}

async function main() {
  const r = await getJson(`/api/rooms/${encodeURIComponent(roomId)}`);
  if (r.status === 404) { paintRoom(); showGate('not_found'); return; }
  if (r.status === 200) room = r.body;
  paintRoom();
  watchPresence(roomId, ({ viewers, live }) => {
    if (Number.isFinite(viewers)) presence.viewers = viewers;
    if (typeof live === 'boolean') presence.live = live;
    paintRoom();
  });
  await enter();
}

$('gate-signin').addEventListener('click', signIn);
$('gate-switch').addEventListener('click', async () => { await signOut(); signIn(); });
$('signout').addEventListener('click', signOut);
onLangChange(() => {
  paintRoom();
  paintMe();
  if (GATES.has(state.value)) showGate(state.value);
  if (started) {
    paintTabs();
    for (const name of PANELS) panels[name].paintStatic();
    refreshTimes();
  }
});
setInterval(() => {
  refreshTimes();
  // A word-list change by another moderator has no broadcast: an open log catches up on its own.
  if (state.value === 'ready' && !document.hidden && sections.log && !sections.log.hidden) panels.log.refresh();
}, 30000);
main();
