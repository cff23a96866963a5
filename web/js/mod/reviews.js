// Testimonials waiting for a decision: the buyer's photos (thumbnails; a click shows the large one),
// rating, text and the order that makes them a verified buyer; approve, or reject with a reason
// the author will read. Decided ones can be reviewed again (a moderator changes their mind).
// Events: server/realtime/reviews_events.py.

import { t } from '../i18n.js';
import { confirmAction, showPhoto } from './dialog.js';
import { button, el, icon, refusal, segmented, timeEl, toast, userText } from './dom.js';

const FILTERS = ['pending', 'approved', 'rejected'];
const REASON_MAX = 200;

export function mountReviews(panel, ctx) {
  const { roomId } = ctx;
  const reviews = new Map();   // id -> ModReview (this room's, any status we have seen)
  let filter = 'pending';
  let available = true;

  const bar = el('div', 'panel-tools');
  const { seg, buttons: segButtons } = segmented(FILTERS, 'rv-filter', (f) => { filter = f; paint(); if (f !== 'pending') load(f); });
  bar.append(seg);
  const list = el('div', 'rv-list');
  list.id = 'rv-list';
  const empty = el('p', 'panel-empty');
  const scroller = el('div', 'panel-scroll');
  scroller.append(list, empty);
  panel.append(bar, scroller);

  function count(status) {
    let n = 0;
    for (const r of reviews.values()) if (r.status === status) n += 1;
    return n;
  }

  function stars(n) {
    const s = el('span', 'stars');
    const k = Math.max(0, Math.min(5, Number(n) || 0));
    s.setAttribute('role', 'img');
    s.setAttribute('aria-label', t('mod.rv.rating', { n: k }));
    for (let i = 1; i <= 5; i++) s.append(icon('star', `icon star${i <= k ? ' on' : ''}`));
    return s;
  }

  function card(r) {
    const c = el('article', 'rv');
    c.dataset.id = String(r.id);
    c.dataset.status = r.status;
    const head = el('header', 'rv-head');
    const who = el('div', 'rv-who');
    who.append(userText('strong', 'rv-nick', r.nickname), stars(r.rating));
    head.append(who, timeEl(r.received_at || r.created_at, { relative: true }));
    c.append(head);

    const proof = el('p', 'rv-proof');
    if (r.verified) {
      const badge = el('span', 'tag tag-ok');
      badge.append(icon('check'), el('span', null, t('mod.rv.verified')));
      proof.append(badge);
    }
    proof.append(el('span', 'rv-order', t('mod.rv.order', { id: r.order_id })));
    const products = Array.isArray(r.products) ? r.products.filter(Boolean) : [];
    if (products.length) {
      const p = el('span', 'rv-products');
      p.append(icon('bag'), userText('span', null, products.join('、')));
      proof.append(p);
    }
    c.append(proof);

    if (r.text) c.append(userText('p', 'rv-text', r.text));
    else c.append(el('p', 'rv-text rv-text-none', t('mod.rv.noText')));

    const photos = Array.isArray(r.photos) ? r.photos : [];
    if (photos.length) {
      const strip = el('div', 'rv-photos');
      photos.forEach((p, i) => {
        const b = button('rv-photo', '', { title: t('mod.rv.photo', { n: i + 1 }) });
        const img = el('img');
        img.src = String(p.thumb || '');
        img.alt = t('mod.rv.photo', { n: i + 1 });
        img.loading = 'lazy';
        img.decoding = 'async';
        b.append(img);
        b.addEventListener('click', () => showPhoto(String(p.large || p.thumb || ''), img.alt));
        strip.append(b);
      });
      c.append(strip);
    }

    if (r.status === 'rejected' && r.reason) {
      const why = el('p', 'rv-reason');
      why.append(el('span', 'q-answer-label', t('mod.rv.rejectedBecause')), userText('span', null, r.reason));
      c.append(why);
    }

    const actions = el('div', 'rv-actions');
    if (r.status !== 'approved') {
      const ok = button('btn btn-primary btn-small', '');
      ok.append(icon('check'), el('span', null, t(r.status === 'rejected' ? 'mod.rv.approveAnyway' : 'mod.rv.approve')));
      ok.dataset.act = 'approve';
      actions.append(ok);
    }
    if (r.status !== 'rejected') {
      const no = button('btn btn-quiet btn-small', '');
      no.append(icon('x'), el('span', null, t(r.status === 'approved' ? 'mod.rv.takeDown' : 'mod.rv.reject')));
      no.dataset.act = 'reject';
      actions.append(no);
    }
    c.append(actions);
    c.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]');
      if (b) decide(r.id, b.dataset.act, b);
    });
    return c;
  }

  function paint() {
    seg.setAttribute('aria-label', t('mod.rv.filters'));
    for (const f of FILTERS) {
      const b = segButtons[f];
      b.replaceChildren(el('span', null, t(`mod.rv.filter.${f}`)));
      if (f === 'pending') b.append(el('span', 'count', String(count('pending'))));
      b.setAttribute('aria-pressed', String(f === filter));
    }
    ctx.badge(count('pending'));
    const shown = [...reviews.values()].filter((r) => r.status === filter);
    // The queue oldest first (work through it in order); decided ones newest decision first.
    shown.sort(filter === 'pending'
      ? (a, b) => String(a.received_at).localeCompare(String(b.received_at)) || a.id - b.id
      : (a, b) => String(b.moderated_at).localeCompare(String(a.moderated_at)) || b.id - a.id);
    list.replaceChildren(...shown.map(card));
    empty.hidden = shown.length > 0;
    empty.textContent = available ? t(`mod.rv.empty.${filter}`) : t('mod.rv.unavailable');
  }

  async function decide(id, what, b) {
    const r = reviews.get(id);
    if (!r) return;
    let reply;
    if (what === 'approve') {
      b.disabled = true;
      reply = await ctx.call('review:approve', { id });
    } else {
      const answer = await confirmAction({
        title: t(r.status === 'approved' ? 'mod.rv.takeDownTitle' : 'mod.rv.rejectTitle'),
        target: String(r.nickname || ''), quote: r.text, confirm: t('mod.rv.reject'),
        reasonRequired: true, reasonMax: REASON_MAX, note: t('mod.rv.reasonNote'),
        reasons: [t('mod.rv.reason.offTopic'), t('mod.rv.reason.ad'), t('mod.rv.reason.rude'), t('mod.rv.reason.photo')],
      });
      if (!answer) return;
      b.disabled = true;
      reply = await ctx.call('review:reject', { id, reason: answer.reason });
    }
    b.disabled = false;
    if (!reply.ok) { toast(refusal(reply), 'error'); return; }
    upsert(reply.review);
    paint();
    toast(t(what === 'approve' ? 'mod.rv.approved' : 'mod.rv.rejected'));
  }

  function upsert(r) {
    if (!r || !Number.isFinite(r.id) || r.room !== roomId) return;
    reviews.set(r.id, r);
  }

  async function load(status) {
    const reply = await ctx.call('reviews:queue', { status, room: roomId });
    if (!reply.ok) {
      // An older server without the reviews feature never answers: say so instead of "none".
      if (reply.error === 'timeout') { available = false; paint(); }
      return;
    }
    available = true;
    for (const [id, r] of reviews) if (r.status === status) reviews.delete(id);
    for (const r of reply.reviews || []) upsert(r);
    paint();
  }

  async function refresh() {
    await load('pending');
    if (filter !== 'pending') await load(filter);
  }

  ctx.on('review:pending', (r) => { upsert(r); paint(); });
  ctx.on('review:moderated', (r) => { upsert(r); paint(); });

  paint();
  return { refresh, paintStatic: paint, focus: () => (list.querySelector('button') || segButtons[filter]).focus() };
}
