// Vigil console UI: hash routes (#/queue, #/alert/ID, #/incidents, #/incident/ID, #/dashboard,
// #/audit), no build step. All text comes from i18n.js; everything is reachable by keyboard.
import { api, ApiError } from './api.js';
import { t, getLang, setLang, translateStatic } from './i18n.js';

const $ = (sel, root = document) => root.querySelector(sel);
const main = () => $('#main');
let me = null;
let stream = null;

// ---- tiny DOM helper: h('tag.class', {attrs}, children...) --------------------------------
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function toast(msg, bad = false) {
  const el = $('#toast');
  el.textContent = msg;
  el.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = ''; }, 4000);
}

function fmtTime(usecOrSec, isSec = false) {
  const ms = isSec ? usecOrSec * 1000 : usecOrSec / 1000;
  if (!ms) return '—';
  return new Date(ms).toLocaleString(getLang() === 'vi' ? 'vi-VN' : 'en-GB');
}
function fmtDuration(sec) {
  if (sec === null || sec === undefined) return '—';
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}
const flowText = (f) => `${f.src_ip}:${f.src_port} → ${f.dest_ip}:${f.dest_port} (${({ 6: 'TCP', 17: 'UDP', 1: 'ICMP' })[f.proto] || f.proto})`;
const sevBadge = (s) => h(`span.sev.sev${s}`, { title: `severity ${s}` }, String(s));
const statusBadge = (s) => h(`span.status.st-${s}`, {}, t(`st.${s}`));
const levelBadge = (l) => h(`span.level.lv-${l}`, {}, l);

function showError(e) {
  if (e instanceof ApiError && e.status === 404) return h('p.error', { role: 'alert' }, t('err.notfound'));
  return h('p.error', { role: 'alert' }, t('err.generic', { msg: e.message }));
}

// ---- login -----------------------------------------------------------------------------
function viewLogin() {
  $('#top').hidden = true;
  const err = h('p.error', { role: 'alert', id: 'login-error' });
  const user = h('input', { id: 'user', name: 'user', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form.login', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      try {
        me = await api.login(user.value, pass.value);
        location.hash = '#/queue';
        start();
      } catch (e) {
        err.textContent = e.status === 429 ? t('login.limited') : t('login.failed');
        pass.value = '';
        pass.focus();
      }
    },
  },
  h('h1', {}, t('login.title')),
  h('label', { for: 'user' }, t('login.user')), user,
  h('label', { for: 'password' }, t('login.password')), pass,
  h('button', { type: 'submit', id: 'login-submit' }, t('login.submit')),
  err,
  h('button.linkish', { type: 'button', onclick: () => { setLang(getLang() === 'vi' ? 'en' : 'vi'); viewLogin(); } },
    getLang() === 'vi' ? 'English' : 'Tiếng Việt'));
  main().replaceChildren(form);
  user.focus();
}

// ---- live queue --------------------------------------------------------------------------
const queue = {
  filters: { q: '', status: '', severity: '', tenant: '', sort: 'newest', by: '' },
  extra: {},        // pivots from a group or a link: sid, src, dest, ip
  cursors: [''],    // the cursor of each page visited (key-based paging)
  page: 0,
  rows: [],
  selected: new Set(),
  focus: 0,
  fresh: 0,
};

function queueParams() {
  const p = { limit: 50, sort: queue.filters.sort };
  for (const k of ['q', 'status', 'severity', 'tenant']) if (queue.filters[k]) p[k] = queue.filters[k];
  Object.assign(p, queue.extra);
  const cur = queue.cursors[queue.page];
  if (cur) p.cursor = cur;
  return p;
}

function startStream() {
  if (stream) return;
  stream = new EventSource('/api/v1/alerts/stream');
  stream.addEventListener('hello', () => { $('#live').textContent = '● ' + t('live.on'); $('#live').className = 'live on'; });
  stream.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    onLiveAlert(a);
  });
  stream.onerror = () => { $('#live').textContent = '○ ' + t('live.off'); $('#live').className = 'live off'; };
}

function matchesFilters(a) {
  const f = queue.filters;
  if (f.status && a.status !== f.status) return false;
  if (f.severity && a.severity > Number(f.severity)) return false;
  if (f.tenant && a.tenant !== f.tenant) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!(a.signature.toLowerCase().includes(q) || a.flow.src_ip.includes(q) || a.flow.dest_ip.includes(q) || String(a.signature_id) === q)) return false;
  }
  const x = queue.extra;
  if (x.sid && String(a.signature_id) !== String(x.sid)) return false;
  if (x.src && a.flow.src_ip !== x.src) return false;
  if (x.dest && a.flow.dest_ip !== x.dest) return false;
  return true;
}

// New and updated alerts: on the first newest-first page they appear at the top at once.
function onLiveAlert(a) {
  if (!location.hash.startsWith('#/queue') || queue.filters.by) return;
  if (queue.page !== 0 || queue.filters.sort !== 'newest' || !matchesFilters(a)) return;
  const i = queue.rows.findIndex((r) => r.id === a.id);
  if (i >= 0) queue.rows[i] = a;
  else {
    queue.rows.unshift(a);
    if (queue.rows.length > 50) queue.rows.pop();
    queue.fresh += 1;
  }
  renderRows(a.id);
}

function filterBar() {
  const f = queue.filters;
  const sel = (id, label, value, options) => h('label', { for: id }, label,
    h('select', { id, onchange: (e) => { f[id.slice(2)] = e.target.value; reloadQueue(); } },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
  const search = h('input', { id: 'f-q', type: 'search', placeholder: t('q.search'), value: f.q, 'aria-label': t('q.search') });
  return h('form.filters', { role: 'search', onsubmit: (e) => { e.preventDefault(); f.q = search.value.trim(); reloadQueue(); } },
    search,
    sel('f-status', t('q.status'), f.status, [['', t('q.any')], ...['new', 'acknowledged', 'in-progress', 'closed'].map((s) => [s, t(`st.${s}`)])]),
    sel('f-severity', t('q.severity'), f.severity, [['', t('q.any')], ['1', '1'], ['2', '≤ 2'], ['3', '≤ 3']]),
    h('label', { for: 'f-tenant' }, t('q.tenant'), h('input', { id: 'f-tenant', size: 12, value: f.tenant, onchange: (e) => { f.tenant = e.target.value.trim(); reloadQueue(); } })),
    sel('f-sort', t('q.sort'), f.sort, [['newest', t('q.newest')], ['oldest', t('q.oldest')]]),
    sel('f-by', t('q.group'), f.by, [['', t('q.nogroup')], ...['signature', 'src', 'dest', 'tenant'].map((b) => [b, t(`by.${b}`)])]),
    h('button', { type: 'submit' }, t('q.apply')),
    h('button', { type: 'button', onclick: () => { Object.assign(f, { q: '', status: '', severity: '', tenant: '', by: '' }); queue.extra = {}; viewQueue(); } }, t('q.clear')));
}

function bulkBar() {
  const n = queue.selected.size;
  const disabled = n === 0;
  const doAct = async (action, extra = {}) => {
    try {
      const r = await api.act({ ids: [...queue.selected], action, ...extra });
      let msg = t('act.done', { action: t(`act.${action}`), n: r.updated.length });
      if (r.denied.length) msg += ' · ' + t('act.denied', { n: r.denied.length });
      if (r.incident) msg += ' · ' + t('act.incident', { id: r.incident.slice(0, 8) });
      toast(msg, r.denied.length > 0);
      queue.selected.clear();
      if (r.incident) { location.hash = `#/incident/${r.incident}`; return; }
      reloadQueue(true);
    } catch (e) { toast(t('err.generic', { msg: e.message }), true); }
  };
  const verdict = h('select', { id: 'bulk-verdict', 'aria-label': t('act.verdict') },
    ['true-positive', 'false-positive', 'benign'].map((v) => h('option', { value: v }, t(`v.${v}`))));
  return h('div.bulk', { role: 'toolbar', 'aria-label': 'bulk actions' },
    h('span.count', { id: 'selected-count' }, t('act.selected', { n })),
    h('button', { id: 'bulk-ack', disabled, onclick: () => doAct('acknowledge') }, t('act.acknowledge')),
    h('button', { id: 'bulk-assign', disabled, onclick: () => doAct('assign', { assignee: me.name }) }, t('act.assign_me')),
    h('button', { id: 'bulk-escalate', disabled, onclick: () => {
      const title = prompt(t('act.title'));
      if (title) doAct('escalate', { title });
    } }, t('act.escalate')),
    verdict,
    h('button', { id: 'bulk-close', disabled, onclick: () => doAct('close', { verdict: verdict.value }) }, t('act.close')),
    h('button', { id: 'bulk-note', disabled, onclick: () => {
      const note = prompt(t('act.note_text'));
      if (note) doAct('note', { note });
    } }, t('act.note')));
}

function alertRow(a, i) {
  const checked = queue.selected.has(a.id);
  const tr = h('tr', { 'data-id': a.id, tabindex: i === queue.focus ? '0' : '-1', 'aria-selected': checked ? 'true' : 'false',
    onkeydown: (e) => { if (e.key === 'Enter' && e.target === tr) location.hash = `#/alert/${a.id}`; },
    onfocus: () => { queue.focus = i; } },
  h('td', {}, h('input', { type: 'checkbox', 'aria-label': a.signature, checked, tabindex: '-1',
    onchange: (e) => { e.target.checked ? queue.selected.add(a.id) : queue.selected.delete(a.id); refreshBulk(); } })),
  h('td', {}, fmtTime(a.first_seen_usec)),
  h('td', {}, sevBadge(a.severity)),
  h('td.sig', {}, h('a', { href: `#/alert/${a.id}`, tabindex: '-1' }, a.signature)),
  h('td.mono', {}, a.flow.src_ip),
  h('td.mono', {}, a.flow.dest_ip),
  h('td', {}, a.tenant),
  h('td', {}, levelBadge(a.level)),
  h('td', {}, statusBadge(a.status)),
  h('td', {}, a.assignee || ''),
  h('td.num', {}, a.count));
  return tr;
}

function renderRows(flashId) {
  const body = $('#rows');
  if (!body) return;
  if (queue.focus >= queue.rows.length) queue.focus = Math.max(0, queue.rows.length - 1);
  body.replaceChildren(...queue.rows.map(alertRow));
  if (flashId) body.querySelector(`tr[data-id="${flashId}"]`)?.classList.add('flash');
  $('#empty').hidden = queue.rows.length > 0;
  if (queue.fresh) $('#fresh').textContent = t('live.new', { n: queue.fresh });
}

function refreshBulk() {
  const old = $('.bulk');
  if (old) old.replaceWith(bulkBar());
}

async function reloadQueue(keepPage = false) {
  if (!keepPage) { queue.cursors = ['']; queue.page = 0; }
  if (queue.filters.by) return viewGroups();
  viewQueue();
}

async function viewGroups() {
  const f = queue.filters;
  const params = {};
  for (const k of ['q', 'status', 'severity', 'tenant']) if (f[k]) params[k] = f[k];
  params.by = f.by;
  const box = h('section', { 'aria-labelledby': 'qh' }, h('h1', { id: 'qh' }, t('nav.queue')), filterBar());
  main().replaceChildren(box);
  try {
    const g = await api.groups(params);
    const rows = g.groups.map((x) => h('tr', { tabindex: '0', onkeydown: (e) => { if (e.key === 'Enter') pivot(x); } },
      h('td', {}, h('button.linkish', { onclick: () => pivot(x) }, x.label || x.key)),
      h('td.num', {}, x.alerts), h('td.num', {}, x.open), h('td', {}, sevBadge(x.severity)), h('td', {}, fmtTime(x.latest_usec))));
    box.append(h('table.grid', { id: 'groups' },
      h('thead', {}, h('tr', {}, [t('col.group'), t('col.alerts'), t('col.open'), t('col.sev'), t('col.latest')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)),
    h('p.muted', {}, `${g.total} · ${t('page.scanned', { n: g.scanned })}`, g.truncated ? ' · ' + t('page.truncated') : ''));
  } catch (e) { box.append(showError(e)); }
  function pivot(x) {
    queue.extra = {};
    if (f.by === 'signature') queue.extra.sid = x.key.split(':')[1];
    else if (f.by === 'src') queue.extra.src = x.key;
    else if (f.by === 'dest') queue.extra.dest = x.key;
    else f.tenant = x.key;
    f.by = '';
    reloadQueue();
  }
}

async function viewQueue() {
  if (queue.filters.by) return viewGroups();
  const pivots = Object.entries(queue.extra).map(([k, v]) => h('span.chip', {}, `${k}=${v} `,
    h('button.linkish', { 'aria-label': `remove ${k}`, onclick: () => { delete queue.extra[k]; reloadQueue(); } }, '×')));
  const table = h('table.grid', { id: 'queue', 'aria-label': t('nav.queue') },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, h('input', { type: 'checkbox', id: 'select-all', 'aria-label': t('act.select_all'),
        onchange: (e) => { for (const a of queue.rows) e.target.checked ? queue.selected.add(a.id) : queue.selected.delete(a.id); renderRows(); refreshBulk(); } })),
      [t('col.time'), t('col.sev'), t('col.signature'), t('col.src'), t('col.dest'), t('col.tenant'), t('col.level'), t('col.status'), t('col.assignee'), t('col.count')]
        .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', { id: 'rows' }));
  const pager = h('nav.pager', { 'aria-label': 'pages' },
    h('button', { id: 'page-first', disabled: queue.page === 0, onclick: () => { queue.page = 0; queue.cursors = ['']; viewQueue(); } }, t('page.first')),
    h('button', { id: 'page-prev', disabled: queue.page === 0, onclick: () => { queue.page -= 1; viewQueue(); } }, t('page.prev')),
    h('span', { id: 'page-no' }, String(queue.page + 1)),
    h('button', { id: 'page-next', disabled: true, onclick: () => { queue.page += 1; viewQueue(); } }, t('page.next')));
  const info = h('p.muted', { id: 'scan-info' });
  main().replaceChildren(h('section', { 'aria-labelledby': 'qh' },
    h('h1', { id: 'qh' }, t('nav.queue'), ' ', h('span.fresh', { id: 'fresh', 'aria-live': 'polite' })),
    filterBar(), pivots.length ? h('div.chips', {}, pivots) : null, bulkBar(), table,
    h('p', { id: 'empty', hidden: true }, t('page.none')), pager, info, h('p.muted.keys', {}, t('help.keys'))));
  queue.fresh = 0;
  try {
    const r = await api.alerts(queueParams());
    queue.rows = r.alerts;
    renderRows();
    if (r.next_cursor) {
      queue.cursors[queue.page + 1] = r.next_cursor;
      $('#page-next').disabled = false;
    }
    info.textContent = `${r.index} · ${t('page.scanned', { n: r.scanned })}${r.truncated ? ' · ' + t('page.truncated') : ''}`;
  } catch (e) { main().append(showError(e)); }
}

function focusRow(i) {
  const rows = [...document.querySelectorAll('#rows tr')];
  if (!rows.length) return;
  queue.focus = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((r, k) => r.setAttribute('tabindex', k === queue.focus ? '0' : '-1'));
  rows[queue.focus].focus();
}

// ---- alert detail ------------------------------------------------------------------------
function kv(pairs) {
  return h('dl.kv', {}, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

async function viewAlert(id, unmaskReason) {
  main().replaceChildren(h('p.muted', {}, '…'));
  let d;
  try {
    d = unmaskReason ? await api.unmask(id, unmaskReason) : await api.alert(id);
  } catch (e) { return main().replaceChildren(showError(e), h('a', { href: '#/queue' }, t('a.back'))); }
  const a = d.alert;
  const act = async (action, extra = {}) => {
    try {
      const r = await api.act({ ids: [a.id], action, ...extra });
      if (r.denied.length) toast(t('act.denied', { n: 1 }), true);
      if (r.incident) { location.hash = `#/incident/${r.incident}`; return; }
      viewAlert(id);
    } catch (e) { toast(t('err.generic', { msg: e.message }), true); }
  };
  const verdict = h('select', { id: 'verdict', 'aria-label': t('act.verdict') }, ['true-positive', 'false-positive', 'benign'].map((v) => h('option', { value: v }, t(`v.${v}`))));
  const note = h('textarea', { id: 'note', rows: 2, 'aria-label': t('act.note_text') });
  const section = (title, ...c) => h('section.card', {}, h('h2', {}, title), ...c);
  const eventsTable = (evs) => evs.length ? h('pre.json', { tabindex: '0' }, evs.map((e) => JSON.stringify(e)).join('\n')) : h('p.muted', {}, t('a.none'));
  main().replaceChildren(h('article', { 'aria-labelledby': 'ah' },
    h('p', {}, h('a', { href: '#/queue', id: 'back' }, '← ' + t('a.back'))),
    h('h1', { id: 'ah' }, sevBadge(a.severity), ' ', a.signature),
    d.unmasked ? h('p.notice', { role: 'status' }, t('a.unmasked')) : null,
    h('div.actions', { role: 'toolbar' },
      h('button', { id: 'ack', onclick: () => act('acknowledge') }, t('act.acknowledge')),
      h('button', { id: 'assign-me', onclick: () => act('assign', { assignee: me.name }) }, t('act.assign_me')),
      h('button', { id: 'escalate', onclick: () => { const title = prompt(t('act.title'), a.signature); if (title) act('escalate', { title }); } }, t('act.escalate')),
      verdict, h('button', { id: 'close', onclick: () => act('close', { verdict: verdict.value }) }, t('act.close')),
      a.status === 'closed' ? h('button', { onclick: () => act('reopen') }, t('act.reopen')) : null),
    h('div.cols', {},
      section(t('a.title'), kv([
        [t('col.status'), statusBadge(a.status)], [t('col.assignee'), a.assignee || '—'], [t('a.verdict'), a.verdict || '—'],
        [t('col.tenant'), a.tenant], ['sid', `${a.gid}:${a.signature_id}:${a.rev}`], [t('col.count'), a.count],
        [t('col.time'), fmtTime(a.first_seen_usec)], [t('col.latest'), fmtTime(a.last_seen_usec)],
        [t('a.flow'), h('span.mono', {}, flowText(a.flow))], ['community_id', a.community_id || '—'],
        [t('a.incident'), a.incident ? h('a', { href: `#/incident/${a.incident}` }, a.incident.slice(0, 12)) : '—'],
        ['intel', (a.intel || []).join(', ') || '—'],
      ])),
      section(t('a.class'), kv([[t('col.level'), levelBadge(a.level)], [t('a.reasons'), h('ul', {}, (a.level_reasons || []).map((r) => h('li', {}, r)))],
        ['pii', a.labels?.pii || '—'], ['tlp', a.labels?.tlp || '—']]),
      me.may_unmask && !d.unmasked ? h('form.inline', { onsubmit: (e) => { e.preventDefault(); const r = $('#unmask-reason').value.trim(); if (r) viewAlert(id, r); } },
        h('label', { for: 'unmask-reason' }, t('a.unmask_reason')), h('input', { id: 'unmask-reason', minlength: 5, required: true }),
        h('button', { type: 'submit' }, t('a.unmask'))) : null)),
    section(t('a.rule'), d.rule ? h('div', {}, h('pre.rule', { tabindex: '0' }, d.rule.text), h('p.muted', {}, d.rule.where)) : h('p.muted', {}, t('a.norule'))),
    section(t('a.notes'), (a.notes || []).length ? h('ul.notes', {}, a.notes.map((n) => h('li', {}, h('b', {}, n.author), ` · ${fmtTime(n.time_usec ?? n.time)} — `, n.text))) : h('p.muted', {}, t('a.nonotes')),
      h('form.inline', { onsubmit: (e) => { e.preventDefault(); if (note.value.trim()) act('note', { note: note.value.trim() }); } }, note, h('button', { type: 'submit', id: 'add-note' }, t('act.note')))),
    section(t('a.related') + (d.related.length ? ` — ${t('a.seen_before', { n: d.related.length })}` : ''),
      d.related.length ? h('ul', {}, d.related.map((r) => h('li', {}, sevBadge(r.severity), ' ', h('a', { href: `#/alert/${r.id}` }, r.signature), ` · ${flowText(r.flow)} · ${fmtTime(r.first_seen_usec)}`))) : h('p.muted', {}, t('a.none'))),
    section(t('a.protocol'), eventsTable(d.protocol)),
    section(t('a.events'), eventsTable(d.events))));
  $('#ack').focus();
}

// ---- incidents ---------------------------------------------------------------------------
async function viewIncidents() {
  const box = h('section', {}, h('h1', {}, t('i.title')));
  main().replaceChildren(box);
  try {
    const r = await api.incidents();
    if (!r.incidents.length) return box.append(h('p.muted', {}, t('i.none')));
    box.append(h('table.grid', { id: 'incidents' },
      h('thead', {}, h('tr', {}, ['', t('act.title'), t('col.tenant'), t('col.level'), t('col.status'), t('col.assignee'), t('col.alerts'), t('i.created')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, r.incidents.map((i) => h('tr', {},
        h('td', {}, sevBadge(i.severity)), h('td', {}, h('a', { href: `#/incident/${i.id}` }, i.title)), h('td', {}, i.tenant),
        h('td', {}, levelBadge(i.level)), h('td', {}, statusBadge(i.status)), h('td', {}, i.assignee || ''), h('td.num', {}, i.alerts.length),
        h('td', {}, fmtTime(i.created_usec)))))));
  } catch (e) { box.append(showError(e)); }
}

async function viewIncident(id) {
  let d;
  try { d = await api.incident(id); } catch (e) { return main().replaceChildren(showError(e)); }
  const inc = d.incident;
  const note = h('textarea', { id: 'inc-note', rows: 2, 'aria-label': t('act.note_text') });
  const verdict = h('select', { id: 'inc-verdict', 'aria-label': t('act.verdict') }, ['true-positive', 'false-positive', 'benign'].map((v) => h('option', { value: v }, t(`v.${v}`))));
  const act = async (body) => {
    try { await api.incidentAct(id, body); viewIncident(id); } catch (e) { toast(t('err.generic', { msg: e.message }), true); }
  };
  main().replaceChildren(h('article', { 'aria-labelledby': 'ih' },
    h('p', {}, h('a', { href: '#/incidents' }, '← ' + t('i.title'))),
    h('h1', { id: 'ih' }, sevBadge(inc.severity), ' ', inc.title),
    kv([[t('col.status'), statusBadge(inc.status)], [t('col.assignee'), inc.assignee || '—'], [t('col.tenant'), inc.tenant],
      [t('col.level'), levelBadge(inc.level)], [t('a.verdict'), inc.verdict || '—'], [t('i.created'), fmtTime(inc.created_usec)]]),
    h('div.actions', { role: 'toolbar' },
      h('button', { onclick: () => act({ action: 'assign', assignee: me.name }) }, t('act.assign_me')),
      verdict, h('button', { id: 'inc-close', onclick: () => act({ action: 'close', verdict: verdict.value }) }, t('act.close'))),
    h('section.card', {}, h('h2', {}, t('i.timeline')),
      h('ol.timeline', { id: 'timeline' }, d.history.map((c) => h('li', {}, h('time', {}, fmtTime(c.time_usec ?? c.time)), ' ', h('b', {}, c.actor), ` ${c.action}: ${c.detail}`))),
      h('form.inline', { onsubmit: (e) => { e.preventDefault(); if (note.value.trim()) act({ action: 'note', note: note.value.trim() }); } }, note, h('button', { type: 'submit' }, t('act.note')))),
    h('section.card', {}, h('h2', {}, t('i.alerts')),
      h('ul', {}, d.alerts.map((a) => h('li', {}, sevBadge(a.severity), ' ', h('a', { href: `#/alert/${a.id}` }, a.signature), ` · ${flowText(a.flow)} · `, statusBadge(a.status)))))));
}

// ---- dashboard ---------------------------------------------------------------------------
async function viewDashboard(range = 86400) {
  const now = Date.now() / 1000;
  // range 0 = all time (replayed captures carry their own, older timestamps)
  const bucket = range === 0 ? 86400 : range <= 86400 ? 3600 : range <= 7 * 86400 ? 6 * 3600 : 86400;
  const box = h('section', {}, h('h1', {}, t('d.title')),
    h('div.actions', { role: 'toolbar' }, t('d.range'), ' ',
      [[86400, 'd.h24', 'range-24h'], [7 * 86400, 'd.d7', 'range-7d'], [30 * 86400, 'd.d30', 'range-30d'], [0, 'd.all', 'range-all']]
        .map(([r, k, id]) => h('button', { id, 'aria-pressed': r === range ? 'true' : 'false', onclick: () => viewDashboard(r) }, t(k)))));
  main().replaceChildren(box);
  try {
    const d = await api.dashboard({ from: range === 0 ? 0 : Math.floor(now - range), bucket });
    if (!d.tenants.length) box.append(h('p.muted', { id: 'kpis-empty' }, t('page.none')));
    box.append(h('table.grid', { id: 'kpis' },
      h('thead', {}, h('tr', {}, [t('col.tenant'), t('col.alerts'), t('col.open'), t('d.mtta'), t('d.mttr')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, d.tenants.map((x) => h('tr', {}, h('td', {}, x.tenant || '—'), h('td.num', {}, x.alerts), h('td.num', {}, x.open),
        h('td.num', {}, fmtDuration(x.mtta_seconds)), h('td.num', {}, fmtDuration(x.mttr_seconds)))))));
    // Stacked bars per tenant: one column per bucket, one segment per severity.
    for (const x of d.tenants) {
      const max = Math.max(1, ...x.series.map((b) => Object.values(b.severity).reduce((s, n) => s + n, 0)));
      const chart = h('div.chart', { role: 'img', 'aria-label': `${x.tenant}: ${x.alerts}` });
      for (const b of x.series) {
        const col = h('div.bar', { title: `${fmtTime(b.time, true)}: ${JSON.stringify(b.severity)}` });
        for (const [sev, n] of Object.entries(b.severity)) {
          const seg = h(`div.seg.sev${sev}`);
          seg.style.height = `${(100 * n) / max}%`;
          col.append(seg);
        }
        chart.append(col);
      }
      box.append(h('section.card', {}, h('h2', {}, `${t('d.over_time')} — ${x.tenant || '—'}`), chart));
    }
  } catch (e) { box.append(showError(e)); }
}

// ---- audit -------------------------------------------------------------------------------
async function viewAudit() {
  const box = h('section', {}, h('h1', {}, t('au.title')));
  main().replaceChildren(box);
  let head;
  try { head = await api.auditHead(); } catch (e) {
    return box.append(e.status === 403 ? h('p.error', { role: 'alert' }, t('au.forbidden')) : showError(e));
  }
  const th = head.tree_head;
  const size = th.tree_size;
  box.append(h('section.card', { id: 'tree-head' }, h('h2', {}, t('au.head')), kv([
    [t('au.size'), size], [t('au.root'), h('span.mono.wrap', {}, th.root_hash)], [t('au.time'), fmtTime(th.timestamp)],
    ['Ed25519', h('span', { class: head.signature_valid ? 'ok' : 'bad', id: 'sig-status' }, head.signature_valid ? t('au.sig_ok') : t('au.sig_bad'))],
  ])));
  const oldSize = h('input', { id: 'old-size', type: 'number', min: 1, max: size, value: Math.max(1, Math.floor(size / 2)) });
  const consResult = h('span', { id: 'consistency-result', 'aria-live': 'polite' });
  box.append(h('form.inline', { onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api.consistency(oldSize.value, size);
      consResult.textContent = r.verified ? t('au.consistent') : t('au.inconsistent');
      consResult.className = r.verified ? 'ok' : 'bad';
    } catch (err) { consResult.textContent = err.message; consResult.className = 'bad'; }
  } }, h('label', { for: 'old-size' }, t('au.consistency')), oldSize, h('button', { type: 'submit' }, t('au.verify')), consResult));
  const obj = h('input', { id: 'audit-object', size: 34 });
  const actor = h('input', { id: 'audit-actor', size: 14 });
  const results = h('div', { id: 'audit-results' });
  const exportLink = h('a', { id: 'audit-export', href: '/api/v1/audit/export', download: 'vigil-audit.jsonl' }, t('au.export'));
  let runs = 0;  // only the latest search renders (an earlier, slower answer is dropped)
  const run = async () => {
    const mine = ++runs;
    const p = {};
    if (obj.value.trim()) p.object = obj.value.trim();
    if (actor.value.trim()) p.actor = actor.value.trim();
    exportLink.href = '/api/v1/audit/export?' + new URLSearchParams(p);
    try {
      const r = await api.audit(p);
      if (mine !== runs) return;
      results.replaceChildren(h('table.grid', { id: 'audit-table' },
        h('thead', {}, h('tr', {}, [t('au.seq'), t('au.time'), t('au.actor'), t('au.action'), t('au.object'), t('au.decision'), t('au.reason'), ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, r.entries.slice().reverse().map((e) => {
          const res = h('span', { 'aria-live': 'polite' });
          return h('tr', {}, h('td.num', {}, e.seq), h('td', {}, fmtTime(e.time)), h('td', {}, `${e.actor} (${e.actor_role || '—'})`),
            h('td', {}, e.action), h('td.mono', {}, e.object), h('td', {}, e.decision), h('td', {}, e.reason),
            h('td', {}, h('button', { class: 'verify', onclick: async () => {
              try {
                const p2 = await api.inclusion(e.seq, size);
                res.textContent = ' ' + (p2.verified ? t('au.verified') : t('au.not_verified'));
                res.className = p2.verified ? 'ok' : 'bad';
              } catch (err) { res.textContent = err.message; }
            } }, t('au.verify')), res));
        }))));
    } catch (e) { results.replaceChildren(showError(e)); }
  };
  box.append(h('form.filters', { role: 'search', onsubmit: (e) => { e.preventDefault(); run(); } },
    h('label', { for: 'audit-object' }, t('au.object'), obj), h('label', { for: 'audit-actor' }, t('au.actor'), actor),
    h('button', { type: 'submit', id: 'audit-search' }, t('au.query')), exportLink), results);
  const want = new URLSearchParams(location.hash.split('?')[1] || '');
  if (want.get('object')) obj.value = want.get('object');
  run();
}

// ---- routing, keys, start ------------------------------------------------------------------
function route() {
  if (!me) return viewLogin();
  $('#top').hidden = false;
  const [path] = location.hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('header nav a')) a.setAttribute('aria-current', location.hash.startsWith(a.getAttribute('href')) ? 'page' : 'false');
  if (parts[0] === 'alert' && parts[1]) return viewAlert(parts[1]);
  if (parts[0] === 'incidents') return viewIncidents();
  if (parts[0] === 'incident' && parts[1]) return viewIncident(parts[1]);
  if (parts[0] === 'dashboard') return viewDashboard();
  if (parts[0] === 'audit') return viewAudit();
  return viewQueue();
}

document.addEventListener('keydown', (e) => {
  if (!me || e.ctrlKey || e.metaKey || e.altKey) return;
  const tag = (e.target.tagName || '').toLowerCase();
  if (['input', 'textarea', 'select'].includes(tag)) { if (e.key === 'Escape') e.target.blur(); return; }
  const onQueue = !!$('#rows');
  const go = { 1: '#/queue', 2: '#/incidents', 3: '#/dashboard', 4: '#/audit' }[e.key];
  if (go) { location.hash = go; e.preventDefault(); return; }
  if (e.key === '?') { toast(t('help.keys')); return; }
  if (!onQueue) return;
  const row = queue.rows[queue.focus];
  if (e.key === 'j') { focusRow(queue.focus + 1); e.preventDefault(); }
  else if (e.key === 'k') { focusRow(queue.focus - 1); e.preventDefault(); }
  else if (e.key === '/') { $('#f-q').focus(); e.preventDefault(); }
  else if (e.key === 'x' && row) {
    queue.selected.has(row.id) ? queue.selected.delete(row.id) : queue.selected.add(row.id);
    renderRows(); refreshBulk(); focusRow(queue.focus);
  } else if (e.key === 'Enter' && row && e.target === document.body) location.hash = `#/alert/${row.id}`;
  else if (e.key === 'a' && queue.selected.size) $('#bulk-ack').click();
  else if (e.key === 'e' && queue.selected.size) $('#bulk-escalate').click();
  else if (e.key === 'c' && queue.selected.size) $('#bulk-close').click();
});

function start() {
  $('#who').textContent = `${me.display_name} · ${me.role}`;
  translateStatic();
  $('#lang').textContent = getLang() === 'vi' ? 'EN' : 'VI';
  startStream();
  route();
}

window.addEventListener('hashchange', () => { route(); main().focus({ preventScroll: true }); });
window.addEventListener('vigil:logged-out', () => { me = null; stream?.close(); stream = null; viewLogin(); });

document.addEventListener('DOMContentLoaded', async () => {
  setLang(getLang());
  $('#lang').addEventListener('click', () => { setLang(getLang() === 'vi' ? 'en' : 'vi'); start(); });
  $('#logout').addEventListener('click', async () => {
    try { await api.logout(); } catch { /* already out */ }
    me = null; stream?.close(); stream = null; viewLogin();
  });
  try { me = await api.me(); start(); } catch { viewLogin(); }
});
