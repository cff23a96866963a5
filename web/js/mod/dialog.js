// The one confirmation sheet of the console: what is about to happen to whom, a reason (optional
// for chat actions, required to reject a review), quick reasons to pick with one click, and for a
// timeout the length. Enter confirms, Escape cancels; the focus goes back where it came from.
//
//   const r = await confirmAction({ title, quote, danger: true, minutes: 10, reasonRequired: false });
//   // r: null (cancelled) or { reason, minutes }

import { t } from '../i18n.js';
import { button, el, userText } from './dom.js';

export const TIMEOUTS = [5, 10, 60];

export function confirmAction({
  title, target = '', quote = '', confirm, danger = true, minutes = null,
  reasonRequired = false, reasonMax = 500, reasons = [], note = '',
}) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const dialog = el('dialog', 'mod-dialog');
    dialog.id = 'mod-dialog';
    const form = el('form', 'mod-dialog-form');
    form.method = 'dialog';
    form.noValidate = true;
    const h = el('h2', 'mod-dialog-title', title);
    h.id = 'mod-dialog-title';
    dialog.setAttribute('aria-labelledby', h.id);
    form.append(h);
    if (target) {
      const who = el('p', 'mod-dialog-target');
      who.append(el('span', 'mod-dialog-label', t('mod.dialog.target')), userText('strong', null, target));
      form.append(who);
    }
    if (quote) form.append(userText('blockquote', 'mod-dialog-quote', quote));
    if (note) form.append(el('p', 'mod-dialog-note', note));

    let chosen = minutes;
    if (minutes != null) {
      const set = el('fieldset', 'mod-seg');
      set.append(el('legend', 'mod-dialog-label', t('mod.dialog.duration')));
      for (const m of TIMEOUTS) {
        const label = el('label', 'mod-seg-item');
        const r = el('input');
        r.type = 'radio';
        r.name = 'minutes';
        r.value = String(m);
        r.checked = m === minutes;
        r.addEventListener('change', () => { chosen = m; });
        label.append(r, el('span', null, t('mod.minutes', { n: m })));
        set.append(label);
      }
      form.append(set);
    }

    const field = el('label', 'mod-dialog-field');
    const input = el('input', 'input');
    input.type = 'text';
    input.id = 'mod-reason';
    input.maxLength = reasonMax;
    input.autocomplete = 'off';
    input.placeholder = t(reasonRequired ? 'mod.dialog.reasonRequired' : 'mod.dialog.reasonOptional');
    field.append(el('span', 'mod-dialog-label', t('mod.dialog.reason')), input);
    form.append(field);
    if (reasons.length) {
      const chips = el('div', 'mod-chips');
      for (const r of reasons) {
        const chip = button('mod-chip', r);
        chip.addEventListener('click', () => { input.value = r; input.focus(); error.textContent = ''; });
        chips.append(chip);
      }
      form.append(chips);
    }
    const error = el('p', 'mod-dialog-error');
    error.setAttribute('role', 'alert');
    form.append(error);

    const actions = el('div', 'mod-dialog-actions');
    const cancel = button('btn btn-quiet', t('mod.cancel'));
    const ok = button(`btn ${danger ? 'btn-danger' : 'btn-primary'}`, confirm || t('mod.confirm'), { kind: 'submit' });
    ok.id = 'mod-dialog-confirm';
    actions.append(cancel, ok);
    form.append(actions);
    dialog.append(form);
    document.body.append(dialog);

    const done = (value) => {
      dialog.close();
      dialog.remove();
      if (back && back.isConnected && typeof back.focus === 'function') back.focus();
      resolve(value);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const reason = input.value.trim();
      if (reasonRequired && !reason) { error.textContent = t('mod.dialog.needReason'); input.focus(); return; }
      done({ reason, minutes: chosen });
    });
    cancel.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); done(null); });
    dialog.showModal();
    input.focus();
  });
}

// A photo at full size, over everything; any key or click closes it.
export function showPhoto(src, alt) {
  const dialog = el('dialog', 'mod-photo');
  const img = el('img');
  img.src = src;
  img.alt = alt || '';
  const close = button('mod-photo-close', '×', { title: t('mod.close') });
  dialog.append(img, close);
  document.body.append(dialog);
  const done = () => { dialog.close(); dialog.remove(); };
  dialog.addEventListener('click', done);
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); done(); });
  dialog.showModal();
  close.focus();
}
