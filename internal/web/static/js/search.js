// The search page: query box, type selector, time range, histogram (drag to
// zoom), field sidebar with top values, results with infinite scroll, event
// detail and export links. Its whole state lives in the URL:
// /search?q=&type=&from=&to=&cols=&event=
import {
  html, useState, useEffect, useRef, api, apiTime, params, urlWith, navigate,
  fmtTime, fmtNum, fmtValue, addFilter, defaultRange, ErrorBox, ApiError,
} from './lib.js';
import { TimePicker } from './timepicker.js';
import { ChartCanvas } from './charts.js';

const TYPES = [['', 'Auto'], ['cloudtrail', 'CloudTrail'], ['vpcflow', 'VPC flow'], ['guardduty', 'GuardDuty']];
const PAGE = 100;

function go(state, replace) {
  navigate(urlWith('/search', state), replace);
}

// SearchPage reads its state from the URL and fetches what it shows.
export function SearchPage() {
  const p = params();
  const state = { q: p.q || '', type: p.type || '', from: p.from || '', to: p.to || '', cols: p.cols || '', event: p.event || '' };
  const set = (patch, replace) => go(Object.assign({}, state, patch), replace);

  // No time range in the URL: choose one from /api/stats so data is visible.
  const needsRange = !('from' in p) && !('to' in p);
  useEffect(() => {
    if (!needsRange) return;
    defaultRange(state.type).then((r) => set(r, true));
  }, [needsRange]);

  const key = JSON.stringify([state.q, state.type, state.from, state.to, state.cols]);
  const [res, setRes] = useState(null); // {type, columns, rows, next, took_ms}
  const [err, setErr] = useState(null);
  const [hist, setHist] = useState(null);
  const [fields, setFields] = useState(null);
  const [loading, setLoading] = useState(false);
  const [more, setMore] = useState(false);

  const base = () => ({ q: state.q, type: state.type, from: apiTime(state.from), to: apiTime(state.to) });

  useEffect(() => {
    if (needsRange) return undefined;
    let live = true;
    setLoading(true);
    setErr(null);
    const b = base();
    const s = api('/api/search', Object.assign({}, b, { limit: PAGE, fields: state.cols }));
    s.then((r) => { if (live) { setRes(r); } })
      .catch((e) => { if (live) { setErr(e); setRes(null); setHist(null); setFields(null); } })
      .finally(() => { if (live) setLoading(false); });
    // The histogram and the sidebar use the type the search chose: with a
    // type in the URL all three requests go at once, with Auto after the
    // search answers.
    const rest = (type) => {
      const b2 = Object.assign({}, b, { type });
      api('/api/histogram', Object.assign({}, b2, { buckets: 60 })).then((x) => live && setHist(x)).catch(() => live && setHist(null));
      api('/api/fields', Object.assign({}, b2, { top: 5 })).then((x) => live && setFields(x)).catch(() => live && setFields(null));
    };
    if (state.type) rest(state.type);
    else s.then((r) => rest(r.type)).catch(() => {});
    return () => { live = false; };
  }, [key, needsRange]);

  const loadMore = () => {
    if (!res || !res.next || more) return;
    setMore(true);
    api('/api/search', Object.assign(base(), { type: res.type, limit: PAGE, fields: state.cols, cursor: res.next }))
      .then((r) => setRes(Object.assign({}, r, { rows: res.rows.concat(r.rows) })))
      .catch((e) => setErr(e))
      .finally(() => setMore(false));
  };

  const type = (res && res.type) || state.type;
  const exportURL = (format) => urlWith('/api/export', Object.assign(base(), { type, fields: state.cols, format }));
  const selected = state.event && res ? res.rows.find((r) => r._id === state.event) : null;

  return html`<div class="page search-page">
    <${QueryBar} state=${state} set=${set} errorAt=${err && err.position} />
    <${ErrorBox} error=${err} query=${state.q} />
    <div class="search-body">
      <aside class="sidebar">
        <${FieldSidebar} fields=${fields} q=${state.q} onFilter=${(q) => set({ q, event: '' })} />
      </aside>
      <main class="results">
        <div class="summary">
          <span class="count" data-total=${hist ? hist.total : undefined}>${hist ? `${fmtNum(hist.total)} events` : res ? `${fmtNum(res.rows.length)}+ events` : ''}</span>
          ${res ? html`<span class="muted"> in ${res.type}, ${res.took_ms} ms</span>` : null}
          ${loading ? html`<span class="muted"> searching…</span>` : null}
          <span class="spacer"></span>
          ${res ? html`<${ColumnChooser} type=${type} cols=${state.cols} current=${res.columns} onChange=${(cols) => set({ cols })} />
            <a class="button" href=${exportURL('csv')} download>CSV</a>
            <a class="button" href=${exportURL('ndjson')} download>NDJSON</a>` : null}
        </div>
        <${Histogram} hist=${hist} onZoom=${(from, to) => set({ from: String(from), to: String(to) })} />
        ${res ? html`<${Results} res=${res} selected=${state.event} onOpen=${(id) => set({ event: id })}
          onMore=${loadMore} loadingMore=${more} />` : null}
      </main>
      ${state.event ? html`<${EventDetail} type=${type} id=${state.event} row=${selected} onClose=${() => set({ event: '' })} />` : null}
    </div>
  </div>`;
}

// QueryBar is the query box, type selector and time picker.
function QueryBar({ state, set, errorAt }) {
  const [q, setQ] = useState(state.q);
  const input = useRef(null);
  useEffect(() => setQ(state.q), [state.q]);
  // A query error selects the character it points at.
  useEffect(() => {
    const el = input.current;
    if (!errorAt || !el) return;
    el.focus();
    const at = Math.min(errorAt - 1, el.value.length);
    el.setSelectionRange(at, Math.min(at + 1, el.value.length));
  }, [errorAt, state.q]);
  useEffect(() => {
    const onKey = (e) => {
      if (e.key === '/' && document.activeElement && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
        e.preventDefault();
        input.current && input.current.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const submit = (e) => {
    e.preventDefault();
    set({ q, event: '' });
  };
  return html`<form class="querybar" onSubmit=${submit}>
    <input ref=${input} class="query" name="q" type="search" autocomplete="off" spellcheck="false"
      placeholder='Search: eventName:CreateUser AND NOT errorCode:*   (press / to focus)'
      value=${q} onInput=${(e) => setQ(e.target.value)} />
    <select name="type" value=${state.type} onChange=${(e) => set({ type: e.target.value, cols: '', event: '' })} title="Log type">
      ${TYPES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
    </select>
    <${TimePicker} from=${state.from} to=${state.to} onChange=${(r) => set(r)} />
    <button type="submit" class="primary">Search</button>
  </form>`;
}

// Histogram draws match counts per bucket; drag across it (or click a bar)
// to zoom the time range.
function Histogram({ hist, onZoom }) {
  const sel = useRef(null);
  const chartRef = useRef(null);
  const drag = useRef(null);
  if (!hist) return html`<div class="histogram empty"></div>`;
  const buckets = hist.buckets || [];
  const iv = hist.interval_ms;
  const indexAt = (chart, x) => {
    const i = Math.round(chart.scales.x.getValueForPixel(x));
    return Math.max(0, Math.min(buckets.length - 1, i));
  };
  const down = (e) => {
    const c = chartRef.current;
    if (!c || !buckets.length) return;
    const x = e.clientX - c.canvas.getBoundingClientRect().left;
    drag.current = { x0: x, x1: x };
    e.preventDefault();
  };
  const moveSel = (e) => {
    if (!drag.current) return;
    drag.current.x1 = e.clientX - chartRef.current.canvas.getBoundingClientRect().left;
    const s = sel.current;
    const a = Math.min(drag.current.x0, drag.current.x1);
    const b = Math.max(drag.current.x0, drag.current.x1);
    s.style.display = 'block';
    s.style.left = a + 'px';
    s.style.width = (b - a) + 'px';
  };
  const up = () => {
    const d = drag.current;
    drag.current = null;
    if (sel.current) sel.current.style.display = 'none';
    const c = chartRef.current;
    if (!d || !c || !buckets.length) return;
    const i = indexAt(c, Math.min(d.x0, d.x1));
    const j = indexAt(c, Math.max(d.x0, d.x1));
    onZoom(buckets[i].t_ms, buckets[j].t_ms + iv);
  };
  const key = buckets.length + ':' + (buckets[0] && buckets[0].t_ms) + ':' + hist.total + ':' + iv;
  return html`<div class="histogram" onMouseDown=${down} onMouseMove=${moveSel} onMouseUp=${up}
      onMouseLeave=${() => { drag.current = null; if (sel.current) sel.current.style.display = 'none'; }}
      title="Drag across the chart to zoom into that time range">
    <div class="zoom-sel" ref=${sel}></div>
    <${ChartCanvas} height=${120} deps=${[key]} onChart=${(c) => { chartRef.current = c; }} config=${() => ({
      type: 'bar',
      data: {
        labels: buckets.map((b) => fmtTime(b.t_ms)),
        datasets: [{ label: 'events', data: buckets.map((b) => b.count), backgroundColor: '#4a7ab5', barPercentage: 1, categoryPercentage: 0.95 }],
      },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `${fmtTime(buckets[items[0].dataIndex].t_ms)} (+${iv / 1000}s)` } } },
        scales: { x: { ticks: { maxTicksLimit: 8, maxRotation: 0 }, grid: { display: false } }, y: { beginAtZero: true, ticks: { maxTicksLimit: 4 } } },
      },
    })} />
  </div>`;
}

// FieldSidebar lists the top values of the sidebar fields; a value filters
// in, ⊖ filters out. When the API counted a sample of the range
// (sample_percent < 100), counts are shown as estimates (≈).
function FieldSidebar({ fields, q, onFilter }) {
  if (!fields) return html`<div class="fields muted">Fields</div>`;
  const pct = fields.sample_percent;
  const sampled = typeof pct === 'number' && pct < 100;
  const num = (n) => (sampled ? '≈' : '') + fmtNum(n);
  return html`<div class="fields">
    ${sampled ? html`<div class="muted sample-note">estimated from a ${pct}% sample of the range</div>` : null}
    ${(fields.fields || []).map((f) => html`<details class="field" open data-field=${f.name}>
      <summary title=${f.column}>${f.name}</summary>
      <ul>
        ${(f.top || []).map((t) => html`<li>
          <button type="button" class="val" title=${`Filter in: ${f.name}:"${fmtValue(t.value)}"`} data-value=${fmtValue(t.value)}
            onClick=${() => onFilter(addFilter(q, f.name, fmtValue(t.value), false))}>${fmtValue(t.value)}</button>
          <span class="n">${num(t.count)}</span>
          <button type="button" class="out" title=${`Filter out: NOT ${f.name}:"${fmtValue(t.value)}"`}
            onClick=${() => onFilter(addFilter(q, f.name, fmtValue(t.value), true))}>⊖</button>
        </li>`)}
        ${f.other ? html`<li class="muted">other ${num(f.other)}</li>` : null}
        ${f.missing ? html`<li class="muted">missing ${num(f.missing)}</li>` : null}
      </ul>
    </details>`)}
  </div>`;
}

// ColumnChooser picks the result columns from /api/fieldlist.
function ColumnChooser({ type, cols, current, onChange }) {
  const [open, setOpen] = useState(false);
  const [list, setList] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    if (!open || !type) return;
    api('/api/fieldlist', { type }).then((r) => setList(r.fields || [])).catch((e) => setErr(e));
  }, [open, type]);
  const chosen = cols ? cols.split(',') : current;
  const toggle = (name) => {
    const has = chosen.includes(name);
    const next = has ? chosen.filter((c) => c !== name) : chosen.concat([name]);
    onChange(next.join(','));
  };
  return html`<div class="colchooser">
    <button type="button" onClick=${() => setOpen(!open)}>Columns</button>
    ${open ? html`<div class="popover cols">
      <${ErrorBox} error=${err} />
      <button type="button" onClick=${() => onChange('')}>Default columns</button>
      ${list ? list.map((f) => html`<label title=${f.description || ''}>
        <input type="checkbox" checked=${chosen.includes(f.name) || chosen.includes(f.column)}
          onChange=${() => toggle(chosen.includes(f.column) ? f.column : f.name)} />
        ${f.name} <span class="muted">${f.type}</span></label>`) : html`<span class="muted">loading…</span>`}
    </div>` : null}
  </div>`;
}

// Results is the table with infinite scroll (an IntersectionObserver on the
// last row, and a button as a fallback).
function Results({ res, selected, onOpen, onMore, loadingMore }) {
  const sentinel = useRef(null);
  useEffect(() => {
    if (!sentinel.current || !res.next || !window.IntersectionObserver) return undefined;
    const io = new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) onMore(); });
    io.observe(sentinel.current);
    return () => io.disconnect();
  }, [res.next, res.rows.length]);
  const cols = res.columns || [];
  if (!res.rows.length) return html`<p class="empty-results">No events match.</p>`;
  return html`<div class="table-wrap">
    <table class="data results-table">
      <thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead>
      <tbody>${res.rows.map((r) => html`<tr class=${'clickable' + (r._id === selected ? ' selected' : '')} data-id=${r._id}
          onClick=${() => onOpen(r._id)}>
        ${cols.map((c) => html`<td>${c === res.time_field ? fmtTime(r[c], true) : fmtValue(r[c])}</td>`)}
      </tr>`)}</tbody>
    </table>
    <div class="more" ref=${sentinel}>
      ${res.next ? html`<button type="button" class="load-more" onClick=${onMore} disabled=${loadingMore}>${loadingMore ? 'Loading…' : 'Load more'}</button>`
        : html`<span class="muted">${fmtNum(res.rows.length)} rows, end of results</span>`}
    </div>
  </div>`;
}

function isEmpty(v) {
  return v === null || v === undefined || v === '';
}

// EventDetail shows every field and the original record, pretty-printed,
// with a copy button.
function EventDetail({ type, id, row, onClose }) {
  const [ev, setEv] = useState(null);
  const [err, setErr] = useState(null);
  const [copied, setCopied] = useState('');
  useEffect(() => {
    setEv(null);
    setErr(null);
    api('/api/event', { type, id, time: row && row._time ? row._time : undefined })
      .then(setEv).catch((e) => setErr(e instanceof ApiError ? e : new ApiError(String(e))));
  }, [type, id]);
  useEffect(() => {
    const onKey = (e) => { if (e.key === 'Escape') onClose(); };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const [showEmpty, setShowEmpty] = useState(false);
  const keys = ev ? Object.keys(ev.fields || {}).sort() : [];
  const empties = ev ? keys.filter((k) => isEmpty(ev.fields[k])).length : 0;
  let pretty = '';
  if (ev) {
    try {
      pretty = JSON.stringify(JSON.parse(ev.raw), null, 2);
    } catch (e) {
      pretty = ev.raw || '';
    }
  }
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(pretty);
      setCopied('Copied');
    } catch (e) {
      const pre = document.querySelector('.event-detail pre.raw');
      if (pre) window.getSelection().selectAllChildren(pre);
      setCopied('Selected: press Ctrl+C');
    }
  };
  return html`<aside class="event-detail" aria-label="Event detail">
    <div class="detail-head">
      <strong>Event</strong> <code>${id}</code>
      <span class="spacer"></span>
      <button type="button" class="close" onClick=${onClose} title="Close (Esc)">✕</button>
    </div>
    <${ErrorBox} error=${err} />
    ${ev ? html`<div class="detail-body">
      <table class="kv">
        <tbody>${keys.filter((k) => showEmpty || !isEmpty(ev.fields[k])).map((k) => html`<tr><th>${k}</th><td>${fmtValue(ev.fields[k])}</td></tr>`)}</tbody>
      </table>
      ${empties ? html`<label class="muted show-empty"><input type="checkbox" checked=${showEmpty}
        onChange=${(e) => setShowEmpty(e.target.checked)} /> show ${empties} empty fields</label>` : null}
      <div class="raw-head"><strong>Original record</strong>
        <button type="button" class="copy" onClick=${copy}>Copy JSON</button> <span class="muted">${copied}</span></div>
      <pre class="raw">${pretty}</pre>
    </div>` : err ? null : html`<p class="muted">Loading…</p>`}
  </aside>`;
}
