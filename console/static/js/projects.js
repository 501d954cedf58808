// projects.js: the project list and the "Create project" dialog.

import { api, listAll } from './api.js';
import { openDialog } from './dialog.js';
import { alertBox, announce, badge, h, replace, showError, table, timeEl } from './dom.js';
import { projectFields } from './projectform.js';

// projectHref is the console address of a project's tab.
export function projectHref(id, tab = 'keys') {
  return '#/projects/' + encodeURIComponent(id) + '/' + tab;
}

// projectsView lists every project (following next_cursor) and creates
// new ones.
export function projectsView() {
  const err = alertBox();
  const list = h('div', { class: 'projects-list', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading projects…'));
  const create = h('button', { type: 'button', id: 'create-project', onclick: () => createDialog() }, 'Create project');
  const heading = h('h1', { tabindex: '-1' }, 'Projects');
  const el = h('section', { class: 'projects' },
    h('div', { class: 'page-head' }, heading, create),
    h('p', { class: 'muted' }, 'Each project has its own API keys, data keys, proxy settings and event log.'),
    err, list);

  async function load() {
    try {
      const projects = await listAll('/admin/v1/projects');
      list.setAttribute('aria-busy', 'false');
      if (projects.length === 0) {
        replace(list, h('p', { class: 'empty' }, 'No projects yet. Create one to get API keys and a proxy URL.'));
        return;
      }
      replace(list, table('Projects', [
        { label: 'Name', cell: (p) => h('a', { href: projectHref(p.id), class: 'project-link' }, p.name) },
        { label: 'Project ID', cell: (p) => h('code', null, p.id) },
        { label: 'Environment', cell: (p) => badge(p.environment) },
        { label: 'Upstream', cell: (p) => (p.upstream ? h('code', null, p.upstream) : 'none') },
        { label: 'Created', cell: (p) => timeEl(p.created_at) },
      ], projects, (p) => ({ 'data-project-id': p.id })));
    } catch (e) {
      list.setAttribute('aria-busy', 'false');
      replace(list);
      showError(err, 'Could not list projects', e);
    }
  }
  load();
  return { el, focus: heading, unmount() {} };
}

function createDialog() {
  const f = projectFields(null);
  const err = alertBox();
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const submit = h('button', { type: 'submit' }, 'Create project');
  const form = h('form', { class: 'dialog-form', id: 'project-form' }, f.nodes, err,
    h('div', { class: 'dialog-actions' }, cancel, submit));
  const dlg = openDialog({ title: 'Create project', content: form });
  cancel.addEventListener('click', () => dlg.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const p = await api('POST', '/admin/v1/projects', f.read());
      dlg.close();
      announce('Created project ' + p.name);
      location.hash = projectHref(p.id);
    } catch (e) {
      showError(err, 'Could not create the project', e);
      submit.disabled = false;
    }
  });
}
