// The console's JSON API. Cookie session (HttpOnly, SameSite=Strict); every state-changing
// request carries the X-Vigil-Request header the server requires against cross-site requests.
export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const opts = { method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-Vigil-Request'] = '1';
    opts.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && !path.endsWith('/login')) window.dispatchEvent(new Event('vigil:logged-out'));
    throw new ApiError(res.status, (data && data.error) || res.statusText);
  }
  return data;
}

export const api = {
  login: (user, password) => call('POST', '/api/v1/login', { user, password }),
  logout: () => call('POST', '/api/v1/logout'),
  me: () => call('GET', '/api/v1/me'),
  alerts: (params) => call('GET', '/api/v1/alerts?' + new URLSearchParams(params)),
  groups: (params) => call('GET', '/api/v1/alerts/groups?' + new URLSearchParams(params)),
  alert: (id) => call('GET', `/api/v1/alerts/${encodeURIComponent(id)}`),
  unmask: (id, reason) => call('POST', `/api/v1/alerts/${encodeURIComponent(id)}/unmask`, { reason }),
  act: (body) => call('POST', '/api/v1/alerts/actions', body),
  incidents: () => call('GET', '/api/v1/incidents'),
  incident: (id) => call('GET', `/api/v1/incidents/${encodeURIComponent(id)}`),
  incidentAct: (id, body) => call('POST', `/api/v1/incidents/${encodeURIComponent(id)}/actions`, body),
  dashboard: (params) => call('GET', '/api/v1/dashboard?' + new URLSearchParams(params)),
  auditHead: () => call('GET', '/api/v1/audit/head'),
  audit: (params) => call('GET', '/api/v1/audit?' + new URLSearchParams(params)),
  inclusion: (seq, size) => call('GET', `/api/v1/audit/proof/inclusion?seq=${seq}&tree_size=${size}`),
  consistency: (oldSize, newSize) => call('GET', `/api/v1/audit/proof/consistency?old=${oldSize}&new=${newSize}`),
};
