// The chat panel of the viewer page: history on join, live messages, a send box for signed-in
// viewers and a sign-in prompt for everyone else; removed messages disappear; refusals (slow
// mode, rate limit, bans) show as a short toast. Everything people wrote goes in as text.
//
//   mountChat(document.getElementById('chat-panel'), 'demo-farm', { tab: tabButton });
//
// Events and acks: server/realtime/chat_events.py.

import './strings-chat.js';
import { lang, onLangChange, t } from './i18n.js';
import { reconnectSocket, roomSocket } from './socket.js';
import { el } from './el.js';

const MAX_SHOWN = 300;        // older lines leave the page (history is still on the server)
const STICK_PX = 48;          // this close to the bottom counts as "reading the newest"
const ACK_TIMEOUT_MS = 10000;
const TOAST_MS = 4000;

const secs = (v) => Math.max(1, Math.ceil(Number(v) || 0));

export function mountChat(panel, roomId, { tab = null } = {}) {
  const root = el('div', 'chat');
  const list = el('ol', 'chat-list');
  list.setAttribute('role', 'log');
  list.setAttribute('aria-live', 'polite');
  const empty = el('p', 'chat-empty');
  const jump = el('button', 'chat-jump');
  jump.type = 'button';
  jump.hidden = true;
  const notice = el('p', 'chat-notice');
  notice.hidden = true;
  const toast = el('div', 'chat-toast');
  toast.setAttribute('role', 'status');
  toast.hidden = true;

  const form = el('form', 'chat-form');
  const input = el('input', 'chat-input');
  input.type = 'text';
  input.autocomplete = 'off';
  input.enterKeyHint = 'send';
  input.maxLength = 200;
  input.id = 'chat-input';
  const send = el('button', 'chat-send');
  send.type = 'submit';
  send.id = 'chat-send';
  form.append(input, send);

  const gate = el('div', 'chat-signin');
  const gateText = el('span', 'chat-signin-text');
  const gateBtn = el('button', 'btn btn-primary btn-small chat-signin-btn');
  gateBtn.type = 'button';
  gateBtn.id = 'chat-signin';
  gate.append(gateText, gateBtn);
  gate.hidden = true;
  form.hidden = true;

  root.append(list, empty, jump, notice, toast, form, gate);
  panel.replaceChildren(root);
  panel.classList.add('chat-panel');

  let socket = null;
  let me = null;              // { signed_in, user_id, role, can_moderate, restriction }
  let slowModeS = 0;
  let maxChars = 200;
  let unread = 0;
  let toastTimer = 0;
  let waitTimer = 0;
  let waitUntil = 0;
  let joined = false;
  const shown = new Map();    // id -> <li>
  const removed = new Set();  // ids removed before (or after) they arrived

  // ---- painting

  function paintStatic() {
    list.setAttribute('aria-label', t('chat.log'));
    empty.textContent = t('chat.empty');
    input.placeholder = t('chat.placeholder');
    gateText.textContent = t('chat.signInPrompt');
    gateBtn.textContent = t('chat.signIn');
    paintSend();
    paintNotice();
    paintJump();
  }

  function paintSend() {
    const left = Math.ceil((waitUntil - Date.now()) / 1000);
    send.textContent = left > 0 ? t('chat.wait', { s: left }) : t('chat.send');
    send.disabled = left > 0 || !joined;
  }

  function paintNotice() {
    const r = me && me.restriction;
    let text = '';
    if (r && r.kind === 'ban') text = t('chat.banned');
    else if (r && r.kind === 'timeout') {
      const until = r.until ? new Date(r.until) : null;
      text = t('chat.timedOut', { time: until ? until.toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' }) : '' });
    } else if (slowModeS > 0) text = t('chat.slowMode', { s: slowModeS });
    notice.textContent = text;
    notice.hidden = !text;
    notice.classList.toggle('chat-notice-warn', !!r);
  }

  function paintAccess() {
    const signedIn = !!(me && me.signed_in);
    form.hidden = !signedIn;
    gate.hidden = signedIn || !joined;
    input.maxLength = maxChars;
  }

  function paintEmpty() { empty.hidden = shown.size > 0 || !joined; }

  function paintJump() {
    jump.hidden = unread === 0 || atBottom();
    jump.textContent = t('chat.newMessages', { n: unread });
  }

  function paintTab() {
    if (!tab) return;
    if (unread > 0 && !visible()) tab.dataset.unread = unread > 99 ? '99+' : String(unread);
    else delete tab.dataset.unread;
  }

  function showToast(text) {
    clearTimeout(toastTimer);
    toast.textContent = text;
    toast.hidden = false;
    toastTimer = setTimeout(() => { toast.hidden = true; }, TOAST_MS);
  }

  function visible() {
    if (panel.hidden) return false;
    const body = panel.closest('.panel-body');
    return !body || getComputedStyle(body).visibility !== 'hidden';
  }

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
  const toBottom = () => { list.scrollTop = list.scrollHeight; };

  // ---- messages

  function line(m) {
    const li = el('li', 'chat-msg');
    li.dataset.id = String(m.id);
    if (me && m.user_id === me.user_id) li.classList.add('chat-mine');
    const role = typeof m.role === 'string' ? m.role : '';
    if (role === 'host' || role === 'operator' || role === 'moderator') {
      const badge = el('span', `chat-badge chat-badge-${role}`, t(`chat.role.${role}`));
      li.append(badge);
    }
    const nick = el('span', 'chat-nick', String(m.nickname || ''));
    nick.dir = 'auto';
    const text = el('span', 'chat-text', String(m.text || ''));
    text.dir = 'auto';
    li.append(nick, text);
    return li;
  }

  function add(messages, { history = false } = {}) {
    const stick = history || atBottom();
    let added = 0;
    for (const m of messages) {
      if (!m || !Number.isFinite(m.id) || shown.has(m.id) || removed.has(m.id)) continue;
      const li = line(m);
      // Usually the newest; a late ack or an out-of-order batch still lands in id order.
      let before = null;
      for (let node = list.lastElementChild; node && Number(node.dataset.id) > m.id; node = node.previousElementSibling) before = node;
      list.insertBefore(li, before);
      shown.set(m.id, li);
      added += 1;
    }
    while (shown.size > MAX_SHOWN) {
      const first = list.firstElementChild;
      shown.delete(Number(first.dataset.id));
      first.remove();
    }
    paintEmpty();
    if (!history && (!visible() || !stick)) unread += added;
    if (stick) { toBottom(); if (visible()) unread = 0; }
    paintJump();
    paintTab();
  }

  function system(text) {
    const stick = atBottom();
    const li = el('li', 'chat-msg chat-system', text);
    li.dir = 'auto';
    list.append(li);
    if (stick) toBottom();
  }

  function drop(ids) {
    for (const id of ids) {
      removed.add(id);
      const li = shown.get(id);
      if (li) { li.remove(); shown.delete(id); }
    }
    if (removed.size > 5000) removed.clear();
    paintEmpty();
  }

  // ---- talking to the server

  function join() {
    if (!socket) return;
    socket.timeout(ACK_TIMEOUT_MS).emit('chat:join', { room: roomId }, (err, ack) => {
      if (err || !ack || !ack.ok) return;
      joined = true;
      me = ack.me || null;
      slowModeS = Number(ack.slow_mode_s) || 0;
      maxChars = Number(ack.max_chars) || 200;
      // The history replaces what was shown: it is the server's word after a reconnect.
      list.replaceChildren();
      shown.clear();
      add(Array.isArray(ack.messages) ? ack.messages : [], { history: true });
      paintAccess();
      paintNotice();
      paintSend();
    });
  }

  function refusal(ack) {
    const code = ack && ack.error;
    const s = secs(ack && ack.retry_after);
    switch (code) {
      case 'slow_mode': case 'rate_limited': case 'timed_out':
        startWait(ack.retry_after);
        return t(`chat.err.${code}`, { s });
      case 'banned': case 'blocked_word': case 'empty_message': case 'unavailable': case 'unauthorized':
        return t(`chat.err.${code}`);
      case 'message_too_long':
        return t('chat.err.message_too_long', { n: maxChars });
      default:
        return t('chat.err.other', { msg: String((ack && ack.message) || code || '') });
    }
  }

  function startWait(seconds) {
    const until = Date.now() + Math.max(0, Number(seconds) || 0) * 1000;
    if (until <= waitUntil) return;
    waitUntil = until;
    clearInterval(waitTimer);
    paintSend();
    waitTimer = setInterval(() => {
      paintSend();
      if (Date.now() >= waitUntil) clearInterval(waitTimer);
    }, 250);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || send.disabled) return;
    if (!socket || !socket.connected) { showToast(t('chat.err.offline')); return; }
    send.disabled = true;
    socket.timeout(ACK_TIMEOUT_MS).emit('chat:send', { room: roomId, text }, (err, ack) => {
      paintSend();
      if (err) { showToast(t('chat.err.unavailable')); return; }
      if (ack && ack.ok) {
        if (input.value.trim() === text) input.value = '';
        add([ack.message]);
        toBottom();
        return;
      }
      if (ack && ack.error === 'not_joined') join();
      if (ack && ack.error === 'unauthorized') { me = null; paintAccess(); }
      if (ack && (ack.error === 'banned' || ack.error === 'timed_out') && me) {
        me.restriction = { kind: ack.error === 'banned' ? 'ban' : 'timeout', until: ack.retry_after ? new Date(Date.now() + ack.retry_after * 1000).toISOString() : null };
        paintNotice();
      }
      showToast(refusal(ack));
    });
  });

  gateBtn.addEventListener('click', async () => {
    let user = null;
    try { user = await (await import('./signin.js')).openSignIn(); } catch { showToast(t('signin.err.network')); }
    // The server learns who this is when the connection opens: reconnect, then join again.
    if (user) reconnectSocket();
  });

  list.addEventListener('scroll', () => {
    if (atBottom()) { unread = 0; paintJump(); paintTab(); }
  }, { passive: true });
  jump.addEventListener('click', () => { toBottom(); unread = 0; paintJump(); paintTab(); });
  // Opening the chat tab (or the sheet) counts as reading. Only these two attributes are watched:
  // the panel's own repaints must not wake the observer again.
  const seen = new MutationObserver(() => {
    if (visible()) { toBottom(); unread = 0; paintJump(); paintTab(); }
  });
  seen.observe(panel, { attributes: true, attributeFilter: ['hidden'] });
  if (panel.closest('.panels')) seen.observe(panel.closest('.panels'), { attributes: true, attributeFilter: ['data-open'] });

  onLangChange(() => {
    paintStatic();
    for (const li of shown.values()) {
      const badge = li.querySelector('.chat-badge');
      if (badge) badge.textContent = t(`chat.role.${badge.className.split('chat-badge-')[1]}`);
    }
  });
  paintStatic();
  paintEmpty();

  roomSocket().then((s) => {
    socket = s;
    socket.on('connect', join);
    socket.on('disconnect', () => { joined = false; paintSend(); });
    socket.on('chat:messages', (p) => { if (p && p.room === roomId && Array.isArray(p.messages)) add(p.messages); });
    socket.on('chat:removed', (p) => { if (p && p.room === roomId && Array.isArray(p.ids)) drop(p.ids); });
    socket.on('chat:mode', (p) => {
      if (!p || p.room !== roomId) return;
      slowModeS = Number(p.slow_mode_s) || 0;
      paintNotice();
    });
    socket.on('chat:sanctioned', (p) => {
      if (!p || p.room !== roomId) return;
      if (me && p.user_id === me.user_id) {
        me.restriction = { kind: p.kind, until: p.until || null };
        paintNotice();
        const left = p.until ? (new Date(p.until).getTime() - Date.now()) / 1000 : 0;
        showToast(p.kind === 'ban' ? t('chat.err.banned') : t('chat.err.timed_out', { s: secs(left) }));
      } else {
        system(t(p.kind === 'ban' ? 'chat.sanctioned.ban' : 'chat.sanctioned.timeout', { name: String(p.nickname || '') }));
      }
    });
    socket.on('chat:lifted', (p) => {
      if (!p || p.room !== roomId || !me || !Array.isArray(p.user_ids)) return;
      if (p.user_ids.includes(me.user_id)) { me.restriction = null; paintNotice(); }
    });
    if (socket.connected) join();
  }, () => { /* no Socket.IO client: the panel stays empty; presence falls back to polling */ });

  return {
    get joined() { return joined; },
    get me() { return me; },
    count: () => shown.size,
  };
}
