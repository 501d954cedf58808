// classifications.js: the Classifications tab: the project's data
// classifications (the slugs that tag tokens and that key scopes and
// route rules name) with the mask a decrypt_masked key sees; create, edit,
// delete. Deleting one that a key or a route still names is refused (409
// classification_in_use): the dialog then says which and what to do.

import { api, listAll, projectPath } from './api.js';
import { confirmDialog, openDialog } from './dialog.js';
import { alertBox, announce, badge, field, h, replace, showError, table, timeEl } from './dom.js';
import { projectHref } from './projects.js';

// DEFAULT_MASK is the mask of a classification that sets none (and of
// routes.md's decrypt_masked): all but the last 4 characters as '*'.
export const DEFAULT_MASK = { show_first: 0, show_last: 4, char: '*' };

// EXAMPLE is what the mask column and the dialog's preview mask.
const EXAMPLE = '4111 1111 1111 1234';

// classificationsPath is the collection, or one classification by slug.
function classificationsPath(projectID, slug) {
  return projectPath(projectID, '/classifications' + (slug ? '/' + encodeURIComponent(slug) : ''));
}

// listClassifications returns every classification of the project.
export function listClassifications(projectID) {
  return listAll(classificationsPath(projectID));
}

// maskValue masks value as the proxy does (fieldcrypt.Mask): it shows at
// most show_first characters at the start and show_last at the end and
// writes char for each other one; a value of at most show_first+show_last
// characters is masked whole.
export function maskValue(mask, value) {
  const m = mask || DEFAULT_MASK;
  const chars = [...value];
  let first = Math.max(Number(m.show_first) || 0, 0);
  let last = Math.max(Number(m.show_last) || 0, 0);
  if (first + last >= chars.length) first = last = 0;
  const c = m.char || '*';
  return chars.map((ch, i) => (i < first || i >= chars.length - last ? ch : c)).join('');
}

// isBuiltin: "none", the classification of untagged tokens, which every
// project has and which can't be changed or deleted.
export function isBuiltin(c) {
  return !!c.builtin || c.slug === 'none';
}

// maskSummary says what a mask shows, in words.
function maskSummary(m) {
  const parts = [];
  if (m.show_first) parts.push('first ' + m.show_first);
  if (m.show_last) parts.push('last ' + m.show_last);
  return (parts.length ? 'shows the ' + parts.join(' and the ') : 'hides everything') + ', as ' + (m.char || '*');
}

// classificationsTab mounts the tab into panel and returns its unmount function.
export function classificationsTab(panel, ctx) {
  let items = [];
  const err = alertBox();
  const create = h('button', { type: 'button', id: 'create-classification', onclick: () => formDialog(null) }, 'Create classification');
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load() }, 'Refresh');
  const heading = h('h2', { tabindex: '-1' }, 'Classifications');
  const list = h('div', { class: 'classifications-list', 'aria-busy': 'true' });
  replace(panel,
    h('div', { class: 'toolbar' }, heading, h('span', { class: 'spacer' }), refresh, create),
    h('p', { class: 'muted' }, 'A classification tags the tokens it seals (X-Qanapi-Classification, or a route\'s ' +
      'request rule). An API key limited to some classifications opens only their tokens. A key with ' +
      'decrypt_masked reads each value through its classification\'s mask. ', h('code', null, 'none'),
      ' (untagged tokens) always exists and can\'t be changed.'),
    err, list);

  async function load() {
    try {
      items = await listClassifications(ctx.id);
      showError(err, null, null);
      render();
    } catch (e) {
      showError(err, 'Could not list the classifications', e);
    }
  }

  function render() {
    list.setAttribute('aria-busy', 'false');
    if (items.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No classifications yet. Create one (for example pii) to tag tokens and scope keys.'));
      return;
    }
    replace(list, table('Classifications of ' + ctx.project.name, [
      { label: 'Slug', cell: (c) => h('span', null, h('code', { class: 'slug' }, c.slug), isBuiltin(c) ? [' ', badge('built in', 'builtin')] : null) },
      { label: 'Name', cell: (c) => c.name || '—' },
      { label: 'Description', cell: (c) => c.description || '—' },
      { label: 'Mask', cell: maskCell },
      { label: 'Updated', cell: (c) => timeEl(c.updated_at || c.created_at) },
      { label: 'Actions', cell: actions },
    ], items, (c) => ({ 'data-slug': c.slug })));
  }

  function maskCell(c) {
    const m = c.mask || DEFAULT_MASK;
    return h('span', null, h('code', { class: 'mask-example' }, maskValue(m, EXAMPLE)),
      h('span', { class: 'sub' }, maskSummary(m)));
  }

  function actions(c) {
    if (isBuiltin(c)) return h('span', { class: 'muted' }, 'built in');
    return h('span', { class: 'row-actions' },
      h('button', { type: 'button', class: 'secondary small edit', 'aria-label': 'Edit classification ' + c.slug, onclick: () => formDialog(c) }, 'Edit'),
      h('button', { type: 'button', class: 'danger small delete', 'aria-label': 'Delete classification ' + c.slug, onclick: () => deleteDialog(c) }, 'Delete'));
  }

  // upsert puts c in the list in place of the one with its slug, in the
  // API's order (by slug).
  function upsert(c) {
    items = [...items.filter((x) => x.slug !== c.slug), c].sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
    render();
  }

  function deleteDialog(c) {
    confirmDialog({
      title: 'Delete classification?',
      body: [
        h('p', null, 'Delete ', h('code', null, c.slug), c.name ? ' (' + c.name + ')' : '', '?'),
        h('p', null, 'Tokens it tagged still open for keys without a classification scope. ' +
          'sdproxy refuses to delete it while an API key or a route names it.'),
      ],
      confirmLabel: 'Delete classification',
      danger: true,
      returnFocus: () => heading,
      explain: (e) => (e.code === 'classification_in_use' ? inUseHelp(ctx, e) : null),
      action: async () => {
        await api('DELETE', classificationsPath(ctx.id, c.slug));
        items = items.filter((x) => x.slug !== c.slug);
        render();
        announce('Deleted classification ' + c.slug);
      },
    });
  }

  function formDialog(existing) {
    const f = classificationFields(existing);
    const errBox = alertBox();
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const submit = h('button', { type: 'submit', id: 'classification-submit' }, existing ? 'Save changes' : 'Create classification');
    const form = h('form', { class: 'dialog-form', id: 'classification-form' }, f.nodes, errBox,
      h('div', { class: 'dialog-actions' }, cancel, submit));
    const dlg = openDialog({
      title: existing ? 'Edit classification ' + existing.slug : 'Create classification',
      content: form, focus: existing ? f.first : undefined, returnFocus: () => heading,
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
        const saved = existing
          ? await api('PUT', classificationsPath(ctx.id, existing.slug), body)
          : await api('POST', classificationsPath(ctx.id), body);
        dlg.close();
        upsert(saved);
        announce((existing ? 'Saved' : 'Created') + ' classification ' + saved.slug);
      } catch (e) {
        showError(errBox, existing ? 'Could not save' : 'Could not create the classification', e);
        submit.disabled = false;
      }
    });
  }

  load();
  return () => {
    document.querySelectorAll('dialog').forEach((d) => d.close());
  };
}

// classificationFields returns the dialog's controls, the element to focus
// when editing, and read(), the JSON body: the whole classification (PUT
// replaces it; the slug is in the address and can't change).
function classificationFields(existing) {
  const c = existing || {};
  const m = c.mask || DEFAULT_MASK;
  const slug = h('input', {
    type: 'text', id: 'classification-slug', required: true, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'pii', value: c.slug ?? '', readOnly: !!existing, 'aria-readonly': existing ? 'true' : null,
  });
  const name = h('input', { type: 'text', id: 'classification-name', autocomplete: 'off', placeholder: 'Personal data', value: c.name ?? '' });
  const description = h('textarea', { id: 'classification-description', rows: 2, value: c.description ?? '' });
  const first = h('input', { type: 'text', id: 'mask-show-first', inputmode: 'numeric', value: String(m.show_first ?? 0) });
  const last = h('input', { type: 'text', id: 'mask-show-last', inputmode: 'numeric', value: String(m.show_last ?? 4) });
  const char = h('input', { type: 'text', id: 'mask-char', autocomplete: 'off', spellcheck: 'false', value: m.char || '*' });
  const example = h('code', { id: 'mask-preview', class: 'mask-example' });
  const update = () => {
    let mask;
    try { mask = readMask(); } catch { mask = null; }
    example.textContent = mask ? maskValue(mask, EXAMPLE) : '—';
  };
  [first, last, char].forEach((el) => el.addEventListener('input', update));

  function readMask() {
    const n = (el, label) => {
      const v = el.value.trim() === '' ? 0 : Number(el.value.trim());
      if (!Number.isInteger(v) || v < 0) throw new Error('mask.' + label + ': must be a whole number, 0 or more');
      return v;
    };
    const ch = char.value;
    if ([...ch].length !== 1) throw new Error('mask.char: must be exactly one character');
    return { show_first: n(first, 'show_first'), show_last: n(last, 'show_last'), char: ch };
  }
  update();
  const nodes = [
    field('Slug', slug, existing ? 'Fixed: tokens, keys and routes name it.' : 'a-z, 0-9, - and _, at most 64. Tokens, keys and routes name it; it can\'t be changed later.'),
    field('Name', name),
    field('Description', description),
    h('fieldset', { class: 'inline-fields mask-fields' },
      h('legend', null, 'Mask for decrypt_masked keys'),
      field('Show first', first), field('Show last', last), field('Mask character', char),
      h('p', { class: 'hint mask-preview-line' }, EXAMPLE + ' reads ', example)),
  ];
  return {
    nodes,
    first: name,
    read() {
      const body = { name: name.value.trim(), description: description.value.trim(), mask: readMask() };
      return existing ? body : { slug: slug.value.trim(), ...body };
    },
  };
}

// inUseHelp explains a 409 classification_in_use: the API's message names
// the keys and routes that use the classification by id; their names and
// paths are filled in once listed.
function inUseHelp(ctx, e) {
  const ids = (re) => [...new Set(e.message.match(re) || [])];
  const keys = ids(/\bqk_[a-z0-9]+/g);
  const routes = ids(/\brt_[a-z0-9]+/g);
  const go = (tab, label) => h('a', {
    href: projectHref(ctx.id, tab),
    onclick: () => document.querySelectorAll('dialog').forEach((d) => d.close()),
  }, label);
  const named = (list, what) => list.map((id, i) => {
    const el = h('span', { class: 'in-use-' + what, 'data-id': id }, h('code', null, id));
    return [i ? ', ' : '', el];
  });
  const box = h('div', { class: 'in-use' },
    h('p', null, 'It is still in use: deleting it would leave them naming a classification that does not exist.'),
    h('ul', null,
      routes.length || !keys.length
        ? h('li', null, (routes.length > 1 ? 'Routes ' : 'A route '), named(routes, 'route'),
          (routes.length > 1 ? ' tag their tokens' : ' tags its tokens') + ' with it: change the request ' +
          'classification, or delete the route, on the ', go('routes', 'Routes tab'), '.')
        : null,
      keys.length || !routes.length
        ? h('li', null, (keys.length > 1 ? 'API keys ' : 'An API key '), named(keys, 'key'),
          (keys.length > 1 ? ' are' : ' is') + ' limited to it. A key\'s classifications can\'t be changed ' +
          '(rotating keeps them): revoke the key, and create a replacement without this scope, on the ',
          go('keys', 'API Keys tab'), '.')
        : null),
    h('p', null, 'Then delete the classification again.'));
  describe(ctx, box, routes.length ? '/routes' : null, 'route', (r) => h('code', null, r.path));
  describe(ctx, box, keys.length ? '/keys' : null, 'key', (k) => k.name || null);
  return box;
}

// describe lists the project's routes or keys and puts each one's path or
// name next to its id in box; a failure leaves the ids alone.
async function describe(ctx, box, path, what, label) {
  if (!path) return;
  let items;
  try {
    items = await listAll(projectPath(ctx.id, path));
  } catch {
    return;
  }
  for (const el of box.querySelectorAll('.in-use-' + what)) {
    const it = items.find((x) => x.id === el.dataset.id);
    const text = it && label(it);
    if (!text) continue;
    el.prepend(text, ' (');
    el.append(')');
  }
}
