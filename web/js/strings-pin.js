// Strings for the studio's product card (studio-shop.js, loaded after the page).
import { extend } from './i18n.js';

extend({
  zh: {
    'pin.title': '商品讲解',
    'pin.hint': '讲解的商品会以卡片显示在直播画面和每位观众的页面上。',
    'pin.pin': '讲解',
    'pin.unpin': '取消讲解',
    'pin.now': '讲解中',
    'pin.stock': '库存 {n}',
    'pin.noSession': '还没有直播场次：请运营在后台创建场次并上架商品。',
    'pin.noProducts': '本场还没有上架商品。',
    'pin.err.noKey': '请先在“推流设置”里填写推流密钥，再讲解商品',
    'pin.err.key': '推流密钥不正确，无法讲解商品',
    'pin.err.offline': '网络连接失败，请重试',
    'pin.err.generic': '操作失败：{m}',
  },
  en: {
    'pin.title': 'Products',
    'pin.hint': 'The product you explain shows as a card on the stream and on every viewer\u2019s page.',
    'pin.pin': 'Explain',
    'pin.unpin': 'Stop',
    'pin.now': 'Now',
    'pin.stock': '{n} in stock',
    'pin.noSession': 'No live session yet: the operator starts one with its products.',
    'pin.noProducts': 'No products in this session yet.',
    'pin.err.noKey': 'Enter the stream key under Stream settings to explain products',
    'pin.err.key': 'Wrong stream key: can\u2019t explain products',
    'pin.err.offline': 'Network error — try again',
    'pin.err.generic': 'Couldn\u2019t do that: {m}',
  },
});
