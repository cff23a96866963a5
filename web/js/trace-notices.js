// Cold-chain notices for the signed-in buyer: the list (for the order page) and live arrivals over
// Socket.IO. Usage: mountTraceNotices(containerElement). Text goes in as textContent only.

import { extend, lang, t } from './i18n.js';
import { roomSocket } from './socket.js';

extend({
  zh: { 'notice.title': '冷链异常通知', 'notice.order': '订单 #{id}', 'notice.trace': '查看溯源记录' },
  en: { 'notice.title': 'Cold-chain notice', 'notice.order': 'Order #{id}', 'notice.trace': 'See the trace record' },
});

function card(n) {
  const box = document.createElement('article');
  box.className = 'trace-notice';
  box.dataset.order = n.order_id;
  const title = document.createElement('strong');
  title.textContent = `${t('notice.title')} · ${t('notice.order', { id: n.order_id })}`;
  const message = document.createElement('p');
  message.textContent = lang === 'zh' ? n.message : n.message_en;
  const offer = document.createElement('p');
  offer.textContent = lang === 'zh' ? n.offer : n.offer_en;
  box.append(title, message, offer);
  if (n.trace_url) {
    const link = document.createElement('a');
    link.href = n.trace_url;
    link.textContent = t('notice.trace');
    box.append(link);
  }
  return box;
}

export async function mountTraceNotices(container) {
  const resp = await fetch('/api/me/trace-notices', { credentials: 'same-origin' }).catch(() => null);
  if (resp && resp.ok) for (const n of await resp.json()) container.append(card(n));
  const socket = await roomSocket();
  const subscribe = () => socket.emit('trace:subscribe', null, () => {});
  socket.on('connect', subscribe);
  if (socket.connected) subscribe();
  socket.on('trace:breach_notice', (n) => container.prepend(card(n)));
}
