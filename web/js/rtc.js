// Shared by whep.js and whip.js: SDP exchange over HTTP (non-trickle), codec ordering, backoff,
// and one error type that the pages turn into a friendly sentence.

export class SignalError extends Error {
  // kind: 'network' | 'unreachable' | 'timeout' | 'http' | 'ice' | 'stalled' | 'unsupported'
  constructor(kind, { status = 0, code = '', serverMessage = '' } = {}) {
    super(serverMessage || code || kind);
    this.name = 'SignalError';
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }
}

// i18n key for an error: pages show t(errorKey(e)), never e.message.
export function errorKey(e) {
  if (!(e instanceof SignalError)) return 'err.server';
  if (e.kind === 'http') {
    const byStatus = { 400: 'err.badRequest', 401: 'err.unauthorized', 403: 'err.forbidden', 404: 'err.notFound', 409: 'err.conflict' };
    return byStatus[e.status] || 'err.server';
  }
  return { network: 'err.network', unreachable: 'err.server', timeout: 'err.timeout', ice: 'err.ice', stalled: 'err.stalled', unsupported: 'err.unsupported' }[e.kind] || 'err.server';
}

export function rtcSupported() {
  return typeof RTCPeerConnection === 'function' && typeof fetch === 'function';
}

// Non-trickle: the offer goes out with every candidate in it. Cap the wait (a STUN server that
// never answers would otherwise hold us up); host candidates are gathered within milliseconds.
export function waitIceGathering(pc, capMs = 2000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const onCandidate = (e) => { if (!e.candidate) done(); };
    const timer = setTimeout(done, capMs);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

// Put the codecs we want first, keep the rest (rtx/red/fec and fallbacks) after them.
// H.264: packetization-mode=1 and constrained baseline (42e0..) first — what every decoder takes.
export function preferCodec(transceiver, kind, mime) {
  try {
    const caps = (window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities(kind))
      || (window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities(kind));
    if (!caps || !transceiver.setCodecPreferences) return false;
    const want = mime.toLowerCase();
    const score = (c) => {
      if (c.mimeType.toLowerCase() !== want) return 0;
      const f = c.sdpFmtpLine || '';
      let s = 10;
      if (/packetization-mode=1/.test(f)) s += 2;
      if (/profile-level-id=42e0/i.test(f)) s += 1;
      return s;
    };
    const codecs = caps.codecs.map((c, i) => ({ c, i, s: score(c) }))
      .sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.c);
    if (!codecs.some((c) => c.mimeType.toLowerCase() === want)) return false;
    transceiver.setCodecPreferences(codecs);
    return true;
  } catch {
    return false; // an older browser: its own order stands
  }
}

// POST an SDP offer; resolve to {answer, location} or throw a SignalError.
export async function postOffer(url, sdp, headers = {}, timeoutMs = 15000) {
  const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = setTimeout(() => ctrl && ctrl.abort(), timeoutMs);
  try {
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...headers },
        body: sdp,
        cache: 'no-store',
        credentials: 'same-origin',
        signal: ctrl ? ctrl.signal : undefined,
      });
    } catch {
      // fetch can't tell "phone offline" from "server down"; navigator.onLine roughly can.
      throw new SignalError(ctrl && ctrl.signal.aborted ? 'timeout' : navigator.onLine === false ? 'network' : 'unreachable');
    }
    let body = '';
    try { body = await res.text(); } catch { throw new SignalError(ctrl && ctrl.signal.aborted ? 'timeout' : 'network'); }
    if (res.status !== 201 && res.status !== 200) {
      let code = '';
      let serverMessage = '';
      try {
        const j = JSON.parse(body);
        code = typeof j.error === 'string' ? j.error : '';
        serverMessage = typeof j.message === 'string' ? j.message.slice(0, 300) : '';
      } catch { /* not JSON: a proxy's error page; say nothing about it */ }
      throw new SignalError('http', { status: res.status, code, serverMessage });
    }
    if (!/^v=0/.test(body.trim())) throw new SignalError('http', { status: res.status, code: 'bad_answer' });
    const loc = res.headers.get('Location');
    const base = res.url || new URL(url, location.href).href;
    return { answer: body, location: loc ? new URL(loc, base).href : null };
  } finally {
    clearTimeout(timer);
  }
}

// End a session. keepalive lets it go out while the page is being closed.
export function deleteSession(url, headers = {}) {
  if (!url) return Promise.resolve();
  return fetch(url, { method: 'DELETE', headers, keepalive: true, cache: 'no-store', credentials: 'same-origin' })
    .then(() => {}, () => {});
}

// 1, 2, 4, 8, 15, 15 … seconds, each ±20% so a crowd of viewers doesn't return in lockstep.
export function backoffMs(attempt, capMs = 15000) {
  const base = Math.min(capMs, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(Math.min(capMs, base * (0.8 + Math.random() * 0.4)));
}

// The connection is "up" once ICE says so; "down" on failed, or disconnected for longer than
// graceMs (a short disconnect often recovers by itself on a phone switching cells).
export function watchConnection(pc, { onUp, onDown, graceMs = 3000 }) {
  let timer = 0;
  let up = false;
  const check = () => {
    const ice = pc.iceConnectionState;
    const conn = pc.connectionState; // undefined in some older webviews
    if (ice === 'failed' || conn === 'failed' || (ice === 'closed' && up)) {
      clearTimeout(timer);
      onDown('ice');
      return;
    }
    if (ice === 'disconnected' || conn === 'disconnected') {
      if (!timer) {
        timer = setTimeout(() => {
          timer = 0;
          if (pc.iceConnectionState === 'disconnected' || pc.connectionState === 'disconnected') onDown('ice');
        }, graceMs);
      }
      return;
    }
    if ((ice === 'connected' || ice === 'completed') && (conn === undefined || conn === 'connected')) {
      clearTimeout(timer);
      timer = 0;
      if (!up) { up = true; onUp(); }
    }
  };
  // The server closing the session (a takeover, the room ending) sends a DTLS close_notify:
  // react to that at once instead of waiting many seconds for ICE consent to expire.
  let dtls = null;
  const onDtls = () => { if (up && (dtls.state === 'closed' || dtls.state === 'failed')) { clearTimeout(timer); onDown('closed'); } };
  const hookDtls = () => {
    const tr = !dtls && pc.getTransceivers().find((x) => x.sender && x.sender.transport);
    if (tr) { dtls = tr.sender.transport; dtls.addEventListener('statechange', onDtls); }
  };
  const onChange = () => { hookDtls(); check(); };
  pc.addEventListener('iceconnectionstatechange', onChange);
  pc.addEventListener('connectionstatechange', onChange);
  return () => {
    clearTimeout(timer);
    pc.removeEventListener('iceconnectionstatechange', onChange);
    pc.removeEventListener('connectionstatechange', onChange);
    if (dtls) dtls.removeEventListener('statechange', onDtls);
  };
}
