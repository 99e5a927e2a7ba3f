// The time-range picker: relative ranges, an absolute from/to in the display
// timezone, and the UTC/local toggle.
import {
  html, useState, useEffect, RELATIVE, resolveTime, toInput, fromInput,
  describeRange, getTZ, setTZ, tzLabel,
} from './lib.js';

// TimePicker calls onChange({from, to}) with URL time values.
export function TimePicker({ from, to, onChange }) {
  const [open, setOpen] = useState(false);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  useEffect(() => {
    setA(toInput(resolveTime(from)));
    setB(toInput(resolveTime(to)));
  }, [from, to, open]);
  const pick = (f, t) => {
    setOpen(false);
    onChange({ from: f, to: t });
  };
  const apply = (e) => {
    e.preventDefault();
    const fa = fromInput(a);
    const tb = fromInput(b);
    pick(fa === null ? '' : String(fa), tb === null ? '' : String(tb));
  };
  const tz = getTZ();
  return html`<div class="timepicker">
    <button type="button" class="range" onClick=${() => setOpen(!open)} title="Change the time range">
      ${describeRange(from, to)}
    </button>
    <button type="button" class="tz" onClick=${() => setTZ(tz === 'utc' ? 'local' : 'utc')}
      title="Show times in UTC or in this browser's timezone">${tzLabel()}</button>
    ${open ? html`<div class="popover">
      <div class="rel">
        ${RELATIVE.map(([k, label]) => html`<button type="button" data-range=${k} onClick=${() => pick('now-' + k, '')}>${label}</button>`)}
        <button type="button" data-range="all" onClick=${() => pick('', '')}>All time</button>
      </div>
      <form class="abs" onSubmit=${apply}>
        <label>From (${tzLabel()}) <input type="datetime-local" step="1" value=${a} onInput=${(e) => setA(e.target.value)} /></label>
        <label>To <input type="datetime-local" step="1" value=${b} onInput=${(e) => setB(e.target.value)} /></label>
        <button type="submit">Apply</button>
      </form>
    </div>` : null}
  </div>`;
}
