// The alerts page (/alerts?status=&severity=) and the rules page (/rules).
import {
  html, useState, useEffect, api, post, params, urlWith, navigate, Link,
  fmtTime, fmtNum, ErrorBox, quoteValue,
} from './lib.js';

const STATUSES = ['open', 'acknowledged', 'closed', 'all'];
const SEVERITIES = ['', 'critical', 'high', 'medium', 'low', 'informational'];

// eventsURL opens the search behind an alert: its query over its time span.
// Flow alerts have no stored record ids, so the API gives no query for them:
// the UI builds one from the alert's dedup values (dstaddr, dstport …, as
// the first record's fields name them) and its action, over the span
// widened by a flow log's longest aggregation interval (10 minutes).
export function eventsURL(a, flowFields) {
  let from = Date.parse(a.first_seen);
  const to = Date.parse(a.last_seen);
  let q = a.search || '';
  if (!q && a.type === 'vpcflow') {
    q = flowQuery(a, flowFields || []);
    from -= 600000;
  }
  return urlWith('/search', {
    q,
    type: a.type || '',
    from: Number.isNaN(from) ? '' : String(from),
    to: Number.isNaN(to) ? '' : String(to + 1),
  });
}

// flowQuery matches a flow alert's dedup values to the first record's
// fields, keeping fields the search language knows (from /api/fieldlist).
export function flowQuery(a, fieldlist) {
  const byColumn = new Map(fieldlist.map((f) => [f.column, f.name]));
  const fields = a.fields || {};
  const keys = Object.keys(fields).filter((k) => byColumn.has(k)).sort();
  const used = new Set();
  const terms = [];
  for (const v of (a.dedup_key || '').split('|').slice(1)) {
    const k = keys.find((x) => !used.has(x) && fields[x] === v);
    if (!k) continue;
    used.add(k);
    terms.push(`${byColumn.get(k)}:${quoteValue(v)}`);
  }
  if (fields.action && byColumn.has('action') && !used.has('action')) {
    terms.push(`${byColumn.get('action')}:${quoteValue(fields.action)}`);
  }
  return terms.join(' AND ');
}

// AlertsPage lists alerts with status and severity filters and the
// acknowledge / close / reopen actions.
export function AlertsPage() {
  const p = params();
  const state = { status: p.status || 'open', severity: p.severity || '', q: p.q || '' };
  const set = (patch) => navigate(urlWith('/alerts', Object.assign({}, state, patch)));
  const [alerts, setAlerts] = useState(null);
  const [err, setErr] = useState(null);
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState(null);
  const [flowFields, setFlowFields] = useState(null);
  useEffect(() => {
    api('/api/fieldlist', { type: 'vpcflow' }).then((r) => setFlowFields(r.fields || [])).catch(() => setFlowFields([]));
  }, []);
  useEffect(() => {
    setErr(null);
    api('/api/alerts', { status: state.status, severity: state.severity, q: state.q, limit: 200 })
      .then((r) => setAlerts(r.alerts || [])).catch(setErr);
  }, [state.status, state.severity, state.q, tick]);
  const act = async (a, action) => {
    setBusy(a.id + action);
    try {
      await post(`/api/alerts/${encodeURIComponent(a.id)}/${action}`, {});
      setTick(tick + 1);
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(null);
    }
  };
  return html`<div class="page alerts-page">
    <form class="toolbar" onSubmit=${(e) => { e.preventDefault(); set({ q: e.target.elements.q.value }); }}>
      <label>Status <select name="status" value=${state.status} onChange=${(e) => set({ status: e.target.value })}>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
      <label>Severity <select name="severity" value=${state.severity} onChange=${(e) => set({ severity: e.target.value })}>
        ${SEVERITIES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}</select></label>
      <input name="q" type="search" placeholder="Filter alerts" value=${state.q} />
      <button type="submit">Filter</button>
      <span class="spacer"></span>
      <${Link} href="/rules">Rules<//>
    </form>
    <${ErrorBox} error=${err} />
    ${alerts ? alerts.length ? html`<div class="table-wrap"><table class="data alerts-table">
      <thead><tr><th>Severity</th><th>Title</th><th>Rule</th><th>Status</th><th>First seen</th><th>Last seen</th><th>Hits</th><th>Actions</th></tr></thead>
      <tbody>${alerts.map((a) => html`<tr data-alert=${a.id} data-status=${a.status}>
        <td><span class=${'sev sev-' + a.severity}>${a.severity}</span></td>
        <td class="title">${a.title}</td>
        <td><code>${a.rule_id}</code></td>
        <td class="status">${a.status}</td>
        <td>${fmtTime(a.first_seen)}</td>
        <td>${fmtTime(a.last_seen)}</td>
        <td>${fmtNum(a.count)}</td>
        <td class="actions">
          ${a.search || (a.type === 'vpcflow' && flowFields) ? html`<${Link} class="button events" href=${eventsURL(a, flowFields)}>Events<//>` : null}
          ${a.status === 'open' ? html`<button type="button" class="ack" disabled=${busy === a.id + 'ack'} onClick=${() => act(a, 'ack')}>Acknowledge</button>` : null}
          ${a.status !== 'closed' ? html`<button type="button" class="close-alert" disabled=${busy === a.id + 'close'} onClick=${() => act(a, 'close')}>Close</button>` : null}
          ${a.status !== 'open' ? html`<button type="button" class="reopen" disabled=${busy === a.id + 'reopen'} onClick=${() => act(a, 'reopen')}>Reopen</button>` : null}
        </td>
      </tr>`)}</tbody>
    </table></div>` : html`<p class="muted">No ${state.status === 'all' ? '' : state.status + ' '}alerts.</p>` : html`<p class="muted">Loading…</p>`}
  </div>`;
}

// RulesPage lists the configured rules with their enabled state.
export function RulesPage() {
  const [rules, setRules] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => { api('/api/rules').then((r) => setRules(r.rules || [])).catch(setErr); }, []);
  return html`<div class="page rules-page">
    <div class="toolbar"><strong>Rules</strong><span class="spacer"></span><${Link} href="/alerts">Alerts<//></div>
    <${ErrorBox} error=${err} />
    ${rules ? html`<div class="table-wrap"><table class="data rules-table">
      <thead><tr><th>Enabled</th><th>Level</th><th>ID</th><th>Title</th><th>Kind</th><th>Service</th><th>Technique</th><th>Description</th></tr></thead>
      <tbody>${rules.map((r) => html`<tr data-rule=${r.id} class=${r.enabled ? '' : 'disabled'}>
        <td>${r.enabled ? '✓ on' : 'off'}</td>
        <td><span class=${'sev sev-' + r.level}>${r.level}</span></td>
        <td><code>${r.id}</code></td>
        <td>${r.title}</td>
        <td>${r.rule_kind && r.rule_kind !== r.kind ? `${r.kind} (${r.rule_kind})` : r.kind}</td>
        <td>${r.service}</td>
        <td>${(r.techniques && r.techniques.length ? r.techniques : [r.technique]).filter(Boolean).join(', ')}</td>
        <td class="desc">${r.description}</td>
      </tr>`)}</tbody>
    </table></div>` : err ? null : html`<p class="muted">Loading…</p>`}
  </div>`;
}
