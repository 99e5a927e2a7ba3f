package web_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/rules"
)

// TestBrowser drives headless chromium through every page of the UI served
// by the real server over a DuckDB store filled with the generator's demo
// data (alerts included) and hostile events.
func TestBrowser(t *testing.T) {
	chromiumPath(t)
	start := time.Now()
	st, set := demoStore(t)
	base := startServer(t, st, set)
	t.Logf("demo store and server ready in %s", time.Since(start).Round(time.Millisecond))
	b := newBrowser(t, base)

	// The whole demo data span, as the search page's default range picks it.
	var stats struct {
		Tables []struct {
			Type    string `json:"type"`
			Count   int64  `json:"count"`
			MinTime string `json:"min_time"`
			MaxTime string `json:"max_time"`
		} `json:"tables"`
	}
	getJSON(t, base, "/api/stats", &stats)
	var from, to time.Time
	for _, tb := range stats.Tables {
		if tb.Count == 0 {
			continue
		}
		a, _ := time.Parse(time.RFC3339Nano, tb.MinTime)
		z, _ := time.Parse(time.RFC3339Nano, tb.MaxTime)
		if from.IsZero() || a.Before(from) {
			from = a
		}
		if z.After(to) {
			to = z
		}
	}
	if from.IsZero() {
		t.Fatalf("no data in /api/stats: %+v", stats)
	}
	rng := fmt.Sprintf("from=%d&to=%d", from.UnixMilli(), to.UnixMilli()+1)

	t.Run("search", func(t *testing.T) { testSearch(b.at(t)) })
	t.Run("search controls", func(t *testing.T) { testSearchControls(b.at(t), rng) })
	t.Run("bad query", func(t *testing.T) { testBadQuery(b.at(t), base, rng) })
	t.Run("field filter", func(t *testing.T) { testFieldFilter(b.at(t), rng) })
	var flows int64
	for _, tb := range stats.Tables {
		if tb.Type == "vpcflow" {
			flows = tb.Count
		}
	}
	t.Run("sampled sidebar", func(t *testing.T) { testSampledSidebar(b.at(t), rng, flows) })
	t.Run("event detail", func(t *testing.T) { testEventDetail(b.at(t), rng) })
	t.Run("dashboards", func(t *testing.T) { testDashboards(b.at(t), base, rng, from, to) })
	t.Run("alerts", func(t *testing.T) { testAlerts(b.at(t), base, alertReader{st}) })
	t.Run("rules", func(t *testing.T) { testRules(b.at(t)) })
	t.Run("sql", func(t *testing.T) { testSQL(b.at(t)) })
	t.Run("xss", func(t *testing.T) { testXSS(b.at(t), rng) })
	t.Run("query building", func(t *testing.T) { testQueryBuilding(b.at(t), base) })
	t.Run("token", func(t *testing.T) { testToken(b.at(t), st, set, rng) })
	b.log.mu.Lock()
	n := b.log.requests
	b.log.mu.Unlock()
	if n == 0 {
		t.Errorf("no request seen: the check for requests to other origins saw nothing")
	}
	t.Logf("browser tests took %s, %d requests, all to the server", time.Since(start).Round(time.Millisecond), n)
}

const rowsSel = `document.querySelectorAll('.results-table tbody tr').length`

// The search page with no state in the URL picks a time range from
// /api/stats, shows rows, the histogram and the sidebar; its first paint is
// measured.
func testSearch(b *browser) {
	t := b.t
	b.open("/search")
	b.wait(rowsSel+` > 0`, "search results")
	fcp := eval[float64](b, `(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime`)
	rows := eval[float64](b, `performance.now()`)
	t.Logf("search page: first contentful paint %.0f ms, first rows shown by %.0f ms after navigation start", fcp, rows)
	if fcp < 0 {
		t.Errorf("no first-contentful-paint entry")
	}
	loc := eval[string](b, `location.search`)
	if !strings.Contains(loc, "from=") {
		t.Errorf("default time range not written to the URL: %q", loc)
	}
	b.wait(`document.querySelector('.histogram canvas') && Number(document.querySelector('.histogram canvas').dataset.points) > 0`, "histogram")
	b.wait(`document.querySelectorAll('.fields .val').length > 0`, "field sidebar")
	if n := eval[int](b, rowsSel); n != 100 {
		t.Errorf("first page has %d rows, want 100", n)
	}
	b.view("search")
	// The export links download what the search shows.
	for _, f := range []string{"csv", "ndjson"} {
		ctx, cancel := b.tctx()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => {
			const a = [...document.querySelectorAll('.summary a.button')].find(a => a.textContent === `+jsString(strings.ToUpper(f))+`);
			const r = await fetch(a.href);
			const body = await r.text();
			return [String(r.status), r.headers.get('Content-Disposition') || '', String(body.trim().split('\n').length)];
		})()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("export %s: %v", f, err)
		}
		if got[0] != "200" || !strings.Contains(got[1], "attachment") || got[2] == "0" || got[2] == "1" {
			t.Errorf("export %s: status %s, Content-Disposition %q, %s lines", f, got[0], got[1], got[2])
		}
	}
	// Infinite scroll: the next page is appended.
	b.click(`.load-more`)
	b.wait(rowsSel+` > 100`, "second page")
	b.shot("search")
	b.checkErrors("search")
}

// Dragging across the histogram zooms the time range; the time picker sets
// a relative range; the timezone toggles; the column chooser adds a column.
func testSearchControls(b *browser, rng string) {
	t := b.t
	b.open("/search?type=cloudtrail&" + rng)
	b.wait(`Number((document.querySelector('.histogram canvas') || {dataset: {}}).dataset.points) > 0 && Chart.getChart(document.querySelector('.histogram canvas'))`, "histogram")
	xy := eval[[]float64](b, `(() => {
		const c = document.querySelector('.histogram canvas');
		c.scrollIntoView();
		const a = Chart.getChart(c).chartArea, r = c.getBoundingClientRect();
		return [r.left + a.left + (a.right - a.left) * 0.25, r.left + a.left + (a.right - a.left) * 0.5, r.top + (a.top + a.bottom) / 2];
	})()`)
	before := eval[[]float64](b, `[Number(new URLSearchParams(location.search).get('from')), Number(new URLSearchParams(location.search).get('to'))]`)
	b.do("dragging across the histogram",
		chromedp.MouseEvent(chromedp.MousePressed, xy[0], xy[2], chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, (xy[0]+xy[1])/2, xy[2], chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, xy[1], xy[2], chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, xy[1], xy[2], chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
	b.wait(fmt.Sprintf(`Number(new URLSearchParams(location.search).get('from')) > %.0f`, before[0]), "zoomed range")
	after := eval[[]float64](b, `[Number(new URLSearchParams(location.search).get('from')), Number(new URLSearchParams(location.search).get('to'))]`)
	if !(after[0] > before[0] && after[1] < before[1] && after[1] > after[0]) {
		t.Errorf("zoom: range %v → %v, want a range inside it", before, after)
	}
	b.wait(rowsSel+` > 0`, "rows in the zoomed range")

	b.click(`.timepicker button.range`)
	b.wait(`document.querySelector('.timepicker .popover')`, "time picker")
	b.view("timepicker")
	b.click(`.timepicker [data-range="7d"]`)
	b.wait(`new URLSearchParams(location.search).get('from') === 'now-7d'`, "relative range in the URL")
	if got := eval[string](b, `document.querySelector('.timepicker button.range').textContent.trim()`); got != "Last 7 days" {
		t.Errorf("time picker shows %q", got)
	}
	tz := eval[string](b, `document.querySelector('.timepicker button.tz').textContent.trim()`)
	b.click(`.timepicker button.tz`)
	b.wait(`document.querySelector('.timepicker button.tz').textContent.trim() !== `+jsString(tz), "timezone toggle")
	b.click(`.timepicker button.tz`)
	b.wait(`document.querySelector('.timepicker button.tz').textContent.trim() === `+jsString(tz), "timezone back")

	b.open("/search?type=cloudtrail&" + rng)
	b.wait(rowsSel+` > 0`, "rows")
	cols := eval[int](b, `document.querySelectorAll('.results-table thead th').length`)
	b.click(`.colchooser > button`)
	b.wait(`document.querySelectorAll('.popover.cols input[type=checkbox]').length > 0`, "column list")
	eval[bool](b, `(() => { [...document.querySelectorAll('.popover.cols input[type=checkbox]')].find(c => !c.checked).click(); return true; })()`)
	b.view("columns")
	b.wait(`new URLSearchParams(location.search).get('cols')`, "columns in the URL")
	b.wait(fmt.Sprintf(`document.querySelectorAll('.results-table thead th').length === %d`, cols+1), "one more column")
	// "/" focuses the query box. (CDP sends the character as its own event
	// after keydown, so whether the page's preventDefault keeps the "/" out
	// of the box is not checked here.)
	eval[bool](b, `(() => { document.activeElement.blur(); return true; })()`)
	b.do("pressing /", chromedp.KeyEvent("/"))
	b.wait(`document.activeElement === document.querySelector('.querybar .query')`, "focus after /")
	b.checkErrors("search controls")
}

// A query the language cannot read shows the server's message and a caret
// under the position it names.
func testBadQuery(b *browser, base, rng string) {
	t := b.t
	q := `eventName:CreateUser AND (userName:alice`
	var apiErr struct {
		Error    string `json:"error"`
		Position int    `json:"position"`
	}
	status := getStatusJSON(t, base, "/api/search?q="+url.QueryEscape(q), &apiErr)
	if status != 400 || apiErr.Position == 0 {
		t.Fatalf("API answered %d %+v for a bad query; want 400 with a position", status, apiErr)
	}
	b.open("/search?" + rng + "&q=" + url.QueryEscape(q))
	b.wait(`document.querySelector('.error .error-msg')`, "error message")
	msg := eval[string](b, `document.querySelector('.error .error-msg').textContent`)
	if !strings.Contains(msg, apiErr.Error) || !strings.Contains(msg, fmt.Sprintf("position %d", apiErr.Position)) {
		t.Errorf("error shown %q, want the API's %q at position %d", msg, apiErr.Error, apiErr.Position)
	}
	caret := eval[string](b, `document.querySelector('.error .caret').textContent`)
	if len(caret) != apiErr.Position || !strings.HasSuffix(caret, "^") {
		t.Errorf("caret %q does not point at column %d", caret, apiErr.Position)
	}
	if n := eval[int](b, rowsSel); n != 0 {
		t.Errorf("%d rows shown for a failed query", n)
	}
	b.wait(`document.activeElement === document.querySelector('.querybar .query')`, "focus on the query box")
	if at := eval[int](b, `document.querySelector('.querybar .query').selectionStart`); at != min(apiErr.Position-1, len(q)) {
		t.Errorf("query box selection at %d, error at position %d", at, apiErr.Position)
	}
	b.checkErrors("bad query")
}

// Clicking a value in the field sidebar adds field:"value" to the query,
// and the results change; ⊖ adds NOT field:"value".
func testFieldFilter(b *browser, rng string) {
	t := b.t
	b.open("/search?type=cloudtrail&" + rng)
	b.wait(`document.querySelector('.count[data-total]') && Number(document.querySelector('.count').dataset.total) > 0`, "total")
	b.wait(`document.querySelectorAll('.fields .val').length > 0`, "field sidebar")
	total := eval[int](b, `Number(document.querySelector('.count').dataset.total)`)
	// A field with at least two values, so filtering on one narrows.
	pick := eval[[]string](b, `(() => {
		for (const f of document.querySelectorAll('.fields .field')) {
			const vals = f.querySelectorAll('.val');
			if (vals.length >= 2) return [f.dataset.field, vals[0].dataset.value, String([...f.querySelectorAll('.field li')].indexOf(vals[0].closest('li')))];
		}
		return [];
	})()`)
	if len(pick) != 3 {
		t.Fatalf("no sidebar field with two values")
	}
	field, value := pick[0], pick[1]
	b.click(fmt.Sprintf(`.fields .field[data-field=%s] .val`, jsString(field)))
	want := field + `:"` + strings.ReplaceAll(strings.ReplaceAll(value, `\`, `\\`), `"`, `\"`) + `"`
	b.wait(`new URLSearchParams(location.search).get('q') === `+jsString(want), "query in the URL")
	if got := eval[string](b, `document.querySelector('.querybar .query').value`); got != want {
		t.Errorf("query box %q, want %q", got, want)
	}
	b.wait(`document.querySelector('.count[data-total]') && Number(document.querySelector('.count').dataset.total) !== `+fmt.Sprint(total), "narrowed total")
	in := eval[int](b, `Number(document.querySelector('.count').dataset.total)`)
	if in <= 0 || in >= total {
		t.Errorf("filtering in on %s: total %d, before %d", want, in, total)
	}
	// Back to the unfiltered page, then filter the same value out.
	b.do("going back", chromedp.NavigateBack())
	b.wait(`new URLSearchParams(location.search).get('q') === null && Number((document.querySelector('.count')||{dataset:{}}).dataset.total) === `+fmt.Sprint(total), "back to the unfiltered search")
	b.click(fmt.Sprintf(`.fields .field[data-field=%s] .out`, jsString(field)))
	b.wait(`new URLSearchParams(location.search).get('q') === `+jsString("NOT "+want), "NOT query in the URL")
	b.wait(`document.querySelector('.count[data-total]') && Number(document.querySelector('.count').dataset.total) !== `+fmt.Sprint(total), "total without the value")
	out := eval[int](b, `Number(document.querySelector('.count').dataset.total)`)
	if out+in > total || out <= 0 {
		t.Errorf("NOT %s: %d events, %s: %d, all: %d", want, out, want, in, total)
	}
	b.checkErrors("field filter")
}

// With the sampling threshold lowered, /api/fields answers a 90% sample
// and the sidebar shows its counts as estimates with a note.
func testSampledSidebar(b *browser, rng string, flows int64) {
	t := b.t
	if flows < 10 {
		t.Fatalf("%d demo flows, too few to sample", flows)
	}
	defer func(above, rows int64) { api.SampleAbove, api.SampleRows = above, rows }(api.SampleAbove, api.SampleRows)
	api.SampleAbove, api.SampleRows = 1, flows*9/10
	b.open("/search?type=vpcflow&" + rng)
	b.wait(`document.querySelector('.fields .sample-note') && document.querySelectorAll('.fields .n').length > 0`, "sample note")
	note := eval[string](b, `document.querySelector('.fields .sample-note').textContent`)
	if !regexp.MustCompile(`^estimated from a [0-9.]+% sample of the range$`).MatchString(note) {
		t.Errorf("sample note %q", note)
	}
	if bad := eval[[]string](b, `[...document.querySelectorAll('.fields .n')].map(e => e.textContent).filter(s => !s.startsWith('≈'))`); len(bad) > 0 {
		t.Errorf("counts not shown as estimates: %q", bad)
	}
	b.checkErrors("sampled sidebar")
}

// Clicking a row opens the event detail with the original JSON.
func testEventDetail(b *browser, rng string) {
	t := b.t
	b.open("/search?type=cloudtrail&" + rng)
	b.wait(rowsSel+` > 0`, "rows")
	id := eval[string](b, `document.querySelector('.results-table tbody tr').dataset.id`)
	b.click(`.results-table tbody tr`)
	b.wait(`document.querySelector('.event-detail pre.raw') && document.querySelector('.event-detail pre.raw').textContent.length > 10`, "original JSON")
	raw := eval[map[string]any](b, `JSON.parse(document.querySelector('.event-detail pre.raw').textContent)`)
	if raw["eventID"] != id {
		t.Errorf("detail shows eventID %v, the row was %q", raw["eventID"], id)
	}
	if got := eval[string](b, `new URLSearchParams(location.search).get('event')`); got != id {
		t.Errorf("event in the URL %q, want %q", got, id)
	}
	if n := eval[int](b, `document.querySelectorAll('.event-detail table.kv tr').length`); n < 10 {
		t.Errorf("detail lists %d fields", n)
	}
	b.view("event-detail")
	// Copy JSON copies (or, where the clipboard is refused, selects) it.
	b.click(`.event-detail button.copy`)
	b.wait(`document.querySelector('.event-detail .raw-head .muted').textContent !== ''`, "copy feedback")
	if got := eval[string](b, `document.querySelector('.event-detail .raw-head .muted').textContent + '|' + String(window.getSelection())`); !strings.HasPrefix(got, "Copied|") && !strings.Contains(got, id) {
		t.Errorf("after Copy JSON: %q", got)
	}
	// Flow records (a text line) and GuardDuty findings open too.
	for _, typ := range []string{"vpcflow", "guardduty"} {
		b.open("/search?type=" + typ + "&" + rng)
		b.wait(rowsSel+` > 0`, typ+" rows")
		b.click(`.results-table tbody tr`)
		b.wait(`document.querySelector('.event-detail pre.raw') && document.querySelector('.event-detail pre.raw').textContent.trim().length > 10`, typ+" original record")
		if n := eval[int](b, `document.querySelectorAll('.event-detail table.kv tr').length`); n < 5 {
			t.Errorf("%s detail lists %d fields", typ, n)
		}
	}
	b.open("/search?type=cloudtrail&" + rng + "&event=" + url.QueryEscape(id))
	// The URL alone reopens it (a shared link).
	b.wait(`document.querySelector('.event-detail pre.raw') && document.querySelector('.event-detail pre.raw').textContent.includes(`+jsString(id)+`)`, "detail from the URL")
	b.checkErrors("event detail")
}

// Every panel of every dashboard loads without an error and draws data;
// a panel element clicks through to the search.
func testDashboards(b *browser, base, rng string, from, to time.Time) {
	t := b.t
	var list struct {
		Dashboards []struct {
			ID     string `json:"id"`
			Panels []struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			} `json:"panels"`
		} `json:"dashboards"`
	}
	getJSON(t, base, "/api/dashboards", &list)
	if len(list.Dashboards) == 0 {
		t.Fatal("no dashboards")
	}
	for _, d := range list.Dashboards {
		b.open("/dashboards/" + d.ID + "?" + rng)
		b.wait(fmt.Sprintf(`document.querySelectorAll('.panel').length === %d && [...document.querySelectorAll('.panel')].every(p => p.dataset.state !== 'loading')`, len(d.Panels)), d.ID+" panels")
		// Charts are drawn after the data arrives.
		b.wait(`[...document.querySelectorAll('.panel[data-kind=timeseries], .panel[data-kind=bar], .panel[data-kind=map]')].every(p => p.dataset.rows === '0' || p.querySelector('canvas[data-points]'))`, d.ID+" charts")
		panels := eval[[]map[string]string](b, `[...document.querySelectorAll('.panel')].map(p => ({id: p.dataset.panel, kind: p.dataset.kind, state: p.dataset.state, rows: p.dataset.rows,
			points: (p.querySelector('canvas') || {dataset: {}}).dataset.points || '', err: (p.querySelector('.error') || {}).textContent || ''}))`)
		for _, p := range panels {
			switch {
			case p["state"] != "ready":
				t.Errorf("%s/%s: %s %s", d.ID, p["id"], p["state"], p["err"])
			case p["rows"] == "0":
				t.Errorf("%s/%s (%s): no data", d.ID, p["id"], p["kind"])
			case (p["kind"] == "timeseries" || p["kind"] == "bar" || p["kind"] == "map") && (p["points"] == "" || p["points"] == "0"):
				t.Errorf("%s/%s (%s): chart drawn with %q points from %s rows", d.ID, p["id"], p["kind"], p["points"], p["rows"])
			}
		}
		if n := eval[int](b, `[...document.querySelectorAll('.panel canvas')].filter(c => c.width > 0 && c.height > 0).length`); n == 0 {
			t.Errorf("%s: no canvas drawn", d.ID)
		}
		b.shot("dashboard-" + d.ID)
		b.view("dashboard-" + d.ID)
	}
	b.checkErrors("dashboards")

	// Click the first bar of a bar chart: the search opens with that row's
	// query.
	d := list.Dashboards[0]
	b.open("/dashboards/" + d.ID + "?" + rng)
	b.wait(`!!(document.querySelector('.panel[data-kind=bar] canvas[data-points]') && Chart.getChart(document.querySelector('.panel[data-kind=bar] canvas')))`, "a bar chart")
	xy := eval[[]float64](b, `(() => {
		const c = document.querySelector('.panel[data-kind=bar] canvas');
		const ch = Chart.getChart(c);
		const el = ch.getDatasetMeta(0).data[0];
		const r = c.getBoundingClientRect();
		c.scrollIntoView();
		const r2 = c.getBoundingClientRect();
		return [r2.left + (el.x + el.base) / 2, r2.top + el.y];
	})()`)
	b.do("clicking a bar", chromedp.MouseClickXY(xy[0], xy[1]))
	b.wait(`location.pathname === '/search' && new URLSearchParams(location.search).get('q')`, "search from a bar")
	b.wait(rowsSel+` > 0`, "rows behind the bar")
	// A time series point opens the search over its bucket; a country on
	// the map opens the search for it.
	for _, c := range []struct{ kind, pick string }{
		{"timeseries", `ch.getDatasetMeta(0).data.find((el, i) => ch.data.datasets[0].data[i] > 0)`},
		{"map", `ch.getDatasetMeta(0).data.find((el, i) => ch.data.datasets[0].data[i].value > 0)`},
	} {
		b.open("/dashboards/" + d.ID + "?" + rng)
		sel := `.panel[data-kind=` + c.kind + `] canvas`
		b.wait(`!!(document.querySelector('`+sel+`[data-points]') && Chart.getChart(document.querySelector('`+sel+`')))`, "a "+c.kind+" chart")
		xy := eval[[]float64](b, `(() => {
			const c = document.querySelector('`+sel+`');
			c.scrollIntoView();
			const ch = Chart.getChart(c);
			const el = `+c.pick+`;
			const p = el.getCenterPoint ? el.getCenterPoint() : {x: el.x, y: el.y};
			const r = c.getBoundingClientRect();
			return [r.left + p.x, r.top + p.y];
		})()`)
		b.do("clicking a "+c.kind+" element", chromedp.MouseClickXY(xy[0], xy[1]))
		b.wait(`location.pathname === '/search' && new URLSearchParams(location.search).get('q')`, "search from a "+c.kind)
		if c.kind == "timeseries" {
			span := eval[float64](b, `Number(new URLSearchParams(location.search).get('to')) - Number(new URLSearchParams(location.search).get('from'))`)
			if span <= 0 || span > float64(to.Sub(from).Milliseconds())/4 {
				t.Errorf("time series click-through range %.0f ms, want one bucket", span)
			}
		}
		b.wait(rowsSel+` > 0`, "rows behind the "+c.kind+" element")
	}

	// The account filter goes into the URL and the panels reload with it.
	b.open("/dashboards/" + d.ID + "?" + rng)
	b.wait(`document.querySelectorAll('.dash-filters select[name=account] option').length > 2 && [...document.querySelectorAll('.panel')].every(p => p.dataset.state === 'ready')`, "account filter")
	acct := eval[string](b, `document.querySelectorAll('.dash-filters select[name=account] option')[1].value`)
	firstRows := eval[string](b, `document.querySelector('.panel').dataset.rows`)
	eval[bool](b, `(() => { const s = document.querySelector('.dash-filters select[name=account]'); s.value = `+jsString(acct)+`; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	b.wait(`new URLSearchParams(location.search).get('account') === `+jsString(acct), "account in the URL")
	b.wait(`[...document.querySelectorAll('.panel')].every(p => p.dataset.state === 'ready')`, "filtered panels")
	filtered := eval[string](b, `document.querySelector('.panel').dataset.rows`)
	t.Logf("%s: first panel rows %s for all accounts, %s for %s", d.ID, firstRows, filtered, acct)
	if filtered == firstRows {
		t.Errorf("the account filter %s did not change the first panel (%s rows)", acct, filtered)
	}
	// A table row clicks through too.
	b.open("/dashboards/" + d.ID + "?" + rng)
	b.wait(`document.querySelector('.panel[data-kind=table] tr.clickable')`, "a table panel row")
	b.click(`.panel[data-kind=table] tr.clickable`)
	b.wait(`location.pathname === '/search' && new URLSearchParams(location.search).get('q')`, "search from a table row")
	b.checkErrors("dashboard click-through")
}

// Acknowledging an alert changes its status in the page and in the store;
// its events link opens the search behind it.
func testAlerts(b *browser, base string, st alertReader) {
	t := b.t
	b.open("/alerts?status=open")
	b.wait(`document.querySelectorAll('.alerts-table tbody tr').length > 0`, "open alerts")
	b.shot("alerts")
	b.view("alerts")
	// An open alert with a search behind it.
	b.wait(`document.querySelector('.alerts-table tbody tr[data-status=open] a.events')`, "an open alert with events")
	id := eval[string](b, `document.querySelector('.alerts-table tbody tr[data-status=open] a.events').closest('tr').dataset.alert`)
	b.click(fmt.Sprintf(`.alerts-table tr[data-alert=%s] button.ack`, jsString(id)))
	b.wait(fmt.Sprintf(`!document.querySelector('.alerts-table tr[data-alert=%s]')`, jsString(id)), "acknowledged alert to leave the open list")
	var got struct {
		Status string `json:"status"`
	}
	getJSON(t, base, "/api/alerts/"+id, &got)
	if got.Status != "acknowledged" {
		t.Errorf("alert %s: API status %q after acknowledge", id, got.Status)
	}
	if s, err := st.alertStatus(context.Background(), id); err != nil || s != "acknowledged" {
		t.Errorf("alert %s: stored status %q (%v)", id, s, err)
	}
	b.open("/alerts?status=acknowledged")
	b.wait(fmt.Sprintf(`document.querySelector('.alerts-table tr[data-alert=%s][data-status=acknowledged]')`, jsString(id)), "alert in the acknowledged list")
	b.click(fmt.Sprintf(`.alerts-table tr[data-alert=%s] a.events`, jsString(id)))
	b.wait(`location.pathname === '/search'`, "search behind the alert")
	b.wait(rowsSel+` > 0 || document.querySelector('.empty-results')`, "alert's events")
	if n := eval[int](b, rowsSel); n == 0 {
		t.Errorf("the alert's events link found no events: %s", eval[string](b, `location.search`))
	}
	// A flow alert (no stored record ids) opens the flows behind it too: its
	// dedup values and action over its span.
	b.open("/alerts?status=all")
	b.wait(`[...document.querySelectorAll('.alerts-table tbody tr')].some(r => r.querySelector('code').textContent.startsWith('aws-vpcflow-') && r.querySelector('a.events'))`, "a flow alert with an events link")
	hits := eval[int](b, `Number([...document.querySelectorAll('.alerts-table tbody tr')].find(r => r.querySelector('code').textContent.startsWith('aws-vpcflow-')).children[6].textContent.replace(/,/g, ''))`)
	eval[bool](b, `(() => { [...document.querySelectorAll('.alerts-table tbody tr')].find(r => r.querySelector('code').textContent.startsWith('aws-vpcflow-')).querySelector('a.events').click(); return true; })()`)
	b.wait(`location.pathname === '/search' && new URLSearchParams(location.search).get('type') === 'vpcflow'`, "flow search behind the alert")
	b.wait(`document.querySelector('.count[data-total]') || document.querySelector('.error')`, "flows behind the alert")
	if q := eval[string](b, `new URLSearchParams(location.search).get('q') || ''`); !strings.Contains(q, "action:") {
		t.Errorf("flow alert's search %q", q)
	}
	if n := eval[int](b, `Number((document.querySelector('.count[data-total]') || {dataset: {total: 0}}).dataset.total)`); n < hits {
		t.Errorf("flow alert with %d hits: its search finds %d flows (%s)", hits, n, eval[string](b, `location.search`))
	}
	// Close it from the acknowledged list, then reopen it from the closed one.
	row := fmt.Sprintf(`.alerts-table tr[data-alert=%s]`, jsString(id))
	b.open("/alerts?status=acknowledged")
	b.wait(`document.querySelector('`+row+` button.close-alert')`, "close button")
	b.click(row + ` button.close-alert`)
	b.wait(`!document.querySelector('`+row+`')`, "closed alert to leave the acknowledged list")
	if s, err := st.alertStatus(context.Background(), id); err != nil || s != "closed" {
		t.Errorf("alert %s: stored status %q (%v) after close", id, s, err)
	}
	b.open("/alerts?status=closed")
	b.wait(`document.querySelector('`+row+`[data-status=closed] button.reopen')`, "alert in the closed list")
	b.click(row + ` button.reopen`)
	b.wait(`!document.querySelector('`+row+`')`, "reopened alert to leave the closed list")
	if s, err := st.alertStatus(context.Background(), id); err != nil || s != "open" {
		t.Errorf("alert %s: stored status %q (%v) after reopen", id, s, err)
	}
	b.checkErrors("alerts")
}

func testRules(b *browser) {
	b.open("/rules")
	b.wait(`document.querySelectorAll('.rules-table tbody tr').length > 10`, "rules")
	b.view("rules")
	if n := eval[int](b, `[...document.querySelectorAll('.rules-table tbody tr')].filter(r => r.textContent.includes('✓ on')).length`); n == 0 {
		b.t.Errorf("no enabled rule listed")
	}
	b.checkErrors("rules")
}

func testSQL(b *browser) {
	t := b.t
	b.open("/sql?sql=" + url.QueryEscape("SELECT 1 AS one"))
	b.wait(`document.querySelector('.sql-result td')`, "SQL result")
	if v := eval[string](b, `document.querySelector('.sql-result td').textContent`); v != "1" {
		t.Errorf("SELECT 1 shows %q", v)
	}
	b.wait(`document.querySelectorAll('.schema details.table').length > 0`, "schema")
	b.view("sql")
	// Type a statement and run it with the button.
	eval[bool](b, `(() => { const a = document.querySelector('.sql-form textarea'); a.select(); return true; })()`)
	b.do("typing SQL",
		chromedp.KeyEvent("\b"),
		chromedp.SendKeys(chromedp.CSS(`.sql-form textarea`), "SELECT count(*) AS n FROM cloudtrail"),
		chromedp.Click(chromedp.CSS(`.sql-form button.run`)),
	)
	b.wait(`document.querySelector('.sql-result th') && document.querySelector('.sql-result th').textContent === 'n'`, "count result")
	if n := eval[int](b, `Number(document.querySelector('.sql-result td').textContent.replace(/,/g, ''))`); n <= 0 {
		t.Errorf("count(*) = %d", n)
	}
	// A syntax error on the second line: the caret goes under that line.
	bad := "SELECT 1 AS one,\n  2 AS two FROMM cloudtrail"
	b.open("/sql?sql=" + url.QueryEscape(bad))
	b.wait(`document.querySelector('.error .error-msg')`, "SQL error")
	msg := eval[string](b, `document.querySelector('.error .error-msg').textContent`)
	where := eval[string](b, `(document.querySelector('.error pre.error-where') || {textContent: ''}).textContent`)
	if !strings.Contains(msg, "FROMM") {
		t.Errorf("SQL error %q does not repeat the server's message", msg)
	}
	// DuckDB's own LINE/caret layout keeps its line breaks on screen.
	if shown := eval[string](b, `document.querySelector('.error .error-msg').innerText`); strings.Contains(msg, "\n") && !strings.Contains(shown, "\n") {
		t.Errorf("the error's line breaks are lost on screen: %q", shown)
	}
	if strings.Contains(msg, "position") && !strings.HasPrefix(where, "  2 AS two FROMM cloudtrail\n") {
		t.Errorf("the caret is not under the second line:\n%s", where)
	}
	// A refused statement shows the server's message.
	b.open("/sql?sql=" + url.QueryEscape("DROP TABLE cloudtrail"))
	b.wait(`document.querySelector('.error .error-msg')`, "refused statement")
	b.checkErrors("sql")
}

// Hostile values are shown as text on every page that shows them, and none
// runs.
func testXSS(b *browser, rng string) {
	t := b.t
	noScript := func(where string) {
		t.Helper()
		if v := eval[string](b, `typeof window.__xss`); v != "undefined" {
			t.Errorf("%s: window.__xss is %s: a payload ran", where, v)
		}
		if n := eval[int](b, `document.querySelectorAll('img[src=x], #app script, svg[onload], [onerror]').length`); n != 0 {
			t.Errorf("%s: %d injected elements", where, n)
		}
	}
	shows := func(where string, payloads ...string) {
		t.Helper()
		for _, p := range payloads {
			b.wait(`typeof window.__xss !== 'undefined' || document.body.innerText.includes(`+jsString(p)+`)`, where+" showing "+p)
			noScript(where)
			if !eval[bool](b, `document.body.innerText.includes(`+jsString(p)+`)`) {
				t.Errorf("%s: %q is not shown as text", where, p)
			}
		}
	}
	ts, _ := time.Parse(time.RFC3339, xssTime)
	narrow := fmt.Sprintf("from=%d&to=%d", ts.Add(-time.Minute).UnixMilli(), ts.Add(time.Minute).UnixMilli())
	q := url.QueryEscape(`eventID:0000xss0*`)
	cols := url.QueryEscape("event_time,event_name,user_name,user_agent,error_message")
	b.open("/search?type=cloudtrail&" + narrow + "&q=" + q + "&cols=" + cols)
	b.wait(rowsSel+` === 2`, "the two hostile events")
	shows("search results", xssUser, xssPayloads[1], xssPayloads[0]+" is not authorized")
	// The sidebar's top values.
	b.wait(`[...document.querySelectorAll('.fields .val')].some(v => v.textContent === `+jsString(xssUser)+`)`, "payload in the field sidebar")
	noScript("sidebar")
	// Filtering on it quotes it into the query, which still runs.
	eval[bool](b, `(() => { [...document.querySelectorAll('.fields .val')].find(v => v.dataset.value === `+jsString(xssUser)+`).click(); return true; })()`)
	b.wait(`new URLSearchParams(location.search).get('q').includes(`+jsString(xssUser)+`)`, "payload filter in the query")
	b.wait(rowsSel+` === 2 || document.querySelector('.error')`, "search on the payload")
	noScript("filtered search")
	// The event detail: fields and the original JSON.
	b.open("/search?type=cloudtrail&" + narrow + "&q=" + url.QueryEscape("errorCode:AccessDenied AND eventID:0000xss0*"))
	b.wait(rowsSel+` === 1`, "the hostile failed event")
	b.click(`.results-table tbody tr`)
	b.wait(`document.querySelector('.event-detail pre.raw')`, "hostile event detail")
	shows("event detail", xssPayloads[0]+" is not authorized", xssPayloads[2], xssPayloads[3])
	// Dashboards over the hostile events' minute.
	b.open("/dashboards/cloudtrail?" + narrow)
	b.wait(`[...document.querySelectorAll('.panel')].length > 0 && [...document.querySelectorAll('.panel')].every(p => p.dataset.state !== 'loading')`, "dashboard panels")
	noScript("cloudtrail dashboard")
	// The alert whose title carries the user name.
	b.open("/alerts?status=all")
	shows("alerts", xssUser)
	b.checkErrors("xss")
}

// The UI's query building (lib.js, run in the page) quotes values the way
// the search language reads them: the server parses what it builds.
func testQueryBuilding(b *browser, base string) {
	t := b.t
	b.open("/rules")
	ctx, cancel := b.tctx()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => {
		const m = await import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'lib.js'));
		return [
			m.addFilter('', 'userIdentity.userName', 'a"b\\c (d) OR *', false),
			m.addFilter('x OR y', 'eventName', 'v', true),
			m.addFilter('x', 'eventName', 'v', false),
			String(m.resolveTime('now-24h', 1000000000000)),
			String(m.resolveTime('1700000000000')),
			String(m.resolveTime('2026-11-02T00:00:00Z')),
			String(m.resolveTime('')),
			m.addFilter('', 'userAgent', `+jsString(xssPayloads[1]+" "+xssPayloads[2])+`, false),
		];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running lib.js: %v", err)
	}
	want := []string{
		`userIdentity.userName:"a\"b\\c (d) OR *"`,
		`(x OR y) AND NOT eventName:"v"`,
		`x AND eventName:"v"`,
		"999913600000", "1700000000000", "1793577600000", "null",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("case %d: got %q, want %q", i, got, want)
			break
		}
	}
	// The server reads a quoted value as one phrase: the hostile user agent
	// (quotes, angle brackets, a colon) finds exactly the two hostile events.
	var res struct {
		Count int64 `json:"count"`
	}
	if len(got) != len(want)+1 {
		t.Fatalf("got %d results", len(got))
	}
	if st := getStatusJSON(t, base, "/api/count?type=cloudtrail&q="+url.QueryEscape(want[0]), &res); st != 200 || res.Count != 0 {
		t.Errorf("count of %s: status %d, %d events", want[0], st, res.Count)
	}
	if st := getStatusJSON(t, base, "/api/count?type=cloudtrail&q="+url.QueryEscape(got[len(want)]), &res); st != 200 || res.Count != 2 {
		t.Errorf("count of %s: status %d, %d events, want 2", got[len(want)], st, res.Count)
	}
	b.checkErrors("query building")
}

// With a token the UI works after opening it once with ?token=: the server
// trades it for a cookie and takes it out of the address; searches and a
// state-changing POST (acknowledge) go through with the cookie.
func testToken(b *browser, st *app.Store, set *rules.Set, rng string) {
	t := b.t
	const token = "ui-test-token-5d1e"
	base := startServerToken(t, st, set, token)
	b.allow(base)
	b.base = base
	var e struct {
		Error string `json:"error"`
	}
	if status := getStatusJSON(t, base, "/api/stats", &e); status != 401 {
		t.Fatalf("GET /api/stats without the token: %d, want 401", status)
	}
	b.open("/search?type=cloudtrail&" + rng + "&token=" + token)
	if loc := eval[string](b, `location.href`); strings.Contains(loc, token) {
		t.Errorf("the token stayed in the address: %s", loc)
	}
	b.wait(rowsSel+` > 0`, "rows with the token cookie")
	b.open("/alerts?status=open")
	b.wait(`document.querySelector('.alerts-table tbody tr[data-status=open] button.ack')`, "an open alert")
	id := eval[string](b, `document.querySelector('.alerts-table tbody tr[data-status=open] button.ack').closest('tr').dataset.alert`)
	b.click(fmt.Sprintf(`.alerts-table tr[data-alert=%s] button.ack`, jsString(id)))
	b.wait(fmt.Sprintf(`!document.querySelector('.alerts-table tr[data-alert=%s]')`, jsString(id)), "acknowledged with the token cookie")
	if s, err := (alertReader{st}).alertStatus(context.Background(), id); err != nil || s != "acknowledged" {
		t.Errorf("alert %s: stored status %q (%v)", id, s, err)
	}
	if n := eval[int](b, `document.querySelectorAll('.error').length`); n != 0 {
		t.Errorf("%d errors shown: %s", n, eval[string](b, `document.querySelector('.error').textContent`))
	}
	b.checkErrors("token")
}
