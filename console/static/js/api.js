// api.js: the admin API client. The admin token lives in sessionStorage
// only (this tab, gone when it closes) and travels in the Authorization
// header; never in a URL, a cookie or localStorage.

const TOKEN_KEY = 'sdproxy.adminToken';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

// signOut forgets the token and every other setting of this tab.
export function signOut() {
  sessionStorage.clear();
}

// APIError is an error answer of the admin API (or a network failure,
// status 0), with the API's code, message and request id.
export class APIError extends Error {
  constructor(status, code, message, requestID) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
    this.requestID = requestID || '';
  }
}

let unauthorizedHandler = () => {};

// onUnauthorized sets what happens when the API refuses the stored token.
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

// api calls the admin API. body, when given, is sent as JSON; with
// opts.raw it is a string of JSON already, sent as it is. opts.token
// overrides the stored token (to check a token before keeping it).
// It resolves to the decoded answer (null for 204) or rejects with an
// APIError.
export async function api(method, path, body, opts = {}) {
  const bearer = opts.token ?? token() ?? '';
  const init = {
    method,
    headers: { Authorization: 'Bearer ' + bearer, Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
    referrerPolicy: 'no-referrer',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = opts.raw ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, 'network_error', 'could not reach the admin API (' + e.message + ')');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const err = new APIError(res.status, e.code || 'http_' + res.status,
      e.message || res.statusText || 'request failed',
      e.request_id || res.headers.get('X-Qanapi-Request-Id'));
    if (res.status === 401 && opts.token === undefined) unauthorizedHandler(err);
    throw err;
  }
  if (data === undefined) {
    throw new APIError(res.status, 'invalid_response', 'the admin API answered something that is not JSON');
  }
  return data;
}

// listAll follows next_cursor until the last page and returns every item.
export async function listAll(path) {
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const url = cursor ? path + sep + 'cursor=' + encodeURIComponent(cursor) : path;
    const page = await api('GET', url);
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// projectPath is /admin/v1/projects/{id} plus rest, with the id escaped.
export function projectPath(id, rest = '') {
  return '/admin/v1/projects/' + encodeURIComponent(id) + rest;
}
