// The question queue: every question of the room, live, sorted by votes then age; filters open /
// answered / hidden; an answer box on each open question with the server's suggested answer one
// click away; hide / unhide; pin one answered question to the stream, or unpin it.
// Events: server/realtime/qa_events.py.

import { t } from '../i18n.js';
import { button, el, icon, placeInOrder, refusal, segmented, timeEl, toast, typingIn, userText } from './dom.js';

const ANSWER_MAX = 1000;
const FILTERS = ['open', 'answered', 'hidden'];

function statusOf(q) { return q.hidden ? 'hidden' : q.status === 'answered' ? 'answered' : 'open'; }

function order(a, b) {
  return (b.votes - a.votes) || String(a.created_at).localeCompare(String(b.created_at)) || a.id - b.id;
}

export function mountQuestions(panel, ctx) {
  const { roomId } = ctx;
  const questions = new Map();     // id -> ModQuestion
  const suggestions = new Map();   // id -> [Suggestion]
  const cards = new Map();         // id -> { card, main, compose, area, editing }
  let pinned = null;               // the pinned Question (public shape), or null
  let filter = 'open';
  let deferred = false;

  // ---- skeleton
  const bar = el('div', 'panel-tools');
  const { seg, buttons: segButtons } = segmented(FILTERS, 'qa-filter', (f) => { filter = f; paint(); });
  bar.append(seg);

  const pinBox = el('section', 'pinned');
  pinBox.id = 'qa-pinned';
  pinBox.setAttribute('aria-live', 'polite');
  const list = el('div', 'q-list');
  list.id = 'qa-list';
  const empty = el('p', 'panel-empty');
  const scroller = el('div', 'panel-scroll');
  scroller.append(pinBox, list, empty);
  panel.append(bar, scroller);

  list.addEventListener('focusout', () => {
    if (!deferred) return;
    // Re-sort once the moderator leaves the box they were typing in.
    setTimeout(() => { if (deferred && !typingIn(list)) paint(); }, 0);
  });

  // ---- painting
  function paintSeg() {
    seg.setAttribute('aria-label', t('mod.qa.filters'));
    const counts = { open: 0, answered: 0, hidden: 0 };
    for (const q of questions.values()) counts[statusOf(q)] += 1;
    for (const f of FILTERS) {
      const b = segButtons[f];
      b.replaceChildren(el('span', null, t(`mod.qa.filter.${f}`)), el('span', 'count', String(counts[f])));
      b.setAttribute('aria-pressed', String(f === filter));
    }
    ctx.badge(counts.open);
  }

  function paintPinned() {
    pinBox.hidden = !pinned;
    if (!pinned) { pinBox.replaceChildren(); return; }
    const head = el('div', 'pinned-head');
    head.append(icon('pin'), el('span', null, t('mod.qa.pinnedOnStream')));
    const unpin = button('btn btn-quiet btn-small', t('mod.qa.unpin'));
    unpin.id = 'qa-unpin';
    unpin.addEventListener('click', () => doUnpin(unpin));
    head.append(unpin);
    const q = userText('p', 'pinned-q', pinned.text);
    const a = userText('p', 'pinned-a', pinned.answer || '');
    const who = userText('p', 'pinned-meta', t('mod.qa.askedBy', { name: String(pinned.asker || '') }));
    pinBox.replaceChildren(head, q, a, who);
  }

  function paintCard(entry, q) {
    const status = statusOf(q);
    const isPinned = !!(pinned && pinned.id === q.id);
    entry.card.dataset.status = status;
    entry.card.classList.toggle('is-pinned', isPinned);

    const votes = el('div', 'q-votes');
    votes.append(icon('up'), el('strong', null, String(q.votes)));
    votes.title = t('mod.qa.votes', { n: q.votes });

    const meta = el('div', 'q-meta');
    meta.append(userText('span', 'q-asker', q.asker), timeEl(q.created_at, { relative: true }));
    if (isPinned) meta.append(el('span', 'tag tag-pin', t('mod.qa.pinned')));
    if (status === 'hidden') meta.append(el('span', 'tag', t('mod.qa.hiddenTag')));

    const main = el('div', 'q-main');
    main.append(userText('p', 'q-text', q.text), meta);

    if (q.answer) {
      const ans = el('div', 'q-answer');
      ans.append(el('span', 'q-answer-label', t('mod.qa.answer')), userText('p', null, q.answer));
      main.append(ans);
    }

    const found = status === 'open' ? suggestions.get(q.id) : null;
    if (found && found.length) {
      const s = found[0];
      const box = el('div', 'q-suggest');
      const head = el('p', 'q-suggest-head');
      head.append(icon('spark'), el('span', null, t('mod.qa.suggested', { n: Math.round(Number(s.score) * 100) })));
      const from = el('p', 'q-suggest-from');
      from.append(el('span', null, t('mod.qa.suggestedFrom')), userText('q', null, s.question));
      const use = button('btn btn-quiet btn-small q-use', t('mod.qa.useSuggestion'));
      use.addEventListener('click', () => {
        entry.area.value = String(s.answer || '');
        entry.area.focus();
      });
      box.append(head, userText('p', 'q-suggest-answer', s.answer), from, use);
      main.append(box);
    }

    const actions = el('div', 'q-actions');
    if (status === 'answered') {
      if (isPinned) {
        const b = button('btn btn-quiet btn-small', '');
        b.append(icon('pin'), el('span', null, t('mod.qa.unpin')));
        b.dataset.act = 'unpin';
        actions.append(b);
      } else {
        const b = button('btn btn-primary btn-small', '');
        b.append(icon('pin'), el('span', null, pinned ? t('mod.qa.pinInstead') : t('mod.qa.pin')));
        b.dataset.act = 'pin';
        actions.append(b);
      }
      const edit = button('btn btn-quiet btn-small', t('mod.qa.edit'));
      edit.dataset.act = 'edit';
      actions.append(edit);
    }
    if (status === 'hidden') {
      const b = button('btn btn-quiet btn-small', '');
      b.append(icon('eye'), el('span', null, t('mod.qa.unhide')));
      b.dataset.act = 'unhide';
      actions.append(b);
    } else if (status === 'answered') {
      actions.append(hideButton());
    }
    // An open question's hide sits in its answer box's row (see makeCard).
    if (actions.childElementCount) main.append(actions);
    entry.main.replaceWith(main);
    entry.main = main;
    entry.votes.replaceWith(votes);
    entry.votes = votes;

    entry.compose.hidden = !(status === 'open' || (status === 'answered' && entry.editing));
    entry.cancel.hidden = status !== 'answered';
    entry.hide.hidden = status !== 'open';
    entry.hide.replaceChildren(icon('eyeOff'), el('span', null, t('mod.qa.hide')));
    entry.area.placeholder = t('mod.qa.answerPlaceholder');
    entry.area.setAttribute('aria-label', t('mod.qa.answerFor', { q: String(q.text).slice(0, 60) }));
    entry.send.textContent = t(status === 'answered' ? 'mod.qa.saveAnswer' : 'mod.qa.send');
    entry.send.title = t('mod.qa.keys');
    entry.sendPin.textContent = t('mod.qa.sendPin');
    entry.sendPin.title = t('mod.qa.keysPin');
  }

  function hideButton() {
    const b = button('btn btn-quiet btn-small btn-subtle', '');
    b.append(icon('eyeOff'), el('span', null, t('mod.qa.hide')));
    b.dataset.act = 'hide';
    return b;
  }

  function makeCard(q) {
    const card = el('article', 'q');
    card.dataset.id = String(q.id);
    const votes = el('div', 'q-votes');
    const main = el('div', 'q-main');
    const compose = el('form', 'q-compose');
    compose.noValidate = true;
    const area = el('textarea', 'input textarea q-area');
    area.rows = 2;
    area.maxLength = ANSWER_MAX;
    const row = el('div', 'q-compose-row');
    const hide = hideButton();
    const gap = el('span', 'q-gap');
    const cancel = button('btn btn-quiet btn-small', t('mod.cancel'));
    const sendPin = button('btn btn-quiet btn-small q-send-pin', '');
    const send = button('btn btn-primary btn-small q-send', '', { kind: 'submit' });
    row.append(hide, gap, cancel, sendPin, send);
    compose.append(area, row);
    card.append(votes, main, compose);
    const entry = { card, votes, main, compose, area, send, sendPin, cancel, hide, editing: false };
    compose.addEventListener('submit', (e) => { e.preventDefault(); answer(q.id, false); });
    sendPin.addEventListener('click', () => answer(q.id, true));
    cancel.addEventListener('click', () => { entry.editing = false; paintCard(entry, questions.get(q.id)); });
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); answer(q.id, e.shiftKey); }
      if (e.key === 'Escape' && entry.editing) { e.preventDefault(); entry.editing = false; paintCard(entry, questions.get(q.id)); }
    });
    card.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]');
      if (b) act(q.id, b.dataset.act, b);
    });
    return entry;
  }

  function paint() {
    paintSeg();
    paintPinned();
    if (typingIn(list)) { deferred = true; repaintCardsInPlace(); return; }
    deferred = false;
    const shown = [...questions.values()].filter((q) => statusOf(q) === filter).sort(order);
    const nodes = shown.map((q) => {
      let entry = cards.get(q.id);
      if (!entry) { entry = makeCard(q); cards.set(q.id, entry); }
      paintCard(entry, q);
      return entry.card;
    });
    placeInOrder(list, nodes);
    empty.hidden = nodes.length > 0;
    empty.textContent = t(`mod.qa.empty.${filter}`);
  }

  // While someone types: update the cards where they are; new ones and the order wait.
  function repaintCardsInPlace() {
    for (const [id, entry] of cards) {
      const q = questions.get(id);
      if (q && entry.card.isConnected) paintCard(entry, q);
    }
  }

  // ---- actions
  async function answer(id, pin) {
    const entry = cards.get(id);
    const text = entry.area.value.trim();
    if (!text) { toast(t('mod.qa.answerEmpty'), 'warn'); entry.area.focus(); return; }
    entry.send.disabled = entry.sendPin.disabled = true;
    const reply = await ctx.call('qa:answer', { question_id: id, text, pin });
    entry.send.disabled = entry.sendPin.disabled = false;
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    entry.area.value = '';
    entry.editing = false;
    entry.area.blur();
    upsert(reply.question);
    if (pin) { pinned = reply.question; }
    paint();
    toast(pin ? t('mod.qa.answeredPinned') : t('mod.qa.answered'));
  }

  async function act(id, what, b) {
    const entry = cards.get(id);
    const q = questions.get(id);
    if (!q) return;
    if (what === 'edit') {
      entry.editing = true;
      entry.area.value = q.answer || '';
      paintCard(entry, q);
      entry.area.focus();
      return;
    }
    if (what === 'unpin') { doUnpin(b); return; }
    b.disabled = true;
    let reply;
    if (what === 'pin') reply = await ctx.call('qa:pin', { question_id: id });
    else reply = await ctx.call('qa:hide', { question_id: id, hidden: what === 'hide' });
    b.disabled = false;
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    upsert(reply.question);
    if (what === 'pin') pinned = reply.question;
    if (reply.unpinned) pinned = null;
    paint();
    toast(t(`mod.qa.did.${what}`));
  }

  async function doUnpin(b) {
    if (b) b.disabled = true;
    const reply = await ctx.call('qa:unpin', { room: roomId });
    if (b) b.disabled = false;
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    pinned = null;
    paint();
    toast(t('mod.qa.did.unpin'));
  }

  function upsert(q) {
    if (!q || !Number.isFinite(q.id) || (q.room && q.room !== roomId)) return;
    if (Array.isArray(q.suggestions)) suggestions.set(q.id, q.suggestions);
    questions.set(q.id, q);
    if (pinned && pinned.id === q.id) pinned = q;
  }

  async function refresh() {
    const sub = await ctx.call('qa:subscribe', { room: roomId });
    if (!sub.ok) return;
    pinned = sub.pinned || null;
    const all = await ctx.call('qa:list', { room: roomId, status: 'all' });
    if (!all.ok) return;
    questions.clear();
    for (const q of all.questions || []) upsert(q);
    paint();
  }

  ctx.on('qa:mod:question', (q) => { upsert(q); paint(); });
  ctx.on('qa:suggestions', (p) => {
    if (!p || p.room !== roomId || !Array.isArray(p.suggestions)) return;
    suggestions.set(p.question_id, p.suggestions);
    paint();
  });
  ctx.on('qa:pinned', (p) => {
    if (!p || p.room !== roomId) return;
    pinned = p.question || null;
    paint();
  });

  paint();
  return { refresh, paintStatic: paint, focus: () => (list.querySelector('.q-compose:not([hidden]) textarea') || segButtons[filter]).focus() };
}
