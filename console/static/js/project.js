// project.js: one project's page: its header and the tabs API Keys, Data
// Proxy, Routes, Classifications, Event Log, Data Keys and Subjects (a
// WAI-ARIA tablist: arrow keys, Home and End move between tabs).

import { api, projectPath } from './api.js';
import { alertBox, badge, h, replace, showError } from './dom.js';
import { projectHref } from './projects.js';
import { keysTab } from './keys.js';
import { proxyTab } from './proxytab.js';
import { routesTab } from './routes.js';
import { classificationsTab } from './classifications.js';
import { eventsTab } from './events.js';
import { dataKeysTab } from './datakeys.js';
import { subjectsTab } from './subjects.js';

const TABS = [
  { id: 'keys', label: 'API Keys', mount: keysTab },
  { id: 'proxy', label: 'Data Proxy', mount: proxyTab },
  { id: 'routes', label: 'Routes', mount: routesTab },
  { id: 'classifications', label: 'Classifications', mount: classificationsTab },
  { id: 'events', label: 'Event Log', mount: eventsTab },
  { id: 'datakeys', label: 'Data Keys', mount: dataKeysTab },
  { id: 'subjects', label: 'Subjects', mount: subjectsTab },
];

// projectView shows project id with tab open.
export function projectView(id, tab) {
  const err = alertBox();
  const title = h('h1', { tabindex: '-1' }, 'Project');
  const meta = h('p', { class: 'project-meta' });
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Project sections', class: 'tabs', hidden: true });
  const panel = h('div', { role: 'tabpanel', class: 'tabpanel', tabindex: '-1' });
  const el = h('section', { class: 'project' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/projects' }, '← Projects')),
    title, meta, err, tablist, panel);

  const ctx = { id, project: null, setProject };
  let current = null; // { id, unmount }
  let wanted = tab;
  const buttons = TABS.map((t) => h('button', {
    type: 'button', role: 'tab', id: 'tab-' + t.id, 'aria-controls': 'tabpanel',
    'aria-selected': 'false', tabindex: '-1', 'data-tab': t.id,
    onclick: () => showTab(t.id, true),
  }, t.label));
  panel.id = 'tabpanel';
  replace(tablist, buttons);
  tablist.addEventListener('keydown', onTabKey);

  function setProject(p) {
    ctx.project = p;
    replace(title, p.name);
    replace(meta, 'Project ID ', h('code', null, p.id), ' · ', badge(p.environment));
    document.title = p.name + ' — sdproxy console';
  }

  function onTabKey(ev) {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    const t = TABS[(next + TABS.length) % TABS.length];
    showTab(t.id, true);
    buttons[TABS.indexOf(t)].focus();
  }

  // showTab switches to tab (the first one when unknown). fromUser: keep
  // the address in step without a new history entry.
  function showTab(tabID, fromUser) {
    const t = TABS.find((x) => x.id === tabID) || TABS[0];
    wanted = t.id;
    if (fromUser) history.replaceState(null, '', projectHref(id, t.id));
    if (!ctx.project || (current && current.id === t.id)) return;
    if (current) current.unmount();
    buttons.forEach((b, i) => {
      const on = TABS[i] === t;
      b.setAttribute('aria-selected', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', 'tab-' + t.id);
    panel.replaceChildren();
    current = { id: t.id, unmount: t.mount(panel, ctx) || (() => {}) };
  }

  async function load() {
    try {
      setProject(await api('GET', projectPath(id)));
      tablist.hidden = false;
      showTab(wanted, false);
    } catch (e) {
      showError(err, 'Could not load the project', e);
    }
  }
  load();

  return {
    el,
    focus: title,
    projectID: id,
    showTab: (t) => showTab(t, false),
    unmount() {
      if (current) current.unmount();
      current = null;
    },
  };
}
