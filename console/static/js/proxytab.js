// proxytab.js: the Data Proxy tab: the project's proxy URL, curl examples
// for encrypt and decrypt (the key as $KEY, never a real one) and the
// project's proxy settings (PATCH).

import { api, projectPath } from './api.js';
import { alertBox, announce, copyButton, field, h, replace, showError } from './dom.js';
import { projectFields } from './projectform.js';

const BASE_KEY = 'sdproxy.proxyBase';

// defaultBase guesses the data listener: this host on port 8080 (the
// admin listener can't know where the data listener is reachable).
function defaultBase() {
  return location.protocol + '//' + location.hostname + ':8080';
}

// shellQuote quotes s for a POSIX shell.
function shellQuote(s) {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

// curlExample is a copy-pasteable curl command for mode against url.
// No --location: the project URL never redirects, and curl sends --header
// values (the key) to every host a redirect leads to, and the body again
// on a 307/308.
export function curlExample(url, mode) {
  const data = mode === 'encrypt'
    ? "--data '{\"title\": \"Sensitive title\", \"body\": \"Sensitive body text\"}' \\\n  --output encrypted.json"
    : '--data @encrypted.json';
  return [
    'curl ' + shellQuote(url) + ' \\',
    '  --header "X-Qanapi-Authorization: $KEY" \\',
    "  --header 'X-Qanapi-Mode: " + mode + "' \\",
    "  --header 'X-Qanapi-Fields: title,body' \\",
    "  --header 'Content-Type: application/json' \\",
    '  ' + data,
  ].join('\n');
}

// proxyTab mounts the tab into panel and returns its unmount function.
export function proxyTab(panel, ctx) {
  const base = h('input', {
    type: 'text', id: 'proxy-base', inputmode: 'url', spellcheck: 'false', autocomplete: 'off',
    value: sessionStorage.getItem(BASE_KEY) || defaultBase(),
  });
  const url = h('code', { id: 'proxy-url', class: 'url' });
  const encEx = h('code', { id: 'curl-encrypt' });
  const decEx = h('code', { id: 'curl-decrypt' });
  const baseErr = h('p', { class: 'error', role: 'alert', hidden: true });

  function update() {
    let b = base.value.trim().replace(/\/+$/, '');
    let ok = false;
    try {
      const u = new URL(b);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
    } catch { /* not a URL */ }
    baseErr.hidden = ok;
    replace(baseErr, ok ? '' : 'The base URL must be an http or https URL such as http://proxy.example:8080.');
    if (!ok) b = defaultBase();
    else sessionStorage.setItem(BASE_KEY, b);
    const full = b + '/proxy/' + ctx.project.id;
    url.textContent = full;
    encEx.textContent = curlExample(full, 'encrypt');
    decEx.textContent = curlExample(full, 'decrypt');
  }
  base.addEventListener('input', update);
  const reset = h('button', {
    type: 'button', class: 'secondary small',
    onclick: () => { sessionStorage.removeItem(BASE_KEY); base.value = defaultBase(); update(); },
  }, 'Reset');

  const settings = settingsForm(ctx);
  replace(panel,
    h('section', { class: 'card', 'aria-labelledby': 'proxy-url-title' },
      h('h2', { id: 'proxy-url-title' }, 'Proxy URL'),
      h('p', null, 'Point your app at this URL instead of its API, or call it directly. ' +
        'The admin listener cannot know where the data listener is reachable, so check the base URL ' +
        '(kept in this tab only).'),
      h('div', { class: 'base-row' }, field('Data listener base URL', base), reset),
      baseErr,
      h('div', { class: 'url-row' }, url, copyButton(url, 'Copy URL'))),
    h('section', { class: 'card', 'aria-labelledby': 'curl-title' },
      h('h2', { id: 'curl-title' }, 'Try it with curl'),
      h('p', null, 'Set KEY to an API key of this project first (', h('code', null, "export KEY='qk_…'"),
        '). The project URL alone is the transform-only call: the proxy answers with the transformed JSON ' +
        'and calls no upstream. Paths after it (such as …/posts) go to the upstream, when there is one.'),
      h('h3', null, 'Encrypt the fields title and body'),
      h('pre', { class: 'code' }, encEx), copyButton(encEx, 'Copy encrypt example'),
      h('h3', null, 'Decrypt them again'),
      h('pre', { class: 'code' }, decEx), copyButton(decEx, 'Copy decrypt example')),
    settings);
  update();
  return () => {};
}

function settingsForm(ctx) {
  const err = alertBox();
  const status = h('p', { class: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit', id: 'save-project' }, 'Save changes');
  const holder = h('div');
  let f;
  function fill() {
    f = projectFields(ctx.project);
    replace(holder, f.nodes);
  }
  fill();
  const form = h('form', { class: 'card settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, 'Proxy settings'),
    holder, err, h('div', { class: 'actions' }, submit, status));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.textContent = '';
    showError(err, null, null);
    let body;
    try {
      body = f.read();
    } catch (e) {
      showError(err, null, e);
      return;
    }
    if (Object.keys(body).length === 0) {
      status.textContent = 'Nothing changed.';
      return;
    }
    submit.disabled = true;
    try {
      ctx.setProject(await api('PATCH', projectPath(ctx.id), body));
      fill();
      status.textContent = 'Saved.';
      announce('Project settings saved');
    } catch (e) {
      showError(err, 'Could not save', e);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
