// The viewer page: /r/{room_id}. Plays the room over WHEP, shows live state and viewer count,
// and holds the (empty, for now) shop / chat / Q&A panels.

import './strings-viewer.js';
import { applyI18n, bindLangToggle, formatCount, onLangChange, t } from './i18n.js';
import { errorKey, SignalError } from './rtc.js';
import { WhepPlayer } from './whep.js';
import { watchPresence } from './presence.js';

const $ = (id) => document.getElementById(id);
const video = $('video');

function roomIdFromPath() {
  const m = location.pathname.match(/^\/r\/([^/]+)\/?$/);
  if (m) { try { return decodeURIComponent(m[1]); } catch { /* fall through */ } }
  return new URLSearchParams(location.search).get('room') || 'demo-farm';
}
const roomId = roomIdFromPath();

applyI18n();
bindLangToggle($('lang'));

// ---- room header

let room = null;
let live = null;
let viewers = null;

function renderRoom() {
  if (!room) return;
  const brand = String(room.brand || room.title || roomId);
  $('brand').textContent = brand;
  $('title').textContent = room.brand ? room.title : '';
  $('brand-avatar').textContent = Array.from(brand.trim())[0] || '·';
  document.title = `${room.title || brand} · ${t('live')}`;
  $('room').dataset.orientation = room.orientation === 'landscape' ? 'landscape' : 'portrait';
}

function renderLive() {
  const pill = $('live-pill');
  pill.dataset.i18n = live ? 'live' : 'standby';
  pill.textContent = t(pill.dataset.i18n);
  pill.classList.toggle('pill-live', !!live);
  pill.classList.toggle('pill-standby', !live);
}

function renderViewers() {
  const el = $('viewers');
  if (viewers == null) { el.hidden = true; return; }
  el.hidden = false;
  $('viewers-n').textContent = formatCount(viewers);
  el.setAttribute('aria-label', t('viewers.aria', { n: viewers }));
  el.title = t('viewers.aria', { n: viewers });
}

function applyPresence({ viewers: v, live: l }) {
  if (Number.isFinite(v)) { viewers = v; renderViewers(); }
  if (typeof l === 'boolean') {
    const wentLive = l && live === false;
    live = l;
    renderLive();
    if (wentLive && player) player.retryNow();
  }
}

async function loadRoom() {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { cache: 'no-store', credentials: 'same-origin' });
      if (r.status === 404) return { notFound: true };
      if (r.ok) return { room: await r.json() };
    } catch { /* offline */ }
    if (attempt >= 1) return {}; // play anyway on the conventional URL; presence keeps polling
    await new Promise((res) => setTimeout(res, 1000));
  }
}

// ---- status overlay

let countdown = 0;
let notFound = false;

function showStatus({ textKey, sub = '', spinner = true, retry = false }) {
  const s = $('status');
  s.hidden = false;
  s.classList.toggle('no-spinner', !spinner);
  $('status-text').dataset.i18n = textKey;
  $('status-text').textContent = t(textKey);
  $('status-sub').textContent = sub;
  $('retry').hidden = !retry;
}
function hideStatus() { $('status').hidden = true; clearInterval(countdown); countdown = 0; }

// While the picture shows, it carries its own LIVE badge and viewer count: the page's pill steps
// back (screen readers still hear it; see .room[data-picture] in app.css).
function markPicture() {
  const on = !!player && player.state === 'playing' && video.readyState >= 2 && video.videoWidth > 0;
  $('room').dataset.picture = on ? 'on' : 'off';
}

function renderState(d) {
  clearInterval(countdown);
  countdown = 0;
  markPicture();
  if (notFound) {
    showStatus({ textKey: 'err.notFound', sub: t('err.notFoundHint'), spinner: false });
    return;
  }
  if (!d) return;
  if (d.state === 'playing') {
    if (video.readyState >= 2 && video.videoWidth > 0) hideStatus();
    else showStatus({ textKey: 'state.connecting' });
    updateSound();
    return;
  }
  if (d.state === 'connecting') { showStatus({ textKey: 'state.connecting' }); return; }
  if (d.state === 'failed') { showStatus({ textKey: errorKey(d.error), spinner: false }); return; }
  if (d.state === 'reconnecting') {
    const reason = d.error ? t(errorKey(d.error)) : '';
    const paint = () => {
      const left = d.retryAt && !d.trying ? Math.ceil((d.retryAt - Date.now()) / 1000) : 0;
      const parts = [reason];
      if (left > 0) parts.push(t('state.retryIn', { s: left }));
      showStatus({ textKey: d.everPlayed ? 'state.reconnecting' : 'state.cantConnect', sub: parts.filter(Boolean).join(' · '), retry: left > 1 });
    };
    paint();
    if (d.retryAt && !d.trying) countdown = setInterval(paint, 1000);
  }
}

// ---- sound / autoplay

let autoplayBlocked = false;

function updateSound() {
  const btn = $('sound');
  const needsTap = autoplayBlocked || (video.muted && player && player.state === 'playing' && video.srcObject);
  btn.hidden = !needsTap;
  const key = autoplayBlocked ? 'tapToPlay' : 'unmute';
  $('sound-text').dataset.i18n = key;
  $('sound-text').textContent = t(key);
  $('icon-muted').hidden = autoplayBlocked;
  $('icon-play').hidden = !autoplayBlocked;
}

$('sound').addEventListener('click', () => {
  // Inside the tap: unmute and play, so the browser counts it as the user's gesture.
  video.muted = false;
  const p = video.play();
  autoplayBlocked = false;
  updateSound();
  if (p && p.catch) {
    p.catch(() => {
      // Sound still refused (rare): keep the picture going muted and offer the button again.
      video.muted = true;
      video.play().catch(() => { autoplayBlocked = true; updateSound(); });
      updateSound();
    });
  }
});

video.addEventListener('playing', () => {
  autoplayBlocked = false;
  markPicture();
  if (player && player.state === 'playing') hideStatus();
  updateSound();
});
video.addEventListener('volumechange', updateSound);

// ---- panels (shop / chat / Q&A)

const panels = $('panels');
const tabs = Array.from(panels.querySelectorAll('[role=tab]'));
const wide = window.matchMedia('(min-width: 900px)');

function setOpen(open) {
  panels.dataset.open = String(open);
  $('panels-collapse').setAttribute('aria-expanded', String(open));
}

function select(tab) {
  for (const tb of tabs) {
    const on = tb === tab;
    tb.setAttribute('aria-selected', String(on));
    tb.tabIndex = on ? 0 : -1;
    $(tb.dataset.panel).hidden = !on;
  }
}

for (const tab of tabs) {
  tab.addEventListener('click', () => {
    const already = tab.getAttribute('aria-selected') === 'true';
    if (already && panels.dataset.open === 'true' && !wide.matches) { setOpen(false); return; }
    select(tab);
    setOpen(true);
  });
  tab.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(tab);
    const next = e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length] : null;
    if (next) { e.preventDefault(); next.focus(); select(next); }
  });
}
$('panels-collapse').addEventListener('click', () => setOpen(false));
select(tabs[0]);

// ---- wiring

let player = null;
let presence = null;
let lastState = null;

onLangChange(() => { renderRoom(); renderLive(); renderViewers(); renderState(lastState); updateSound(); });

window.fieldcastViewer = {
  roomId,
  get pc() { return player ? player.pc : null; },
  get state() { return notFound ? 'not_found' : player ? player.state : 'idle'; },
  get room() { return room; },
  get video() { return video; },
  stats() { return player ? player.stats() : Promise.resolve(null); },
};

async function main() {
  renderLive();
  const res = await loadRoom();
  if (res.notFound) {
    notFound = true;
    $('room').classList.add('not-found');
    renderState(null);
    return;
  }
  room = res.room || null;
  if (room) {
    renderRoom();
    applyPresence({ viewers: room.viewers, live: room.live });
  }
  const url = (room && typeof room.whep_url === 'string' && room.whep_url) || `/whep/${encodeURIComponent(roomId)}`;
  player = new WhepPlayer(url, { video });
  player.addEventListener('state', (e) => { lastState = e.detail; renderState(e.detail); updateSound(); });
  player.addEventListener('autoplay-blocked', () => { autoplayBlocked = true; updateSound(); });
  player.start();
  presence = watchPresence(roomId, applyPresence);
  // The chat and the Q&A load after the video has started: they never delay the picture.
  import('./chat.js').then(({ mountChat }) => mountChat($('chat-panel'), roomId, { tab: $('tab-chat') }), () => {});
  import('./qa.js').then(({ mountQa }) => mountQa($('qa-panel'), roomId, { tab: $('tab-qa') }), () => {});
  import('./wall.js').then(({ mountWall }) => mountWall($('wall-panel'), roomId, { tab: $('tab-wall') }), () => {});
  import('./shop.js').then(({ mountShop }) => mountShop($('shop-panel'), roomId, { tab: $('tab-shop') }), () => {});
}

// Come back fast after the phone was locked or the network returned.
const wake = () => { if (player && !document.hidden) player.retryNow(); };
document.addEventListener('visibilitychange', wake);
window.addEventListener('online', wake);
$('retry').addEventListener('click', () => player && player.retryNow());

// Leaving: end the WHEP session so the server stops sending at once. bfcache restore: rejoin.
window.addEventListener('pagehide', () => { if (player) player.stop(); });
window.addEventListener('pageshow', (e) => { if (e.persisted && player) player.start(); });

main().catch(() => showStatus({ textKey: errorKey(new SignalError('network')), spinner: false }));
