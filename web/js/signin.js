// A minimal sign-in sheet: a one-time code (which also creates the account) or a password.
//
//   const user = await openSignIn();   // the signed-in user, or null if dismissed
//
// The session cookie is HttpOnly and set by the server; the page only learns who signed in.

import './strings-chat.js';
import { t } from './i18n.js';
import { el } from './el.js';

function field(labelKey, input) {
  const wrap = el('label', 'sheet-field');
  wrap.append(el('span', 'sheet-label', t(labelKey)), input);
  return wrap;
}

function input(type, attrs) {
  const i = el('input', 'sheet-input');
  i.type = type;
  for (const [k, v] of Object.entries(attrs || {})) i.setAttribute(k, v);
  return i;
}

async function post(url, body) {
  let r;
  try {
    r = await fetch(url, {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
  } catch {
    return { status: 0, body: null };
  }
  let json = null;
  try { json = await r.json(); } catch { /* empty */ }
  return { status: r.status, body: json };
}

let open = null;

export function openSignIn() {
  if (open) return open;
  open = new Promise((resolve) => {
    const dialog = el('dialog', 'sheet signin-sheet');
    dialog.setAttribute('aria-labelledby', 'signin-title');
    const form = el('form', 'sheet-form');
    form.noValidate = true;
    const title = el('h2', 'sheet-title', t('signin.title'));
    title.id = 'signin-title';

    const modes = el('div', 'sheet-tabs');
    modes.setAttribute('role', 'tablist');
    const byCode = el('button', 'sheet-tab', t('signin.byCode'));
    const byPassword = el('button', 'sheet-tab', t('signin.byPassword'));
    for (const b of [byCode, byPassword]) { b.type = 'button'; b.setAttribute('role', 'tab'); }
    modes.append(byCode, byPassword);

    const ident = input('text', { autocomplete: 'username', inputmode: 'email', name: 'identifier', maxlength: '254', id: 'signin-identifier' });
    const code = input('text', { autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '\\d{6}', maxlength: '6', name: 'code', id: 'signin-code' });
    const getCode = el('button', 'btn btn-quiet btn-small sheet-getcode', t('signin.getCode'));
    getCode.type = 'button';
    getCode.id = 'signin-getcode';
    const codeRow = el('div', 'sheet-row');
    codeRow.append(field('signin.code', code), getCode);
    const password = input('password', { autocomplete: 'current-password', name: 'password', maxlength: '128', id: 'signin-password' });
    const newAccount = input('checkbox', { id: 'signin-new' });
    const newLabel = el('label', 'sheet-check');
    newLabel.append(newAccount, el('span', null, t('signin.newAccount')));
    const nickname = input('text', { autocomplete: 'nickname', name: 'nickname', maxlength: '24', id: 'signin-nickname' });
    const nickField = field('signin.nickname', nickname);
    const hint = el('p', 'sheet-hint', t('signin.hint'));
    const error = el('p', 'sheet-error');
    error.setAttribute('role', 'alert');
    error.id = 'signin-error';
    const actions = el('div', 'sheet-actions');
    const cancel = el('button', 'btn btn-quiet', t('signin.cancel'));
    cancel.type = 'button';
    const submit = el('button', 'btn btn-primary', t('signin.submit'));
    submit.type = 'submit';
    submit.id = 'signin-submit';
    actions.append(cancel, submit);
    const passwordField = field('signin.password', password);
    form.append(title, modes, field('signin.identifier', ident), codeRow, passwordField, newLabel, nickField, hint, error, actions);
    dialog.append(form);
    document.body.append(dialog);

    let mode = 'code';
    let resendTimer = 0;
    const paint = () => {
      byCode.setAttribute('aria-selected', String(mode === 'code'));
      byPassword.setAttribute('aria-selected', String(mode === 'password'));
      codeRow.hidden = hint.hidden = mode !== 'code';
      passwordField.hidden = newLabel.hidden = mode !== 'password';
      nickField.hidden = mode !== 'password' || !newAccount.checked;
      password.autocomplete = newAccount.checked ? 'new-password' : 'current-password';
      submit.textContent = t(mode === 'password' && newAccount.checked ? 'signin.register' : 'signin.submit');
      error.textContent = '';
    };
    byCode.addEventListener('click', () => { mode = 'code'; paint(); });
    byPassword.addEventListener('click', () => { mode = 'password'; paint(); });
    newAccount.addEventListener('change', paint);
    paint();

    const fail = (key) => { error.textContent = t(key); };
    const finish = (user) => {
      clearInterval(resendTimer);
      dialog.close();
      dialog.remove();
      open = null;
      resolve(user);
    };

    getCode.addEventListener('click', async () => {
      if (!ident.value.trim()) { fail('signin.err.identifier'); ident.focus(); return; }
      getCode.disabled = true;
      const r = await post('/api/auth/code', { identifier: ident.value.trim() });
      if (r.status === 202) {
        error.textContent = '';
        hint.textContent = t('signin.codeSent');
        let left = 60;
        getCode.textContent = t('signin.resendIn', { s: left });
        resendTimer = setInterval(() => {
          left -= 1;
          if (left > 0) { getCode.textContent = t('signin.resendIn', { s: left }); return; }
          clearInterval(resendTimer);
          getCode.disabled = false;
          getCode.textContent = t('signin.getCode');
        }, 1000);
        code.focus();
        return;
      }
      getCode.disabled = false;
      if (r.status === 0) fail('signin.err.network');
      else if (r.status === 501) { fail('signin.err.noCodes'); mode = 'password'; paint(); fail('signin.err.noCodes'); }
      else fail('signin.err.identifier');
    });

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const identifier = ident.value.trim();
      if (!identifier) { fail('signin.err.identifier'); ident.focus(); return; }
      submit.disabled = true;
      let r;
      if (mode === 'code') {
        r = await post('/api/auth/code/verify', { identifier, code: code.value.trim() });
      } else if (newAccount.checked) {
        // Sign-up answers 202 whether or not the account exists (so it lists nobody's); signing in
        // with the password just chosen then works for a new account only.
        r = await post('/api/auth/register', { identifier, password: password.value, nickname: nickname.value.trim() });
        if (r.status === 202) {
          r = await post('/api/auth/login', { identifier, password: password.value });
          if (r.status === 401) { submit.disabled = false; fail('signin.err.exists'); return; }
        }
      } else {
        r = await post('/api/auth/login', { identifier, password: password.value });
      }
      submit.disabled = false;
      if ((r.status === 200 || r.status === 201) && r.body && r.body.user) { finish(r.body.user); return; }
      if (r.status === 0) fail('signin.err.network');
      else if (r.status === 401) fail(mode === 'code' ? 'signin.err.code' : 'signin.err.password');
      else if (r.body && r.body.message) error.textContent = r.body.message;  // as text
      else fail('signin.err.identifier');
    });
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    dialog.showModal();
    ident.focus();
  });
  return open;
}
