// Chart.js wrappers (the vendored UMD builds set window.Chart and
// window.ChartGeo). Labels and tooltips are drawn on the canvas, so log values
// shown in charts are never parsed as HTML.
import { html, useEffect, useRef } from './lib.js';

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

let geoRegistered = false;
let countries = null;

function ensureGeo() {
  if (geoRegistered) return;
  const G = window.ChartGeo;
  window.Chart.register(G.ChoroplethController, G.GeoFeature, G.ColorScale, G.ProjectionScale);
  geoRegistered = true;
}

// worldCountries loads the world-atlas countries (TopoJSON → GeoJSON
// features), each with its ISO 3166 alpha-2 code in properties.a2.
export async function worldCountries(assets) {
  if (countries) return countries;
  const [topo, iso] = await Promise.all([
    fetch(assets + 'vendor/countries-110m.json').then((r) => r.json()),
    fetch(assets + 'iso3166.json').then((r) => r.json()),
  ]);
  const fc = window.ChartGeo.topojson.feature(topo, topo.objects.countries);
  countries = fc.features.map((f) => {
    f.properties = Object.assign({}, f.properties, { a2: iso[f.id] || '' });
    return f;
  });
  return countries;
}

// assetBase is the versioned asset prefix this module was loaded from.
export const assetBase = new URL('..', import.meta.url).pathname;

// ChartCanvas renders a Chart.js chart from config(); it rebuilds the chart
// when deps change and records the number of data points on the canvas
// (data-points) so tests and users can tell an empty chart from a drawn one.
export function ChartCanvas({ config, deps, height, onChart }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!window.Chart || !ref.current) return undefined;
    const cfg = config();
    if (cfg.type === 'choropleth') ensureGeo();
    cfg.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, cfg.options || {});
    const chart = new window.Chart(ref.current, cfg);
    let points = 0;
    for (const ds of cfg.data.datasets) points += ds.data.filter((v) => v !== null && v !== undefined).length;
    ref.current.dataset.points = String(points);
    if (onChart) onChart(chart);
    const canvas = ref.current;
    return () => {
      delete canvas.dataset.points;
      chart.destroy();
    };
  }, deps);
  return html`<div class="chart-box" data-height=${height || 240} ref=${(el) => { if (el) el.style.height = (height || 240) + 'px'; }}>
    <canvas ref=${ref}></canvas>
  </div>`;
}
