// The host's studio: /studio/{room_id}[#key=sk_…]. Camera + mic preview, Go live over WHIP,
// live stats, viewer count, takeover on 409, and the WHIP address for OBS.

import './strings-studio.js';
import { applyI18n, bindLangToggle, formatCount, onLangChange, t } from './i18n.js';
import { errorKey, SignalError } from './rtc.js';
import { WhipPublisher } from './whip.js';
import { watchPresence } from './presence.js';

const $ = (id) => document.getElementById(id);
const roomId = (() => {
  const m = location.pathname.match(/^\/studio\/([^/]+)\/?$/);
  try { if (m) return decodeURIComponent(m[1]); } catch { /* malformed: fall through */ }
  return new URLSearchParams(location.search).get('room') || 'demo-farm';
})();
const KEY_STORE = `fieldcast.studio.key.${roomId}`;
const RES = { p720: [720, 1280, 2500000], p540: [540, 960, 1500000], l720: [1280, 720, 2500000], l540: [960, 540, 1500000] };
const video = $('preview-video');
const keyInput = $('key');
const remember = $('remember');
const camSel = $('camera');
const micSel = $('mic');
const resSel = $('resolution');
const mirror = $('mirror');
const md = navigator.mediaDevices;

let room = null;
let viewers = null;
let roomLive = false;
let vTrack = null;
let aTrack = null;
let micMuted = false;
let mirrorTouched = false;
let publisher = null;
let pubState = 'idle';
let lastError = null;
let takenOver = false;
let retryAt = 0;
let whipUrl = `/whip/${encodeURIComponent(roomId)}`;

applyI18n();
bindLangToggle($('lang'));
$('viewer-link').href = `/r/${encodeURIComponent(roomId)}`;

// ---- stream key: from #key=… (then out of the address bar), sessionStorage only if asked

const frag = new URLSearchParams(location.hash.slice(1)).get('key');
if (frag !== null) history.replaceState(history.state, '', location.pathname + location.search);
let storedKey = null;
try { storedKey = sessionStorage.getItem(KEY_STORE); } catch { /* storage blocked */ }
keyInput.value = frag || storedKey || '';
remember.checked = storedKey !== null;
function saveKey() {
  try {
    if (remember.checked && keyInput.value.trim()) sessionStorage.setItem(KEY_STORE, keyInput.value.trim());
    else sessionStorage.removeItem(KEY_STORE);
  } catch { /* nothing remembered */ }
}
saveKey();
remember.addEventListener('change', saveKey);
keyInput.addEventListener('input', () => remember.checked && saveKey());
$('key-show').addEventListener('click', () => {
  const show = keyInput.type === 'password';
  keyInput.type = show ? 'text' : 'password';
  setToggle($('key-show'), show, show ? 'studio.keyHide' : 'studio.keyShow');
});

function setToggle(btn, pressed, key) {
  btn.setAttribute('aria-pressed', String(pressed));
  btn.dataset.i18nAriaLabel = btn.dataset.i18nTitle = key;
  btn.setAttribute('aria-label', t(key));
  btn.title = t(key);
}

// ---- OBS: the WHIP address with a copy button

const paintWhipUrl = () => { $('whip-url').value = new URL(whipUrl, location.href).href; };
paintWhipUrl();
$('copy').addEventListener('click', async () => {
  const input = $('whip-url');
  let ok = false;
  try { await navigator.clipboard.writeText(input.value); ok = true; } catch {
    input.select(); // http on a LAN address has no clipboard API
    try { ok = document.execCommand('copy'); } catch { /* ok stays false */ }
  }
  const b = $('copy');
  b.dataset.i18n = ok ? 'copied' : 'copyFailed';
  b.textContent = t(b.dataset.i18n);
  clearTimeout(b.timer);
  b.timer = setTimeout(() => { b.dataset.i18n = 'copy'; b.textContent = t('copy'); }, 2000);
});

// ---- camera and microphone

function mediaErrorKey(e) {
  const n = e && e.name;
  if (n === 'Insecure') return 'err.insecure';
  if (n === 'Unsupported') return 'err.unsupported';
  if (n === 'NotAllowedError' || n === 'SecurityError') return 'err.camPermission';
  if (n === 'NotFoundError' || n === 'OverconstrainedError') return 'err.camNotFound';
  if (n === 'NotReadableError' || n === 'AbortError') return 'err.camBusy';
  return 'err.media';
}

function previewMessage(key) {
  $('preview-msg').hidden = !key;
  if (key) { $('preview-msg-text').dataset.i18n = key; $('preview-msg-text').textContent = t(key); }
  $('retry-camera').hidden = key === 'err.insecure' || key === 'err.unsupported'; // retrying can't help
}

function getMedia(kind) {
  if (!md || !md.getUserMedia) {
    return Promise.reject(Object.assign(new Error(kind), { name: window.isSecureContext === false ? 'Insecure' : 'Unsupported' }));
  }
  const [w, h] = RES[resSel.value] || RES.p720;
  const v = { width: { ideal: w }, height: { ideal: h }, aspectRatio: { ideal: w / h }, frameRate: { ideal: 30, max: 30 } };
  if (camSel.value) v.deviceId = { exact: camSel.value };
  else v.facingMode = { ideal: 'user' };
  const a = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (micSel.value) a.deviceId = { exact: micSel.value };
  return md.getUserMedia({ video: kind !== 'audio' && v, audio: kind !== 'video' && a });
}

// Mirror a front camera only (that is what a selfie preview looks like); a rear or external
// camera pointed at the field stays as it is. Only the preview: viewers get the true picture.
function isFrontCamera(track) {
  const s = track && track.getSettings ? track.getSettings() : {};
  if (s.facingMode) return s.facingMode === 'user';
  return !!track && !/back|rear|environment|后置/i.test(track.label);
}

function setTracks(s, kinds) {
  if (kinds.includes('video')) {
    if (vTrack) vTrack.stop();
    vTrack = s.getVideoTracks()[0] || null;
    if (vTrack) vTrack.contentHint = 'motion';
  }
  if (kinds.includes('audio')) {
    if (aTrack) aTrack.stop();
    aTrack = s.getAudioTracks()[0] || null;
    if (aTrack) aTrack.enabled = !micMuted;
  }
  const tracks = [vTrack, aTrack].filter(Boolean);
  video.srcObject = tracks.length ? new MediaStream(tracks) : null;
  if (video.srcObject) video.play().catch(() => {});
  if (!mirrorTouched) mirror.checked = isFrontCamera(vTrack);
  video.classList.toggle('mirrored', mirror.checked);
  if (publisher) for (const tr of tracks) publisher.replaceTrack(tr).catch(() => {});
}

// First open: one permission prompt for both; fall back to whichever exists.
async function openAll() {
  previewMessage(null);
  try {
    let s;
    try { s = await getMedia('both'); } catch (e) {
      if (e.name !== 'NotFoundError' && e.name !== 'OverconstrainedError') throw e;
      s = await getMedia('video').catch(() => getMedia('audio'));
    }
    setTracks(s, ['video', 'audio']);
    await listDevices();
    if (!vTrack) previewMessage('err.camNotFound');
  } catch (e) {
    previewMessage(mediaErrorKey(e));
  }
  paintControls();
}

// Switching: stop the old track first (a phone can't open two cameras), then open the new one.
async function reopen(kind) {
  try {
    if (kind === 'video' && vTrack) vTrack.stop();
    if (kind === 'audio' && aTrack) aTrack.stop();
    setTracks(await getMedia(kind), [kind]);
    previewMessage(null);
  } catch (e) {
    previewMessage(mediaErrorKey(e));
  }
  await listDevices().catch(() => {});
  paintControls();
}

async function listDevices() {
  if (!md || !md.enumerateDevices) return;
  const devices = await md.enumerateDevices();
  for (const [sel, kind, track] of [[camSel, 'videoinput', vTrack], [micSel, 'audioinput', aTrack]]) {
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    const current = track && track.getSettings ? track.getSettings().deviceId : '';
    sel.textContent = '';
    sel.append(...list.map((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label;
      if (!d.label) o.dataset.n = String(i + 1); // named by paintControls, in the page's language
      return o;
    }));
    if (list.some((d) => d.deviceId === current)) sel.value = current;
    sel.disabled = !list.length;
  }
  $('flip').hidden = camSel.options.length < 2;
}
if (md && md.addEventListener) md.addEventListener('devicechange', () => listDevices().catch(() => {}));

camSel.addEventListener('change', () => { mirrorTouched = false; reopen('video'); });
micSel.addEventListener('change', () => reopen('audio'));
resSel.addEventListener('change', () => reopen('video'));
mirror.addEventListener('change', () => { mirrorTouched = true; video.classList.toggle('mirrored', mirror.checked); });
$('retry-camera').addEventListener('click', openAll);
$('flip').addEventListener('click', () => {
  camSel.selectedIndex = (camSel.selectedIndex + 1) % camSel.options.length;
  camSel.dispatchEvent(new Event('change'));
});
$('mute-mic').addEventListener('click', () => {
  micMuted = !micMuted;
  if (aTrack) aTrack.enabled = !micMuted;
  paintControls();
});

function paintControls() {
  const b = $('mute-mic');
  setToggle(b, micMuted, micMuted ? 'studio.unmute' : 'studio.mute');
  $('icon-mic').hidden = micMuted;
  $('icon-mic-off').hidden = !micMuted;
  b.hidden = !aTrack;
  for (const [sel, key] of [[camSel, 'studio.camera'], [micSel, 'studio.mic']]) {
    for (const o of sel.options) if (o.dataset.n) o.textContent = t('studio.device', { kind: t(key), n: o.dataset.n });
  }
}

// ---- going live

let ticker = 0;
function setMessage(kind, key, extra, serverMessage) {
  const el = $('message');
  el.className = `message ${kind}`;
  el.textContent = '';
  if (!key) return;
  el.append(t(key) + (extra || ''));
  if (serverMessage) {
    const s = document.createElement('span');
    s.className = 'server-msg';
    s.textContent = t('err.serverSays', { msg: serverMessage });
    el.append(s);
  }
}

function paint() {
  const badge = $('badge');
  badge.dataset.state = pubState;
  badge.dataset.i18n = `badge.${pubState}`;
  badge.textContent = t(badge.dataset.i18n);
  const busy = ['connecting', 'live', 'reconnecting'].includes(pubState);
  const btn = $('golive');
  btn.dataset.i18n = busy ? 'studio.stop' : 'studio.goLive';
  btn.textContent = t(btn.dataset.i18n);
  btn.className = `btn ${busy ? 'btn-danger' : 'btn-primary'}`;
  keyInput.disabled = busy;

  clearInterval(ticker);
  if (pubState === 'error' && takenOver) setMessage('error', 'studio.takenOver');
  else if (pubState === 'error' && lastError) setMessage('error', errorKey(lastError), '', lastError.serverMessage);
  else if (pubState === 'reconnecting') {
    const tick = () => {
      const left = Math.ceil((retryAt - Date.now()) / 1000);
      setMessage('warn', 'state.reconnecting', left > 0 ? ` · ${t('state.retryIn', { s: left })}` : '');
    };
    tick();
    ticker = setInterval(tick, 1000);
  } else if (pubState === 'idle' && roomLive) setMessage('warn', 'studio.othersLive');
  else setMessage('', null);
}

function onPublisherState({ detail: d }) {
  pubState = d.state;
  lastError = d.error || null;
  retryAt = d.retryAt || 0;
  const conflict = d.state === 'error' && lastError && lastError.status === 409;
  // Lost the room to another device while live: say so rather than pop a dialog that invites a
  // tug of war. Pressing Go live again asks the question.
  takenOver = conflict && d.wasLive;
  paint();
  if (d.state === 'live') { startStats(); keepAwake(true); }
  if (d.state === 'idle' || d.state === 'error') { stopStats(); keepAwake(false); }
  if (conflict && !d.wasLive) offerTakeover();
}

async function goLive(takeover = false) {
  const key = keyInput.value.trim();
  if (!key) { setMessage('error', 'err.keyRequired'); keyInput.focus(); return; }
  if (!vTrack && !aTrack) await openAll();
  if (!vTrack && !aTrack) return;
  saveKey();
  await stopLive();
  publisher = new WhipPublisher(whipUrl, { token: key, maxVideoBitrate: (RES[resSel.value] || RES.p720)[2] });
  publisher.addEventListener('state', onPublisherState);
  await publisher.start(new MediaStream([vTrack, aTrack].filter(Boolean)), { takeover });
}

async function stopLive() {
  const p = publisher;
  publisher = null;
  if (p) { p.removeEventListener('state', onPublisherState); await p.stop(); }
  pubState = 'idle';
  lastError = null;
  takenOver = false;
  stopStats();
  keepAwake(false);
  paint();
}

$('golive').addEventListener('click', () => (['connecting', 'live', 'reconnecting'].includes(pubState) ? stopLive() : goLive()));

async function offerTakeover() {
  const dlg = $('takeover-dialog');
  const yes = typeof dlg.showModal === 'function'
    ? await new Promise((resolve) => {
      dlg.returnValue = '';
      dlg.addEventListener('close', () => resolve(dlg.returnValue === 'confirm'), { once: true });
      dlg.showModal();
    })
    : window.confirm(t('takeover.title'));
  if (yes) goLive(true);
}

// ---- live stats, once a second

let statsTimer = 0;
let prev = null;
let limited = 0;
const STATS = ['bitrate', 'fps', 'res', 'rtt', 'loss'];
const setStat = (k, v) => { $(`st-${k}`).textContent = v == null || Number.isNaN(v) ? '—' : String(v); };

function stopStats() {
  clearInterval(statsTimer);
  statsTimer = 0;
  prev = null;
  limited = 0;
  for (const k of STATS) setStat(k, null);
  $('st-limit').textContent = '';
}
function startStats() {
  if (!statsTimer) statsTimer = setInterval(sampleStats, 1000);
}

async function sampleStats() {
  const report = publisher && await publisher.getStats().catch(() => null);
  if (!report) return;
  let bytes = 0;
  let out = null;
  let remote = null;
  let pairId = '';
  const pairs = new Map();
  report.forEach((s) => {
    const kind = s.kind || s.mediaType;
    if (s.type === 'outbound-rtp') {
      bytes += s.bytesSent || 0;
      if (kind === 'video' && (!out || s.bytesSent > out.bytesSent)) out = s;
    } else if (s.type === 'remote-inbound-rtp' && kind === 'video') remote = s;
    else if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    else if (s.type === 'candidate-pair') pairs.set(s.id, s);
  });
  const pair = pairs.get(pairId) || [...pairs.values()].find((p) => p.nominated && p.state === 'succeeded');
  const now = performance.now();
  const sent = out ? out.packetsSent || 0 : 0;
  const lost = remote ? remote.packetsLost || 0 : 0;
  if (prev) {
    setStat('bitrate', Math.max(0, Math.round(((bytes - prev.bytes) * 8) / (now - prev.t))));
    const dLost = Math.max(0, lost - prev.lost);
    const dAll = sent - prev.sent + dLost;
    const loss = remote && typeof remote.fractionLost === 'number' ? remote.fractionLost * 100 : dAll > 0 ? (dLost / dAll) * 100 : null;
    setStat('loss', loss == null ? null : loss.toFixed(1));
  }
  prev = { t: now, bytes, sent, lost };
  setStat('fps', out && out.framesPerSecond != null ? Math.round(out.framesPerSecond) : null);
  setStat('res', out && out.frameWidth ? `${out.frameWidth}×${out.frameHeight}` : null);
  const rtt = remote && remote.roundTripTime != null ? remote.roundTripTime : pair && pair.currentRoundTripTime;
  setStat('rtt', rtt == null ? null : Math.round(rtt * 1000));
  // Warn only when it lasts: every connection starts low while the bandwidth estimate ramps up.
  const why = out && out.qualityLimitationReason;
  limited = why === 'bandwidth' || why === 'cpu' ? limited + 1 : 0;
  $('st-limit').textContent = limited >= 5 ? t(`stats.limit.${why}`) : '';
}

// ---- keep the phone awake while live; don't close the tab by accident

let wakeLock = null;
async function keepAwake(on) {
  try {
    if (on && !wakeLock && navigator.wakeLock && !document.hidden) {
      wakeLock = await navigator.wakeLock.request('screen');
      wakeLock.addEventListener('release', () => { wakeLock = null; });
    } else if (!on && wakeLock) {
      await wakeLock.release();
    }
  } catch { wakeLock = null; /* not allowed here: the screen may sleep */ }
}
document.addEventListener('visibilitychange', () => pubState === 'live' && keepAwake(true));
window.addEventListener('beforeunload', (e) => {
  if (pubState === 'live' || pubState === 'reconnecting') { e.preventDefault(); e.returnValue = ''; }
});
window.addEventListener('pagehide', () => publisher && publisher.stop());

// ---- room and presence

function paintRoom() {
  $('room-name').textContent = room ? [room.brand, room.title].filter(Boolean).join(' · ') : roomId;
  document.title = `${t('studio.title')} · ${room ? room.title : roomId}`;
  const el = $('viewer-count');
  el.hidden = viewers == null;
  $('viewers-n').textContent = formatCount(viewers);
  el.title = `${t('studio.viewers')}: ${viewers}`;
  el.setAttribute('aria-label', el.title);
}

onLangChange(() => { paint(); paintRoom(); paintControls(); if (statsTimer) sampleStats(); });

async function loadRoom() {
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 404) {
      pubState = 'error';
      lastError = new SignalError('http', { status: 404 });
      $('golive').disabled = true;
      return;
    }
    if (!r.ok) return;
    room = await r.json();
    if (typeof room.whip_url === 'string' && room.whip_url) { whipUrl = room.whip_url; paintWhipUrl(); }
    resSel.value = room.orientation === 'landscape' ? 'l720' : 'p720';
    roomLive = room.publishing === true; // someone else's host session, not the demo camera
    if (Number.isFinite(room.viewers)) viewers = room.viewers;
  } catch { /* offline: defaults stand, presence keeps trying */ }
}

// For automated tests.
window.fieldcastStudio = {
  roomId,
  get state() { return pubState; },
  get pc() { return publisher ? publisher.pc : null; },
  get error() { return lastError; },
};

import('./studio-shop.js').then(({ mountStudioShop }) => mountStudioShop($('shop-card'), roomId, () => keyInput.value));

(async () => {
  paint();
  paintRoom();
  paintControls();
  await loadRoom();
  paint();
  paintRoom();
  await openAll();
  watchPresence(roomId, ({ viewers: v, publishing }) => {
    if (Number.isFinite(v)) { viewers = v; paintRoom(); }
    if (publishing !== null) { roomLive = publishing; if (pubState === 'idle') paint(); }
  });
})();
