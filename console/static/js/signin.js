// signin.js: the sign-in page. The token is checked against the admin API
// before it is kept (in sessionStorage, by setToken).

import { api, APIError, setToken } from './api.js';
import { alertBox, field, h, replace } from './dom.js';

// signinView renders the sign-in form. notice, when set, explains why the
// user is here (e.g. the token stopped working). onSignedIn runs after a
// good token is stored.
export function signinView({ notice, onSignedIn }) {
  // No name attribute: even a form submitted without JavaScript would not
  // put the token in a URL (and the CSP forbids form submission anyway).
  const input = h('input', {
    type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', required: true,
  });
  const err = alertBox();
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin-form', 'aria-labelledby': 'signin-title' },
    field('Admin token', input,
      'SDPROXY_ADMIN_TOKEN, or the contents of <data-dir>/admin.token on the server.'),
    err,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const candidate = input.value.trim();
    if (!candidate) return;
    submit.disabled = true;
    replace(err);
    err.hidden = true;
    try {
      await api('GET', '/admin/v1/projects?limit=1', undefined, { token: candidate });
      setToken(candidate);
      input.value = '';
      onSignedIn();
    } catch (e) {
      err.hidden = false;
      if (e instanceof APIError && e.status === 401) {
        replace(err, 'Wrong admin token: the admin API refused it (' + e.code + ', HTTP 401: ' +
          e.message + '). Check SDPROXY_ADMIN_TOKEN or <data-dir>/admin.token and try again.');
      } else {
        replace(err, 'Could not sign in: ' + e.message +
          (e instanceof APIError ? ' (' + e.code + (e.status ? ', HTTP ' + e.status : '') + ')' : ''));
      }
      input.select();
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });

  const el = h('section', { class: 'signin card' },
    h('h1', { id: 'signin-title' }, 'Sign in to sdproxy'),
    notice ? h('p', { class: 'notice', role: 'alert' }, notice) : null,
    h('p', null, 'Enter the admin token of this sdproxy. The console keeps it in this browser tab ' +
      'only (session storage, gone when the tab closes) and sends it to the admin API as a bearer token.'),
    form);
  return { el, focus: input, unmount() {} };
}
