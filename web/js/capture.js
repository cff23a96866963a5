// Farm staff record a step (harvest, washing, packing, ...) as an EPCIS ObjectEvent, with photos.
// Signed-in hosts use their session (with the CSRF header); the server logs it and returns its id.

import { applyI18n, bindLangToggle, extend, t } from './i18n.js';

extend({
  zh: {
    'cap.title': '记录一步', 'cap.batch': '批次', 'cap.step': '这一步', 'cap.when': '时间', 'cap.place': '地点',
    'cap.placeHint': '例如：3号大棚', 'cap.qty': '数量（公斤）', 'cap.note': '备注', 'cap.photos': '照片',
    'cap.submit': '记录并写入日志', 'cap.saving': '正在上传…', 'cap.done': '已写入日志：{id}', 'cap.failed': '没有记录：{msg}',
    'cap.signIn': '请先以农场账号登录', 'cap.noBatches': '还没有批次，请先登记批次',
    'biz.commissioning': '采收', 'biz.inspecting': '清洗分拣', 'biz.packing': '包装', 'biz.storing': '冷藏',
    'biz.loading': '装车', 'biz.arriving': '到达自提点', 'biz.retail_selling': '交到买家手中',
  },
  en: {
    'cap.title': 'Record a step', 'cap.batch': 'Batch', 'cap.step': 'Step', 'cap.when': 'When', 'cap.place': 'Where',
    'cap.placeHint': 'e.g. greenhouse 3', 'cap.qty': 'Quantity (kg)', 'cap.note': 'Note', 'cap.photos': 'Photos',
    'cap.submit': 'Record it in the log', 'cap.saving': 'Uploading…', 'cap.done': 'Logged: {id}', 'cap.failed': 'Not recorded: {msg}',
    'cap.signIn': 'Sign in with the farm account first', 'cap.noBatches': 'No batches yet: register one first',
    'biz.commissioning': 'Harvested', 'biz.inspecting': 'Washed & sorted', 'biz.packing': 'Packed', 'biz.storing': 'Cold storage',
    'biz.loading': 'Loaded on truck', 'biz.arriving': 'At pickup point', 'biz.retail_selling': 'Handed to buyer',
  },
});

const $ = (id) => document.getElementById(id);
let csrf = '';

const DISPOSITION = { storing: 'sellable_not_accessible', loading: 'in_transit', arriving: 'sellable_accessible', retail_selling: 'retail_sold' };

function offset(date) {
  const m = -date.getTimezoneOffset();
  const sign = m >= 0 ? '+' : '-';
  const a = Math.abs(m);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

async function api(method, path, body, type = 'application/json') {
  const headers = { 'X-CSRF-Token': csrf };
  if (body !== undefined) headers['Content-Type'] = type;
  const resp = await fetch(path, { method, headers, body: type === 'application/json' && body !== undefined ? JSON.stringify(body) : body, credentials: 'same-origin' });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.message || resp.statusText);
  return data;
}

async function load() {
  const me = await fetch('/api/me', { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  csrf = (me && me.csrf) || '';
  let batches = [];
  try { batches = await api('GET', '/api/trace/batches'); } catch { $('result').textContent = t('cap.signIn'); return; }
  const select = $('batch');
  select.replaceChildren();
  for (const b of batches) {
    const option = document.createElement('option');
    option.value = JSON.stringify([b.gtin, b.lot]);
    option.textContent = `${b.product} · ${b.lot}`;
    select.append(option);
  }
  if (!batches.length) $('result').textContent = t('cap.noBatches');
}

async function submit(event) {
  event.preventDefault();
  const [gtin, lot] = JSON.parse($('batch').value);
  const when = new Date($('when').value);
  const step = $('step').value;
  $('submit').disabled = true;
  $('result').textContent = t('cap.saving');
  try {
    const photos = [];
    for (const file of $('photos').files) {
      const up = await api('POST', '/api/trace/photos', file, file.type || 'image/jpeg');
      photos.push(up.uri);
    }
    const quantity = { epcClass: `https://id.gs1.org/01/${gtin}/10/${encodeURIComponent(lot)}` };
    if ($('qty').value) { quantity.quantity = Number($('qty').value); quantity.uom = 'KGM'; }
    const ev = {
      '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
      type: 'ObjectEvent', eventTime: when.toISOString(), eventTimeZoneOffset: offset(when),
      action: step === 'commissioning' ? 'ADD' : 'OBSERVE', bizStep: step, quantityList: [quantity],
    };
    if (DISPOSITION[step]) ev.disposition = DISPOSITION[step];
    if ($('place').value.trim()) ev['fieldcast:place'] = $('place').value.trim();
    if ($('note').value.trim()) ev['fieldcast:note'] = $('note').value.trim();
    if (photos.length) ev['fieldcast:photos'] = photos;
    const done = await api('POST', '/api/epcis/events', ev);
    $('result').textContent = t('cap.done', { id: done.eventID });
  } catch (err) {
    $('result').textContent = t('cap.failed', { msg: err.message });
  } finally {
    $('submit').disabled = false;
  }
}

applyI18n();
bindLangToggle($('lang'));
const now = new Date();
$('when').value = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
$('form').addEventListener('submit', submit);
load();
