// app.js: the console's entry point: sign-in state and the router.
// Addresses: #/projects,
// #/projects/{id}/{keys|proxy|routes|classifications|events|datakeys|subjects}.

import { onUnauthorized, signOut, token } from './api.js';
import { replace } from './dom.js';
import { signinView } from './signin.js';
import { projectsView } from './projects.js';
import { projectView } from './project.js';

const main = document.getElementById('main');
const signoutBtn = document.getElementById('signout');
let view = null; // { el, focus, unmount, projectID?, showTab? }

function show(next) {
  if (view) view.unmount();
  document.querySelectorAll('dialog').forEach((d) => d.remove());
  view = next;
  replace(main, next.el);
  (next.focus || main).focus();
}

// projectIDOf is the project id of an address segment, or null when it
// is none: a malformed percent-escape (decodeURIComponent would throw out
// of the router), or "." or ".." (a browser resolves them in the API path:
// GET …/projects/. is the project list). Anyone can put an address in a
// link; such an address goes to the project list.
function projectIDOf(segment) {
  let id;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return null;
  }
  return id === '.' || id === '..' ? null : id;
}

function route(notice) {
  signoutBtn.hidden = !token();
  if (!token()) {
    document.title = 'Sign in — sdproxy console';
    show(signinView({ notice, onSignedIn: () => route() }));
    return;
  }
  const m = location.hash.match(/^#\/projects\/([^/]+)(?:\/([a-z]+))?$/);
  const id = m ? projectIDOf(m[1]) : null;
  if (id !== null) {
    if (view && view.projectID === id) {
      view.showTab(m[2]);
      return;
    }
    document.title = 'Project — sdproxy console';
    show(projectView(id, m[2]));
    return;
  }
  if (location.hash !== '#/projects') history.replaceState(null, '', '#/projects');
  document.title = 'Projects — sdproxy console';
  show(projectsView());
}

signoutBtn.addEventListener('click', () => {
  signOut();
  history.replaceState(null, '', '#/');
  route('Signed out. The admin token has been forgotten by this tab.');
});

onUnauthorized(() => {
  signOut();
  route('The admin API refused the stored token (unauthorized). Sign in again.');
});

window.addEventListener('hashchange', () => route());
route();
