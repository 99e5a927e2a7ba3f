// The SQL console (/sql?sql=): a read-only query box, its results and the
// schema (/api/schema) browsable beside it.
import { html, useState, useEffect, useRef, api, post, params, urlWith, navigate, ErrorBox, DataTable } from './lib.js';

export function SQLPage() {
  const p = params();
  const sql = p.sql || '';
  const [text, setText] = useState(sql || 'SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC LIMIT 20');
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  const [running, setRunning] = useState(false);
  const [again, setAgain] = useState(0);
  const area = useRef(null);
  useEffect(() => {
    if (!sql) return;
    setText(sql);
    let live = true;
    setRunning(true);
    setErr(null);
    post('/api/sql', { sql, limit: 1000 })
      .then((r) => { if (live) { setRes(r); } })
      .catch((e) => { if (live) { setErr(e); setRes(null); } })
      .finally(() => live && setRunning(false));
    return () => { live = false; };
  }, [sql, again]);
  const run = (e) => {
    if (e) e.preventDefault();
    if (text.trim() === sql) {
      setAgain(again + 1);
      return;
    }
    navigate(urlWith('/sql', { sql: text.trim() }));
  };
  const insert = (s) => {
    const el = area.current;
    if (!el) return;
    const a = el.selectionStart;
    const b = el.selectionEnd;
    const v = text.slice(0, a) + s + text.slice(b);
    setText(v);
    setTimeout(() => { el.focus(); el.selectionStart = el.selectionEnd = a + s.length; }, 0);
  };
  return html`<div class="page sql-page">
    <div class="sql-main">
      <form class="sql-form" onSubmit=${run}>
        <textarea ref=${area} name="sql" rows="8" spellcheck="false" value=${text}
          onInput=${(e) => setText(e.target.value)}
          onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run(e); }}></textarea>
        <div class="toolbar"><button type="submit" class="primary run">Run</button>
          <span class="muted">Ctrl+Enter runs. Read-only: SELECT, WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE.</span>
          ${running ? html`<span class="muted">running…</span>` : null}</div>
      </form>
      <${ErrorBox} error=${err} query=${sql} />
      ${res ? html`<div class="sql-result">
        <div class="muted">${res.rows.length} rows${res.truncated ? ' (truncated)' : ''}, ${res.took_ms} ms</div>
        <div class="table-wrap"><${DataTable} columns=${res.columns.map((c) => c.name)} rows=${res.rows} /></div>
      </div>` : null}
    </div>
    <${Schema} onInsert=${insert} />
  </div>`;
}

function Schema({ onInsert }) {
  const [schema, setSchema] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => { api('/api/schema').then(setSchema).catch(setErr); }, []);
  return html`<aside class="schema">
    <strong>Schema</strong>
    <${ErrorBox} error=${err} />
    ${schema ? (schema.tables || []).map((t) => html`<details class="table" data-table=${t.name}>
      <summary title=${t.description || ''}><button type="button" class="link" onClick=${(e) => { e.preventDefault(); onInsert(t.name); }}>${t.name}</button></summary>
      ${t.description ? html`<p class="muted">${t.description}</p>` : null}
      <ul>${(t.columns || []).map((c) => html`<li title=${c.description || ''}>
        <button type="button" class="link" onClick=${() => onInsert(c.name)}>${c.name}</button> <span class="muted">${c.type}</span></li>`)}</ul>
    </details>`) : null}
  </aside>`;
}
