// keys.js: the API Keys tab. A new key's secret is shown once, in the
// dialog that created it, and is gone from the page and from every
// variable when that dialog closes.

import { api, listAll, projectPath } from './api.js';
import { confirmDialog, openDialog, setTitle } from './dialog.js';
import {
  alertBox, announce, badge, copyFrom, field, h, replace, selectText, showError, table, timeEl,
} from './dom.js';

const numbers = new Intl.NumberFormat('en-US');

// budgetText shows a key's decrypt budget and what is left of its current
// window: "10,000 per 24h · 9,812 left"; "—" without a budget.
export function budgetText(k) {
  const b = k.decrypt_budget;
  if (!b) return '—';
  const text = numbers.format(b.values) + ' per ' + b.per;
  if (k.decrypt_budget_remaining == null) return text;
  return text + ' · ' + numbers.format(k.decrypt_budget_remaining) + ' left';
}

// countsAgainstCap: active keys count against max_active_keys, except a
// rotated key living out its grace period.
function countsAgainstCap(k) {
  return k.status === 'active' && !k.rotated_to;
}

// keysTab mounts the tab into panel and returns its unmount function.
export function keysTab(panel, ctx) {
  let keys = [];
  const err = alertBox();
  const count = h('p', { class: 'key-count', id: 'key-count', 'aria-live': 'polite' });
  const capNote = h('p', { class: 'cap-note', id: 'cap-note', hidden: true });
  const create = h('button', {
    type: 'button', id: 'create-key', 'aria-describedby': 'cap-note', onclick: () => createDialog(),
  }, 'Create API Key');
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-keys', onclick: () => load() }, 'Refresh');
  const heading = h('h2', { tabindex: '-1' }, 'API keys');
  const list = h('div', { class: 'keys-list', 'aria-busy': 'true' });
  replace(panel,
    h('div', { class: 'toolbar' }, heading, count, h('span', { class: 'spacer' }), refresh, create),
    capNote, err, list);

  async function load() {
    try {
      keys = await listAll(projectPath(ctx.id, '/keys'));
      showError(err, null, null);
      render();
    } catch (e) {
      showError(err, 'Could not list the API keys', e);
    }
  }

  function render() {
    const max = ctx.project.max_active_keys;
    const active = keys.filter(countsAgainstCap).length;
    replace(count, active + ' of ' + max + ' active keys');
    const full = active >= max;
    create.disabled = full;
    capNote.hidden = !full;
    replace(capNote, full
      ? 'This project has reached its limit of ' + max + ' active keys, so no key can be created. ' +
        'Revoke a key, or raise "Max active keys" on the Data Proxy tab.'
      : '');
    list.setAttribute('aria-busy', 'false');
    if (keys.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No API keys yet. Create one to call the proxy.'));
      return;
    }
    replace(list, table('API keys of ' + ctx.project.name, [
      { label: 'Key ID', cell: (k) => h('code', { class: 'key-id' }, k.id) },
      { label: 'Name', cell: (k) => k.name || '—' },
      { label: 'Creation Date', cell: (k) => timeEl(k.created_at) },
      { label: 'Status', cell: statusCell },
      { label: 'Last Used', cell: (k) => h('span', { class: 'last-used' }, timeEl(k.last_used_at, 'never')) },
      { label: 'Permissions', cell: (k) => (k.permissions || []).join(', ') || '—' },
      { label: 'Decrypt Budget', cell: budgetCell },
      { label: 'Expires', cell: (k) => timeEl(k.expires_at, 'never') },
      { label: 'Actions', cell: actions },
    ], keys, (k) => ({ 'data-key-id': k.id, class: 'status-' + k.status })));
  }

  function budgetCell(k) {
    const end = k.decrypt_budget && k.decrypt_budget_window_end;
    return h('span', { class: 'budget' }, budgetText(k),
      end ? h('span', { class: 'sub' }, 'renews ', timeEl(end)) : null);
  }

  function statusCell(k) {
    const rotated = k.rotated_to ? h('span', { class: 'sub' }, 'rotated to ', h('code', null, k.rotated_to)) : null;
    if (k.status === 'active' && k.rotated_to) {
      return h('span', null, badge('active', 'rotated'), rotated,
        k.expires_at ? h('span', { class: 'sub' }, 'ends ', timeEl(k.expires_at)) : null);
    }
    if (k.status === 'revoked') return h('span', null, badge('revoked'), h('span', { class: 'sub' }, timeEl(k.revoked_at, '')));
    return h('span', null, badge(k.status), rotated);
  }

  function actions(k) {
    if (k.status !== 'active') return '—';
    return h('span', { class: 'row-actions' },
      k.rotated_to ? null : h('button', {
        type: 'button', class: 'secondary small rotate', 'aria-label': 'Rotate key ' + k.id,
        onclick: () => rotateDialog(k),
      }, 'Rotate'),
      h('button', {
        type: 'button', class: 'danger small revoke', 'aria-label': 'Revoke key ' + k.id,
        onclick: () => revokeDialog(k),
      }, 'Revoke'));
  }

  // upsert puts k in the list in place of the key with the same id.
  function upsert(k) {
    const i = keys.findIndex((x) => x.id === k.id);
    if (i >= 0) keys[i] = k;
    else keys.push(k);
    render();
  }

  function revokeDialog(k) {
    confirmDialog({
      title: 'Revoke API key?',
      body: [
        h('p', null, 'Revoke ', h('code', null, k.id), k.name ? ' (' + k.name + ')' : '', '?'),
        h('p', null, 'Every application using this key is refused (401) from now on. This cannot be undone.'),
      ],
      confirmLabel: 'Revoke key',
      danger: true,
      returnFocus: () => heading,
      action: async () => {
        upsert(await api('POST', projectPath(ctx.id, '/keys/' + encodeURIComponent(k.id) + '/revoke')));
        announce('Revoked API key ' + k.id);
      },
    });
  }

  function rotateDialog(k) {
    const grace = h('select', { id: 'grace-period' },
      h('option', { value: '0s' }, 'at once'),
      h('option', { value: '1h' }, 'after 1 hour'),
      h('option', { value: '24h', selected: true }, 'after 24 hours'),
      h('option', { value: '168h' }, 'after 7 days'));
    confirmDialog({
      title: 'Rotate API key?',
      body: [
        h('p', null, 'Create a new key to replace ', h('code', null, k.id), '. The new key is shown once.'),
        field('The old key stops working', grace),
      ],
      confirmLabel: 'Rotate key',
      returnFocus: () => heading,
      action: () => api('POST', projectPath(ctx.id, '/keys/' + encodeURIComponent(k.id) + '/rotate'),
        { grace_period: grace.value }),
      onDone: (created) => {
        showSecret(created, 'API key rotated');
        announce('Rotated API key ' + k.id + ': the new key is ' + created.id);
        load();
      },
    });
  }

  // showSecret opens the one-time dialog for a key answer that carries the
  // secret, and drops the secret from the answer object.
  function showSecret(created, title) {
    const dlg = openDialog({ title, content: [], returnFocus: () => (create.disabled ? heading : create) });
    fillSecret(dlg, created);
  }

  // fillSecret replaces the dialog's content with the one-time key view.
  function fillSecret(dlg, created) {
    const value = h('code', { class: 'secret', id: 'new-key', tabindex: '0' }, created.key);
    delete created.key;
    const status = h('p', { class: 'copy-status', role: 'status' });
    const copy = h('button', { type: 'button', id: 'copy-key', onclick: async () => { status.textContent = await copyFrom(value); } }, 'Copy');
    const done = h('button', { type: 'button', class: 'secondary', id: 'close-key', onclick: () => dlg.close() }, 'Done');
    value.addEventListener('focus', () => selectText(value));
    const body = h('div', { class: 'dialog-form' },
      h('p', { class: 'notice' }, h('strong', null, 'Copy this key now. '),
        'This is the only time it is displayed. Store it securely (for example in a secret manager): ' +
        'it cannot be retrieved after you close this dialog.'),
      h('p', null, 'API key ', h('code', null, created.id), created.name ? ' (' + created.name + ')' : '', ':'),
      h('div', { class: 'secret-box' }, value, copy),
      status,
      h('div', { class: 'dialog-actions' }, done));
    [...dlg.children].forEach((c) => { if (!c.classList.contains('dialog-title')) c.remove(); });
    dlg.append(body);
    copy.focus();
  }

  function createDialog() {
    const name = h('input', { type: 'text', id: 'key-name', autocomplete: 'off', placeholder: 'checkout-service' });
    const enc = h('input', { type: 'checkbox', id: 'perm-encrypt', value: 'encrypt', checked: true });
    const dec = h('input', { type: 'checkbox', id: 'perm-decrypt', value: 'decrypt', checked: true });
    const masked = h('input', {
      type: 'checkbox', id: 'perm-decrypt-masked', value: 'decrypt_masked', 'aria-describedby': 'perm-masked-hint',
    });
    const expires = h('input', { type: 'datetime-local', id: 'key-expires' });
    const budgetValues = h('input', {
      type: 'number', id: 'key-budget-values', min: '1', max: '1000000000000', step: '1', inputmode: 'numeric',
      placeholder: '10000', 'aria-describedby': 'key-budget-hint',
    });
    const budgetPer = h('select', { id: 'key-budget-per' },
      h('option', { value: '1h' }, 'per hour'),
      h('option', { value: '24h', selected: true }, 'per 24 hours'),
      h('option', { value: '168h' }, 'per 7 days'),
      h('option', { value: '720h' }, 'per 30 days'));
    const errBox = alertBox();
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const submit = h('button', { type: 'submit', id: 'create-key-submit' }, 'Create API Key');
    const form = h('form', { class: 'dialog-form' },
      h('div', { class: 'notice', role: 'note' },
        h('strong', null, 'Security notice'),
        h('ul', null,
          h('li', null, 'The API key is displayed only once, right after it is created.'),
          h('li', null, 'Copy it and store it securely, for example in a secret manager.'),
          h('li', null, 'It cannot be retrieved after it is shown: if you lose it, create a new key and revoke this one.'))),
      field('Name', name, 'Optional: what uses this key.'),
      h('fieldset', { class: 'checks' }, h('legend', null, 'Permissions'),
        h('label', null, enc, ' encrypt'), h('label', null, dec, ' decrypt'),
        h('label', null, masked, ' decrypt_masked'),
        h('p', { class: 'hint', id: 'perm-masked-hint' },
          'decrypt_masked: where a route decrypts a response, this key sees the values masked ' +
          '(all but the last 4 characters as *) instead of in clear. With decrypt as well, it sees them in clear.')),
      field('Expires (optional)', expires, 'Your local time. Empty: the key does not expire.'),
      h('fieldset', { class: 'budget-fields' }, h('legend', null, 'Decrypt budget (optional)'),
        h('label', null, 'At most ', budgetValues), h('label', null, ' values ', budgetPer),
        h('p', { class: 'hint', id: 'key-budget-hint' },
          'Caps how many values this key may decrypt per window (windows start at 00:00 UTC), so a stolen key ' +
          'cannot drain the data. Past it, decrypts are refused (429) until the window ends; encrypting still works. ' +
          'Empty: no cap.')),
      errBox,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    const dlg = openDialog({ title: 'Create API Key', content: form, focus: name, returnFocus: () => (create.disabled ? heading : create) });
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const permissions = [enc, dec, masked].filter((c) => c.checked).map((c) => c.value);
      if (permissions.length === 0) {
        showError(errBox, null, new Error('Choose at least one permission (encrypt, decrypt, decrypt_masked).'));
        enc.focus();
        return;
      }
      const body = { permissions };
      if (name.value.trim()) body.name = name.value.trim();
      if (expires.value) {
        const t = new Date(expires.value);
        if (Number.isNaN(t.getTime())) {
          showError(errBox, null, new Error('Expires: not a valid date and time.'));
          return;
        }
        body.expires_at = t.toISOString();
      }
      if (budgetValues.value.trim()) {
        const n = Number(budgetValues.value);
        if (!Number.isInteger(n) || n < 1 || n > 1e12) {
          showError(errBox, null, new Error('Decrypt budget: a whole number of values from 1 to 1,000,000,000,000.'));
          budgetValues.focus();
          return;
        }
        body.decrypt_budget = { values: n, per: budgetPer.value };
      }
      submit.disabled = true;
      try {
        const created = await api('POST', projectPath(ctx.id, '/keys'), body);
        setTitle(dlg, 'API key created');
        fillSecret(dlg, created);
        upsert(created);
        announce('Created API key ' + created.id);
      } catch (e) {
        showError(errBox, 'Could not create the key', e);
        submit.disabled = false;
      }
    });
  }

  load();
  return () => {
    document.querySelectorAll('dialog').forEach((d) => d.close());
  };
}
