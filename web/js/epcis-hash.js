// The CBV 2.0 EPCIS Event Hash ID, computed in the browser: the same algorithm as
// server/domain/trace/event_hash.py (and identifiers.py for GS1 keys), so the trace page checks each
// event's id from its content without trusting the server. Keep the two in step.

const CBV = 'https://ref.gs1.org/cbv/';
const GS1_VOC = 'https://gs1.org/voc/';
const CANONICAL_DL = 'https://id.gs1.org';
const BUILTIN = { gs1: GS1_VOC, cbv: CBV, epcis: 'https://ref.gs1.org/epcis/' };
const URN_VOCAB = [
  ['urn:epcglobal:cbv:bizstep:', CBV + 'BizStep-'],
  ['urn:epcglobal:cbv:disp:', CBV + 'Disp-'],
  ['urn:epcglobal:cbv:btt:', CBV + 'BTT-'],
  ['urn:epcglobal:cbv:sdt:', CBV + 'SDT-'],
  ['urn:epcglobal:cbv:er:', CBV + 'ER-'],
];
const TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$/;
const DIGITS = /^[0-9]+$/;
const PRIMARY = new Set(['00', '01', '253', '255', '401', '402', '414', '417', '8003', '8004', '8006', '8010', '8017', '8018']);
const QUALIFIERS = { '01': ['21', '10', '235'], '8006': ['21', '10'], '414': ['254'], '8010': ['8011'] };
const QUANTITY = ['epcClass', 'quantity', 'uom'];
const METADATA = ['time', 'startTime', 'endTime', 'deviceID', 'deviceMetadata', 'rawData', 'dataProcessingMethod', 'bizRules'];
const REPORT = ['type', 'exception', 'deviceID', 'deviceMetadata', 'rawData', 'dataProcessingMethod', 'time',
  'microorganism', 'chemicalSubstance', 'value', 'component', 'stringValue', 'booleanValue', 'hexBinaryValue',
  'uriValue', 'minValue', 'maxValue', 'meanValue', 'sDev', 'percRank', 'percValue', 'uom', 'coordinateReferenceSystem'];
const ORDER = ['eventTime', 'eventTimeZoneOffset', 'certificationInfo', 'epcList', 'parentID', 'inputEPCList', 'childEPCs',
  'quantityList', 'childQuantityList', 'inputQuantityList', 'outputEPCList', 'outputQuantityList', 'action',
  'transformationID', 'bizStep', 'disposition', 'persistentDisposition', 'readPoint', 'bizLocation',
  'bizTransactionList', 'sourceList', 'destinationList', 'sensorElementList', 'ilmd'];
const EPC_LISTS = new Set(['epcList', 'inputEPCList', 'childEPCs', 'outputEPCList']);
const QUANTITY_LISTS = new Set(['quantityList', 'childQuantityList', 'inputQuantityList', 'outputQuantityList']);
const TYPED_LISTS = { bizTransactionList: ['bizTransaction', 'BTT-'], sourceList: ['source', 'SDT-'], destinationList: ['destination', 'SDT-'] };
const NOT_HASHED = new Set(['type', 'eventID', 'recordTime', 'errorDeclaration', '@context']);
const URI_FIELDS = new Set(['epc', 'epcClass', 'parentID', 'id', 'transformationID', 'deviceID', 'deviceMetadata',
  'rawData', 'dataProcessingMethod', 'bizRules', 'microorganism', 'chemicalSubstance', 'uriValue',
  'coordinateReferenceSystem', 'source', 'destination', 'certificationInfo']);
const NUMBER_FIELDS = new Set(['quantity', 'value', 'minValue', 'maxValue', 'meanValue', 'sDev', 'percRank', 'percValue']);
const TIME_FIELDS = new Set(['eventTime', 'time', 'startTime', 'endTime']);

export class BadEvent extends Error {}

// Strings sort by code point (UTF-8 byte order), not by UTF-16 unit as Array.sort does.
function codePointCompare(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
const sorted = (list) => list.slice().sort(codePointCompare);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== null && obj[key] !== undefined;

// -- GS1 keys -------------------------------------------------------------------------------------

export function checkDigit(digits) {
  if (!DIGITS.test(digits)) throw new BadEvent(`a GS1 key has digits only, not ${digits}`);
  let total = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[digits.length - 1 - i]);
    total += d * (i % 2 === 0 ? 3 : 1);
  }
  return String((10 - (total % 10)) % 10);
}

function urnParts(urn, scheme, count) {
  const parts = urn.slice(scheme.length).split('.');
  if (parts.length !== count) throw new BadEvent(`malformed EPC URI ${urn}`);
  return parts;
}

function gtin14(cp, item) {
  const body = item.slice(0, 1) + cp + item.slice(1);
  if (body.length !== 13 || !DIGITS.test(body)) throw new BadEvent('bad SGTIN');
  return body + checkDigit(body);
}

export function epcUrnToDl(urn) {
  const forms = [
    ['urn:epc:id:sgtin:', 3, ([cp, item, serial]) => `${CANONICAL_DL}/01/${gtin14(cp, item)}/21/${serial}`],
    ['urn:epc:class:lgtin:', 3, ([cp, item, lot]) => `${CANONICAL_DL}/01/${gtin14(cp, item)}/10/${lot}`],
    ['urn:epc:idpat:sgtin:', 3, ([cp, item]) => `${CANONICAL_DL}/01/${gtin14(cp, item)}`],
    ['urn:epc:id:sscc:', 2, ([cp, ref]) => { const b = ref.slice(0, 1) + cp + ref.slice(1); return `${CANONICAL_DL}/00/${b}${checkDigit(b)}`; }],
    ['urn:epc:id:sgln:', 3, ([cp, loc, ext]) => {
      const gln = cp + loc;
      const out = `${CANONICAL_DL}/414/${gln}${checkDigit(gln)}`;
      return ext === '0' ? out : `${out}/254/${ext}`;
    }],
    ['urn:epc:id:pgln:', 2, ([cp, party]) => `${CANONICAL_DL}/417/${cp + party}${checkDigit(cp + party)}`],
    ['urn:epc:id:giai:', 2, ([cp, asset]) => `${CANONICAL_DL}/8004/${cp}${asset}`],
    ['urn:epc:id:grai:', 3, ([cp, kind, serial]) => { const b = '0' + cp + kind; return `${CANONICAL_DL}/8003/${b}${checkDigit(b)}${serial}`; }],
    ['urn:epc:id:gdti:', 3, ([cp, kind, serial]) => { const b = cp + kind; return `${CANONICAL_DL}/253/${b}${checkDigit(b)}${serial}`; }],
  ];
  for (const [scheme, count, build] of forms) {
    if (urn.startsWith(scheme)) return build(urnParts(urn, scheme, count));
  }
  return null;
}

export function constrainDl(uri) {
  const m = /^(https?):\/\/[^/?#]*([^?#]*)/i.exec(uri);
  if (!m) return null;
  const segments = m[2].split('/');
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i];
    if (PRIMARY.has(key) && i + 1 < segments.length) {
      let pairs = segments.slice(i);
      if (pairs.length % 2) pairs = pairs.slice(0, -1);
      const values = {};
      for (let j = 0; j < pairs.length; j += 2) values[pairs[j]] = pairs[j + 1];
      let value = values[key];
      if (key === '01' && DIGITS.test(value) && [8, 12, 13].includes(value.length)) value = value.padStart(14, '0');
      let out = `${CANONICAL_DL}/${key}/${value}`;
      for (const q of QUALIFIERS[key] || []) {
        if (q in values) { out += `/${q}/${values[q]}`; break; }
      }
      return out;
    }
  }
  return null;
}

// -- values ---------------------------------------------------------------------------------------

export function formatTime(value) {
  const m = typeof value === 'string' ? TIME.exec(value.trim()) : null;
  if (!m) throw new BadEvent(`not a timestamp with a time zone: ${value}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const fraction = (m[7] || '') + '0000';
  const millis = Number(fraction.slice(0, 3)) + (fraction[3] >= '5' ? 1 : 0);
  const zone = m[8];
  const offset = zone === 'Z' ? 0 : (zone[0] === '+' ? 1 : -1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const base = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  base.setUTCFullYear(year); // Date.UTC maps years below 100 to 19xx
  if (base.getUTCFullYear() !== year || base.getUTCMonth() !== month - 1 || base.getUTCDate() !== day ||
      base.getUTCHours() !== hour || base.getUTCMinutes() !== minute || base.getUTCSeconds() !== second) {
    throw new BadEvent(`not a real date/time: ${value}`);
  }
  return new Date(base.getTime() - offset * 60000 + millis).toISOString();
}

// A decimal in plain notation without trailing zeros, from its text (no float arithmetic).
export function plainDecimal(text) {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return null;
  const sign = m[1] === '-' ? '-' : '';
  let digits = m[2] + (m[3] || '');
  let point = m[2].length + (m[4] ? Number(m[4]) : 0);
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (!digits) return sign + '0';
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function formatNumber(value) {
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new BadEvent('numbers must be finite');
    return plainDecimal(String(value));
  }
  const text = String(value).trim();
  const plain = plainDecimal(text);
  return plain === null ? text : plain;
}

export function contextPrefixes(context) {
  const out = {};
  const items = Array.isArray(context) ? context : [context];
  for (const item of items) {
    if (isObject(item)) {
      for (const [k, v] of Object.entries(item)) if (typeof v === 'string' && !k.startsWith('@')) out[k] = v;
    }
  }
  return out;
}

class Hasher {
  constructor(prefixes) { this.prefixes = prefixes; }

  uri(value, barePrefix = null) {
    const text = String(value).trim();
    for (const [urn, web] of URN_VOCAB) if (text.startsWith(urn)) return web + text.slice(urn.length);
    if (text.startsWith('urn:epc:')) return epcUrnToDl(text) || text;
    if (text.startsWith('http://') || text.startsWith('https://')) return constrainDl(text) || text;
    const i = text.indexOf(':');
    if (i >= 0) {
      const prefix = text.slice(0, i);
      if (Object.prototype.hasOwnProperty.call(this.prefixes, prefix)) return this.prefixes[prefix] + text.slice(i + 1);
      return text;
    }
    if (barePrefix !== null && text) return barePrefix + text;
    return text;
  }

  key(name) {
    const i = name.indexOf(':');
    if (i >= 0 && Object.prototype.hasOwnProperty.call(this.prefixes, name.slice(0, i))) {
      return '{' + this.prefixes[name.slice(0, i)] + '}' + name.slice(i + 1);
    }
    return name;
  }

  scalar(name, value) {
    if (typeof value === 'number' || typeof value === 'boolean') return formatNumber(value);
    if (TIME_FIELDS.has(name)) return formatTime(value);
    if (name === 'bizStep') return this.uri(value, CBV + 'BizStep-');
    if (name === 'disposition' || name === 'set' || name === 'unset') return this.uri(value, CBV + 'Disp-');
    if (name === 'exception') return this.uri(value, GS1_VOC);
    if (name === 'component') return this.uri(value, CBV + 'Comp-');
    if (URI_FIELDS.has(name)) return this.uri(value);
    if (NUMBER_FIELDS.has(name)) return formatNumber(value);
    return String(value).trim();
  }

  field(name, value) {
    if (EPC_LISTS.has(name)) {
      const items = sorted(asList(name, value).map((v) => `epc=${this.scalar('epc', v)}`));
      return items.length ? name + items.join('') : '';
    }
    if (QUANTITY_LISTS.has(name)) {
      const items = sorted(objects(name, value).map((q) => 'quantityElement' + this.ordered(q, QUANTITY)));
      return items.length ? name + items.join('') : '';
    }
    if (name in TYPED_LISTS) {
      const [label, vocab] = TYPED_LISTS[name];
      const items = objects(name, value).map((e) => {
        const kind = e.type ? `type=${this.uri(e.type, CBV + vocab)}` : '';
        return kind + `${label}=${this.scalar(label, label in e ? e[label] : '')}`;
      });
      return items.length ? name + sorted(items).join('') : '';
    }
    if (name === 'persistentDisposition') {
      if (!isObject(value)) throw new BadEvent('persistentDisposition must be an object');
      let out = '';
      for (const part of ['set', 'unset']) {
        out += sorted(asList(part, part in value ? value[part] : []).map((v) => `${part}=${this.scalar(part, v)}`)).join('');
      }
      return out ? name + out : '';
    }
    if (name === 'readPoint' || name === 'bizLocation') {
      if (!isObject(value)) throw new BadEvent(`${name} must be an object with an id`);
      return name + this.ordered(value, ['id']);
    }
    if (name === 'sensorElementList') {
      const elements = objects(name, value).map((element) => {
        let text = 'sensorElement';
        if (isObject(element.sensorMetadata)) text += 'sensorMetadata' + this.ordered(element.sensorMetadata, METADATA);
        const reports = objects('sensorReport', 'sensorReport' in element ? element.sensorReport : [])
          .map((r) => 'sensorReport' + this.ordered(r, REPORT));
        text += sorted(reports).join('');
        text += sorted(Object.keys(element).filter((k) => k.includes(':')).map((k) => this.extension(k, element[k]))).join('');
        return text;
      });
      return elements.length ? name + sorted(elements).join('') : '';
    }
    if (name === 'certificationInfo') {
      const values = Array.isArray(value) ? value : [value];
      return sorted(values.map((v) => `certificationInfo=${this.scalar(name, v)}`)).join('');
    }
    if (name === 'ilmd') {
      if (!isObject(value)) throw new BadEvent('ilmd must be an object');
      const entries = sorted(Object.keys(value).map((k) => this.extension(k, value[k])));
      return entries.length ? name + entries.join('') : '';
    }
    return `${name}=${this.scalar(name, value)}`;
  }

  ordered(obj, order) {
    let out = '';
    for (const key of order) {
      if (has(obj, key)) out += key === 'type' ? `type=${this.uri(obj[key], GS1_VOC)}` : `${key}=${this.scalar(key, obj[key])}`;
    }
    const rest = Object.keys(obj).filter((k) => !order.includes(k) && k.includes(':'));
    return out + sorted(rest.map((k) => this.extension(k, obj[k]))).join('');
  }

  extension(name, value) {
    const key = this.key(name);
    if (isObject(value)) {
      return key + sorted(Object.keys(value).filter((k) => !k.startsWith('@')).map((k) => this.extension(k, value[k]))).join('');
    }
    if (Array.isArray(value)) return sorted(value.map((v) => this.extension(name, v))).join('');
    if (typeof value === 'number' || typeof value === 'boolean') return `${key}=${formatNumber(value)}`;
    if (value === null || value === undefined) return `${key}=`;
    return `${key}=${String(value).trim()}`;
  }
}

function asList(name, value) {
  if (!Array.isArray(value)) throw new BadEvent(`${name} must be a list`);
  return value;
}

function objects(name, value) {
  const items = asList(name, value);
  if (!items.every(isObject)) throw new BadEvent(`${name} must be a list of objects`);
  return items;
}

export function preHash(event, context = {}) {
  const prefixes = { ...BUILTIN, ...context, ...contextPrefixes(event['@context']) };
  const h = new Hasher(prefixes);
  if (typeof event.type !== 'string') throw new BadEvent('an event needs a type');
  const out = [`eventType=${event.type}`];
  for (const name of ORDER) if (has(event, name)) out.push(h.field(name, event[name]));
  const extensions = Object.keys(event)
    .filter((k) => !ORDER.includes(k) && !NOT_HASHED.has(k) && k.includes(':'))
    .map((k) => h.extension(k, event[k]));
  return out.concat(sorted(extensions)).join('');
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function eventHashId(event, context = {}) {
  const hex = await sha256Hex(new TextEncoder().encode(preHash(event, context)));
  return `ni:///sha-256;${hex}?ver=CBV2.0`;
}
