// Chat moderation: the room's messages as they arrive, with remove / timeout / ban on each (hover,
// focus or tap shows them; Delete, T and B from the keyboard), slow mode, the room's word filter
// and the sanctions in force with unban. Events: server/realtime/chat_events.py.

import { t } from '../i18n.js';
import { TIMEOUTS, confirmAction } from './dialog.js';
import { button, clock, el, icon, refusal, timeEl, toast, userText } from './dom.js';

const MAX_SHOWN = 500;
const STICK_PX = 48;
const SLOW_STEPS = [0, 3, 5, 10, 30, 60, 120, 300];
const STAFF = new Set(['moderator', 'host', 'operator']);
const WORDS_MAX = 500;

export function mountChat(panel, ctx) {
  const { roomId } = ctx;

  // ---- skeleton
  const tools = el('div', 'panel-tools');
  const slowLabel = el('label', 'tool');
  const slowText = el('span', 'tool-label');
  const slow = el('select', 'select select-small');
  slow.id = 'slow-mode';
  slowLabel.append(icon('clock'), slowText, slow);
  const filterBtn = button('btn btn-quiet btn-small', '');
  filterBtn.id = 'filter-edit';
  tools.append(slowLabel, filterBtn);

  const list = el('ol', 'mod-chat-list');
  list.id = 'mod-chat-list';
  list.setAttribute('role', 'log');
  list.tabIndex = -1;
  const empty = el('p', 'panel-empty');
  const jump = button('mod-jump', '');
  jump.hidden = true;

  const sanctionsBox = el('details', 'sanctions');
  sanctionsBox.id = 'sanctions';
  const sanctionsSummary = el('summary', 'sanctions-summary');
  const sanctionsList = el('ul', 'sanctions-list');
  const sanctionsEmpty = el('p', 'panel-empty panel-empty-small');
  sanctionsBox.append(sanctionsSummary, sanctionsList, sanctionsEmpty);

  const body = el('div', 'chat-body');
  body.append(list, empty, jump);
  panel.append(tools, body, sanctionsBox);

  // ---- state
  const rows = new Map();         // message id -> { m, li }
  const restricted = new Map();   // user id -> sanction kind, from chat:sanctions and broadcasts
  let sanctions = [];
  let words = [];
  let globalWords = [];
  let slowModeS = 0;
  let unread = 0;
  let current = null;             // the row holding the roving focus

  // ---- painting
  function paintStatic() {
    slowText.textContent = t('mod.chat.slow');
    list.setAttribute('aria-label', t('mod.chat.log'));
    empty.textContent = t('mod.chat.empty');
    sanctionsEmpty.textContent = t('mod.sanctions.empty');
    paintSlow();
    paintFilterBtn();
    paintSanctions();
    paintJump();
    for (const { m, li } of rows.values()) paintRow(li, m);
  }

  function paintSlow() {
    const steps = SLOW_STEPS.includes(slowModeS) ? SLOW_STEPS : [...SLOW_STEPS, slowModeS].sort((a, b) => a - b);
    slow.replaceChildren(...steps.map((s) => {
      const o = el('option', null, s === 0 ? t('mod.chat.slowOff') : t('mod.seconds', { n: s }));
      o.value = String(s);
      return o;
    }));
    slow.value = String(slowModeS);
    slowLabel.classList.toggle('tool-on', slowModeS > 0);
  }

  function paintFilterBtn() {
    filterBtn.replaceChildren(icon('filter'), el('span', null, t('mod.chat.filter')), el('span', 'count', String(words.length)));
  }

  function paintJump() {
    jump.hidden = unread === 0;
    jump.textContent = t('mod.chat.newMessages', { n: unread });
  }

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < STICK_PX;
  const toBottom = () => { list.scrollTop = list.scrollHeight; unread = 0; paintJump(); };

  function paintRow(li, m) {
    const removed = li.classList.contains('removed');
    const kind = restricted.get(m.user_id);
    const staff = STAFF.has(m.role);
    const meta = el('div', 'msg-meta');
    meta.append(timeEl(m.at));
    meta.append(userText('span', 'msg-nick', m.nickname));
    if (staff) meta.append(el('span', `role role-${m.role}`, t(`mod.role.${m.role}`)));
    if (m.community) meta.append(userText('span', 'msg-community', m.community));
    if (kind) meta.append(el('span', 'tag tag-warn', t(kind === 'ban' ? 'mod.chat.isBanned' : 'mod.chat.isTimedOut')));
    if (removed) meta.append(el('span', 'tag', t('mod.chat.removed')));
    const text = userText('p', 'msg-text', m.text);
    li.replaceChildren(meta, text);
    if (removed) return;
    const actions = el('div', 'msg-actions');
    actions.setAttribute('role', 'group');
    actions.setAttribute('aria-label', t('mod.chat.actions', { name: String(m.nickname || '') }));
    const rm = button('act act-remove', '', { title: t('mod.chat.remove') });
    rm.append(icon('trash'), el('span', null, t('mod.chat.remove')));
    rm.dataset.act = 'remove';
    actions.append(rm);
    if (!staff) {
      const group = el('span', 'act-group');
      group.append(icon('clock', 'icon act-group-icon'));
      for (const n of TIMEOUTS) {
        const b = button('act act-timeout', t('mod.minutesShort', { n }), { title: t('mod.chat.timeoutFor', { n }) });
        b.dataset.act = 'timeout';
        b.dataset.minutes = String(n);
        group.append(b);
      }
      const ban = button('act act-ban', '', { title: t('mod.chat.ban') });
      ban.append(icon('ban'), el('span', null, t('mod.chat.ban')));
      ban.dataset.act = 'ban';
      actions.append(group, ban);
    }
    li.append(actions);
  }

  function row(m) {
    const li = el('li', 'msg');
    li.dataset.id = String(m.id);
    li.tabIndex = -1;
    paintRow(li, m);
    return li;
  }

  function add(messages, { history = false } = {}) {
    const stick = history || atBottom();
    let added = 0;
    for (const m of messages) {
      if (!m || !Number.isFinite(m.id) || rows.has(m.id)) continue;
      const li = row(m);
      let before = null;
      for (let n = list.lastElementChild; n && Number(n.dataset.id) > m.id; n = n.previousElementSibling) before = n;
      list.insertBefore(li, before);
      rows.set(m.id, { m, li });
      added += 1;
    }
    while (rows.size > MAX_SHOWN) {
      const first = list.firstElementChild;
      if (first === current) current = null;
      rows.delete(Number(first.dataset.id));
      first.remove();
    }
    empty.hidden = rows.size > 0;
    if (stick) toBottom();
    else if (!history) { unread += added; paintJump(); }
    if (!current && list.firstElementChild) setCurrent(list.lastElementChild, false);
  }

  function markRemoved(ids) {
    for (const id of ids) {
      const r = rows.get(id);
      if (!r || r.li.classList.contains('removed')) continue;
      r.li.classList.add('removed');
      paintRow(r.li, r.m);
    }
  }

  function repaintUser(userId) {
    for (const { m, li } of rows.values()) if (m.user_id === userId) paintRow(li, m);
  }

  function paintSanctions() {
    sanctionsSummary.replaceChildren(icon('lock'), el('span', null, t('mod.sanctions.title')), el('span', 'count', String(sanctions.length)));
    sanctionsEmpty.hidden = sanctions.length > 0;
    sanctionsList.replaceChildren(...sanctions.map((s) => {
      const li = el('li', 'sanction');
      const who = el('div', 'sanction-who');
      who.append(userText('strong', null, s.nickname || `#${s.user_id}`));
      const kind = s.kind === 'ban' ? t('mod.sanctions.ban') : t('mod.sanctions.until', { time: clock(s.until) });
      who.append(el('span', `tag ${s.kind === 'ban' ? 'tag-danger' : 'tag-warn'}`, kind));
      li.append(who);
      if (s.reason) li.append(userText('p', 'sanction-reason', s.reason));
      const lift = button('btn btn-quiet btn-small', t('mod.sanctions.lift'));
      lift.dataset.user = String(s.user_id);
      lift.addEventListener('click', () => unban(s, lift));
      li.append(lift);
      return li;
    }));
    restricted.clear();
    for (const s of sanctions) if (!restricted.has(s.user_id) || s.kind === 'ban') restricted.set(s.user_id, s.kind);
  }

  // ---- roving focus and keys
  function setCurrent(li, focus = true) {
    if (current) current.tabIndex = -1;
    current = li;
    if (!li) return;
    li.tabIndex = 0;
    if (focus) li.focus();
  }

  list.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-act]');
    const li = e.target.closest('li.msg');
    if (!li) return;
    if (b) { act(li, b.dataset.act, Number(b.dataset.minutes) || 10); return; }
    // A tap selects the row, which shows its actions on touch screens.
    for (const other of list.querySelectorAll('li.msg.selected')) if (other !== li) other.classList.remove('selected');
    li.classList.toggle('selected');
    setCurrent(li);
  });

  list.addEventListener('keydown', (e) => {
    const li = e.target.closest && e.target.closest('li.msg');
    if (!li || e.target !== li || e.altKey || e.ctrlKey || e.metaKey) return;
    const move = { ArrowDown: li.nextElementSibling, ArrowUp: li.previousElementSibling, Home: list.firstElementChild, End: list.lastElementChild }[e.key];
    if (move !== undefined) { e.preventDefault(); if (move) setCurrent(move); return; }
    const key = e.key.toLowerCase();
    if (e.key === 'Delete' || e.key === 'Backspace') { e.preventDefault(); act(li, 'remove'); } else if (key === 't') { e.preventDefault(); act(li, 'timeout', 10); } else if (key === 'b') { e.preventDefault(); act(li, 'ban'); }
  });
  list.addEventListener('scroll', () => { if (atBottom() && unread) { unread = 0; paintJump(); } }, { passive: true });
  jump.addEventListener('click', toBottom);

  // ---- actions
  const quickReasons = () => [t('mod.reason.spam'), t('mod.reason.abuse'), t('mod.reason.flood'), t('mod.reason.offTopic')];

  async function act(li, what, minutes = 10) {
    const r = rows.get(Number(li.dataset.id));
    if (!r || li.classList.contains('removed')) return;
    const { m } = r;
    if (what !== 'remove' && STAFF.has(m.role)) { toast(t('mod.err.staff'), 'warn'); return; }
    const name = String(m.nickname || '');
    const spec = {
      remove: { title: t('mod.chat.removeTitle'), confirm: t('mod.chat.remove') },
      timeout: { title: t('mod.chat.timeoutTitle'), confirm: t('mod.chat.timeout'), minutes },
      ban: { title: t('mod.chat.banTitle'), confirm: t('mod.chat.ban'), note: t('mod.chat.banNote') },
    }[what];
    const answer = await confirmAction({ ...spec, target: name, quote: m.text, reasons: quickReasons() });
    if (!answer) return;
    let reply;
    if (what === 'remove') reply = await ctx.call('chat:remove', { room: roomId, id: m.id, reason: answer.reason });
    else if (what === 'timeout') reply = await ctx.call('chat:timeout', { room: roomId, message_id: m.id, minutes: answer.minutes, reason: answer.reason });
    else reply = await ctx.call('chat:ban', { room: roomId, message_id: m.id, reason: answer.reason });
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    if (what === 'remove') { markRemoved(reply.ids || [m.id]); toast(t('mod.chat.removedToast')); } else {
      if (Array.isArray(reply.removed)) markRemoved(reply.removed);
      toast(what === 'ban' ? t('mod.chat.bannedToast', { name }) : t('mod.chat.timedOutToast', { name, n: answer.minutes }));
      loadSanctions();
    }
    ctx.changed();
  }

  async function unban(s, b) {
    b.disabled = true;
    const reply = await ctx.call('chat:unban', { room: roomId, user_id: s.user_id });
    b.disabled = false;
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    toast(t('mod.sanctions.lifted', { name: String(s.nickname || '') }));
    loadSanctions();
    ctx.changed();
  }

  slow.addEventListener('change', async () => {
    const want = Number(slow.value);
    const reply = await ctx.call('chat:slow_mode', { room: roomId, seconds: want });
    if (!reply.ok) { toast(refusal(reply), 'error'); paintSlow(); return; }
    slowModeS = Number(reply.slow_mode_s) || 0;
    paintSlow();
    toast(slowModeS ? t('mod.chat.slowOn', { n: slowModeS }) : t('mod.chat.slowOffToast'));
    ctx.changed();
  });

  filterBtn.addEventListener('click', () => editWords());

  async function editWords() {
    await loadSettings();  // another moderator may have changed them
    const dialog = el('dialog', 'mod-dialog');
    dialog.id = 'filter-dialog';
    const form = el('form', 'mod-dialog-form');
    form.noValidate = true;
    const title = el('h2', 'mod-dialog-title', t('mod.filter.title'));
    title.id = 'filter-title';
    dialog.setAttribute('aria-labelledby', title.id);
    const hint = el('p', 'mod-dialog-note', t('mod.filter.hint'));
    const area = el('textarea', 'input textarea');
    area.id = 'filter-words';
    area.rows = 8;
    area.value = words.join('\n');
    area.setAttribute('aria-label', t('mod.filter.title'));
    const counter = el('p', 'mod-dialog-note counter');
    const paintCount = () => {
      const n = area.value.split('\n').map((w) => w.trim()).filter(Boolean).length;
      counter.textContent = t('mod.filter.count', { n, max: WORDS_MAX });
      counter.classList.toggle('over', n > WORDS_MAX);
    };
    area.addEventListener('input', paintCount);
    paintCount();
    form.append(title, hint, area, counter);
    if (globalWords.length) {
      const g = el('div', 'filter-global');
      g.append(el('p', 'mod-dialog-label', t('mod.filter.global')));
      const chips = el('div', 'mod-chips');
      for (const w of globalWords) chips.append(userText('span', 'mod-chip mod-chip-static', w));
      g.append(chips);
      form.append(g);
    }
    const error = el('p', 'mod-dialog-error');
    error.setAttribute('role', 'alert');
    const actions = el('div', 'mod-dialog-actions');
    const cancel = button('btn btn-quiet', t('mod.cancel'));
    const save = button('btn btn-primary', t('mod.save'), { kind: 'submit' });
    save.id = 'filter-save';
    actions.append(cancel, save);
    form.append(error, actions);
    dialog.append(form);
    document.body.append(dialog);
    const close = () => { dialog.close(); dialog.remove(); filterBtn.focus(); };
    cancel.addEventListener('click', close);
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const list = area.value.split('\n').map((w) => w.trim()).filter(Boolean);
      save.disabled = true;
      const reply = await ctx.call('chat:filter', { room: roomId, words: list });
      save.disabled = false;
      if (!reply.ok) { error.textContent = refusal(reply); return; }
      words = Array.isArray(reply.words) ? reply.words : list;
      globalWords = Array.isArray(reply.global_words) ? reply.global_words : globalWords;
      paintFilterBtn();
      close();
      toast(t('mod.filter.saved', { n: words.length }));
      ctx.changed();
    });
    dialog.showModal();
    area.focus();
  }

  // ---- loading
  async function loadSettings() {
    const reply = await ctx.call('chat:settings', { room: roomId });
    if (!reply.ok) return;
    slowModeS = Number(reply.slow_mode_s) || 0;
    words = Array.isArray(reply.words) ? reply.words : [];
    globalWords = Array.isArray(reply.global_words) ? reply.global_words : [];
    paintSlow();
    paintFilterBtn();
  }

  async function loadSanctions() {
    const reply = await ctx.call('chat:sanctions', { room: roomId });
    if (!reply.ok) return;
    const before = new Set(restricted.keys());
    sanctions = Array.isArray(reply.sanctions) ? reply.sanctions : [];
    paintSanctions();
    for (const id of new Set([...before, ...restricted.keys()])) repaintUser(id);
  }

  async function refresh() {
    const reply = await ctx.call('chat:join', { room: roomId });
    if (reply.ok) {
      // The server's history replaces what was shown: it is the truth after a reconnect.
      list.replaceChildren();
      rows.clear();
      current = null;
      add(Array.isArray(reply.messages) ? reply.messages : [], { history: true });
    }
    await Promise.all([loadSettings(), loadSanctions()]);
  }

  ctx.on('chat:messages', (p) => { if (p && p.room === roomId && Array.isArray(p.messages)) add(p.messages); });
  ctx.on('chat:removed', (p) => { if (p && p.room === roomId && Array.isArray(p.ids)) { markRemoved(p.ids); ctx.changed(); } });
  ctx.on('chat:mode', (p) => {
    if (!p || p.room !== roomId) return;
    slowModeS = Number(p.slow_mode_s) || 0;
    paintSlow();
    ctx.changed();
  });
  ctx.on('chat:sanctioned', (p) => { if (p && p.room === roomId) { loadSanctions(); ctx.changed(); } });
  ctx.on('chat:lifted', (p) => { if (p && p.room === roomId) { loadSanctions(); ctx.changed(); } });

  paintStatic();
  empty.hidden = false;
  return { refresh, paintStatic, focus: () => (current || list).focus() };
}
