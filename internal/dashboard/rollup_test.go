package dashboard_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/dashboard"
)

// exactOnly is a querier without the rollup: the panels run their exact
// SQL on it.
type exactOnly struct{ dashboard.Querier }

// TestRollupPanels refreshes the demo database's rollup, then runs the
// talker panels and rejected-by-source with and without it: with it they
// say approximate and return the same rows and searches as the exact SQL
// (the demo data has fewer than 100 sources, destinations and rejected
// sources per hour, account and region; it has more pairs in some hours,
// where the pairs' sums are lower bounds of the exact ones),
// over the whole data, a range that does not start or end on the hour
// (the part hours come from the exact rows), and one account or region.
// A range without a whole hour runs the exact SQL.
func TestRollupPanels(t *testing.T) {
	q := demo(t)
	ctx := context.Background()
	d := dashboard.Find("vpcflow")
	rq, ok := q.(dashboard.RollupQuerier)
	if !ok {
		t.Fatalf("the store (%T) has no rollup", q)
	}
	if fresh, err := rq.RollupFresh(ctx, time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	} else if !fresh {
		res, err := d.Run(ctx, q, d.Panel("top_sources"), dashboard.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Approximate {
			t.Error("a stale rollup was used")
		}
	}
	if err := demoStore.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	lo, hi := dataRange(t, q, d.SearchTable())
	fs, err := d.Filters(ctx, q, dashboard.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	filters := []dashboard.Filter{
		{},
		{From: lo.Add(90*time.Minute + 17*time.Second), To: hi.Add(-37 * time.Minute)},
		{From: lo.Add(time.Hour), Accounts: fs.Accounts[:1]},
		{To: hi.Add(-time.Hour - time.Second), Regions: fs.Regions[1:2]},
		{From: lo.Add(-30 * time.Minute), To: hi.Add(30 * time.Minute)}, // ends in hours without data
	}
	for _, id := range []string{"top_sources", "top_destinations", "top_pairs", "rejected_by_source"} {
		p := d.Panel(id)
		for fi, f := range filters {
			name := fmt.Sprintf("%s filter %d", id, fi)
			got, err := d.Run(ctx, q, p, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, err := d.Run(ctx, exactOnly{q}, p, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !got.Approximate || want.Approximate {
				t.Errorf("%s: approximate %v with the rollup, %v without", name, got.Approximate, want.Approximate)
			}
			if len(want.Rows) == 0 {
				t.Errorf("%s: no rows", name)
			}
			if !slices.Equal(got.Search, want.Search) {
				t.Errorf("%s: rollup rows\n%v\nexact\n%v", name, got.Rows, want.Rows)
				continue
			}
			if id != "top_pairs" {
				if fmt.Sprint(got.Rows) != fmt.Sprint(want.Rows) {
					t.Errorf("%s: rollup rows\n%v\nexact\n%v", name, got.Rows, want.Rows)
				}
				continue
			}
			// The demo data has more than 100 pairs in some hours: the
			// same top 10, each sum a lower bound of the exact one.
			for i, r := range got.Rows {
				for c := 2; c < len(r); c++ {
					if g, w := r[c].(int64), want.Rows[i][c].(int64); g > w || g <= 0 {
						t.Errorf("%s: row %d %s: %d from the rollup, %d exactly", name, i, p.Columns[c], g, w)
					}
				}
			}
		}
	}
	short := dashboard.Filter{From: lo.Add(10 * time.Minute), To: lo.Add(50 * time.Minute)}
	res, err := d.Run(ctx, q, d.Panel("top_sources"), short)
	if err != nil {
		t.Fatal(err)
	}
	if res.Approximate {
		t.Error("a range without a whole hour used the rollup")
	}
	// Panels without a rollup never say approximate.
	res, err = d.Run(ctx, q, d.Panel("top_dst_ports"), dashboard.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Approximate {
		t.Error("top_dst_ports is approximate")
	}
}
