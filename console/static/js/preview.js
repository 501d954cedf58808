// preview.js: the Routes tab's "Try it" box. It sends a pasted request
// body (and, optionally, an upstream answer) to POST …/preview, which
// encrypts and stores nothing and answers with paths and kinds only. The
// box then shows the bodies it was given, pretty-printed, with the values
// that would be transformed and the hints (values that look like personal
// data that no rule covers) highlighted. The bodies stay in this page and
// that one API call; nothing else keeps them.

import { api, projectPath } from './api.js';
import { alertBox, badge, field, h, lines, replace, showError } from './dom.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

const EXAMPLE = {
  title: 'Order 1042',
  body: 'Deliver to the back door',
  customer: { email: 'jane.doe@example.com', phone: '+1 415 555 0132' },
  card_number: '4111 1111 1111 1111',
  password: 'hunter2-but-longer',
};

// ANY is the segment "*" of a path: any key or index. An escaped "\*" is
// the key "*" itself.
const ANY = Symbol('any');

// parsePath splits a field path of the API (the X-Qanapi-Fields syntax:
// a dot path, a backslash before a '.', ',' or '\' of a key and before a
// key that is "*"; "*" for any key or index) into segments.
export function parsePath(p) {
  if (p === '') return []; // the whole document
  const segs = [];
  let cur = '';
  let escaped = false; // cur holds an escaped character
  const end = () => { segs.push(cur === '*' && !escaped ? ANY : cur); cur = ''; escaped = false; };
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && i + 1 < p.length) {
      cur += p[++i];
      escaped = true;
    } else if (p[i] === '.') {
      end();
    } else {
      cur += p[i];
    }
  }
  end();
  return segs;
}

// pathString spells a concrete path (keys and indices) as the API does.
export function pathString(segs) {
  return segs.map((s) => (s === '*' ? '\\*' : s.replace(/[.,\\]/g, '\\$&'))).join('.');
}

// matches reports whether the path pattern (parsePath) names the concrete
// path segs.
function matches(pattern, segs) {
  return pattern.length === segs.length && pattern.every((p, i) => p === ANY || p === segs[i]);
}

// kindLabel is a hint's kind in a few words: "field_name:dob" is hinted by
// the field's name alone.
function kindLabel(kind) {
  return kind.startsWith('field_name:') ? kind.slice('field_name:'.length) + ' (by its name)' : kind;
}

// previewBox returns { el, unmount }. onRoute(routeID or null) runs with
// each answer, so the tab can mark the matched route.
export function previewBox(ctx, onRoute = () => {}) {
  const method = h('select', { id: 'preview-method' }, METHODS.map((m) => h('option', { value: m, selected: m === 'POST' }, m)));
  const path = h('input', { type: 'text', id: 'preview-path', autocomplete: 'off', spellcheck: 'false', value: '/', placeholder: '/posts/1' });
  const body = h('textarea', { id: 'preview-body', rows: 7, spellcheck: 'false', placeholder: '{"title": "…", "email": "…"}' });
  const response = h('textarea', { id: 'preview-response', rows: 7, spellcheck: 'false', placeholder: 'Optional: an answer of the upstream, to see the response rule.' });
  const hdrFields = h('input', { type: 'text', id: 'preview-fields', autocomplete: 'off', spellcheck: 'false', placeholder: 'title,body' });
  const hdrMode = h('select', { id: 'preview-mode' },
    h('option', { value: '' }, 'not sent'), h('option', { value: 'encrypt' }, 'encrypt'), h('option', { value: 'decrypt' }, 'decrypt'));
  const run = h('button', { type: 'submit', id: 'preview-run' }, 'Preview');
  const example = h('button', {
    type: 'button', class: 'secondary', id: 'preview-example',
    onclick: () => { body.value = JSON.stringify(EXAMPLE, null, 2); body.focus(); },
  }, 'Example body');
  const err = alertBox();
  const result = h('div', { id: 'preview-result', class: 'preview-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'preview-form' },
    h('div', { class: 'inline-fields' }, field('Method', method), field('Path', path, 'What follows /proxy/{project-id}.')),
    h('div', { class: 'preview-bodies' },
      field('Request body (JSON)', body), field('Upstream answer (JSON, optional)', response)),
    h('details', { class: 'preview-headers' },
      h('summary', null, 'Headers the client sends (optional)'),
      h('div', { class: 'inline-fields' },
        field('X-Qanapi-Fields', hdrFields, 'Comma-separated: adds to the route\'s request fields.'),
        field('X-Qanapi-Mode', hdrMode, 'May only repeat the route\'s mode.'))),
    h('div', { class: 'actions' }, run, example),
    err);
  const el = h('section', { class: 'card try-it', id: 'try-it', 'aria-labelledby': 'try-it-title' },
    h('h2', { id: 'try-it-title' }, 'Try it'),
    h('p', null, 'Paste a body to see what these routes would do to it: which route applies, which fields it ' +
      'would transform, and which values look like personal data that no rule covers. Nothing is encrypted ' +
      'or stored, and the answer holds paths and kinds, never values.'),
    form, result);

  let stopped = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err, null, null);
    const meta = { method: method.value, path: path.value.trim() || '/' };
    const fieldsList = lines(hdrFields.value);
    if (fieldsList.length) meta.fields = fieldsList;
    if (hdrMode.value) meta.mode = hdrMode.value;
    let reqDoc;
    let respDoc;
    try {
      reqDoc = parseBody(body.value, 'Request body');
      respDoc = parseBody(response.value, 'Upstream answer');
    } catch (e) {
      showError(err, null, e);
      return;
    }
    run.disabled = true;
    try {
      const ans = await api('POST', projectPath(ctx.id, '/preview'), previewJSON(meta, body.value, response.value), { raw: true });
      if (stopped) return;
      replace(result, renderResult(ans, meta, reqDoc, respDoc));
      onRoute(ans.route ? ans.route.id : null);
    } catch (e) {
      if (!stopped) showError(err, 'Could not preview', e);
    } finally {
      run.disabled = false;
    }
  });

  return { el, unmount: () => { stopped = true; } };
}

// parseBody parses a pasted JSON body, to check it and to show it; empty
// gives undefined.
function parseBody(text, what) {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(what + ': not valid JSON (' + e.message + ')');
  }
}

// previewJSON is the preview request: meta's members, then the bodies as
// they were pasted (JSON already checked by parseBody), so that the API
// sees every digit of a long number and every repeated key.
function previewJSON(meta, bodyText, responseText) {
  let s = JSON.stringify(meta).slice(0, -1);
  if (bodyText.trim()) s += ',"body":' + bodyText.trim();
  if (responseText.trim()) s += ',"response_body":' + responseText.trim();
  return s + '}';
}

// renderResult shows the answer: the route, each phase and the hints, and
// the bodies with what they name highlighted.
function renderResult(ans, meta, reqDoc, respDoc) {
  const hints = ans.hints || [];
  const phaseHints = (phase) => hints.filter((x) => (x.phase || 'request') === phase);
  return [
    h('h3', null, 'Result'),
    routeLine(ans.route, meta),
    phaseSummary('request', ans.request, ans.route, reqDoc !== undefined),
    ans.response ? phaseSummary('response', ans.response, ans.route, true) : null,
    hintList(hints),
    h('div', { class: 'preview-bodies' },
      reqDoc !== undefined ? annotated('Request body', 'preview-doc-request', reqDoc, ans.request, phaseHints('request')) : null,
      respDoc !== undefined ? annotated('Upstream answer', 'preview-doc-response', respDoc, ans.response, phaseHints('response')) : null),
  ];
}

function routeLine(route, meta) {
  const req = h('code', null, meta.method + ' ' + meta.path);
  if (!route) {
    return h('p', { class: 'preview-route', id: 'preview-route' }, 'No route matches ', req,
      ': only the fields of the request\'s X-Qanapi-* headers are transformed.');
  }
  return h('p', { class: 'preview-route', id: 'preview-route' }, 'Route ', h('code', null, route.path),
    ' (order ' + route.order + ', ', h('code', null, route.id), ') applies to ', req, '.');
}

const codes = (list) => list.map((f, i) => [i ? ', ' : '', h('code', null, f)]);

// phaseSummary says what one phase would do: the paths transformed, the
// named paths absent, the required paths missing and, in decrypt mode,
// the values that are not tokens.
function phaseSummary(phase, ph, route, given) {
  const name = phase === 'request' ? 'Request' : 'Response';
  const id = 'preview-' + phase;
  if (!ph || !ph.mode || ph.mode === 'none') {
    const why = route ? 'the route has no ' + phase + ' rule' : 'no route, and no fields named by headers';
    return h('div', { class: 'preview-phase', id },
      h('p', null, h('strong', null, name + ': '), 'nothing would be transformed (' + why + ').'),
      missingLine(ph));
  }
  const fields = ph.fields || [];
  const n = typeof ph.values === 'number' ? ph.values : fields.length;
  const verb = ph.mode === 'encrypt' ? 'encrypted' : 'decrypted';
  const notTokens = ph.not_tokens || [];
  return h('div', { class: 'preview-phase', id },
    h('p', null, h('strong', null, name + ': '), badge(ph.mode, 'mode-' + ph.mode), ' ',
      n ? [n === 1 ? '1 value' : n + ' values', ' would be ' + verb + ': ', codes(fields), '.']
        : given ? 'no value of this body would be ' + verb + '.' : 'no body given.'),
    (ph.absent || []).length ? h('p', { class: 'sub preview-absent' }, 'Named, but absent from this body: ', codes(ph.absent), '.') : null,
    missingLine(ph),
    indexLines(ph),
    subjectLine(ph),
    notTokens.length ? h('p', { class: phase === 'request' ? 'error preview-not-tokens' : 'sub preview-not-tokens' },
      'Not tokens: ', codes(notTokens), phase === 'request'
        ? '. The proxy would refuse this request with 422 not_a_token.'
        : '. The proxy passes them unchanged (data written before the route existed).') : null);
}

// indexLines says which blind-index siblings the request would get, which
// old ones they replace, and which values cannot be indexed.
function indexLines(ph) {
  const list = (ph && ph.index) || [];
  return list.map((x) => h('p', { class: x.not_scalar.length ? 'error preview-index' : 'sub preview-index', 'data-field': x.field },
    'Blind index of ', h('code', null, x.field), ' (' + x.normalize + ', ' + x.bytes + ' bytes): ',
    x.values ? [x.values === 1 ? '1 value' : x.values + ' values', ' written to ', codes(x.written)] : 'nothing in this body',
    x.replaced.length ? ['; replaces ', codes(x.replaced)] : '',
    x.not_scalar.length ? ['; ', codes(x.not_scalar), ' hold an object or array: the proxy would refuse this request with 422 index_not_scalar'] : '',
    '.'));
}

// subjectLine names the route's subject field, and says when the body
// would be refused for it (never its value).
function subjectLine(ph) {
  if (!ph || !ph.subject_field) return null;
  if (ph.subject_invalid) {
    return h('p', { class: 'error preview-subject' }, 'Subject field ', h('code', null, ph.subject_field),
      ' holds no non-empty string: the proxy would refuse this request with 400 invalid_subject.');
  }
  return h('p', { class: 'sub preview-subject' }, 'Values sealed for the data subject in ', h('code', null, ph.subject_field), '.');
}

function missingLine(ph) {
  const missing = (ph && ph.missing_required) || [];
  if (!missing.length) return null;
  return h('p', { class: 'error preview-missing' }, 'Required but missing: ', codes(missing),
    '. The proxy would refuse this request with 422 field_missing and forward nothing.');
}

function hintList(hints) {
  if (hints.length === 0) {
    return h('p', { class: 'preview-hints-none', id: 'preview-hints' }, 'No hints: nothing else in these bodies looks like personal data.');
  }
  return h('div', { class: 'notice preview-hints', id: 'preview-hints' },
    h('p', null, h('strong', null, hints.length === 1 ? '1 value' : hints.length + ' values'),
      (hints.length === 1 ? ' looks' : ' look') + ' like personal data, but no rule covers ' + (hints.length === 1 ? 'it' : 'them') +
      '. Consider adding ' + (hints.length === 1 ? 'its path' : 'their paths') + ' to the route\'s fields.'),
    h('ul', null, hints.map((x) => h('li', { 'data-path': x.path },
      h('code', null, x.path), ' ', badge(x.kind, 'hint'), x.reason ? ': ' + x.reason : '',
      x.phase ? h('span', { class: 'muted' }, ' (' + x.phase + ')') : null))));
}

// annotated renders doc as indented JSON, with each value a phase field
// names marked "transform" and each hinted value marked "hint".
function annotated(title, id, doc, ph, hints) {
  const fieldPats = ((ph && ph.fields) || []).map(parsePath);
  const hintPats = hints.map((x) => ({ segs: parsePath(x.path), hint: x }));
  const mode = ph ? ph.mode : '';
  const mark = (segs) => {
    const out = [];
    if (segs.length && fieldPats.some((p) => matches(p, segs))) out.push({ cls: 'pv-transform', label: mode, title: 'would be ' + (mode === 'encrypt' ? 'encrypted' : 'decrypted') });
    for (const x of hintPats) {
      if (matches(x.segs, segs)) out.push({ cls: 'pv-hint', label: '⚠ ' + kindLabel(x.hint.kind), title: x.hint.reason || x.hint.kind });
    }
    return out;
  };
  return h('figure', { class: 'preview-doc', id },
    h('figcaption', null, title, ' ', h('span', { class: 'legend' },
      h('span', { class: 'pv-transform' }, 'transformed'), ' ', h('span', { class: 'pv-hint' }, 'hint'))),
    h('pre', { class: 'code json-view' }, jsonNodes(doc, [], mark, 0)));
}

const pad = (n) => '  '.repeat(n);

// jsonNodes renders v (at path segs) as pretty-printed JSON nodes.
function jsonNodes(v, segs, mark, depth) {
  let inner;
  if (Array.isArray(v)) {
    inner = v.length === 0 ? '[]' : ['[\n', v.map((x, i) => [pad(depth + 1),
      jsonNodes(x, [...segs, String(i)], mark, depth + 1), i < v.length - 1 ? ',' : '', '\n']), pad(depth), ']'];
  } else if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    inner = keys.length === 0 ? '{}' : ['{\n', keys.map((k, i) => [pad(depth + 1),
      h('span', { class: 'pv-key' }, JSON.stringify(k)), ': ',
      jsonNodes(v[k], [...segs, k], mark, depth + 1), i < keys.length - 1 ? ',' : '', '\n']), pad(depth), '}'];
  } else {
    inner = h('span', { class: 'pv-' + (v === null ? 'null' : typeof v) }, JSON.stringify(v));
  }
  const marks = mark(segs);
  if (marks.length === 0) return inner;
  return h('span', {
    class: 'pv-mark ' + marks.map((m) => m.cls).join(' '), 'data-path': pathString(segs),
    title: marks.map((m) => m.title).join('; '),
  }, inner, marks.map((m) => h('span', { class: 'pv-label ' + m.cls + '-label' }, m.label)));
}
