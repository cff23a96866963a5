// A printable sheet of QR labels for one batch (/trace/labels/{gtin}/{lot}?count=24): each label
// is the SVG QR of the batch's GS1 Digital Link with the product name and lot as text.

const m = /^\/trace\/labels\/([0-9]{8,14})\/([^/]+)$/.exec(location.pathname);
const sheet = document.getElementById('sheet');

async function main() {
  if (!m) return;
  const [gtin, lot] = [m[1], decodeURIComponent(m[2])];
  const resp = await fetch(`/api/trace/batches/${gtin}/${encodeURIComponent(lot)}`);
  if (!resp.ok) { document.getElementById('link').textContent = '找不到这个批次 No such batch'; return; }
  const trail = await resp.json();
  document.getElementById('link').textContent = trail.batch.digital_link;
  const count = Math.max(1, Math.min(200, Number(new URLSearchParams(location.search).get('count')) || 24));
  const src = `/api/trace/batches/${gtin}/${encodeURIComponent(lot)}/qr.svg`;
  for (let i = 0; i < count; i++) {
    const label = document.createElement('div');
    label.className = 'label';
    const img = document.createElement('img');
    img.src = src;
    img.alt = trail.batch.digital_link;
    const name = document.createElement('b');
    name.textContent = trail.batch.product;
    const line = document.createElement('span');
    line.textContent = `批次 Lot ${trail.batch.lot} · ${trail.batch.farm}`;
    label.append(img, name, line);
    sheet.append(label);
  }
}

main();
