// C2SP signed notes carrying tlog checkpoints, verified with WebCrypto Ed25519.
// Mirrors server/domain/trace/checkpoints.py: verifier key "<name>+<hex key hash>+<base64(0x01||key)>",
// signature line "— <name> <base64(key hash (4 bytes) || signature)>" over the note body.

import { equalBytes, fromBase64 } from './merkle.js';

const SIG_PREFIX = '\u2014 ';

export class BadCheckpoint extends Error {}

async function keyHash(name, publicKey) {
  const enc = new TextEncoder().encode(name + '\n');
  const data = new Uint8Array(enc.length + 1 + publicKey.length);
  data.set(enc, 0);
  data[enc.length] = 0x01;
  data.set(publicKey, enc.length + 1);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data)).slice(0, 4);
}

export async function parseVerifierKey(vkey) {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new BadCheckpoint('malformed verifier key');
  const name = vkey.slice(0, first);
  const hashHex = vkey.slice(first + 1, second);
  let raw;
  try { raw = fromBase64(vkey.slice(second + 1)); } catch { throw new BadCheckpoint('malformed verifier key'); }
  if (raw.length !== 33 || raw[0] !== 0x01) throw new BadCheckpoint('not an Ed25519 note key');
  const publicKey = raw.slice(1);
  const hash = await keyHash(name, publicKey);
  if (Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('') !== hashHex) {
    throw new BadCheckpoint('verifier key hash does not match its key');
  }
  return { name, hash, publicKey };
}

// Returns {origin, size, root} or throws BadCheckpoint saying what failed.
export async function openCheckpoint(note, vkey) {
  const { name, hash, publicKey } = await parseVerifierKey(vkey);
  const split = note.indexOf('\n\n');
  if (split <= 0) throw new BadCheckpoint('a signed note has a body, a blank line and signatures');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n').slice(0, -1);
  if (lines.length < 3) throw new BadCheckpoint('a checkpoint has an origin, a size and a root hash');
  const [origin, sizeText, rootText] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new BadCheckpoint('the tree size is not a number');
  let root;
  try { root = fromBase64(rootText); } catch { throw new BadCheckpoint('the root hash is not base64'); }
  if (root.length !== 32) throw new BadCheckpoint('the root hash is not 32 bytes');
  const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  for (const line of note.slice(split + 2).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) continue;
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (rest.slice(0, space) !== name) continue;
    let blob;
    try { blob = fromBase64(rest.slice(space + 1)); } catch { continue; }
    if (!equalBytes(blob.slice(0, 4), hash)) continue;
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), new TextEncoder().encode(body));
    if (!ok) throw new BadCheckpoint('the checkpoint signature does not verify');
    return { origin, size: Number(sizeText), root };
  }
  throw new BadCheckpoint(`the checkpoint is not signed by ${name}`);
}
