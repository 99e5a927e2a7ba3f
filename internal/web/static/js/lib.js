// Shared helpers: Preact + htm, the API client, URL state and time ranges.
// Every value from a log is rendered through Preact (text nodes and escaped
// attributes); nothing here builds HTML from strings.
import { h, render } from '../vendor/preact.mjs';
import { useState, useEffect, useRef, useMemo, useCallback } from '../vendor/preact-hooks.mjs';
import htm from '../vendor/htm.mjs';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useRef, useMemo, useCallback };

// ApiError carries the server's message, HTTP status and, for query errors,
// the 1-based position in the query.
export class ApiError extends Error {
  constructor(message, status, position) {
    super(message);
    this.status = status;
    this.position = position;
  }
}

// api calls an endpoint of the trawl HTTP API and returns the decoded JSON.
// Every request carries X-Trawl-Request: 1 (the server's CSRF check).
export async function api(path, params, init) {
  let url = path;
  if (params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const opts = Object.assign({ credentials: 'same-origin' }, init || {});
  opts.headers = Object.assign({ 'X-Trawl-Request': '1', 'Accept': 'application/json' }, (init && init.headers) || {});
  let res;
  try {
    res = await fetch(url, opts);
  } catch (e) {
    throw new ApiError('cannot reach the trawl server: ' + e.message, 0);
  }
  let body = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error : `${res.status} ${res.statusText}`;
    throw new ApiError(msg, res.status, body && body.position);
  }
  return body;
}

// post sends a JSON body with POST.
export function post(path, body) {
  return api(path, null, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

// ---- location (the URL holds the whole state) ----

let listeners = [];

// navigate changes the URL (push: a new history entry; replace otherwise)
// and re-renders every page listening to it.
export function navigate(url, replace) {
  const target = new URL(url, location.href);
  const same = target.pathname + target.search === location.pathname + location.search;
  if (replace || same) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  notify();
}

function notify() {
  for (const l of listeners) l();
}

window.addEventListener('popstate', notify);

// useLocation returns the current path and query and re-renders on change.
// A settings change (the timezone) re-renders too, with the same location.
export function useLocation() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((n) => n + 1);
    listeners.push(l);
    return () => { listeners = listeners.filter((x) => x !== l); };
  }, []);
  return location.pathname + location.search;
}

// params returns the current query parameters as a plain object.
export function params() {
  const out = {};
  for (const [k, v] of new URLSearchParams(location.search)) out[k] = v;
  return out;
}

// urlWith builds path?query from an object, dropping empty values.
export function urlWith(path, obj) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

// Link renders an <a> that navigates inside the app without a page load.
export function Link(props) {
  const { href, children, ...rest } = props;
  const onClick = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

// ---- time ----

export const RELATIVE = [
  ['15m', 'Last 15 minutes'],
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
];

const UNITS = { s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };

// resolveTime turns a URL time value (now-24h, now, epoch ms or RFC 3339)
// into epoch milliseconds; null for an empty value.
export function resolveTime(v, now) {
  if (v === undefined || v === null || v === '') return null;
  now = now || Date.now();
  if (v === 'now') return now;
  const m = /^now-(\d+)([smhdw])$/.exec(v);
  if (m) return now - Number(m[1]) * UNITS[m[2]];
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

// apiTime converts a URL time value to what the API accepts (epoch ms).
export function apiTime(v) {
  const t = resolveTime(v);
  return t === null ? undefined : t;
}

// tz is the display timezone, 'utc' or 'local', kept in localStorage.
export function getTZ() {
  try {
    return localStorage.getItem('trawl.tz') === 'local' ? 'local' : 'utc';
  } catch (e) {
    return 'utc';
  }
}

export function setTZ(v) {
  try { localStorage.setItem('trawl.tz', v); } catch (e) { /* private mode */ }
  notify();
}

function pad(n, w) { return String(n).padStart(w || 2, '0'); }

// fmtTime formats epoch ms or an RFC 3339 string in the display timezone.
export function fmtTime(v, withMs) {
  if (v === null || v === undefined || v === '') return '';
  const t = typeof v === 'number' ? v : Date.parse(v);
  if (Number.isNaN(t)) return String(v);
  const d = new Date(t);
  const utc = getTZ() === 'utc';
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const M = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
  const D = utc ? d.getUTCDate() : d.getDate();
  const hh = utc ? d.getUTCHours() : d.getHours();
  const mm = utc ? d.getUTCMinutes() : d.getMinutes();
  const ss = utc ? d.getUTCSeconds() : d.getSeconds();
  let s = `${Y}-${pad(M)}-${pad(D)} ${pad(hh)}:${pad(mm)}:${pad(ss)}`;
  if (withMs) s += '.' + pad(d.getUTCMilliseconds(), 3);
  return s;
}

// tzLabel names the display timezone.
export function tzLabel() {
  if (getTZ() === 'utc') return 'UTC';
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  let name = '';
  try { name = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { /* ignore */ }
  return `${name ? name + ' ' : ''}UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// toInput renders epoch ms for an <input type=datetime-local> in the display timezone.
export function toInput(t) {
  if (t === null || t === undefined) return '';
  return fmtTime(t).replace(' ', 'T');
}

// fromInput parses an <input type=datetime-local> value in the display timezone.
export function fromInput(v) {
  if (!v) return null;
  const s = v.length === 16 ? v + ':00' : v;
  const t = getTZ() === 'utc' ? Date.parse(s + 'Z') : Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

// describeRange says in words what from/to cover.
export function describeRange(from, to) {
  const rel = /^now-(\w+)$/.exec(from || '');
  if (rel && (!to || to === 'now')) {
    const r = RELATIVE.find((x) => x[0] === rel[1]);
    return r ? r[1] : `Last ${rel[1]}`;
  }
  if (!from && !to) return 'All time';
  return `${from ? fmtTime(resolveTime(from)) : '…'} → ${to ? fmtTime(resolveTime(to)) : 'now'}`;
}

// defaultRange picks a time range from /api/stats that shows the stored
// data: the last 24 hours when the newest event is recent, otherwise the
// span of the stored data (rounded out to whole minutes) when it is a week
// or less, else the last day of it (a first view of months of history
// should not scan all of it; the picker widens it).
export async function defaultRange(type) {
  let stats;
  try {
    stats = await api('/api/stats');
  } catch (e) {
    return { from: 'now-24h', to: '' };
  }
  let min = null;
  let max = null;
  for (const t of (stats && stats.tables) || []) {
    if (type && t.type !== type) continue;
    if (!t.count || !t.min_time || !t.max_time) continue;
    const a = Date.parse(t.min_time);
    const b = Date.parse(t.max_time);
    if (min === null || a < min) min = a;
    if (max === null || b > max) max = b;
  }
  if (max === null) return { from: 'now-24h', to: '' };
  if (max >= Date.now() - 3600000 && min >= Date.now() - 86400000) return { from: 'now-24h', to: '' };
  const minute = 60000;
  if (max - min > 7 * 86400000) min = max - 86400000;
  return { from: String(Math.floor(min / minute) * minute), to: String(Math.ceil((max + 1) / minute) * minute) };
}

// fmtNum formats a count with thousands separators.
export function fmtNum(n) {
  if (n === null || n === undefined) return '';
  if (typeof n !== 'number') return String(n);
  return n.toLocaleString('en-US');
}

// fmtValue renders any API value as display text.
export function fmtValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// quoteValue quotes a value as a phrase of the search language.
export function quoteValue(v) {
  return '"' + String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// addFilter appends field:"value" (or NOT field:"value") to a query, wrapping
// a query that has a top-level OR in parentheses so AND applies to all of it.
export function addFilter(q, field, value, exclude) {
  const term = `${exclude ? 'NOT ' : ''}${field}:${quoteValue(value)}`;
  q = (q || '').trim();
  if (!q) return term;
  if (/\bOR\b/.test(q)) q = `(${q})`;
  return `${q} AND ${term}`;
}

// ErrorBox shows an error; for a query error with a position it repeats the
// line of the query that holds it with a caret under the offending column.
export function ErrorBox({ error, query }) {
  if (!error) return null;
  const pos = error.position;
  let where = null;
  let at = pos ? ` (at position ${pos})` : '';
  if (pos && query && pos <= query.length + 1) {
    const start = query.lastIndexOf('\n', pos - 2) + 1;
    const end = query.indexOf('\n', start);
    const line = query.slice(start, end < 0 ? query.length : end);
    const col = pos - 1 - start;
    // Tabs stay tabs so the caret lines up.
    const pad = line.slice(0, col).replace(/[^\t]/g, ' ');
    if (start > 0 || end >= 0) {
      const lineNo = query.slice(0, start).split('\n').length;
      at += `, line ${lineNo} column ${col + 1}`;
    }
    where = html`<pre class="error-where"><span>${line}</span>
<span class="caret">${pad}^</span></pre>`;
  }
  return html`<div class="error" role="alert">
    <div class="error-msg">${error.message}${at}</div>
    ${where}
  </div>`;
}

// DataTable renders columns and rows (arrays) as an HTML table of text.
export function DataTable({ columns, rows, onRow, className }) {
  return html`<table class=${'data ' + (className || '')}>
    <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr class=${onRow ? 'clickable' : ''} onClick=${onRow ? () => onRow(i) : undefined}>
      ${r.map((v) => html`<td>${fmtValue(v)}</td>`)}</tr>`)}</tbody>
  </table>`;
}
