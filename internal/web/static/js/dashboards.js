// The dashboards page: /dashboards/{id}?from=&to=&account=&region=
// Each panel is drawn by its kind; every element clicks through to the search
// page with the panel row's query and time range.
import {
  html, useState, useEffect, api, apiTime, params, urlWith, navigate, Link,
  fmtTime, fmtNum, fmtValue, defaultRange, ErrorBox,
} from './lib.js';
import { TimePicker } from './timepicker.js';
import { ChartCanvas, PALETTE, worldCountries, assetBase } from './charts.js';

// DashboardsPage lists the dashboards as tabs and shows the one in the URL.
export function DashboardsPage({ id }) {
  const [list, setList] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    api('/api/dashboards').then((r) => setList(r.dashboards || [])).catch(setErr);
  }, []);
  useEffect(() => {
    if (list && list.length && !list.find((d) => d.id === id)) {
      navigate(urlWith('/dashboards/' + encodeURIComponent(list[0].id), params()), true);
    }
  }, [list, id]);
  const dash = list && list.find((d) => d.id === id);
  return html`<div class="page dashboards-page">
    <nav class="tabs">${(list || []).map((d) => html`<${Link} class=${d.id === id ? 'active' : ''}
      href=${urlWith('/dashboards/' + encodeURIComponent(d.id), params())}>${d.title}<//>`)}</nav>
    <${ErrorBox} error=${err} />
    ${dash ? html`<${Dashboard} key=${dash.id} dash=${dash} />` : list ? null : html`<p class="muted">Loading…</p>`}
  </div>`;
}

function Dashboard({ dash }) {
  const p = params();
  const state = { from: p.from || '', to: p.to || '', account: p.account || '', region: p.region || '' };
  const set = (patch, replace) => navigate(urlWith('/dashboards/' + encodeURIComponent(dash.id), Object.assign({}, state, patch)), replace);
  const needsRange = !('from' in p) && !('to' in p);
  useEffect(() => {
    if (needsRange) defaultRange(dash.type).then((r) => set(r, true));
  }, [needsRange]);
  const [filters, setFilters] = useState({ accounts: [], regions: [] });
  useEffect(() => {
    if (needsRange) return;
    api(`/api/dashboards/${encodeURIComponent(dash.id)}/filters`, { from: apiTime(state.from), to: apiTime(state.to) })
      .then((f) => setFilters({ accounts: f.accounts || [], regions: f.regions || [] })).catch(() => {});
  }, [state.from, state.to, needsRange]);
  return html`<div class="dashboard" data-id=${dash.id}>
    <form class="dash-filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Account <select name="account" value=${state.account} onChange=${(e) => set({ account: e.target.value })}>
        <option value="">All accounts</option>
        ${filters.accounts.map((a) => html`<option value=${a}>${a}</option>`)}
      </select></label>
      <label>Region <select name="region" value=${state.region} onChange=${(e) => set({ region: e.target.value })}>
        <option value="">All regions</option>
        ${filters.regions.map((r) => html`<option value=${r}>${r}</option>`)}
      </select></label>
      <${TimePicker} from=${state.from} to=${state.to} onChange=${(r) => set(r)} />
    </form>
    ${needsRange ? null : html`<div class="panels">
      ${(dash.panels || []).map((pn) => html`<${Panel} key=${pn.id} dash=${dash} panel=${pn} state=${state} />`)}
    </div>`}
  </div>`;
}

// searchURL is the search page for a panel row: its query, the dashboard's
// type and the given time range.
function searchURL(type, q, from, to) {
  return urlWith('/search', { q, type, from, to });
}

function Panel({ dash, panel, state }) {
  const [data, setData] = useState(null);
  const [err, setErr] = useState(null);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let live = true;
    setErr(null);
    setLoading(true);
    api(`/api/dashboards/${encodeURIComponent(dash.id)}/panels/${encodeURIComponent(panel.id)}`, {
      from: apiTime(state.from), to: apiTime(state.to), account: state.account, region: state.region,
    }).then((d) => live && setData(d)).catch((e) => live && setErr(e)).finally(() => live && setLoading(false));
    return () => { live = false; };
  }, [state.from, state.to, state.account, state.region]);
  const type = (data && data.type) || dash.type;
  const from = state.from;
  const to = state.to;
  // open goes to the search for row i; timeseries rows narrow to their bucket.
  const open = (i, t0, t1) => {
    const q = data.search && data.search[i];
    if (q === undefined || q === null || q === '') return;
    navigate(searchURL(type, q, t0 !== undefined ? String(t0) : from, t1 !== undefined ? String(t1) : to));
  };
  const stateName = err ? 'error' : loading || !data ? 'loading' : 'ready';
  return html`<section class=${'panel w' + (panel.width === 1 ? 1 : 2)} data-panel=${panel.id} data-kind=${panel.kind}
      data-state=${stateName} data-rows=${data ? (data.rows || []).length : ''}>
    <h3 title=${panel.description || ''}>${panel.title}${data && data.unit ? html` <span class="muted">(${data.unit})</span>` : null}</h3>
    <${ErrorBox} error=${err} />
    ${data ? html`<${PanelBody} data=${data} open=${open} />` : err ? null : html`<p class="muted">Loading…</p>`}
  </section>`;
}

function PanelBody({ data, open }) {
  const rows = data.rows || [];
  if (!rows.length) return html`<p class="muted empty">No data in this range.</p>`;
  switch (data.kind) {
    case 'timeseries': return html`<${TimeSeries} data=${data} open=${open} />`;
    case 'bar': return html`<${Bars} data=${data} open=${open} />`;
    case 'map': return html`<${WorldMap} data=${data} open=${open} />`;
    case 'number': return html`<${NumberPanel} data=${data} open=${open} />`;
    default: return html`<${TablePanel} data=${data} open=${open} />`;
  }
}

function TimeSeries({ data, open }) {
  const rows = data.rows;
  const iv = data.interval_ms || 0;
  let times = [...new Set(rows.map((r) => Number(r[0])))].sort((a, b) => a - b);
  // Empty buckets may be left out of the rows: put them back so the x axis
  // is evenly spaced in time.
  if (iv > 0 && times.length > 1 && (times[times.length - 1] - times[0]) / iv <= 5000) {
    const all = [];
    for (let t = times[0]; t <= times[times.length - 1]; t += iv) all.push(t);
    const grid = new Set(all);
    if (times.every((t) => grid.has(t))) times = all;
  }
  const seriesNames = [...new Set(rows.map((r) => fmtValue(r[1])))];
  const at = new Map(); // series → t → row index
  rows.forEach((r, i) => {
    const s = fmtValue(r[1]);
    if (!at.has(s)) at.set(s, new Map());
    at.get(s).set(Number(r[0]), i);
  });
  const datasets = seriesNames.map((s, k) => ({
    label: s || '(none)',
    data: times.map((t) => { const i = at.get(s).get(t); return i === undefined ? 0 : Number(rows[i][2]); }),
    borderColor: PALETTE[k % PALETTE.length],
    backgroundColor: PALETTE[k % PALETTE.length],
    pointRadius: times.length > 60 ? 0 : 2,
    pointHitRadius: 6,
    borderWidth: 1.5,
    tension: 0,
  }));
  const onClick = (evt, els) => {
    if (!els.length) return;
    const e = els[0];
    const t = times[e.index];
    const i = at.get(seriesNames[e.datasetIndex]).get(t);
    if (i !== undefined) open(i, t, t + iv);
  };
  const key = JSON.stringify([times.length, seriesNames, rows.length, times[0]]);
  return html`<${ChartCanvas} deps=${[key]} config=${() => ({
    type: 'line',
    data: { labels: times.map((t) => fmtTime(t)), datasets },
    options: {
      onClick,
      interaction: { mode: 'nearest', intersect: false },
      plugins: { legend: { display: seriesNames.length > 1, position: 'bottom', labels: { boxWidth: 10 } } },
      scales: { x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } }, y: { beginAtZero: true } },
    },
  })} />`;
}

function Bars({ data, open }) {
  const rows = data.rows;
  const labels = rows.map((r) => fmtValue(r[0]));
  const values = rows.map((r) => Number(r[r.length - 1]));
  const onClick = (evt, els) => { if (els.length) open(els[0].index); };
  const key = JSON.stringify([labels, values]);
  return html`<${ChartCanvas} height=${Math.max(160, 22 * rows.length + 40)} deps=${[key]} config=${() => ({
    type: 'bar',
    data: { labels: labels.map((l) => (l.length > 48 ? l.slice(0, 47) + '…' : l)), datasets: [{ label: data.unit || 'value', data: values, backgroundColor: '#4a7ab5' }] },
    options: {
      indexAxis: 'y',
      onClick,
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => labels[items[0].dataIndex] } } },
      scales: { x: { beginAtZero: true } },
    },
  })} />`;
}

function WorldMap({ data, open }) {
  const [features, setFeatures] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => { worldCountries(assetBase).then(setFeatures).catch(setErr); }, []);
  const rows = data.rows;
  const byCountry = new Map(rows.map((r, i) => [String(r[0]).toUpperCase(), i]));
  // One point per country with a value; a click's index is into these.
  const points = (features || []).map((f) => {
    const i = byCountry.get(f.properties.a2);
    return { feature: f, value: i === undefined ? 0 : Number(rows[i][1]), row: i };
  }).filter((d) => d.value > 0);
  const onClick = (evt, els) => {
    if (!els.length) return;
    const p = points[els[0].index];
    if (p && p.row !== undefined) open(p.row);
  };
  const key = JSON.stringify(rows) + (features ? 'f' : '');
  return html`<div class="map-panel">
    <${ErrorBox} error=${err} />
    ${features ? html`<${ChartCanvas} height=${300} deps=${[key]} config=${() => ({
      type: 'choropleth',
      data: {
        labels: features.map((f) => f.properties.name),
        datasets: [{
          label: data.unit || 'value',
          outline: features,
          data: points.map((p) => ({ feature: p.feature, value: p.value })),
        }],
      },
      options: {
        onClick,
        showOutline: true,
        plugins: { legend: { display: false } },
        scales: { projection: { axis: 'x', projection: 'equalEarth' }, color: { axis: 'x', quantize: 5, legend: { position: 'bottom-right' } } },
      },
    })} />` : null}
    <${TablePanel} data=${data} open=${open} />
  </div>`;
}

function NumberPanel({ data, open }) {
  const v = data.rows[0][data.rows[0].length - 1];
  const can = data.search && data.search[0];
  return html`<div class="number">
    ${can ? html`<a href="#" onClick=${(e) => { e.preventDefault(); open(0); }}>${fmtNum(v)}</a>` : fmtNum(v)}
  </div>`;
}

function TablePanel({ data, open }) {
  const cols = data.columns || [];
  return html`<div class="table-wrap panel-table"><table class="data">
    <thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead>
    <tbody>${data.rows.map((r, i) => {
      const can = data.search && data.search[i];
      return html`<tr class=${can ? 'clickable' : ''} onClick=${can ? () => open(i) : undefined}>
        ${r.map((v, j) => html`<td>${/(^|_)(time|seen)$|_at$/.test(cols[j] || '') && v ? fmtTime(v) : typeof v === 'number' ? fmtNum(v) : fmtValue(v)}</td>`)}
      </tr>`;
    })}</tbody>
  </table></div>`;
}
