// One Socket.IO connection per page, shared by every panel. The client loads lazily (never
// delays the video). Reconnect after signing in: the server reads who you are on connect.

const SCRIPT = '/static/vendor/socket.io.min.js';

let loading = null;
let socket = null;

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

export function roomSocket() {
  if (socket) return Promise.resolve(socket);
  return loadClient().then((io) => {
    if (!socket) socket = io({ path: '/socket.io/', reconnectionDelayMax: 15000, timeout: 8000 });
    return socket;
  });
}

export function reconnectSocket() {
  if (socket) socket.disconnect().connect();
}
