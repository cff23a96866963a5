// The moderation log: newest first, who did what to whom and when, with the reason; older pages
// on request. It refreshes when the room's moderation broadcasts say something happened.
// Event: chat:modlog (server/realtime/chat_events.py).

import { t } from '../i18n.js';
import { button, el, icon, refusal, timeEl, toast, userText } from './dom.js';

const PAGE = 50;
const ICONS = { remove: 'trash', timeout: 'clock', ban: 'ban', unban: 'lock', slow_mode: 'clock', filter: 'filter' };

// A translated sentence with people's names dropped in as text nodes (never markup).
function sentence(template, parts) {
  const p = el('p', 'log-line');
  for (const piece of template.split(/(\{\w+\})/)) {
    const m = piece.match(/^\{(\w+)\}$/);
    if (m && m[1] in parts) p.append(parts[m[1]]);
    else if (piece) p.append(document.createTextNode(piece));
  }
  return p;
}

export function mountLog(panel, ctx) {
  const { roomId } = ctx;
  const entries = new Map();  // id -> entry
  let oldest = null;
  let exhausted = false;
  let timer = 0;

  const list = el('ol', 'log-list');
  list.id = 'log-list';
  const empty = el('p', 'panel-empty');
  const more = button('btn btn-quiet btn-small log-more', '');
  more.hidden = true;
  const scroller = el('div', 'panel-scroll');
  scroller.tabIndex = 0;  // arrow keys and Page Down scroll it once focused
  scroller.append(list, empty, more);
  panel.append(scroller);

  function line(e) {
    const li = el('li', 'log-entry');
    li.dataset.action = e.action;
    const badge = el('span', `log-icon log-${e.action}`);
    badge.append(icon(ICONS[e.action] || 'shield'));
    const actor = userText('strong', 'log-actor', e.actor || t('mod.log.someone'));
    const target = userText('strong', 'log-target', e.target || (e.target_user_id ? `#${e.target_user_id}` : ''));
    const d = e.detail && typeof e.detail === 'object' ? e.detail : {};
    let key = `mod.log.${e.action}`;
    if (e.action === 'slow_mode') key = Number(d.seconds) > 0 ? 'mod.log.slow_mode_on' : 'mod.log.slow_mode_off';
    const text = t(key, { n: Number(d.minutes || d.seconds || d.count) || 0 });
    const body = el('div', 'log-body');
    body.append(sentence(text === key ? t('mod.log.other', { action: e.action }) : text, { actor, target }));
    const details = el('div', 'log-details');
    if (d.reason) {
      const r = el('p', 'log-detail');
      r.append(el('span', 'log-detail-label', t('mod.log.reason')), userText('span', null, d.reason));
      details.append(r);
    }
    if (e.action === 'remove' && d.text) details.append(userText('blockquote', 'log-quote', d.text));
    if (e.action === 'filter') {
      const added = Array.isArray(d.added) ? d.added : [];
      const removed = Array.isArray(d.removed) ? d.removed : [];
      if (added.length) {
        const r = el('p', 'log-detail');
        r.append(el('span', 'log-detail-label', t('mod.log.added')), userText('span', null, added.join('、')));
        details.append(r);
      }
      if (removed.length) {
        const r = el('p', 'log-detail');
        r.append(el('span', 'log-detail-label', t('mod.log.removedWords')), userText('span', null, removed.join('、')));
        details.append(r);
      }
    }
    if (details.childElementCount) body.append(details);
    li.append(badge, body, timeEl(e.at));
    return li;
  }

  function paint() {
    const sorted = [...entries.values()].sort((a, b) => b.id - a.id);
    list.replaceChildren(...sorted.map(line));
    list.setAttribute('aria-label', t('mod.log.title'));
    scroller.setAttribute('aria-label', t('mod.log.title'));
    empty.hidden = sorted.length > 0;
    empty.textContent = t('mod.log.empty');
    more.textContent = t('mod.log.more');
    more.hidden = exhausted || sorted.length === 0;
  }

  async function page(beforeId) {
    const payload = { room: roomId, limit: PAGE };
    if (beforeId) payload.before_id = beforeId;
    const reply = await ctx.call('chat:modlog', payload);
    if (!reply.ok) { if (beforeId) toast(refusal(reply), 'error'); return null; }
    return Array.isArray(reply.entries) ? reply.entries : [];
  }

  async function refresh() {
    const found = await page(null);
    if (!found) return;
    if (!entries.size) exhausted = found.length < PAGE;
    for (const e of found) entries.set(e.id, e);
    oldest = Math.min(...entries.keys());
    paint();
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    const found = await page(oldest);
    more.disabled = false;
    if (!found) return;
    exhausted = found.length < PAGE;
    for (const e of found) entries.set(e.id, e);
    if (entries.size) oldest = Math.min(...entries.keys());
    paint();
  });

  paint();
  return {
    refresh,
    paintStatic: paint,
    // Several broadcasts arrive for one action (a ban: removed + sanctioned): one fetch for all.
    changed() { clearTimeout(timer); timer = setTimeout(refresh, 400); },
    focus: () => scroller.focus(),
  };
}
