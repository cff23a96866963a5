// The Q&A panel of the viewer page: the pinned answer highlighted at the top, the room's questions
// by upvotes (then age) with a vote button each, and an ask box for signed-in viewers (a sign-in
// prompt for everyone else). Everything people wrote goes in as text, never as markup.
//
//   mountQa(document.getElementById('qa-panel'), 'demo-farm', { tab: tabButton });
//
// Events and acks: server/realtime/qa_events.py.

import './strings-qa.js';
import { formatCount, onLangChange, t } from './i18n.js';
import { reconnectSocket, roomSocket } from './socket.js';
import { openSignIn } from './signin.js';
import { el } from './el.js';

const MAX_CHARS = 300;
const ACK_TIMEOUT_MS = 10000;
const TOAST_MS = 4000;
const SVG = 'http://www.w3.org/2000/svg';

function icon(path) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'icon');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

const UP = 'M12 5l7 9h-4.5v5h-5v-5H5z';
const PIN = 'M15 3l6 6-3 1-4 4 1 5-2 2-4-4-5 5-1-1 5-5-4-4 2-2 5 1 4-4z';

// The server's order: most votes first, then the oldest.
function byVotesThenAge(a, b) {
  return (b.votes - a.votes) || String(a.created_at).localeCompare(String(b.created_at)) || (a.id - b.id);
}

function isQuestion(q) {
  return q && typeof q === 'object' && Number.isFinite(q.id) && typeof q.text === 'string';
}

export function mountQa(panel, roomId, { tab = null } = {}) {
  const root = el('div', 'qa');

  const pinned = el('section', 'qa-pinned');
  pinned.id = 'qa-pinned';
  pinned.hidden = true;
  const pinnedLabel = el('div', 'qa-pinned-label');
  const pinnedLabelText = el('span');
  pinnedLabel.append(icon(PIN), pinnedLabelText);
  const pinnedQ = el('p', 'qa-pinned-q');
  pinnedQ.id = 'qa-pinned-q';
  pinnedQ.dir = 'auto';
  const pinnedA = el('p', 'qa-pinned-a');
  pinnedA.id = 'qa-pinned-a';
  pinnedA.dir = 'auto';
  pinned.append(pinnedLabel, pinnedQ, pinnedA);

  const head = el('p', 'qa-head');
  const list = el('ol', 'qa-list');
  list.id = 'qa-list';
  const empty = el('p', 'qa-empty');
  const toast = el('div', 'qa-toast');
  toast.setAttribute('role', 'status');
  toast.hidden = true;

  const form = el('form', 'qa-form');
  const input = el('input', 'qa-input');
  input.type = 'text';
  input.id = 'qa-input';
  input.autocomplete = 'off';
  input.enterKeyHint = 'send';
  input.maxLength = MAX_CHARS;
  const chars = el('span', 'qa-chars');
  chars.setAttribute('aria-hidden', 'true');
  const ask = el('button', 'qa-ask');
  ask.type = 'submit';
  ask.id = 'qa-ask';
  form.append(input, chars, ask);
  form.hidden = true;

  const gate = el('div', 'qa-signin');
  const gateText = el('span', 'qa-signin-text');
  const gateBtn = el('button', 'btn btn-primary btn-small');
  gateBtn.type = 'button';
  gateBtn.id = 'qa-signin';
  gate.append(gateText, gateBtn);
  gate.hidden = true;

  const scroller = el('div', 'qa-scroll');
  scroller.append(pinned, head, list, empty);
  root.append(scroller, toast, form, gate);
  panel.replaceChildren(root);
  panel.classList.add('qa-panel');

  let socket = null;
  let subscribed = false;
  let signedIn = false;
  let pin = null;             // the pinned question, or null
  let toastTimer = 0;
  const questions = new Map(); // id -> question (public view)
  const items = new Map();     // id -> <li>
  const voted = new Set();
  const mine = new Set();

  // ---- painting

  function paintStatic() {
    list.setAttribute('aria-label', t('qa.list'));
    pinned.setAttribute('aria-label', t('qa.pinned'));
    pinnedLabelText.textContent = t('qa.pinned');
    empty.textContent = t('qa.empty');
    input.placeholder = t('qa.placeholder');
    ask.textContent = t('qa.ask');
    gateText.textContent = t('qa.signInPrompt');
    gateBtn.textContent = t('qa.signIn');
    paintChars();
  }

  function paintChars() {
    const n = Array.from(input.value).length;
    chars.textContent = n > MAX_CHARS * 0.8 ? t('qa.chars', { n, max: MAX_CHARS }) : '';
  }

  function paintAccess() {
    form.hidden = !signedIn || !subscribed;
    gate.hidden = signedIn || !subscribed;
  }

  function paintPinned() {
    if (!pin) { pinned.hidden = true; return; }
    pinned.hidden = false;
    pinnedQ.replaceChildren(el('span', 'qa-pinned-asker', t('qa.asker', { name: String(pin.asker || '') })), el('span', null, pin.text));
    pinnedA.textContent = String(pin.answer || '');
  }

  function paintItem(q) {
    let li = items.get(q.id);
    if (!li) {
      li = el('li', 'qa-item');
      li.dataset.id = String(q.id);
      const vote = el('button', 'qa-vote');
      vote.type = 'button';
      vote.append(icon(UP), el('span', 'qa-votes'));
      vote.addEventListener('click', () => onVote(q.id));
      const body = el('div', 'qa-body');
      const text = el('p', 'qa-q');
      text.dir = 'auto';
      const meta = el('p', 'qa-meta');
      const answer = el('p', 'qa-a');
      answer.dir = 'auto';
      body.append(text, meta, answer);
      li.append(vote, body);
      items.set(q.id, li);
    }
    const [vote, body] = li.children;
    const [text, meta, answer] = body.children;
    const isMine = mine.has(q.id);
    const isVoted = voted.has(q.id);
    li.classList.toggle('qa-answered', q.status === 'answered');
    li.classList.toggle('qa-mine', isMine);
    li.classList.toggle('qa-is-pinned', !!(pin && pin.id === q.id));
    vote.setAttribute('aria-pressed', String(isVoted));
    vote.setAttribute('aria-label', t(isVoted ? 'qa.unvote' : 'qa.vote', { n: q.votes }));
    vote.disabled = isMine;
    vote.lastChild.textContent = formatCount(q.votes);
    text.textContent = q.text;
    const tags = [el('span', 'qa-who', String(q.asker || ''))];
    if (isMine) tags.push(el('span', 'qa-tag qa-tag-mine', t('qa.mine')));
    if (q.status === 'answered') tags.push(el('span', 'qa-tag qa-tag-answered', t('qa.answered')));
    meta.replaceChildren(...tags);
    if (q.answer) answer.replaceChildren(el('span', 'qa-a-mark', t('qa.answer')), el('span', 'qa-a-text', q.answer));
    else answer.replaceChildren();
    answer.hidden = !q.answer;
    return li;
  }

  function paintList() {
    const ordered = Array.from(questions.values()).sort(byVotesThenAge);
    for (const [id, li] of items) {
      if (!questions.has(id)) { li.remove(); items.delete(id); }
    }
    // Re-appending in order moves only what changed place; focus stays on the button it was on.
    let previous = null;
    for (const q of ordered) {
      const li = paintItem(q);
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (li !== expected) list.insertBefore(li, expected);
      previous = li;
    }
    empty.hidden = questions.size > 0 || !subscribed;
    head.textContent = questions.size ? t('qa.count', { n: questions.size }) : '';
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

  function paintTab() {
    if (!tab) return;
    if (pin && !visible()) tab.dataset.dot = 'pinned';
    else delete tab.dataset.dot;
  }

  function refusal(ack) {
    const code = ack && ack.error;
    if (code === 'text_too_long') return t('qa.err.text_too_long', { n: MAX_CHARS });
    if (code && `qa.err.${code}` !== t(`qa.err.${code}`)) return t(`qa.err.${code}`);
    return t('qa.err.other', { msg: String((ack && ack.message) || code || '') });
  }

  // ---- state from the server

  function upsert(q) {
    if (!isQuestion(q) || q.room !== roomId) return;
    if (q.status === 'hidden') { questions.delete(q.id); return; }
    questions.set(q.id, q);
  }

  function setPin(q) {
    const before = pin && pin.id;
    pin = isQuestion(q) ? q : null;
    if (pin) upsert(pin);
    paintPinned();
    if (pin && pin.id !== before) {
      pinned.classList.remove('qa-flash');
      void pinned.offsetWidth;  // restart the animation
      pinned.classList.add('qa-flash');
      scroller.scrollTop = 0;
    }
    paintTab();
  }

  function subscribe() {
    if (!socket) return;
    socket.timeout(ACK_TIMEOUT_MS).emit('qa:subscribe', { room: roomId }, (err, ack) => {
      if (err || !ack || !ack.ok) return;
      subscribed = true;
      signedIn = !!ack.signed_in;
      questions.clear();
      voted.clear();
      mine.clear();
      for (const id of Array.isArray(ack.voted) ? ack.voted : []) voted.add(id);
      for (const id of Array.isArray(ack.mine) ? ack.mine : []) mine.add(id);
      for (const q of Array.isArray(ack.questions) ? ack.questions : []) upsert(q);
      setPin(ack.pinned);
      paintList();
      paintAccess();
    });
  }

  // ---- what the viewer does

  function onVote(id) {
    if (!signedIn) { signIn(); return; }
    if (!socket || !socket.connected) { showToast(t('qa.err.offline')); return; }
    const up = !voted.has(id);
    socket.timeout(ACK_TIMEOUT_MS).emit('qa:vote', { question_id: id, up }, (err, ack) => {
      if (err) { showToast(t('qa.err.unavailable')); return; }
      if (!ack || !ack.ok) {
        if (ack && ack.error === 'question_not_found') { questions.delete(id); paintList(); }
        showToast(refusal(ack));
        return;
      }
      if (ack.voted) voted.add(id); else voted.delete(id);
      const q = questions.get(id);
      if (q) q.votes = Number(ack.votes) || 0;
      paintList();
    });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) { showToast(t('qa.err.text_empty')); return; }
    if (!socket || !socket.connected) { showToast(t('qa.err.offline')); return; }
    ask.disabled = true;
    socket.timeout(ACK_TIMEOUT_MS).emit('qa:ask', { room: roomId, text }, (err, ack) => {
      ask.disabled = false;
      if (err) { showToast(t('qa.err.unavailable')); return; }
      if (!ack || !ack.ok) {
        if (ack && ack.error === 'sign_in_required') { signedIn = false; paintAccess(); }
        showToast(refusal(ack));
        return;
      }
      if (input.value.trim() === text) input.value = '';
      paintChars();
      mine.add(ack.question.id);
      upsert(ack.question);
      paintList();
      showToast(t('qa.asked'));
    });
  });
  input.addEventListener('input', paintChars);

  async function signIn() {
    const user = await openSignIn();
    // The server learns who this is when the connection opens: reconnect, then subscribe again.
    if (user) reconnectSocket();
  }
  gateBtn.addEventListener('click', signIn);

  new MutationObserver(paintTab).observe(panel.closest('.panels') || panel, {
    attributes: true, subtree: true, attributeFilter: ['hidden', 'data-open'],
  });
  onLangChange(() => { paintStatic(); paintPinned(); for (const q of questions.values()) paintItem(q); paintList(); });
  paintStatic();
  paintList();

  roomSocket().then((s) => {
    socket = s;
    socket.on('connect', subscribe);
    socket.on('disconnect', () => { subscribed = false; paintAccess(); });
    socket.on('qa:question', (q) => { upsert(q); paintList(); });
    socket.on('qa:removed', (p) => {
      if (!p || p.room !== roomId) return;
      questions.delete(p.id);
      paintList();
    });
    socket.on('qa:votes', (p) => {
      if (!p || p.room !== roomId) return;
      const q = questions.get(p.id);
      if (q && Number.isFinite(p.votes)) { q.votes = p.votes; paintList(); }
    });
    socket.on('qa:pinned', (p) => {
      if (!p || p.room !== roomId) return;
      setPin(p.question);
      paintList();
    });
    socket.on('qa:answered', (p) => {
      if (!p || p.room !== roomId || !isQuestion(p.question)) return;
      upsert(p.question);
      paintList();
      showToast(t('qa.yourAnswer', { text: String(p.question.answer || '') }));
    });
    if (socket.connected) subscribe();
  }, () => { /* no Socket.IO client: the panel stays empty */ });

  return {
    get subscribed() { return subscribed; },
    get signedIn() { return signedIn; },
    get pinned() { return pin; },
    count: () => questions.size,
  };
}
