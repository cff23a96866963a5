// Strings for the testimonial wall (真实好评 + 晒单).
import { extend } from './i18n.js';

extend({
  zh: {
    'wall.list': '买家好评',
    'wall.summary': '{n} 条已购买家的真实好评',
    'wall.average': '平均 {r} 星',
    'wall.empty': '还没有买家晒单',
    'wall.verified': '已购',
    'wall.verifiedTitle': '收货后发表的评价（已核实购买）',
    'wall.stars': '{n} 星',
    'wall.photo': '{name} 的晒单照片 {i}',
    'wall.close': '关闭',
    'wall.new': '新的买家好评',
  },
  en: {
    'wall.list': 'Buyer reviews',
    'wall.summary': '{n} reviews from verified buyers',
    'wall.average': '{r} stars on average',
    'wall.empty': 'No buyer reviews yet',
    'wall.verified': 'Verified buyer',
    'wall.verifiedTitle': 'Written after the order was received (purchase verified)',
    'wall.stars': '{n} stars',
    'wall.photo': 'Photo {i} by {name}',
    'wall.close': 'Close',
    'wall.new': 'New buyer review',
  },
});
