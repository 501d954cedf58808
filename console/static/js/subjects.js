// subjects.js: the Subjects tab: look up a data subject by id and erase it
// (crypto-shredding, docs/erasure.md). The subject id is personal data: it
// lives in the input only, never in the address, history or storage, and
// the API never echoes it (answers carry the reference ref).

import { api, projectPath } from './api.js';
import { confirmDialog } from './dialog.js';
import { alertBox, announce, badge, field, h, replace, showError, timeEl } from './dom.js';

const STATE_HELP = {
  none: 'nothing was ever sealed for this id',
  active: 'its values open as usual',
  erased: 'its secret is destroyed: its values can no longer be opened or sealed',
};

// subjectPath is the API path of subject in project id, the subject
// percent-encoded as one path segment. A browser resolves a segment "."
// or ".." (and %2E, %2E%2E) before sending: "…/subjects/.." would reach
// the project's own path, and erasing would delete the project. Those two
// ids are refused here; the CLI sends them.
function subjectPath(id, subject) {
  if (subject === '.' || subject === '..') {
    throw new Error('A browser cannot send the subject id "' + subject + '" in an address (it reads it as a step ' +
      'up the path). Use the CLI: sdproxy subject show --project ' + id + ' ' + subject);
  }
  return projectPath(id, '/subjects/' + encodeURIComponent(subject));
}

// subjectsTab mounts the tab into panel and returns its unmount function.
export function subjectsTab(panel, ctx) {
  const err = alertBox();
  const status = h('p', { class: 'form-status', role: 'status' });
  const input = h('input', {
    type: 'text', id: 'subject-id', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: 256,
  });
  const lookup = h('button', { type: 'submit', id: 'lookup-subject' }, 'Look up');
  const result = h('div', { class: 'subject-result', id: 'subject-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'toolbar filters subject-form', onsubmit: (ev) => { ev.preventDefault(); load(); } },
    field('Subject id', input),
    lookup);
  replace(panel,
    h('div', { class: 'toolbar' }, h('h2', null, 'Data subjects')),
    h('p', { class: 'muted' }, 'Values sealed for a data subject open with a key of their own. Erasing the subject ' +
      'destroys that key\'s secret (crypto-shredding), so every value sealed for them becomes unreadable, ' +
      'wherever copies of it are kept. Type the id as your application sends it (X-Qanapi-Subject); ' +
      'it stays in this field only.'),
    form, err, status, result);
  input.addEventListener('input', () => { replace(result); status.textContent = ''; });

  async function load() {
    const subject = input.value;
    if (!subject) return;
    lookup.disabled = true;
    status.textContent = '';
    try {
      const s = await api('GET', subjectPath(ctx.id, subject));
      if (input.value !== subject) return; // edited meanwhile: the answer is stale
      showError(err, null, null);
      show(s, subject);
    } catch (e) {
      replace(result);
      showError(err, 'Could not look up the subject', e);
    } finally {
      lookup.disabled = false;
    }
  }

  // show renders the API's view of subject (the view holds no subject id).
  function show(s, subject) {
    const row = (label, value) => [h('dt', null, label), h('dd', null, value)];
    const erase = s.state === 'erased' ? null : h('button', {
      type: 'button', id: 'erase-subject', class: 'danger', onclick: () => confirmErase(subject),
    }, 'Erase…');
    replace(result, h('section', { class: 'card', 'aria-label': 'Subject' },
      h('dl', { class: 'facts' },
        row('State', h('span', { id: 'subject-state' }, badge(s.state), ' ',
          h('span', { class: 'muted' }, STATE_HELP[s.state] || ''))),
        row('Reference', h('code', { id: 'subject-ref' }, s.ref)),
        row('Created', timeEl(s.created_at)),
        row('Erased', timeEl(s.erased_at)),
        row('Sealed values', h('span', { id: 'subject-sealed' }, Number(s.sealed_values || 0).toLocaleString()))),
      erase ? h('div', { class: 'actions' }, erase) : null));
  }

  // confirmErase asks for the subject id to be typed again, then erases.
  function confirmErase(subject) {
    const typed = h('input', { type: 'text', id: 'erase-confirm', autocomplete: 'off', spellcheck: 'false' });
    const dlg = confirmDialog({
      title: 'Erase this data subject?',
      danger: true,
      confirmLabel: 'Erase subject',
      body: [
        h('div', { class: 'notice' },
          h('p', null, h('strong', null, 'Erasure is irreversible. '),
            'The subject\'s secret is destroyed: every value sealed for this subject becomes unreadable ' +
            'everywhere: in databases, backups, logs and queues alike. Nothing can be sealed for this id again.'),
          h('p', null, 'Backups of sdproxy\'s store taken before now still hold the secret until they are ' +
            'deleted (see docs/erasure.md).')),
        field('Type the subject id to confirm', typed),
      ],
      action: async () => {
        if (typed.value !== subject) throw new Error('The typed id does not match the subject looked up.');
        return api('DELETE', subjectPath(ctx.id, subject));
      },
      onDone: (s) => {
        show(s, subject);
        showError(err, null, null);
        status.textContent = s.erased ? 'Erased: the subject\'s values can no longer be opened.' : 'The subject was erased already.';
        announce(status.textContent);
      },
      returnFocus: () => input,
    });
    const ok = dlg.querySelector('button[type=submit]');
    const sync = () => { ok.disabled = typed.value !== subject; };
    typed.addEventListener('input', sync);
    sync();
  }

  return () => {};
}
