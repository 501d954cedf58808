// datakeys.js: the Data Keys tab: the project's data-key versions (never
// key material) and rotation.

import { api, listAll, projectPath } from './api.js';
import { alertBox, announce, badge, h, replace, showError, table, timeEl } from './dom.js';

const STATUS_HELP = {
  current: 'seals new values and opens existing ones',
  active: 'opens existing values only',
  disabled: 'below the minimum decryption version: opens nothing',
};

// dataKeysTab mounts the tab into panel and returns its unmount function.
export function dataKeysTab(panel, ctx) {
  const err = alertBox();
  const status = h('p', { class: 'form-status', role: 'status' });
  const list = h('div', { class: 'datakeys-list', 'aria-busy': 'true' });
  const rotate = h('button', { type: 'button', id: 'rotate-datakey', onclick: () => doRotate() }, 'Rotate data key');
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load() }, 'Refresh');
  replace(panel,
    h('div', { class: 'toolbar' }, h('h2', null, 'Data keys'), h('span', { class: 'spacer' }), refresh, rotate),
    h('p', { class: 'muted' }, 'Data keys encrypt this project\'s fields; the master key wraps them and they never ' +
      'leave sdproxy. Rotating makes a new version current for new values; older versions keep opening ' +
      'the tokens they sealed.'),
    err, status, list);

  async function load() {
    try {
      const items = await listAll(projectPath(ctx.id, '/datakeys'));
      showError(err, null, null);
      list.setAttribute('aria-busy', 'false');
      if (items.length === 0) {
        replace(list, h('p', { class: 'empty' }, 'No data key yet: the first one is made when the project first encrypts.'));
        return;
      }
      items.sort((a, b) => b.version - a.version);
      replace(list, table('Data-key versions of ' + ctx.project.name, [
        { label: 'Version', cell: (d) => 'v' + d.version },
        { label: 'Status', cell: (d) => h('span', null, badge(d.status), ' ', h('span', { class: 'muted' }, STATUS_HELP[d.status] || '')) },
        { label: 'Created', cell: (d) => timeEl(d.created_at) },
        { label: 'Values sealed', cell: (d) => Number(d.seals || 0).toLocaleString() },
      ], items, (d) => ({ 'data-version': d.version })));
    } catch (e) {
      showError(err, 'Could not list the data keys', e);
    }
  }

  async function doRotate() {
    rotate.disabled = true;
    status.textContent = '';
    try {
      const d = await api('POST', projectPath(ctx.id, '/datakeys/rotate'));
      status.textContent = 'Rotated: version ' + d.version + ' is now current.';
      announce(status.textContent);
      showError(err, null, null);
      await load();
    } catch (e) {
      showError(err, 'Could not rotate the data key', e);
    } finally {
      rotate.disabled = false;
    }
  }

  load();
  return () => {};
}
