// routes.js: the Routes tab: the project's route rules in evaluation order
// (the first route that matches a request applies), created and edited in
// a dialog (routeform.js), moved up and down, deleted; and the "Try it"
// box (preview.js), which shows what the rules do to a pasted body.

import { api, listAll } from './api.js';
import { confirmDialog } from './dialog.js';
import { alertBox, announce, badge, h, replace, showError, table } from './dom.js';
import { isBuiltin, listClassifications } from './classifications.js';
import { MAX_ORDER, routeDialog, routeInput, routesPath } from './routeform.js';
import { previewBox } from './preview.js';

const STEP = 10; // the gap between orders when the console numbers routes

// reorderPlan returns the order changes [{route, order}] that move
// routes[from] (a list in evaluation order) to index to. One change when
// an order fits strictly between its new neighbours' orders; otherwise the
// routes are renumbered 10, 20, 30… in their new sequence (only the
// changed ones are listed).
export function reorderPlan(routes, from, to) {
  const seq = routes.slice();
  const [moved] = seq.splice(from, 1);
  seq.splice(to, 0, moved);
  const lo = to > 0 ? seq[to - 1].order : null;
  const hi = to < seq.length - 1 ? seq[to + 1].order : null;
  let o = null;
  if (lo === null && hi !== null) o = hi - STEP;
  else if (hi === null && lo !== null) o = lo + STEP;
  else if (lo !== null && hi - lo >= 2) o = lo + Math.floor((hi - lo) / 2);
  if (o !== null && Math.abs(o) <= MAX_ORDER) return [{ route: moved, order: o }];
  return seq.map((r, i) => ({ route: r, order: (i + 1) * STEP })).filter((c) => c.route.order !== c.order);
}

// routesTab mounts the tab into panel and returns its unmount function.
export function routesTab(panel, ctx) {
  let routes = [];
  let busy = false;
  const err = alertBox();
  const status = h('p', { class: 'form-status', role: 'status', id: 'routes-status' });
  const count = h('p', { class: 'key-count', id: 'route-count' });
  const create = h('button', { type: 'button', id: 'create-route', onclick: () => openForm(null) }, 'Create route');
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'refresh-routes', onclick: () => load() }, 'Refresh');
  const heading = h('h2', { tabindex: '-1' }, 'Routes');
  const list = h('div', { class: 'routes-list', 'aria-busy': 'true' });
  let matched = null; // the route the last preview matched
  const preview = previewBox(ctx, (id) => { matched = id; render(); });
  replace(panel,
    h('div', { class: 'toolbar' }, heading, count, h('span', { class: 'spacer' }), refresh, create),
    h('p', { class: 'muted' }, 'Routes say which JSON fields the proxy transforms for each path of the upstream, ' +
      'whatever headers the client sends. They are listed in evaluation order: the first route whose methods ' +
      'and path match a request applies, and only that one. A request no route matches is handled by its ' +
      'X-Qanapi-* headers alone.'),
    err, status, list, preview.el);

  async function load() {
    try {
      routes = await listAll(routesPath(ctx.id));
      showError(err, null, null);
      render();
    } catch (e) {
      showError(err, 'Could not list the routes', e);
    }
  }

  function render(focusRoute, focusClass) {
    list.setAttribute('aria-busy', 'false');
    replace(count, routes.length === 1 ? '1 route' : routes.length + ' routes');
    if (routes.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No routes yet: requests are transformed as their X-Qanapi-* headers say. ' +
        'Create a route to protect a path\'s fields whatever the client sends.'));
      return;
    }
    replace(list, table('Routes of ' + ctx.project.name + ', in evaluation order', [
      { label: '#', cell: (r) => String(routes.indexOf(r) + 1) },
      { label: 'Order', cell: (r) => h('span', { class: 'route-order' }, String(r.order)) },
      { label: 'Methods', cell: (r) => (r.methods.length ? r.methods.join(', ') : h('span', { class: 'muted' }, 'any')) },
      { label: 'Path', cell: pathCell },
      { label: 'Request', cell: (r) => ruleCell(r.request, 'request') },
      { label: 'Response', cell: (r) => ruleCell(r.response, 'response') },
      { label: 'Actions', cell: actions },
    ], routes, (r) => ({ 'data-route-id': r.id, class: r.id === matched ? 'route-matched' : null })));
    if (focusRoute) {
      const row = list.querySelector('tr[data-route-id="' + focusRoute + '"]');
      const btns = row ? [row.querySelector('button.' + focusClass), ...row.querySelectorAll('button.move')] : [];
      const btn = btns.find((b) => b && !b.disabled);
      if (btn) btn.focus();
    }
  }

  function pathCell(r) {
    return h('span', null, h('code', { class: 'route-path' }, r.path),
      r.id === matched ? [' ', badge('matches Try it', 'matched')] : null,
      h('span', { class: 'sub' }, h('code', null, r.id)));
  }

  function actions(r) {
    const i = routes.indexOf(r);
    return h('span', { class: 'row-actions' },
      h('button', {
        type: 'button', class: 'secondary small move move-up', disabled: i === 0 || busy,
        'aria-label': 'Move route ' + r.path + ' up', title: 'Evaluate earlier', onclick: () => move(i, i - 1, 'move-up'),
      }, '↑'),
      h('button', {
        type: 'button', class: 'secondary small move move-down', disabled: i === routes.length - 1 || busy,
        'aria-label': 'Move route ' + r.path + ' down', title: 'Evaluate later', onclick: () => move(i, i + 1, 'move-down'),
      }, '↓'),
      h('button', { type: 'button', class: 'secondary small edit', 'aria-label': 'Edit route ' + r.path, onclick: () => openForm(r) }, 'Edit'),
      h('button', { type: 'button', class: 'danger small delete', 'aria-label': 'Delete route ' + r.path, onclick: () => deleteDialog(r) }, 'Delete'));
  }

  // move changes orders so that routes[from] is evaluated at index to, then
  // lists the routes again (the server's order is the truth).
  async function move(from, to, focusClass) {
    const moved = routes[from];
    const plan = reorderPlan(routes, from, to);
    busy = true;
    render();
    status.textContent = '';
    try {
      for (const c of plan) {
        await api('PUT', routesPath(ctx.id, c.route.id), routeInput(c.route, c.order));
      }
      routes = await listAll(routesPath(ctx.id));
      showError(err, null, null);
      status.textContent = 'Moved ' + moved.path + ' to position ' + (routes.findIndex((r) => r.id === moved.id) + 1) +
        (plan.length > 1 ? ' (routes renumbered: ' + plan.length + ' orders changed).' : ' (order ' + plan[0].order + ').');
      announce(status.textContent);
    } catch (e) {
      showError(err, 'Could not move the route', e);
      try { routes = await listAll(routesPath(ctx.id)); } catch { /* keep the old list */ }
    } finally {
      busy = false;
      render(moved.id, focusClass);
    }
  }

  async function openForm(route) {
    let slugs = null;
    try {
      slugs = (await listClassifications(ctx.id)).filter((c) => !isBuiltin(c)).map((c) => c.slug);
    } catch { /* typed instead of chosen; the API checks it */ }
    routeDialog({
      projectID: ctx.id, route, slugs, returnFocus: () => heading,
      onSaved: (saved) => {
        announce((route ? 'Saved route ' : 'Created route ') + saved.path);
        status.textContent = (route ? 'Saved ' : 'Created ') + saved.path + '.';
        load();
      },
    });
  }

  function deleteDialog(r) {
    confirmDialog({
      title: 'Delete route?',
      body: [
        h('p', null, 'Delete the route ', h('code', null, r.path), ' (', h('code', null, r.id), ')?'),
        h('p', null, 'Requests it matched then go to the next matching route, or, if none, are transformed as their ' +
          'X-Qanapi-* headers say.'),
      ],
      confirmLabel: 'Delete route',
      danger: true,
      returnFocus: () => heading,
      action: async () => {
        await api('DELETE', routesPath(ctx.id, r.id));
        routes = routes.filter((x) => x.id !== r.id);
        render();
        status.textContent = 'Deleted ' + r.path + '.';
        announce('Deleted route ' + r.path);
      },
    });
  }

  load();
  return () => {
    preview.unmount();
    document.querySelectorAll('dialog').forEach((d) => d.close());
  };
}

// ruleCell shows one direction's rule: mode, fields, classification and
// required paths; "none" without a rule.
function ruleCell(rule, name) {
  if (!rule) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'rule' },
    badge(rule.mode, 'mode-' + rule.mode), ' ',
    rule.fields.map((f, i) => [i ? ', ' : '', h('code', null, f)]),
    name === 'request' && rule.classification ? h('span', { class: 'sub' }, 'classification ', h('code', null, rule.classification)) : null,
    name === 'request' && rule.require && rule.require.length
      ? h('span', { class: 'sub' }, 'required: ', rule.require.map((f, i) => [i ? ', ' : '', h('code', null, f)]))
      : null,
    name === 'request' && rule.index && rule.index.length
      ? h('span', { class: 'sub route-index' }, 'blind index: ', rule.index.map((x, i) => [i ? ', ' : '',
        h('code', null, x.name), ' of ', h('code', null, x.field), ' (' + x.normalize + ')']))
      : null,
    name === 'request' && rule.subject_field
      ? h('span', { class: 'sub route-subject' }, 'subject from ', h('code', null, rule.subject_field))
      : null);
}
