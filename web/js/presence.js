// Viewer count and live flag for a room. Socket.IO first (the page's shared connection, see
// socket.js); while it can't connect, poll the room API.
//
//   const p = watchPresence('demo-farm', ({ viewers, live, publishing }) => …);  … p.stop();
//   (a field the server didn't send comes as null)

import { roomSocket } from './socket.js';

const POLL_MS = 5000;

export function watchPresence(roomId, onUpdate, { pollMs = POLL_MS } = {}) {
  let stopped = false;
  let socket = null;
  let pollTimer = 0;
  let polling = false;
  let connected = false;

  // live: a programme is on air (host or demo camera); publishing: a host is sending.
  const emit = (p) => {
    if (stopped || !p || typeof p !== 'object' || (p.room != null && p.room !== roomId)) return;
    const bool = (v) => (typeof v === 'boolean' ? v : null);
    const viewers = Number(p.viewers);
    onUpdate({ viewers: Number.isFinite(viewers) ? viewers : null, live: bool(p.live), publishing: bool(p.publishing) });
  };

  const poll = async () => {
    pollTimer = 0;
    if (stopped || connected) { polling = false; return; }
    if (!document.hidden) {
      try {
        const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`, { cache: 'no-store', credentials: 'same-origin' });
        if (r.ok) {
          const j = await r.json();
          if (!connected) emit(j);
        }
      } catch { /* offline: try again next round */ }
    }
    if (!stopped && !connected) pollTimer = setTimeout(poll, pollMs);
    else polling = false;
  };
  const startPolling = () => {
    if (polling || stopped || connected) return;
    polling = true;
    poll();
  };
  const stopPolling = () => {
    polling = false;
    clearTimeout(pollTimer);
    pollTimer = 0;
  };

  const onConnect = () => {
    connected = true;
    stopPolling();
    // The server may answer the join with the current state ({ok, presence}); events follow.
    socket.emit('join', { room: roomId }, (ack) => emit(ack && ack.presence));
  };
  const onDown = () => { connected = false; startPolling(); };

  // The socket is shared with the other panels: stop() only stops listening.
  const on = [['connect', onConnect], ['presence', emit], ['connect_error', onDown], ['disconnect', onDown]];
  roomSocket().then((shared) => {
    if (stopped) return;
    socket = shared;
    for (const [name, fn] of on) socket.on(name, fn);
    if (socket.connected) onConnect();
  }, startPolling);

  // Poll once straight away too, unless the socket beats it: the count shows up immediately.
  setTimeout(() => { if (!connected) startPolling(); }, 1500);

  return {
    get connected() { return connected; },
    stop() {
      stopped = true;
      stopPolling();
      if (socket) for (const [name, fn] of on) socket.off(name, fn);
    },
  };
}
