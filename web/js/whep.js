// WHEP player: watch a room over WebRTC. One recvonly RTCPeerConnection per session, offer sent
// once ICE gathering is complete (the server doesn't trickle), automatic reconnect with backoff.
//
//   const p = new WhepPlayer('/whep/demo-farm', { video });
//   p.addEventListener('state', (e) => e.detail);  // {state, error, retryAt, attempt}
//   p.start(); … p.stop();
//
// States: idle → connecting → playing; on trouble → reconnecting (waiting, then trying) → playing;
// stop() → stopped.

import {
  SignalError, backoffMs, deleteSession, postOffer, preferCodec, rtcSupported, waitIceGathering,
  watchConnection,
} from './rtc.js';

const CONNECT_TIMEOUT_MS = 12000; // answer received but ICE never comes up
const STALL_MS = 12000; // connected but no bytes arriving (the server sends a slate when idle)

export class WhepPlayer extends EventTarget {
  constructor(url, { video, iceServers = [] } = {}) {
    super();
    this.url = url;
    this.video = video;
    this.iceServers = iceServers;
    this.pc = null;
    this.state = 'idle';
    this.error = null;
    this.attempt = 0;
    this.session = null;
    this._gen = 0;
    this._timers = new Set();
    this._unwatch = null;
    this._retryTimer = 0;
  }

  start() {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    if (!rtcSupported()) {
      this._set('failed', { error: new SignalError('unsupported') });
      return;
    }
    this.attempt = 0;
    this._connect();
  }

  // Skip the rest of a backoff wait (the page came back to the foreground, the network returned,
  // the host went live).
  retryNow() {
    if (this.state === 'reconnecting' && this._retryTimer) {
      clearTimeout(this._retryTimer);
      this._retryTimer = 0;
      this._connect();
    }
  }

  stop() {
    this._gen++;
    clearTimeout(this._retryTimer);
    this._retryTimer = 0;
    this._teardown();
    this._set('stopped');
  }

  // What automated tests and a debug overlay want: inbound video/audio counters.
  async stats() {
    const pc = this.pc;
    const out = { state: this.state, framesDecoded: 0, framesDropped: 0, framesPerSecond: 0, frameWidth: 0, frameHeight: 0, bytesReceived: 0, packetsReceived: 0, packetsLost: 0, jitter: 0, freezeCount: 0, keyFramesDecoded: 0, codec: '', audio: null, rttMs: null };
    if (!pc) return out;
    const report = await pc.getStats();
    const codecs = new Map();
    let video = null;
    let audio = null;
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'codec') codecs.set(s.id, s.mimeType);
      else if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video') video = s;
      else if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'audio') audio = s;
      else if (s.type === 'candidate-pair' && (s.selected || s.nominated) && s.state === 'succeeded') pair = s;
    });
    if (video) {
      for (const k of ['framesDecoded', 'framesDropped', 'framesPerSecond', 'frameWidth', 'frameHeight', 'bytesReceived', 'packetsReceived', 'packetsLost', 'jitter', 'freezeCount', 'keyFramesDecoded']) {
        if (typeof video[k] === 'number') out[k] = video[k];
      }
      out.codec = codecs.get(video.codecId) || '';
    }
    if (audio) {
      out.audio = { bytesReceived: audio.bytesReceived || 0, packetsReceived: audio.packetsReceived || 0, packetsLost: audio.packetsLost || 0, codec: codecs.get(audio.codecId) || '' };
    }
    if (pair && typeof pair.currentRoundTripTime === 'number') out.rttMs = Math.round(pair.currentRoundTripTime * 1000);
    return out;
  }

  _set(state, extra = {}) {
    this.state = state;
    if ('error' in extra) this.error = extra.error;
    else if (state === 'playing') this.error = null;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, error: this.error, attempt: this.attempt, everPlayed: !!this.everPlayed, ...extra } }));
  }

  _later(fn, ms) {
    const id = setTimeout(() => { this._timers.delete(id); fn(); }, ms);
    this._timers.add(id);
    return id;
  }

  async _connect() {
    const gen = ++this._gen;
    this._teardown();
    this._set(this.attempt === 0 ? 'connecting' : 'reconnecting', { trying: true });

    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    } catch {
      this._set('failed', { error: new SignalError('unsupported') });
      return;
    }
    this.pc = pc;
    const stream = new MediaStream();
    pc.addEventListener('track', (e) => {
      if (gen !== this._gen) return;
      stream.addTrack(e.track);
      // Swap only when the new session delivers, so a reconnect shows the last frame, not black.
      if (this.video && this.video.srcObject !== stream) this.video.srcObject = stream;
      this._play();
    });
    const fail = (error) => this._fail(gen, error);
    this._unwatch = watchConnection(pc, {
      onUp: () => {
        if (gen !== this._gen) return;
        this.attempt = 0;
        this.everPlayed = true;
        this._set('playing');
        this._watchStall(gen);
      },
      onDown: () => fail(new SignalError('ice')),
    });

    try {
      const v = pc.addTransceiver('video', { direction: 'recvonly' });
      const a = pc.addTransceiver('audio', { direction: 'recvonly' });
      preferCodec(v, 'video', 'video/H264');
      preferCodec(a, 'audio', 'audio/opus');
      await pc.setLocalDescription(await pc.createOffer());
      await waitIceGathering(pc, 2000);
      if (gen !== this._gen) return;
      const { answer, location } = await postOffer(this.url, pc.localDescription.sdp);
      if (gen !== this._gen) { deleteSession(location); return; }
      this.session = location;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      this._later(() => {
        if (gen === this._gen && this.state !== 'playing') fail(new SignalError('ice'));
      }, CONNECT_TIMEOUT_MS);
    } catch (e) {
      fail(e instanceof SignalError ? e : new SignalError('ice'));
    }
  }

  _fail(gen, error) {
    if (gen !== this._gen) return;
    this._gen++;
    this._teardown();
    const delay = backoffMs(this.attempt);
    this.attempt++;
    this._retryTimer = setTimeout(() => { this._retryTimer = 0; this._connect(); }, delay);
    this._set('reconnecting', { error, retryAt: Date.now() + delay, trying: false });
  }

  _teardown() {
    for (const id of this._timers) clearTimeout(id);
    this._timers.clear();
    if (this._unwatch) { this._unwatch(); this._unwatch = null; }
    if (this.pc) { try { this.pc.close(); } catch { /* already closed */ } this.pc = null; }
    if (this.session) { deleteSession(this.session); this.session = null; }
  }

  _watchStall(gen) {
    let last = -1;
    let since = Date.now();
    const tick = async () => {
      if (gen !== this._gen || !this.pc) return;
      let bytes = 0;
      try {
        const r = await this.pc.getStats();
        r.forEach((s) => { if (s.type === 'inbound-rtp') bytes += s.bytesReceived || 0; });
      } catch { /* closed meanwhile */ }
      if (gen !== this._gen) return;
      if (bytes !== last) { last = bytes; since = Date.now(); }
      else if (Date.now() - since > STALL_MS) { this._fail(gen, new SignalError('stalled')); return; }
      this._later(tick, 2000);
    };
    this._later(tick, 2000);
  }

  _play() {
    const v = this.video;
    if (!v || !v.paused) return;
    const p = v.play();
    if (p && p.catch) {
      p.catch((e) => {
        if (e && e.name === 'NotAllowedError') this.dispatchEvent(new CustomEvent('autoplay-blocked'));
      });
    }
  }
}
