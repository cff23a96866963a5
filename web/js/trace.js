// The trace page behind a batch's QR code: its journey, the climate it travelled in, and a
// "verified" mark this browser computes itself (trace-verify.js). All text goes in as textContent.

import { applyI18n, bindLangToggle, extend, lang, onLangChange, t } from './i18n.js';
import { PHOTO_FIELD, verifyTrail } from './trace-verify.js';
import { el } from './el.js';

extend({
  zh: {
    'trace.brand': '产品溯源', 'trace.lot': '批次', 'trace.flagged': '冷链异常',
    'trace.journey': '从田间到你手中', 'trace.noEvents': '还没有记录', 'trace.climate': '温湿度记录',
    'trace.log': '防篡改日志', 'trace.origin': '日志名称', 'trace.key': '验证公钥', 'trace.size': '日志条数',
    'trace.checkpoint': '签名检查点', 'trace.export': 'EPCIS 2.0 数据',
    'trace.logHow': '每条记录都写入只能追加的默克尔日志（RFC 9162），服务器用 Ed25519 签署日志状态；本页在你的浏览器里重新计算并核对，不依赖服务器的说法。',
    'trace.notFound': '找不到这个批次，请检查二维码或链接', 'trace.loadFailed': '溯源记录加载失败',
    'trace.corrected': '已更正', 'trace.correction': '更正声明', 'trace.simulated': '模拟数据',
    'trace.band': '允许范围 {low}–{high}{unit}', 'trace.place': '地点：{p}',
    'verify.pending': '正在本机验证记录…', 'verify.ok': '已验证：记录完整，未被篡改',
    'verify.okDetail': '{n} 条记录已由你的浏览器逐条核对（签名日志共 {size} 条）',
    'why.signature': '日志的签名无效', 'why.origin': '日志名称不符', 'why.key': '日志的签名公钥与你上次查看时不同',
    'why.event': '这条记录的内容与登记时的哈希不符：记录被改动过', 'why.inclusion': '这条记录不在已签名的日志里',
    'why.photo': '照片与登记时不一致', 'why.consistency': '日志与你上次查看时对不上：历史被改写过',
    'verify.fail': '验证未通过', 'verify.how': '本机验证了什么', 'verify.failedAt': '未通过的一步：{step}',
    'step.signature': '日志签名', 'step.origin': '日志名称', 'step.key': '签名公钥', 'step.event': '记录内容哈希',
    'step.inclusion': '记录在日志中', 'step.photo': '照片哈希', 'step.consistency': '与上次查看的日志一致',
    'biz.commissioning': '采收', 'biz.inspecting': '清洗分拣', 'biz.packing': '包装', 'biz.storing': '冷藏',
    'biz.loading': '装车', 'biz.transporting': '运输', 'biz.departing': '出发', 'biz.arriving': '到达自提点',
    'biz.receiving': '签收', 'biz.retail_selling': '交到买家手中', 'biz.sensor_reporting': '温湿度监测',
    'biz.shipping': '发货', 'biz.unloading': '卸货', 'biz.holding': '暂存', 'biz.other': '其他',
    'type.AggregationEvent': '装箱', 'type.TransformationEvent': '加工', 'type.AssociationEvent': '绑定传感器',
    'q.temperature': '温度', 'q.humidity': '湿度', 'q.soil_moisture': '土壤湿度',
    'alarm': '超出允许范围',
  },
  en: {
    'trace.brand': 'Product trace', 'trace.lot': 'Lot', 'trace.flagged': 'Cold-chain alert',
    'trace.journey': 'From the field to you', 'trace.noEvents': 'No records yet', 'trace.climate': 'Temperature & humidity',
    'trace.log': 'Tamper-evident log', 'trace.origin': 'Log name', 'trace.key': 'Verifier key', 'trace.size': 'Log entries',
    'trace.checkpoint': 'Signed checkpoint', 'trace.export': 'EPCIS 2.0 data',
    'trace.logHow': 'Every record is appended to an append-only Merkle log (RFC 9162) whose state the server signs with Ed25519; this page recomputes and checks it in your browser instead of taking the server\u2019s word.',
    'trace.notFound': 'No such batch: check the QR code or link', 'trace.loadFailed': 'Could not load the trace record',
    'trace.corrected': 'Corrected', 'trace.correction': 'Correction', 'trace.simulated': 'Simulated data',
    'trace.band': 'Allowed {low}–{high}{unit}', 'trace.place': 'Where: {p}',
    'verify.pending': 'Checking the records on this device…', 'verify.ok': 'Verified: complete and unaltered',
    'verify.okDetail': '{n} records checked one by one by your browser (signed log of {size} entries)',
    'why.signature': 'the log\u2019s signature is invalid', 'why.origin': 'the log name does not match',
    'why.key': 'the log\u2019s signing key differs from your last visit',
    'why.event': 'this record no longer matches the hash it was logged with: it was changed',
    'why.inclusion': 'this record is not in the signed log', 'why.photo': 'a photo differs from the one logged',
    'why.consistency': 'the log does not extend the one you saw last time: history was rewritten',
    'verify.fail': 'NOT verified', 'verify.how': 'What this device checked', 'verify.failedAt': 'Failed step: {step}',
    'step.signature': 'Log signature', 'step.origin': 'Log name', 'step.key': 'Signing key', 'step.event': 'Record hash',
    'step.inclusion': 'Record is in the log', 'step.photo': 'Photo hash', 'step.consistency': 'Same log as last visit',
    'biz.commissioning': 'Harvested', 'biz.inspecting': 'Washed & sorted', 'biz.packing': 'Packed', 'biz.storing': 'Cold storage',
    'biz.loading': 'Loaded on truck', 'biz.transporting': 'In transit', 'biz.departing': 'Departed', 'biz.arriving': 'At pickup point',
    'biz.receiving': 'Received', 'biz.retail_selling': 'Handed to buyer', 'biz.sensor_reporting': 'Climate check',
    'biz.shipping': 'Shipped', 'biz.unloading': 'Unloaded', 'biz.holding': 'Held', 'biz.other': 'Other',
    'type.AggregationEvent': 'Packed into crate', 'type.TransformationEvent': 'Processed', 'type.AssociationEvent': 'Sensor attached',
    'q.temperature': 'Temperature', 'q.humidity': 'Humidity', 'q.soil_moisture': 'Soil moisture',
    'alarm': 'out of the allowed band',
  },
});

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
let current = null;
let verdict = null;

function batchPath() {
  const m = /^\/01\/([0-9]{8,14})\/10\/([^/]+)$/.exec(location.pathname);
  return m ? { gtin: m[1], lot: decodeURIComponent(m[2]) } : null;
}

function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function stepName(event) {
  if (event.errorDeclaration) return t('trace.correction');
  const step = String(event.bizStep || '').replace(/^.*BizStep-/, '').replace(/^.*:/, '');
  if (event.type !== 'ObjectEvent' && `type.${event.type}` in { 'type.AggregationEvent': 1, 'type.TransformationEvent': 1, 'type.AssociationEvent': 1 }) {
    if (step !== 'commissioning' || event.type !== 'TransformationEvent') return t(`type.${event.type}`);
  }
  const key = `biz.${step}`;
  const label = t(key);
  return label === key ? step || event.type : label;
}

function readings(event) {
  const out = [];
  for (const element of event.sensorElementList || []) {
    for (const r of element.sensorReport || []) {
      const type = String(r.type || '').replace(/^.*[/:]/, '');
      const unit = r.uom === 'CEL' ? '°C' : r.uom === 'P1' ? '%' : r.uom ? ` ${r.uom}` : '';
      const q = type === 'Temperature' ? t('q.temperature') : type === 'RelativeHumidity' ? t('q.humidity') : type;
      const value = 'value' in r ? r.value : 'maxValue' in r ? r.maxValue : '';
      const alarm = r.exception ? ` · ${t('alarm')}` : '';
      out.push({ text: `${q} ${value}${unit}${alarm}`, alarm: Boolean(r.exception) });
    }
  }
  return out;
}

function renderTimeline(trail) {
  const list = $('timeline');
  list.replaceChildren();
  const events = trail.events.map((item) => ({ item, event: JSON.parse(item.body) }));
  const declared = new Set(events.filter((e) => e.event.errorDeclaration).map((e) => e.event.eventID));
  const failed = new Set((verdict ? verdict.steps : []).filter((s) => !s.ok && s.index !== null).map((s) => s.index));
  const shown = events.slice().sort((a, b) => String(a.event.eventTime).localeCompare(String(b.event.eventTime)) || a.item.index - b.item.index);
  for (const { item, event } of shown) {
    const li = el('li');
    li.dataset.index = item.index;
    if (!event.errorDeclaration && declared.has(event.eventID)) li.classList.add('corrected');
    if (failed.has(item.index)) li.classList.add('bad');
    const head = el('div', 'step-head');
    head.append(el('span', 'step-name', stepName(event)), el('time', 'step-time', when(event.eventTime)));
    li.append(head);
    const place = event['fieldcast:place'] || (event.bizLocation && event.bizLocation.id) || '';
    if (place) li.append(el('p', 'step-place', t('trace.place', { p: place })));
    if (event['fieldcast:note']) li.append(el('p', 'step-note', String(event['fieldcast:note'])));
    for (const r of readings(event)) {
      li.append(el('p', 'step-reading', r.text));
      if (r.alarm) li.classList.add('alarm');
    }
    if (li.classList.contains('corrected')) li.append(el('span', 'step-badge', t('trace.corrected')));
    if (failed.has(item.index)) li.append(el('span', 'step-badge fail', t('verify.fail')));
    const photos = event[PHOTO_FIELD];
    const hashes = (Array.isArray(photos) ? photos : photos ? [photos] : [])
      .map((u) => /^ni:\/\/\/sha-256;([0-9a-f]{64})$/.exec(String(u))).filter(Boolean);
    if (hashes.length) {
      const strip = el('div', 'step-photos');
      for (const m of hashes) {
        const img = el('img');
        img.loading = 'lazy';
        img.alt = stepName(event);
        img.src = `/api/trace/photos/${m[1]}`;
        strip.append(img);
      }
      li.append(strip);
    }
    list.append(li);
  }
  $('timeline-empty').hidden = events.length > 0;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// One series as an inline SVG line chart with the allowed band shaded (no libraries, no CDN).
export function chart(series, band) {
  const W = 640, H = 220, L = 40, R = 10, T = 14, B = 26;
  const points = series.points;
  const values = points.map((p) => p[1]);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (band) { lo = Math.min(lo, band.low); hi = Math.max(hi, band.high); }
  if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
  const pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1);
  const x = (tm) => L + ((tm - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  root.append(svg('title', {}, `${series.label}`));
  if (band) {
    root.append(svg('rect', { x: L, y: y(band.high), width: W - L - R, height: Math.max(1, y(band.low) - y(band.high)), fill: '#e8f3e9' }));
  }
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e2e7e3' }));
    root.append(svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#7a857c' }, v.toFixed(1)));
  }
  root.append(svg('text', { x: L, y: H - 6, 'font-size': 11, fill: '#7a857c' }, when(new Date(t0).toISOString())));
  root.append(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 11, fill: '#7a857c' }, when(new Date(t1).toISOString())));
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
  root.append(svg('path', { d, fill: 'none', stroke: '#2e7d32', 'stroke-width': 2 }));
  if (band) {
    for (const p of points) {
      if (p[1] < band.low || p[1] > band.high) root.append(svg('circle', { cx: x(p[0]), cy: y(p[1]), r: 3, fill: '#e8412c' }));
    }
  }
  return root;
}

function renderCharts(trail) {
  const box = $('charts');
  box.replaceChildren();
  const series = (trail.sensors || []).filter((s) => s.points && s.points.length);
  $('sensors-section').hidden = series.length === 0;
  for (const s of series) {
    const band = trail.band && trail.band.quantity === s.quantity ? trail.band : null;
    const unit = s.unit || '';
    let title = `${s.name} · ${t(`q.${s.quantity}`)}`;
    if (band) title += ` · ${t('trace.band', { low: band.low, high: band.high, unit })}`;
    if (s.simulated) title += ` · ${t('trace.simulated')}`;
    box.append(el('p', 'chart-title', title), chart({ label: title, points: s.points }, band));
  }
}

function renderVerdict() {
  const card = $('verify');
  const steps = $('verify-steps');
  steps.replaceChildren();
  if (!verdict) return;
  card.classList.remove('verify-pending', 'verify-ok', 'verify-fail');
  card.classList.add(verdict.ok ? 'verify-ok' : 'verify-fail');
  $('verify-icon').textContent = verdict.ok ? '✓' : '✗';
  $('verify-title').textContent = verdict.ok ? t('verify.ok') : t('verify.fail');
  const failed = verdict.steps.find((s) => !s.ok);
  $('verify-detail').textContent = verdict.ok
    ? t('verify.okDetail', { n: current.events.length, size: verdict.checkpoint.size })
    : t('verify.failedAt', { step: `${t(`step.${failed.step}`)}${failed.index !== null ? ` #${failed.index}` : ''} — ${t(`why.${failed.step}`)}` });
  for (const s of verdict.steps) {
    const li = el('li', s.ok ? 'ok' : 'fail', `${s.ok ? '✓' : '✗'} ${t(`step.${s.step}`)}${s.index !== null ? ` #${s.index}` : ''}: ${s.detail}`);
    steps.append(li);
  }
  $('verify-steps-box').hidden = false;
  card.dataset.verified = verdict.ok ? 'yes' : 'no';
}

function render() {
  if (!current) return;
  const b = current.batch;
  document.title = `${b.product} · ${t('trace.brand')}`;
  $('product').textContent = b.product;
  $('farm').textContent = b.farm;
  $('lot').textContent = b.lot;
  $('gtin').textContent = b.gtin;
  $('alert').hidden = !b.flagged;
  $('alert-text').textContent = b.flag_reason;
  $('origin').textContent = current.log.origin;
  $('vkey').textContent = current.log.verifier_key;
  $('size').textContent = verdict && verdict.checkpoint ? String(verdict.checkpoint.size) : '';
  $('export-link').href = `/api/trace/batches/${b.gtin}/${encodeURIComponent(b.lot)}/epcis`;
  renderTimeline(current);
  renderCharts(current);
  renderVerdict();
}

async function main() {
  applyI18n();
  bindLangToggle($('lang'));
  onLangChange(render);
  const where = batchPath();
  if (!where) { showError(t('trace.notFound')); return; }
  let resp;
  try {
    resp = await fetch(`/api/trace/batches/${where.gtin}/${encodeURIComponent(where.lot)}`, { headers: { Accept: 'application/json' } });
  } catch { showError(t('trace.loadFailed')); return; }
  if (resp.status === 404 || resp.status === 400) { showError(t('trace.notFound')); return; }
  if (!resp.ok) { showError(t('trace.loadFailed')); return; }
  current = await resp.json();
  render();
  verdict = await verifyTrail(current).catch((err) => ({ ok: false, steps: [{ step: 'signature', ok: false, detail: String(err), index: null }], checkpoint: null }));
  render();
  window.fieldcastTrace.verdict = verdict;
}

function showError(text) {
  const box = $('error');
  box.textContent = text;
  box.hidden = false;
  $('verify').hidden = true;
}

window.fieldcastTrace = { verifyTrail, verdict: null };
main();
