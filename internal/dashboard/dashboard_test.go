package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
)

// The demo data set, generated and ingested once for the package's tests
// (with the demo's enrichment: user agents and synthetic GeoIP data).
var (
	demoOnce  sync.Once
	demoStore *app.Store
	demoErr   error
	demoDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if demoStore != nil {
		demoStore.Close()
	}
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

// demo returns the querier of the demo database.
func demo(t testing.TB) dashboard.Querier {
	t.Helper()
	demoOnce.Do(func() { demoStore, demoErr = buildDemo(context.Background()) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoStore.Querier()
}

func buildDemo(ctx context.Context) (*app.Store, error) {
	dir, err := os.MkdirTemp("", "trawl-dashboard-test-")
	if err != nil {
		return nil, err
	}
	demoDir = dir
	cfg := gen.DefaultConfig()
	if _, err := gen.Generate(ctx, filepath.Join(dir, "logs"), cfg); err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "geoip"), 0o755); err != nil {
		return nil, err
	}
	if _, err := geobuild.Write(filepath.Join(dir, "geoip"), geobuild.Synthetic()); err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	procs, closeEnrich, err := app.OpenEnrichment(enrich.Settings{GeoIPDir: filepath.Join(dir, "geoip"), UserAgent: true}, nil)
	if err != nil {
		return nil, err
	}
	defer closeEnrich()
	st, err := app.Open(ctx, app.Options{DB: filepath.Join(dir, "t.duckdb"), Mode: app.Ingest})
	if err != nil {
		return nil, err
	}
	objs, err := file.Objects([]string{filepath.Join(dir, "logs")}, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{Processors: procs}); err != nil {
		st.Close()
		return nil, fmt.Errorf("ingesting: %w", err)
	}
	return st, nil
}

// TestDefinitions checks what the UI and the docs rely on: unique ids,
// known kinds, widths and units, result columns of each kind's shape, and
// SQL whose placeholders are all filled in with one argument per ?.
func TestDefinitions(t *testing.T) {
	ids := map[string]bool{}
	for _, d := range dashboard.Dashboards() {
		if ids[d.ID] {
			t.Errorf("dashboard id %s twice", d.ID)
		}
		ids[d.ID] = true
		if search.TableByType(d.Type) != d.SearchTable() {
			t.Errorf("%s: type %s is not its search table %s", d.ID, d.Type, d.SearchTable().Name)
		}
		panels := map[string]bool{}
		for _, p := range d.Panels {
			name := d.ID + "/" + p.ID
			if panels[p.ID] {
				t.Errorf("%s twice", name)
			}
			panels[p.ID] = true
			if p.Title == "" || p.Description == "" || p.Search == nil {
				t.Errorf("%s: title, description and search are required", name)
			}
			if p.Width != 1 && p.Width != 2 {
				t.Errorf("%s: width %d", name, p.Width)
			}
			switch p.Unit {
			case dashboard.UnitEvents, dashboard.UnitBytes, dashboard.UnitPackets, dashboard.UnitFindings:
			default:
				t.Errorf("%s: unit %q", name, p.Unit)
			}
			switch p.Kind {
			case dashboard.Timeseries:
				if strings.Join(p.Columns, ",") != "t_ms,series,value" {
					t.Errorf("%s: timeseries columns %v", name, p.Columns)
				}
			case dashboard.Bar, dashboard.Map:
				if len(p.Columns) != 2 {
					t.Errorf("%s: %s with columns %v", name, p.Kind, p.Columns)
				}
			case dashboard.Number:
				if len(p.Columns) != 1 {
					t.Errorf("%s: number with columns %v", name, p.Columns)
				}
			case dashboard.Table:
			default:
				t.Errorf("%s: kind %q", name, p.Kind)
			}
			if p.Measure != "" && indexOf(p.Columns, p.MeasureColumn) < 0 {
				t.Errorf("%s: measure column %q not among %v", name, p.MeasureColumn, p.Columns)
			}
			f := dashboard.Filter{From: time.Unix(0, 0), To: time.Now(), Accounts: []string{"a", "b"}, Regions: []string{"r"}}
			sql, args, _, err := d.SQL(context.Background(), nil, p, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if strings.ContainsAny(sql, "{}") {
				t.Errorf("%s: placeholder left in %s", name, sql)
			}
			if n := strings.Count(sql, "?"); n != len(args) {
				t.Errorf("%s: %d placeholders, %d arguments", name, n, len(args))
			}
		}
	}
	for _, id := range []string{"cloudtrail", "vpcflow", "guardduty"} {
		if dashboard.Find(id) == nil {
			t.Errorf("no dashboard %s", id)
		}
	}
	if dashboard.Find("nope") != nil || dashboard.Find("cloudtrail").Panel("nope") != nil {
		t.Error("found what does not exist")
	}
}

func indexOf(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

// TestEveryPanelHasData runs every panel over the whole demo data set:
// each returns rows of its columns, with one search per row.
func TestEveryPanelHasData(t *testing.T) {
	q := demo(t)
	ctx := context.Background()
	for _, d := range dashboard.Dashboards() {
		for _, p := range d.Panels {
			res, err := d.Run(ctx, q, p, dashboard.Filter{})
			if err != nil {
				t.Fatalf("%s/%s: %v", d.ID, p.ID, err)
			}
			if len(res.Rows) == 0 {
				t.Errorf("%s/%s: no rows", d.ID, p.ID)
			}
			if len(res.Search) != len(res.Rows) {
				t.Errorf("%s/%s: %d searches for %d rows", d.ID, p.ID, len(res.Search), len(res.Rows))
			}
			if (p.Kind == dashboard.Timeseries) != (res.IntervalMS > 0) {
				t.Errorf("%s/%s: interval %d", d.ID, p.ID, res.IntervalMS)
			}
			nonZero := false
			for _, r := range res.Rows {
				if len(r) != len(p.Columns) {
					t.Fatalf("%s/%s: row %v for columns %v", d.ID, p.ID, r, p.Columns)
				}
				if i := indexOf(p.Columns, p.MeasureColumn); i >= 0 {
					if v, ok := r[i].(int64); ok && v > 0 {
						nonZero = true
					}
				} else {
					nonZero = true
				}
			}
			if !nonZero {
				t.Errorf("%s/%s: every value is 0: %v", d.ID, p.ID, res.Rows)
			}
		}
	}
}

// dataRange is the time range of a table's data, widened to whole hours.
func dataRange(t *testing.T, q dashboard.Querier, tb *search.Table) (time.Time, time.Time) {
	t.Helper()
	rows, err := q.Query(context.Background(), store.Request{SQL: "SELECT min(" + tb.Time + "), max(" + tb.Time + ") FROM " + tb.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no range for %s", tb.Name)
	}
	lo, _ := rows.Values()[0].(time.Time)
	hi, _ := rows.Values()[1].(time.Time)
	return lo.Truncate(time.Hour), hi.Truncate(time.Hour).Add(time.Hour)
}

// TestClickThroughAgrees runs every click-through query a panel produces
// through search.ParseCompile and checks that it selects exactly what the
// row counted: the panel's measure (count, bytes) over the search's rows
// equals the row's value, for timeseries within the row's bucket; a
// table's row of one event finds that one event. It does so without a
// filter, and with one account, one region and part of the time range,
// where the searches carry the account and region filter.
func TestClickThroughAgrees(t *testing.T) {
	q := demo(t)
	ctx := context.Background()
	for _, d := range dashboard.Dashboards() {
		tb := d.SearchTable()
		lo, hi := dataRange(t, q, tb)
		fs, err := d.Filters(ctx, q, dashboard.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs.Accounts) < 2 || len(fs.Regions) < 2 {
			t.Fatalf("%s: filters %+v: the demo data has several accounts and regions", d.ID, fs)
		}
		// The busiest account and region, with data of both.
		busiest, err := store.Collect(ctx, q, store.Request{SQL: "SELECT " + d.AccountColumn() + ", " + d.RegionColumn() + " FROM " + tb.Name +
			" WHERE " + d.RegionColumn() + " IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"}, func(v any) string { return fmt.Sprint(v) })
		if err != nil {
			t.Fatal(err)
		}
		filters := []dashboard.Filter{
			{},
			{From: lo.Add(hi.Sub(lo) / 3).Truncate(time.Hour), To: hi, Accounts: busiest[0][:1], Regions: busiest[0][1:]},
			{From: lo, To: lo.Add(hi.Sub(lo) / 2), Accounts: fs.Accounts[:2]},
		}
		for fi, f := range filters {
			for _, p := range d.Panels {
				name := fmt.Sprintf("%s/%s filter %d", d.ID, p.ID, fi)
				res, err := d.Run(ctx, q, p, f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checked := 0
				for i, row := range res.Rows {
					s := res.Search[i]
					if s == "" {
						continue
					}
					opt := search.Options{Table: tb, Since: f.From, Until: f.To}
					if p.Kind == dashboard.Timeseries {
						b := time.UnixMilli(row[0].(int64)).UTC()
						e := b.Add(time.Duration(res.IntervalMS) * time.Millisecond)
						if opt.Since.IsZero() || b.After(opt.Since) {
							opt.Since = b
						}
						if opt.Until.IsZero() || e.Before(opt.Until) {
							opt.Until = e
						}
					}
					c, err := search.ParseCompile(s, opt)
					if err != nil {
						t.Fatalf("%s: row %d search %q: %v", name, i, s, err)
					}
					if f.Accounts != nil && !strings.Contains(s, f.Accounts[0]) {
						t.Errorf("%s: search %q lacks the account filter", name, s)
					}
					measure, want := "count(*)", any(int64(1))
					if p.Measure != "" {
						measure, want = p.Measure, row[indexOf(p.Columns, p.MeasureColumn)]
					}
					got, err := store.Collect(ctx, q, store.Request{SQL: "SELECT " + measure + " FROM " + tb.Name + " WHERE " + c.Where, Args: c.Args},
						func(v any) string { return fmt.Sprint(v) })
					if err != nil {
						t.Fatalf("%s: %q: %v", name, s, err)
					}
					if res.Approximate {
						// From the rollup (rollup_test.go, when it ran first): a
						// lower bound of what the search finds.
						g, err := strconv.ParseInt(got[0][0], 10, 64)
						if w, ok := want.(int64); err != nil || !ok || g < w {
							t.Errorf("%s: row %v: search %q gives %s = %s, less than the panel's approximate %v", name, row, s, measure, got[0][0], want)
						}
					} else if got[0][0] != fmt.Sprint(want) {
						t.Errorf("%s: row %v: search %q gives %s = %s, the panel %v", name, row, s, measure, got[0][0], want)
					}
					checked++
				}
				t.Logf("%s: %d rows checked", name, checked)
				if checked == 0 && (fi == 0 || p.Kind != dashboard.Table) {
					t.Errorf("%s: no row with a search", name)
				}
			}
		}
	}
}

// TestFiltersRestrict checks that the account and region filters narrow
// the panels: the per-account series holds only the chosen account, the
// region bar only the chosen region, and the filters list the data's
// accounts and regions, narrowed by the time range.
func TestFiltersRestrict(t *testing.T) {
	q := demo(t)
	ctx := context.Background()
	ct := dashboard.Find("cloudtrail")
	fs, err := ct.Filters(ctx, q, dashboard.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := store.Collect(ctx, q, store.Request{SQL: "SELECT count(DISTINCT recipient_account_id), count(DISTINCT aws_region) FROM cloudtrail"}, func(v any) string { return fmt.Sprint(v) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(len(fs.Accounts)) != want[0][0] || fmt.Sprint(len(fs.Regions)) != want[0][1] {
		t.Errorf("filters %+v, the data has %v accounts and regions", fs, want[0])
	}
	acct, region := fs.Accounts[0], fs.Regions[len(fs.Regions)-1]
	res, err := ct.Run(ctx, q, ct.Panel("events_by_account"), dashboard.Filter{Accounts: []string{acct}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) == 0 {
		t.Fatal("no rows for one account")
	}
	for _, r := range res.Rows {
		if r[1] != acct {
			t.Fatalf("series %v with the account filter %s", r[1], acct)
		}
	}
	res, err = ct.Run(ctx, q, ct.Panel("activity_by_region"), dashboard.Filter{Regions: []string{region}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != region {
		t.Errorf("activity by region filtered to %s: %v", region, res.Rows)
	}
	all, err := ct.Run(ctx, q, ct.Panel("top_event_names"), dashboard.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	some, err := ct.Run(ctx, q, ct.Panel("top_event_names"), dashboard.Filter{Accounts: []string{acct}, Regions: []string{region}})
	if err != nil {
		t.Fatal(err)
	}
	if some.Rows[0][1].(int64) >= all.Rows[0][1].(int64) {
		t.Errorf("top event with a filter %v, without %v", some.Rows[0], all.Rows[0])
	}
	// A range before the data has nothing to filter on.
	none, err := ct.Filters(ctx, q, dashboard.Filter{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Accounts)+len(none.Regions) != 0 {
		t.Errorf("filters in 2000: %+v", none)
	}
}

// TestHostileFilterValues passes quotes, backslashes and SQL in account
// and region values: they are bound parameters and search phrases, so
// the panel finds nothing, and its searches still compile.
func TestHostileFilterValues(t *testing.T) {
	q := demo(t)
	ctx := context.Background()
	bad := []string{`x' OR 1=1 --`, `"); DROP TABLE cloudtrail; --`, `a\`, `b"c`}
	for _, d := range dashboard.Dashboards() {
		for _, p := range d.Panels {
			res, err := d.Run(ctx, q, p, dashboard.Filter{Accounts: bad, Regions: bad})
			if err != nil {
				t.Fatalf("%s/%s: %v", d.ID, p.ID, err)
			}
			for i, r := range res.Rows {
				if m := indexOf(p.Columns, p.MeasureColumn); m >= 0 && r[m] != int64(0) {
					t.Errorf("%s/%s: row %v with hostile filters", d.ID, p.ID, r)
				}
				if res.Search[i] == "" {
					continue
				}
				if _, err := search.ParseCompile(res.Search[i], search.Options{Table: d.SearchTable()}); err != nil {
					t.Errorf("%s/%s: search %q: %v", d.ID, p.ID, res.Search[i], err)
				}
			}
		}
	}
	// The tables are still there.
	if _, err := store.Collect(ctx, q, store.Request{SQL: "SELECT count(*) FROM cloudtrail"}, func(v any) string { return fmt.Sprint(v) }); err != nil {
		t.Fatal(err)
	}
}

// TestDocumented checks that docs/dashboards.md describes every panel
// (its id in the panel tables) and nothing that is gone.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "dashboards.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, d := range dashboard.Dashboards() {
		if !strings.Contains(string(doc), "### "+d.Title+" (`"+d.ID+"`)") {
			t.Errorf("docs/dashboards.md has no section for %s", d.ID)
		}
		for _, p := range d.Panels {
			known[p.ID] = true
			if !strings.Contains(string(doc), "| `"+p.ID+"` | "+string(p.Kind)+" |") {
				t.Errorf("docs/dashboards.md does not describe %s/%s as a %s", d.ID, p.ID, p.Kind)
			}
		}
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if id, ok := strings.CutPrefix(line, "| `"); ok {
			id, _, _ = strings.Cut(id, "`")
			if strings.Contains(line, "| timeseries |") || strings.Contains(line, "| bar |") || strings.Contains(line, "| table |") || strings.Contains(line, "| map |") {
				if !known[id] {
					t.Errorf("docs/dashboards.md describes a panel %s that does not exist", id)
				}
			}
		}
	}
}
