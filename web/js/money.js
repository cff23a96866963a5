// Money is integer fen from the server; this formats it for people (server/domain/commerce/money.py
// does the same on the server): "¥12.8", whole yuan without decimals "¥10", negative "-¥5".

export function yuan(fen) {
  const n = Math.round(Number(fen) || 0);
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  const whole = Math.floor(a / 100);
  const cents = a % 100;
  return `${sign}¥${whole}${cents ? '.' + String(cents).padStart(2, '0').replace(/0$/, '') : ''}`;
}
