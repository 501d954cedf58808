// projectform.js: the project settings fields, shared by "Create project"
// and the Data Proxy tab. Range checks are the API's: its messages name
// the field and are shown as they come.

import { field, h, lines } from './dom.js';

export const ENVIRONMENTS = ['development', 'staging', 'production'];

// projectFields returns the settings controls, filled from existing when
// editing, and read(), which returns the JSON body to send: every field
// given when creating, only the changed ones when editing. read throws an
// Error with a sentence when a value is not even a number.
export function projectFields(existing) {
  const p = existing || {};
  const rl = p.rate_limit || {};
  const c = {
    name: h('input', { id: 'project-name', type: 'text', required: true, value: p.name ?? '', autocomplete: 'off' }),
    environment: existing
      ? h('input', { id: 'project-environment', type: 'text', readOnly: true, value: p.environment, 'aria-readonly': 'true' })
      : h('select', { id: 'project-environment' }, ENVIRONMENTS.map((e) => h('option', { value: e }, e))),
    upstream: h('input', {
      id: 'project-upstream', type: 'text', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'http://orders.internal:9000/api', value: p.upstream ?? '',
    }),
    destinations: h('textarea', {
      id: 'project-destinations', rows: 3, spellcheck: 'false', placeholder: 'https://api.partner.example',
      value: (p.destinations || []).join('\n'),
    }),
    rps: h('input', { id: 'project-rps', type: 'text', inputmode: 'decimal', placeholder: '100', value: rl.requests_per_second ?? '' }),
    burst: h('input', { id: 'project-burst', type: 'text', inputmode: 'numeric', placeholder: '200', value: rl.burst ?? '' }),
    maxKeys: h('input', { id: 'project-max-keys', type: 'text', inputmode: 'numeric', placeholder: '10', value: p.max_active_keys ?? '' }),
    bindFields: h('input', { id: 'project-bind-fields', type: 'checkbox', checked: !!p.bind_fields }),
    upstreamCA: h('textarea', {
      id: 'project-upstream-ca', rows: 4, spellcheck: 'false', autocomplete: 'off', class: 'pem',
      placeholder: '-----BEGIN CERTIFICATE-----', value: p.upstream_ca ?? '',
    }),
    clientCert: h('textarea', {
      id: 'project-client-cert', rows: 4, spellcheck: 'false', autocomplete: 'off', class: 'pem',
      placeholder: '-----BEGIN CERTIFICATE-----', value: p.upstream_client_cert ?? '',
    }),
    // The key is write-only: never filled from the API, which never sends it.
    clientKey: h('textarea', {
      id: 'project-client-key', rows: 3, spellcheck: 'false', autocomplete: 'off', class: 'pem',
      placeholder: p.upstream_client_key_set ? 'Set (never shown). Paste a new key only with a new certificate.' : '-----BEGIN PRIVATE KEY-----',
    }),
  };
  const nodes = [
    field('Name', c.name),
    field('Environment', c.environment, existing ? 'Fixed when the project was created.' : 'Fixed once the project is created.'),
    field('Upstream', c.upstream, 'Base URL requests are forwarded to. Empty: the proxy answers with the transformed JSON.'),
    field('Allowed destinations', c.destinations, 'Origins that X-Qanapi-Destination may name, one per line.'),
    h('fieldset', { class: 'inline-fields' },
      h('legend', null, 'Rate limit per API key'),
      field('Requests per second', c.rps),
      field('Burst', c.burst)),
    field('Max active keys', c.maxKeys, 'Active API keys allowed at once (default 10).'),
    field('Bind tokens to their field', c.bindFields, 'New tokens open only at the field path they were sealed at; moving data between fields then needs re-encryption.'),
    h('fieldset', { class: 'upstream-tls' },
      h('legend', null, 'Upstream TLS'),
      h('p', { id: 'project-upstream-tls', class: 'hint' }, tlsStatus(p)),
      field('Upstream CA (PEM)', c.upstreamCA, 'CA certificates the upstream and destinations are verified against instead of the system\'s roots. Empty: the system\'s roots.'),
      field('Client certificate (PEM)', c.clientCert, 'Presented to an upstream or destination that asks for one (mTLS). Empty it to remove the certificate and its key.'),
      field('Client private key (PEM)', c.clientKey, 'Goes with a new client certificate. Stored sealed under the master key; never shown again.')),
  ];
  return { nodes, controls: c, read: () => (existing ? changes(c, p) : creation(c)) };
}

// tlsStatus says in words what the project's upstream TLS is.
export function tlsStatus(p) {
  const n = (p.upstream_ca || '').split('-----BEGIN CERTIFICATE-----').length - 1;
  const roots = n > 0 ? 'verified against the project\'s CA (' + n + (n === 1 ? ' certificate)' : ' certificates)') : 'verified against the system\'s roots';
  const cert = p.upstream_client_cert
    ? 'a client certificate is presented' + (p.upstream_client_key_set ? ' (its key is set, never shown)' : '')
    : 'no client certificate';
  return 'Upstreams and destinations are ' + roots + '; ' + cert + '.';
}

// clientPair reads the client certificate and key: the body members to
// send (none when unchanged), or an Error with a sentence.
function clientPair(c, p) {
  const cert = c.clientCert.value.trim();
  const key = c.clientKey.value.trim();
  const had = p.upstream_client_cert || '';
  if (cert === had.trim() && key === '') return {};
  if (cert === '' && key === '') return { upstream_client_cert: '', upstream_client_key: '' };
  if (cert === '') throw new Error('client private key: give the client certificate it belongs to');
  if (key === '') throw new Error('client certificate: a new certificate needs its private key');
  return { upstream_client_cert: cert + '\n', upstream_client_key: key + '\n' };
}

function num(input, label) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(label + ': must be a number');
  return n;
}

function rateLimit(c) {
  const rps = num(c.rps, 'requests per second');
  const burst = num(c.burst, 'burst');
  if (rps === null && burst === null) return null;
  if (rps === null || burst === null) throw new Error('rate limit: give both requests per second and burst, or neither');
  return { requests_per_second: rps, burst };
}

function creation(c) {
  const body = { name: c.name.value.trim(), environment: c.environment.value };
  if (c.upstream.value.trim()) body.upstream = c.upstream.value.trim();
  const dest = lines(c.destinations.value);
  if (dest.length) body.destinations = dest;
  const rl = rateLimit(c);
  if (rl) body.rate_limit = rl;
  const max = num(c.maxKeys, 'max active keys');
  if (max !== null) body.max_active_keys = max;
  if (c.bindFields.checked) body.bind_fields = true;
  if (c.upstreamCA.value.trim()) body.upstream_ca = c.upstreamCA.value.trim() + '\n';
  Object.assign(body, clientPair(c, {}));
  return body;
}

function changes(c, p) {
  const body = {};
  const name = c.name.value.trim();
  if (name !== p.name) body.name = name;
  const upstream = c.upstream.value.trim();
  if (upstream !== (p.upstream || '')) body.upstream = upstream;
  const dest = lines(c.destinations.value);
  if (dest.join('\n') !== (p.destinations || []).join('\n')) body.destinations = dest;
  const rl = rateLimit(c);
  const old = p.rate_limit || {};
  if (rl && (rl.requests_per_second !== old.requests_per_second || rl.burst !== old.burst)) body.rate_limit = rl;
  const max = num(c.maxKeys, 'max active keys');
  if (max !== null && max !== p.max_active_keys) body.max_active_keys = max;
  if (c.bindFields.checked !== !!p.bind_fields) body.bind_fields = c.bindFields.checked;
  const ca = c.upstreamCA.value.trim();
  if (ca !== (p.upstream_ca || '').trim()) body.upstream_ca = ca ? ca + '\n' : '';
  Object.assign(body, clientPair(c, p));
  return body;
}
