// WHIP publisher (RFC 9725): send a camera + microphone MediaStream to the server.
//
//   const pub = new WhipPublisher('/whip/demo-farm', { token: 'sk_…' });
//   pub.addEventListener('state', (e) => e.detail);  // {state, error, retryAt}
//   await pub.start(stream);              // or start(stream, { takeover: true }) after a 409
//   await pub.replaceTrack(newVideoTrack); // switch camera while live
//   await pub.stop();
//
// States: idle → connecting → live; a dropped connection → reconnecting (backoff) → live;
// a refusal (401/403/404/409…) → error, with the SignalError; stop() → idle.

import {
  SignalError, backoffMs, deleteSession, postOffer, preferCodec, rtcSupported, waitIceGathering,
  watchConnection,
} from './rtc.js';

const CONNECT_TIMEOUT_MS = 15000;

export class WhipPublisher extends EventTarget {
  constructor(url, { token = '', iceServers = [], maxVideoBitrate = 2500000 } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.iceServers = iceServers;
    this.maxVideoBitrate = maxVideoBitrate;
    this.pc = null;
    this.stream = null;
    this.state = 'idle';
    this.error = null;
    this.session = null;
    this.attempt = 0;
    this._gen = 0;
    this._timers = new Set();
    this._unwatch = null;
  }

  get _auth() { return this.token ? { Authorization: `Bearer ${this.token}` } : {}; }

  // Resolves true once the server accepted the offer (ICE may still be coming up), false if it
  // refused; the 'state' event carries the details either way.
  async start(stream, { takeover = false } = {}) {
    if (!rtcSupported()) {
      this._set('error', { error: new SignalError('unsupported') });
      return false;
    }
    this.stream = stream;
    this.attempt = 0;
    this._wasLive = false;
    return this._connect({ takeover });
  }

  async stop() {
    this._gen++;
    this._teardown();
    this._set('idle', { error: null });
  }

  // Camera or microphone switched: swap the track without renegotiating.
  async replaceTrack(track) {
    if (this.stream) {
      for (const old of this.stream.getTracks()) if (old.kind === track.kind && old !== track) this.stream.removeTrack(old);
      if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    }
    if (!this.pc) return;
    const sender = this._senders && this._senders[track.kind];
    if (sender) await sender.replaceTrack(track);
  }

  async getStats() { return this.pc ? this.pc.getStats() : null; }

  _set(state, extra = {}) {
    this.state = state;
    if ('error' in extra) this.error = extra.error;
    else if (state === 'live') this.error = null;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, error: this.error, attempt: this.attempt, wasLive: !!this._wasLive, ...extra } }));
  }

  _later(fn, ms) {
    const id = setTimeout(() => { this._timers.delete(id); fn(); }, ms);
    this._timers.add(id);
    return id;
  }

  async _connect({ takeover = false } = {}) {
    const gen = ++this._gen;
    this._teardown();
    this._set(this.attempt === 0 ? 'connecting' : 'reconnecting', { trying: true });

    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    this._unwatch = watchConnection(pc, {
      onUp: () => {
        if (gen !== this._gen) return;
        this.attempt = 0;
        this._wasLive = true;
        this._set('live');
      },
      onDown: () => this._drop(gen, new SignalError('ice')),
    });

    try {
      const video = this.stream.getVideoTracks()[0];
      const audio = this.stream.getAudioTracks()[0];
      // Always negotiate both m-lines so a track added later (mic plugged in) is a replaceTrack.
      const vt = pc.addTransceiver(video || 'video', {
        direction: 'sendonly',
        streams: [this.stream],
        sendEncodings: [{ maxBitrate: this.maxVideoBitrate, maxFramerate: 30 }],
      });
      const at = pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [this.stream] });
      this._senders = { video: vt.sender, audio: at.sender };
      preferCodec(vt, 'video', 'video/H264');
      preferCodec(at, 'audio', 'audio/opus');
      await pc.setLocalDescription(await pc.createOffer());
      await waitIceGathering(pc, 2000);
      if (gen !== this._gen) return false;
      const headers = { ...this._auth };
      if (takeover) headers['X-Fieldcast-Takeover'] = '1';
      const { answer, location } = await postOffer(this.url, pc.localDescription.sdp, headers);
      if (gen !== this._gen) { deleteSession(location, this._auth); return false; }
      this.session = location;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      this._later(() => {
        if (gen === this._gen && this.state !== 'live') this._drop(gen, new SignalError('ice'));
      }, CONNECT_TIMEOUT_MS);
      return true;
    } catch (e) {
      const err = e instanceof SignalError ? e : new SignalError('ice');
      if (gen !== this._gen) return false;
      this._drop(gen, err);
      return false;
    }
  }

  // A refusal (wrong key, someone else live…) or a failure before we were ever live needs the
  // host: stop and say why. A connection lost while live is retried with backoff, like OBS does.
  _drop(gen, error) {
    if (gen !== this._gen) return;
    this._gen++;
    this._teardown();
    const refused = error.kind === 'http' && error.status >= 400 && error.status < 500;
    if (refused || !this._wasLive) {
      this._set('error', { error });
      return;
    }
    const delay = backoffMs(this.attempt);
    this.attempt++;
    const next = this._gen;
    this._later(() => { if (next === this._gen) this._connect(); }, delay);
    this._set('reconnecting', { error, retryAt: Date.now() + delay, trying: false });
  }

  _teardown() {
    for (const id of this._timers) clearTimeout(id);
    this._timers.clear();
    if (this._unwatch) { this._unwatch(); this._unwatch = null; }
    if (this.pc) { try { this.pc.close(); } catch { /* already closed */ } this.pc = null; }
    if (this.session) { deleteSession(this.session, this._auth); this.session = null; }
  }
}
