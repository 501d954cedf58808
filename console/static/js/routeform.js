// routeform.js: the route dialog (create and edit) and the mapping between
// a route answer and the body of POST/PUT …/routes. PUT replaces the whole
// route, so every change sends every field.

import { api, projectPath } from './api.js';
import { openDialog } from './dialog.js';
import { alertBox, field, h, lines, showError } from './dom.js';

export const MAX_ORDER = 1000000000;
const COMMON_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

// routesPath is the collection, or one route by id.
export function routesPath(projectID, routeID) {
  return projectPath(projectID, '/routes' + (routeID ? '/' + encodeURIComponent(routeID) : ''));
}

// routeInput is the create/replace body that gives back route r, with
// order in place of its own when given.
export function routeInput(r, order = r.order) {
  const body = { methods: r.methods || [], path: r.path, order };
  if (r.request) {
    body.request = { mode: r.request.mode, fields: r.request.fields };
    if (r.request.classification) body.request.classification = r.request.classification;
    if (r.request.require && r.request.require.length) body.request.require = r.request.require;
    if (r.request.index && r.request.index.length) body.request.index = r.request.index;
    if (r.request.subject_field) body.request.subject_field = r.request.subject_field;
  }
  if (r.response) body.response = { mode: r.response.mode, fields: r.response.fields };
  return body;
}

// routeDialog opens the create (route null) or edit dialog. slugs: the
// project's classification slugs, or null when they could not be listed
// (the classification is then typed). onSaved(route) runs after a save.
export function routeDialog({ projectID, route, slugs, onSaved, returnFocus }) {
  const f = routeFields(route, slugs);
  const errBox = alertBox();
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const submit = h('button', { type: 'submit', id: 'route-submit' }, route ? 'Save route' : 'Create route');
  const form = h('form', { class: 'dialog-form', id: 'route-form' }, f.nodes, errBox,
    h('div', { class: 'dialog-actions' }, cancel, submit));
  const dlg = openDialog({
    title: route ? 'Edit route ' + route.path : 'Create route', content: form, className: 'wide', returnFocus,
  });
  cancel.addEventListener('click', () => dlg.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = f.read();
    } catch (e) {
      showError(errBox, null, e);
      return;
    }
    submit.disabled = true;
    try {
      const saved = route
        ? await api('PUT', routesPath(projectID, route.id), body)
        : await api('POST', routesPath(projectID), body);
      dlg.close();
      onSaved(saved);
    } catch (e) {
      showError(errBox, route ? 'Could not save the route' : 'Could not create the route', e);
      submit.disabled = false;
    }
  });
  return dlg;
}

// routeFields returns the dialog's nodes and read(), the JSON body. read
// throws an Error with a sentence when the order is not a whole number;
// everything else is checked by the API, whose messages name the field.
function routeFields(route, slugs) {
  const r = route || { methods: [], path: '', order: 0, request: null, response: null };
  const path = h('input', {
    type: 'text', id: 'route-path', required: true, autocomplete: 'off', spellcheck: 'false',
    placeholder: '/posts/**', value: r.path,
  });
  const checks = COMMON_METHODS.map((m) => h('input', {
    type: 'checkbox', id: 'route-method-' + m.toLowerCase(), value: m, checked: r.methods.includes(m),
  }));
  const other = h('input', {
    type: 'text', id: 'route-methods-other', autocomplete: 'off', spellcheck: 'false', placeholder: 'OPTIONS',
    value: r.methods.filter((m) => !COMMON_METHODS.includes(m)).join(', '),
  });
  const order = h('input', { type: 'text', id: 'route-order', inputmode: 'numeric', value: String(r.order) });
  const req = phaseFields('request', r.request, ['encrypt', 'decrypt'], slugs);
  const resp = phaseFields('response', r.response, ['decrypt', 'encrypt'], null);
  const nodes = [
    h('div', { class: 'inline-fields route-head' },
      field('Path', path, 'What follows /proxy/{project-id}: literal segments, * (one segment), ** (any number, none included).'),
      field('Order', order, 'Lower is evaluated first; then older first.')),
    h('fieldset', { class: 'checks' }, h('legend', null, 'Methods'),
      checks.map((c) => h('label', null, c, ' ' + c.value)),
      field('Other methods', other, 'Comma-separated. No method ticked or typed: any method matches.')),
    req.node, resp.node,
  ];
  return {
    nodes,
    read() {
      const o = order.value.trim() === '' ? 0 : Number(order.value.trim());
      if (!Number.isInteger(o)) throw new Error('order: must be a whole number');
      const methods = [...checks.filter((c) => c.checked).map((c) => c.value), ...lines(other.value.toUpperCase())];
      const body = { methods, path: path.value.trim(), order: o };
      const rq = req.read();
      const rs = resp.read();
      if (rq) body.request = rq;
      if (rs) body.response = rs;
      return body;
    },
  };
}

// phaseFields is one direction's rule: a mode ("no rule" first), its
// fields, and for a request its classification and required paths.
function phaseFields(name, rule, modes, slugs) {
  const label = name === 'request' ? 'Request rule: on the way in' : 'Response rule: in the upstream\'s answer';
  const mode = h('select', { id: 'route-' + name + '-mode' },
    h('option', { value: '' }, 'no rule'),
    modes.map((m) => h('option', { value: m, selected: rule && rule.mode === m }, m)));
  const fields = h('textarea', {
    id: 'route-' + name + '-fields', rows: 3, spellcheck: 'false',
    placeholder: name === 'request' ? 'title\nbody' : 'title\n*.title', value: rule ? rule.fields.join('\n') : '',
  });
  const more = [field('Fields', fields, 'One path a line (or comma-separated): dot paths, * for any key or index, a\\.b for a key holding a dot.')];
  let classification = null;
  let require = null;
  let index = null;
  let subject = null;
  if (name === 'request') {
    classification = classificationControl(rule ? rule.classification : '', slugs);
    require = h('textarea', {
      id: 'route-request-require', rows: 2, spellcheck: 'false', placeholder: 'title',
      value: rule && rule.require ? rule.require.join('\n') : '',
    });
    more[0] = h('div', { class: 'inline-fields' }, more[0],
      field('Required paths', require, 'Must be in the request body, else the proxy answers 422 field_missing. No *.'));
    more.push(field('Classification', classification, 'Tags the tokens this rule seals. Define classifications on the Classifications tab.'));
    index = h('textarea', {
      id: 'route-request-index', rows: 2, spellcheck: 'false', placeholder: 'email:lower_trim',
      value: rule && rule.index ? rule.index.map(indexLine).join('\n') : '',
    });
    more.push(field('Blind indexes', index, 'Encrypt mode only. One a line: a field of the list above, then optionally ' +
      ':exact, :lower, :lower_trim or :digits, >name (default <key>_bidx) and /bytes (default 16), e.g. email:lower_trim. ' +
      'A sibling holding a keyed hash of the value lets the app find records by it.'));
    subject = h('input', {
      type: 'text', id: 'route-request-subject-field', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'user.id', value: rule && rule.subject_field ? rule.subject_field : '',
    });
    more.push(field('Subject field', subject, 'Encrypt only: the body path (no *) whose string value is the data subject; values are sealed for that subject, so erasing it makes them unreadable. Stays in clear unless listed in Fields.'));
  }
  const details = h('div', { class: 'phase-details', hidden: !rule });
  details.append(...more);
  mode.addEventListener('change', () => { details.hidden = mode.value === ''; });
  const node = h('fieldset', { class: 'phase' }, h('legend', null, label), field('Mode', mode), details);
  return {
    node,
    read() {
      if (!mode.value) return null;
      const out = { mode: mode.value, fields: lines(fields.value) };
      if (classification && classification.value.trim()) out.classification = classification.value.trim();
      if (require) {
        const req = lines(require.value);
        if (req.length) out.require = req;
      }
      if (index) {
        const ix = lines(index.value).map(parseIndexLine);
        if (ix.length) out.index = ix;
      }
      if (subject && subject.value.trim()) out.subject_field = subject.value.trim();
      return out;
    },
  };
}

// classificationControl is a select of the project's slugs, or a text
// input when they could not be listed.
function classificationControl(current, slugs) {
  if (!slugs) {
    return h('input', {
      type: 'text', id: 'route-request-classification', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'pii', value: current || '',
    });
  }
  const all = current && !slugs.includes(current) ? [...slugs, current] : slugs;
  return h('select', { id: 'route-request-classification' },
    h('option', { value: '' }, 'none'),
    all.map((s) => h('option', { value: s, selected: s === current }, s)));
}

// indexLine spells an index rule as the dialog edits it:
// field:normalize, then >name and /bytes when not the defaults.
export function indexLine(x) {
  const key = x.field.slice(x.field.lastIndexOf('.') + 1);
  let s = x.field + ':' + (x.normalize || 'exact');
  if (x.name && x.name !== key + '_bidx') s += '>' + x.name;
  if (x.bytes && x.bytes !== 16) s += '/' + x.bytes;
  return s;
}

// parseIndexLine reads a line of indexLine's syntax; the API checks it.
export function parseIndexLine(line) {
  const m = /^(.*?)(?::([A-Za-z_]*))?(?:>([^/]*))?(?:\/(\d+))?$/.exec(line.trim());
  const out = { field: m[1] };
  if (m[2]) out.normalize = m[2];
  if (m[3]) out.name = m[3];
  if (m[4]) out.bytes = Number(m[4]);
  return out;
}
