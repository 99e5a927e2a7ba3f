package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/store"
)

// TestDashboards runs every panel of every dashboard on both stores, with
// no filter and with a time range, an account and a region, and compares
// the rows (typed values as the HTTP API returns them), the click-through
// searches and the bucket widths.
func TestDashboards(t *testing.T) {
	duck, ch := loadBoth(t)
	s := loadStores(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	filters := map[string]dashboard.Filter{
		"all": {},
		"range+account+region": {
			From: start.Add(6 * time.Hour), To: start.Add(54 * time.Hour),
			Accounts: []string{s.Gen.Accounts[2].ID}, Regions: []string{"us-east-1"},
		},
		"open end": {From: start.Add(30 * time.Hour)},
	}
	nonEmpty := 0
	panels := 0
	for _, d := range dashboard.Dashboards() {
		for _, p := range d.Panels {
			for fname, f := range filters {
				t.Run(d.ID+"/"+p.ID+"/"+fname, func(t *testing.T) {
					if fname == "all" {
						panels++
					}
					var res [2]*dashboard.Result
					for i, q := range []store.Querier{duck, ch} {
						r, err := d.Run(ctx, q, p, f)
						if err != nil {
							t.Fatalf("%s: %v", store.DialectOf(q), err)
						}
						res[i] = r
					}
					if res[0].IntervalMS != res[1].IntervalMS {
						t.Errorf("interval: DuckDB %d ms, ClickHouse %d ms", res[0].IntervalMS, res[1].IntervalMS)
					}
					if res[0].Approximate || res[1].Approximate {
						t.Errorf("approximate rows (the rollup) on a plain querier")
					}
					want, got := normRows(res[0].Rows), normRows(res[1].Rows)
					if sameRows(t, "rows", p.Columns, want, got) && len(want) > 0 && fname == "all" {
						nonEmpty++
					}
					for i := range min(len(res[0].Search), len(res[1].Search)) {
						if res[0].Search[i] != res[1].Search[i] {
							t.Errorf("row %d search: DuckDB %q, ClickHouse %q", i, res[0].Search[i], res[1].Search[i])
							break
						}
					}
				})
			}
		}
		t.Run(d.ID+"/filters", func(t *testing.T) {
			var fs [2]*dashboard.Filters
			for i, q := range []store.Querier{duck, ch} {
				var err error
				if fs[i], err = d.Filters(ctx, q, dashboard.Filter{}); err != nil {
					t.Fatalf("%s: %v", store.DialectOf(q), err)
				}
			}
			if len(fs[0].Accounts) == 0 || len(fs[0].Regions) == 0 {
				t.Errorf("DuckDB lists no accounts or regions: %+v", fs[0])
			}
			sameRows(t, "accounts", nil, [][]any{toAny(fs[0].Accounts)}, [][]any{toAny(fs[1].Accounts)})
			sameRows(t, "regions", nil, [][]any{toAny(fs[0].Regions)}, [][]any{toAny(fs[1].Regions)})
		})
	}
	// Every panel but the ones the data set cannot fill (GeoIP countries
	// need a GeoIP database) has rows.
	if nonEmpty < panels-2 {
		t.Errorf("only %d of %d panels have rows with no filter", nonEmpty, panels)
	}
}

// normRows normalises a panel's rows (JSON-ready values: times are RFC
// 3339 text, cut to the second as norm does).
func normRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, v := range r {
			if s, ok := v.(string); ok && len(s) >= 20 && s[4] == '-' && s[10] == 'T' {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					v = tm
				}
			}
			out[i][j] = norm(v)
		}
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
