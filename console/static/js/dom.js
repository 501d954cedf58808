// dom.js: building the page without innerHTML. Every piece of text goes in
// as a text node, so nothing the API says is ever parsed as HTML.

import { APIError } from './api.js';

// Properties set as DOM properties rather than attributes.
const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected']);

// h creates an element. attrs: "class", "onclick"-style listeners, DOM
// properties (value, checked, disabled, hidden, selected) and attributes;
// null, undefined and false are left out. children: nodes or text.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || (v === false && !PROPS.has(k))) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (PROPS.has(k)) {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

// append adds children (nodes or text, arrays flattened) to el.
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idSeq = 0;

// uid returns a document-unique id with the given prefix.
export function uid(prefix) {
  idSeq += 1;
  return prefix + '-' + idSeq;
}

// fmtTime shows an RFC 3339 time as "2026-11-25 22:25:07Z" (UTC, like
// the CLI); null gives ifNull.
export function fmtTime(iso, ifNull = '—') {
  if (!iso) return ifNull;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}

// timeEl is a <time> element for an RFC 3339 time.
export function timeEl(iso, ifNull = '—') {
  if (!iso) return document.createTextNode(ifNull);
  const [day, clock] = fmtTime(iso).split(' ');
  if (!clock) return h('time', { datetime: iso }, day);
  // Two unbreakable halves, so a narrow column wraps between date and time.
  return h('time', { datetime: iso, title: new Date(iso).toString() },
    h('span', { class: 'nowrap' }, day), ' ', h('span', { class: 'nowrap' }, clock));
}

// errorText puts an error in words: the API's message, its code and the
// HTTP status, and the request id to find it in the server log.
export function errorText(e) {
  if (e instanceof APIError) {
    let s = e.message + ' (' + e.code + (e.status ? ', HTTP ' + e.status : '') + ')';
    if (e.requestID) s += ' — request id ' + e.requestID;
    return s;
  }
  return (e && e.message) || String(e);
}

// showError writes "what: error" into box (a role=alert element) and
// unhides it; a null error hides it.
export function showError(box, what, e) {
  if (!e) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  replace(box, what ? what + ': ' : '', errorText(e));
  box.hidden = false;
}

// alertBox is an empty, hidden error box.
export function alertBox() {
  return h('p', { class: 'error', role: 'alert', hidden: true });
}

// announce tells screen-reader users what just happened.
export function announce(text) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

// copyFrom copies the text of el to the clipboard. When the clipboard is
// not available it selects the text so the user can press Ctrl+C. It
// resolves to a sentence saying what happened.
export async function copyFrom(el) {
  try {
    await navigator.clipboard.writeText(el.textContent);
    return 'Copied to the clipboard.';
  } catch {
    selectText(el);
    return 'Could not reach the clipboard: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.';
  }
}

// selectText selects the contents of el.
export function selectText(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

// copyButton is a Copy button for the text of target, with a status line.
export function copyButton(target, label = 'Copy') {
  const status = h('span', { class: 'copy-status', role: 'status' });
  const btn = h('button', {
    type: 'button',
    class: 'secondary small',
    onclick: async () => { status.textContent = await copyFrom(target); },
  }, label);
  return h('span', { class: 'copy' }, btn, status);
}

// field is a labelled form control with an optional hint.
export function field(label, control, hint) {
  const id = control.id || (control.id = uid('f'));
  const hintEl = hint ? h('span', { class: 'hint', id: id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

// lines splits a textarea's value into trimmed non-empty lines.
export function lines(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

// table builds a table: columns [{label, cell(row) -> node|text}], rows.
// On narrow screens the CSS shows each row as a card, labelled by the
// data-label of each cell.
export function table(caption, columns, rows, rowAttrs = () => ({})) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'list' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', null, rows.map((r) => h('tr', rowAttrs(r),
        columns.map((c) => h('td', { 'data-label': c.label }, h('span', { class: 'cell' }, c.cell(r)))))))));
}

// badge is a small status label.
export function badge(text, kind = text) {
  return h('span', { class: 'badge badge-' + String(kind).replace(/[^a-z0-9-]/gi, '') }, text);
}
