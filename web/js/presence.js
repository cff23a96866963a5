// Viewer count and live flag for a room. Socket.IO first (the client is loaded lazily from
// /static/vendor so it never delays the video); while it can't connect, poll the room API.
//
//   const p = watchPresence('demo-farm', ({ viewers, live, publishing }) => …);  … p.stop();
//   (a field the server didn't send comes as null)

const SCRIPT = '/static/vendor/socket.io.min.js';
const POLL_MS = 5000;

let loading = null;
function loadClient() {
  if (window.io) return Promise.resolve(window.io);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = SCRIPT;
      s.async = true;
      s.onload = () => (window.io ? resolve(window.io) : reject(new Error('no io')));
      s.onerror = () => { loading = null; reject(new Error('load failed')); };
      document.head.appendChild(s);
    });
  }
  return loading;
}

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

  loadClient().then((io) => {
    if (stopped) return;
    socket = io({ path: '/socket.io/', reconnectionDelayMax: 15000, timeout: 8000 });
    socket.on('connect', () => {
      connected = true;
      stopPolling();
      // The server may answer the join with the current state ({ok, presence}); events follow.
      socket.emit('join', { room: roomId }, (ack) => emit(ack && ack.presence));
    });
    socket.on('presence', emit);
    socket.on('connect_error', () => { connected = false; startPolling(); });
    socket.on('disconnect', () => { connected = false; startPolling(); });
  }, startPolling);

  // Poll once straight away too, unless the socket beats it: the count shows up immediately.
  setTimeout(() => { if (!connected) startPolling(); }, 1500);

  return {
    get connected() { return connected; },
    stop() {
      stopped = true;
      stopPolling();
      if (socket) socket.disconnect();
    },
  };
}
