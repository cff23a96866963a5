// Strings for the viewer page; shared ones (errors, states, language) live in i18n.js.
import { extend } from './i18n.js';

extend({
  zh: {
    'viewers.aria': '{n} 人在看',
    'unmute': '点击开启声音',
    'tapToPlay': '点击播放',
    'panel.tabs': '直播间面板',
    'panel.shop': '商品',
    'panel.chat': '聊天',
    'panel.qa': '问答',
    'panel.wall': '好评',
    'panel.collapse': '收起',
    'panel.shop.empty': '商品即将上架',
    'panel.chat.empty': '聊天暂未开放',
    'panel.qa.empty': '问答暂未开放',
    'err.notFoundHint': '请检查链接是否正确',
  },
  en: {
    'viewers.aria': '{n} watching',
    'unmute': 'Tap for sound',
    'tapToPlay': 'Tap to play',
    'panel.tabs': 'Live room panels',
    'panel.shop': 'Shop',
    'panel.chat': 'Chat',
    'panel.qa': 'Q&A',
    'panel.wall': 'Reviews',
    'panel.collapse': 'Hide',
    'panel.shop.empty': 'Products will appear here',
    'panel.chat.empty': 'Chat is not open yet',
    'panel.qa.empty': 'Q&A is not open yet',
    'err.notFoundHint': 'Check that the link is right',
  },
});
