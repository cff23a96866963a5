// The trace page's own verification, run in the browser on what the server sent: the checkpoint's
// signature, each event's CBV hash and its inclusion proof, the photos' hashes, and consistency
// with the checkpoint this browser saw last time. Nothing here trusts the server's word.

import { eventHashId, sha256Hex } from './epcis-hash.js';
import { fromBase64, leafHash, toBase64, verifyConsistency, verifyInclusion } from './merkle.js';
import { openCheckpoint } from './note.js';

const MEMORY = 'fieldcast.trace.log:';
export const PHOTO_FIELD = 'fieldcast:photos';

function photoHashes(event) {
  const value = event[PHOTO_FIELD];
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.map((u) => /^ni:\/\/\/sha-256;([0-9a-f]{64})$/.exec(String(u))).filter(Boolean).map((m) => m[1]);
}

export function defaultMemory() {
  return {
    load(origin) {
      try { return JSON.parse(localStorage.getItem(MEMORY + origin) || 'null'); } catch { return null; }
    },
    save(origin, value) {
      try { localStorage.setItem(MEMORY + origin, JSON.stringify(value)); } catch { /* private mode */ }
    },
  };
}

async function fetchJson(url) {
  const resp = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}

async function fetchBytes(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return new Uint8Array(await resp.arrayBuffer());
}

// -> {ok, steps: [{step, ok, detail, index?}], checkpoint}
export async function verifyTrail(trail, opts = {}) {
  const getJson = opts.fetchJson || fetchJson;
  const getBytes = opts.fetchBytes || fetchBytes;
  const memory = opts.memory || defaultMemory();
  const steps = [];
  const add = (step, ok, detail = '', index = null) => { steps.push({ step, ok, detail, index }); return ok; };

  let head;
  try {
    head = await openCheckpoint(trail.checkpoint || '', trail.log.verifier_key);
    add('signature', true, `${head.origin} #${head.size}`);
  } catch (err) {
    add('signature', false, String(err.message || err));
    return { ok: false, steps, checkpoint: null };
  }
  add('origin', head.origin === trail.log.origin, head.origin);

  const remembered = memory.load(head.origin);
  if (remembered && remembered.vkey !== trail.log.verifier_key) {
    add('key', false, 'the log\u2019s signing key changed since this browser last checked it');
  }

  for (const item of trail.events) {
    let event;
    try { event = JSON.parse(item.body); } catch {
      add('event', false, 'unreadable event', item.index);
      continue;
    }
    try {
      const id = await eventHashId(event);
      add('event', id === event.eventID, id === event.eventID ? id : `content hashes to ${id}, not ${event.eventID}`, item.index);
    } catch (err) {
      add('event', false, String(err.message || err), item.index);
    }
    const leaf = await leafHash(new TextEncoder().encode(item.body));
    const proof = item.proof.map(fromBase64);
    const included = await verifyInclusion(item.index, head.size, leaf, proof, head.root);
    add('inclusion', included, included ? `#${item.index}` : `entry #${item.index} is not in the signed tree`, item.index);
    for (const hex of photoHashes(event)) {
      try {
        const got = await sha256Hex(await getBytes(`/api/trace/photos/${hex}`));
        add('photo', got === hex, got === hex ? hex.slice(0, 12) : `photo ${hex.slice(0, 12)} has changed`, item.index);
      } catch (err) {
        add('photo', false, `photo ${hex.slice(0, 12)} is missing`, item.index);
      }
    }
  }

  if (remembered && remembered.size > 0) {
    const oldRoot = fromBase64(remembered.root);
    let consistent = false;
    let detail = `${remembered.size} \u2192 ${head.size}`;
    if (remembered.size > head.size) {
      detail = `the log shrank from ${remembered.size} to ${head.size} entries`;
    } else {
      try {
        const answer = await getJson(`/api/trace/proof/consistency?from=${remembered.size}&to=${head.size}`);
        consistent = await verifyConsistency(remembered.size, head.size, oldRoot, head.root, answer.proof.map(fromBase64));
        if (!consistent) detail = `the log no longer contains what it held at ${remembered.size} entries`;
      } catch (err) {
        detail = String(err.message || err);
      }
    }
    add('consistency', consistent, detail);
  }

  const ok = steps.every((s) => s.ok);
  if (ok && (!remembered || head.size >= remembered.size)) {
    memory.save(head.origin, { vkey: trail.log.verifier_key, size: head.size, root: toBase64(head.root) });
  }
  return { ok, steps, checkpoint: { origin: head.origin, size: head.size, root: toBase64(head.root) } };
}
