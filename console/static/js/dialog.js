// dialog.js: modal dialogs on <dialog>. The browser keeps focus inside
// and closes on Escape; openDialog moves focus in, and on close removes
// the dialog from the page (with whatever it showed) and puts focus back.

import { h, showError, uid } from './dom.js';

// openDialog shows a modal dialog titled title with content (nodes).
// focus: the element to focus first (default: the first control).
// returnFocus: the element to focus after closing (default: the element
// that had focus, or main when that is gone). onClose runs after removal.
// It returns the dialog; call dialog.close() to close it.
export function openDialog({ title, content, focus, returnFocus, onClose, className = '' }) {
  const opener = document.activeElement;
  const titleID = uid('dlg-title');
  const dlg = h('dialog', { class: ('dialog ' + className).trim(), 'aria-labelledby': titleID },
    h('h2', { id: titleID, class: 'dialog-title' }, title),
    content);
  document.body.append(dlg);
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (onClose) onClose();
    const back = typeof returnFocus === 'function' ? returnFocus() : returnFocus;
    const target = [back, opener].find((el) => el && el.isConnected && !el.disabled);
    (target || document.getElementById('main')).focus();
  });
  dlg.showModal();
  const first = focus || dlg.querySelector('input, select, textarea, button');
  if (first) first.focus();
  return dlg;
}

// setTitle changes a dialog's title.
export function setTitle(dlg, text) {
  dlg.querySelector('.dialog-title').textContent = text;
}

// confirmDialog asks a yes/no question. action() runs on confirm; while it
// runs the buttons are disabled; when it throws, the error is shown in the
// dialog (and the dialog stays); otherwise the dialog closes and then
// onDone(result of action), if given, runs. explain(error), if given,
// returns nodes shown under the error: what it means and what to do.
export function confirmDialog({ title, body, confirmLabel, danger = false, action, onDone, returnFocus, explain }) {
  const errBox = h('div', { class: 'error', role: 'alert', hidden: true });
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const ok = h('button', { type: 'submit', class: danger ? 'danger' : '' }, confirmLabel);
  const form = h('form', { class: 'dialog-form' }, body, errBox,
    h('div', { class: 'dialog-actions' }, cancel, ok));
  const dlg = openDialog({ title, content: form, focus: cancel, returnFocus });
  cancel.addEventListener('click', () => dlg.close());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ok.disabled = true;
    cancel.disabled = true;
    let result;
    try {
      result = await action();
    } catch (e) {
      showError(errBox, '', e);
      const more = explain ? explain(e) : null;
      if (more) errBox.append(...[more].flat().filter(Boolean));
      ok.disabled = false;
      cancel.disabled = false;
      cancel.focus();
      return;
    }
    dlg.close();
    if (onDone) onDone(result);
  });
  return dlg;
}
