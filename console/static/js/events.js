// events.js: the Event Log tab: newest first, paged with next_cursor,
// filtered by key and type, refreshed every 5 s while it is on screen. On
// the etcd backend the page merges every live instance's log: it then has
// an Instance column, and names the instances that did not answer.

import { api, listAll, projectPath } from './api.js';
import { alertBox, badge, field, h, replace, showError, table, timeEl } from './dom.js';

export const EVENT_TYPES = [
  'request', 'auth.failed', 'project.created', 'project.updated', 'project.deleted', 'key.created',
  'key.updated', 'key.revoked', 'key.rotated', 'key.expired', 'key.budget_exhausted', 'datakey.rotated',
  'datakey.min_decryption_version',
  'route.created', 'route.updated', 'route.deleted', 'classification.created', 'classification.updated',
  'classification.deleted', 'subject.erased', 'eventlog.upgraded',
];

const REFRESH_MS = 5000;
const PAGE_SIZE = 50;

// eventsTab mounts the tab into panel and returns its unmount function.
export function eventsTab(panel, ctx) {
  const keySel = h('select', { id: 'event-key' }, h('option', { value: '' }, 'All keys'));
  const typeSel = h('select', { id: 'event-type' }, h('option', { value: '' }, 'All types'),
    EVENT_TYPES.map((t) => h('option', { value: t }, t)));
  const auto = h('input', { type: 'checkbox', id: 'event-auto', checked: true });
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-events', onclick: () => load() }, 'Refresh');
  const newest = h('button', { type: 'button', class: 'secondary', id: 'events-newest', onclick: () => go([]) }, 'Newest');
  const older = h('button', { type: 'button', class: 'secondary', id: 'events-older', onclick: () => go([...cursors, next]) }, 'Older');
  const err = alertBox();
  const updated = h('span', { class: 'muted', id: 'events-updated' });
  const list = h('div', { class: 'events-list', 'aria-busy': 'true', 'aria-live': 'off' });
  const missing = h('div', { id: 'events-unreachable' });
  replace(panel,
    h('div', { class: 'toolbar filters' },
      h('h2', null, 'Event log'),
      h('span', { class: 'spacer' }),
      field('Key', keySel), field('Event type', typeSel),
      h('label', { class: 'check' }, auto, ' Auto-refresh every 5 s'),
      refresh),
    err, missing, list,
    h('div', { class: 'pager' }, newest, older, updated));

  let cursors = []; // cursors of the pages before this one; [] is the newest page
  let next = null;
  let busy = false;
  let again = false; // a load was asked for while one was running
  let stopped = false;

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (keySel.value) q.set('key_id', keySel.value);
    if (typeSel.value) q.set('type', typeSel.value);
    const c = cursors[cursors.length - 1];
    if (c) q.set('cursor', c);
    return projectPath(ctx.id, '/events?' + q);
  }

  async function load() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const page = await api('GET', query());
      if (stopped) return;
      next = page.next_cursor || null;
      showError(err, null, null);
      render(page.items || []);
      renderUnreachable(page.unreachable || []);
      updated.textContent = 'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (!stopped) showError(err, 'Could not load the event log', e);
    } finally {
      busy = false;
      list.setAttribute('aria-busy', 'false');
      newest.disabled = cursors.length === 0;
      older.disabled = !next;
      if (again && !stopped) {
        again = false;
        load();
      }
    }
  }

  function go(c) {
    cursors = c;
    load();
  }

  function renderUnreachable(ids) {
    if (ids.length === 0) {
      replace(missing);
      return;
    }
    replace(missing, h('p', { class: 'notice', role: 'note' },
      'Not answering, so their events are missing from this page: ',
      ids.map((id, i) => [i ? ', ' : '', h('code', null, id)])));
  }

  function render(items) {
    if (items.length === 0) {
      replace(list, h('p', { class: 'empty' }, cursors.length ? 'No older events.' : 'No events match.'));
      return;
    }
    // The Instance column only when the page holds more than one
    // instance's events: a single instance's view stays as it was.
    const instances = new Set(items.map((e) => e.instance_id || ''));
    const instanceCol = instances.size > 1
      ? [{ label: 'Instance', cell: (e) => (e.instance_id ? h('code', null, e.instance_id) : '—') }]
      : [];
    replace(list, table('Events of ' + ctx.project.name + ', newest first', [
      { label: 'Time', cell: (e) => timeEl(e.time) },
      ...instanceCol,
      { label: 'Type', cell: (e) => badge(e.type, e.type === 'request' ? 'request' : 'admin') },
      { label: 'Key', cell: (e) => (e.key_id ? h('code', null, e.key_id) : '—') },
      { label: 'Request or change', cell: what },
      { label: 'Mode', cell: (e) => e.mode || '—' },
      { label: 'Fields', cell: (e) => (e.fields && e.fields.length ? e.fields.join(', ') : '—') },
      { label: 'Status', cell: statusCell },
      { label: 'Latency', cell: (e) => (typeof e.latency_ms === 'number'
        ? h('span', { class: 'nowrap', title: typeof e.upstream_ms === 'number' ? 'upstream ' + e.upstream_ms.toFixed(1) + ' ms' : 'no upstream called' }, e.latency_ms.toFixed(1) + ' ms')
        : '—') },
    ], items, (e) => ({ 'data-event-id': e.id, 'data-type': e.type })));
  }

  keySel.addEventListener('change', () => go([]));
  typeSel.addEventListener('change', () => go([]));

  async function loadKeys() {
    try {
      const keys = await listAll(projectPath(ctx.id, '/keys'));
      if (stopped) return;
      keySel.append(...keys.map((k) => h('option', { value: k.id }, k.id + (k.name ? ' (' + k.name + ')' : ''))));
    } catch { /* the filter then offers "All keys" only; load() shows API errors */ }
  }

  const timer = setInterval(() => {
    if (auto.checked && document.visibilityState === 'visible') load();
  }, REFRESH_MS);
  const onVisible = () => { if (auto.checked && document.visibilityState === 'visible') load(); };
  document.addEventListener('visibilitychange', onVisible);

  loadKeys();
  load();
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

// what describes the event: method and path of a request; who did what
// for an admin change.
function what(e) {
  if (e.type === 'request') {
    return h('span', null, h('code', null, (e.method || '') + ' ' + (e.path || '')),
      e.destination ? [' → ', h('code', null, e.destination)] : null,
      e.classification ? [' ', badge(e.classification, 'class')] : null,
      e.rate_limited ? [' ', badge('rate limited', 'warn')] : null);
  }
  const details = Object.entries(e.details || {}).map(([k, v]) => k + '=' + v).join(', ');
  return [e.actor ? 'by ' + e.actor : '', details ? (e.actor ? ': ' : '') + details : ''].join('') || '—';
}

function statusCell(e) {
  if (typeof e.status !== 'number' || !e.status) return '—';
  return h('span', { class: e.status < 400 ? 'status-ok' : 'status-err' }, String(e.status));
}
