#!/bin/sh
# Refreshes static/vendor from the exact versions in package.json and
# package-lock.json (run by `make web-vendor`; needs npm). The copied files are
# served as they are: no bundler, no build step for `go build`.
set -eu
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
nm=node_modules
out=static/vendor
rm -rf "$out"
mkdir -p "$out/licenses"
cp "$nm/preact/dist/preact.mjs" "$out/preact.mjs"
# hooks.mjs imports the bare specifier "preact"; an import map would be an
# inline script, which the CSP forbids, so point it at the file instead.
sed 's#from"preact"#from"./preact.mjs"#g' "$nm/preact/hooks/dist/hooks.mjs" >"$out/preact-hooks.mjs"
grep -q 'from"./preact.mjs"' "$out/preact-hooks.mjs"
cp "$nm/htm/dist/htm.module.js" "$out/htm.mjs"
cp "$nm/chart.js/dist/chart.umd.min.js" "$out/chart.umd.min.js"
cp "$nm/chartjs-chart-geo/build/index.umd.min.js" "$out/chartjs-chart-geo.umd.min.js"
cp "$nm/world-atlas/countries-110m.json" "$out/countries-110m.json"
cp "$nm/preact/LICENSE" "$out/licenses/preact.LICENSE"
cp "$nm/htm/LICENSE" "$out/licenses/htm.LICENSE"
cp "$nm/chart.js/LICENSE.md" "$out/licenses/chart.js.LICENSE"
cp "$nm/chartjs-chart-geo/LICENSE" "$out/licenses/chartjs-chart-geo.LICENSE"
cp "$nm/world-atlas/LICENSE" "$out/licenses/world-atlas.LICENSE"
# chartjs-chart-geo's UMD build bundles d3-geo, d3-array, d3-color,
# d3-interpolate, d3-scale-chromatic and topojson-client (all ISC/BSD-3).
for p in d3-geo d3-array d3-color d3-interpolate d3-scale-chromatic topojson-client; do
	cp "$nm/$p/LICENSE" "$out/licenses/$p.LICENSE"
done
rm -rf "$nm"
ls -l "$out"
