package conformance

import (
	"context"
	"testing"

	"github.com/trawl-project/trawl/internal/dashboard"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// benchSearches are searches of each compile path: a typed column, a
// wildcard, free text, a JSON path (a Go residual on ClickHouse), a CIDR
// block on flow logs.
var benchSearches = []struct{ name, typ, q string }{
	{"column", "", "eventName:CreateUser"},
	{"wildcard", "", "userIdentity.arn:*deployer*"},
	{"freetext", "cloudtrail", "AccessDenied"},
	{"jsonpath", "", "requestParameters.keySpec:AES_256"},
	{"cidr", "", "srcaddr:10.0.0.0/8 AND action:REJECT"},
}

// BenchmarkCount counts the matches of each search on each store and
// reports the table's rows scanned per second (events/s).
func BenchmarkCount(b *testing.B) {
	duck, ch := loadBothB(b)
	ctx := context.Background()
	for _, s := range benchSearches {
		for _, q := range []store.Querier{duck, ch} {
			b.Run(s.name+"/"+string(store.DialectOf(q)), func(b *testing.B) {
				var tbl *search.Table
				if s.typ != "" {
					tbl = search.TableByType(s.typ)
				}
				c, err := search.ParseCompile(s.q, search.Options{Table: tbl, Dialect: store.DialectOf(q)})
				if err != nil {
					b.Fatal(err)
				}
				total := scalarB(b, q, "SELECT count(*) FROM "+c.Table.Name)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := search.Count(ctx, q, c); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkDashboards runs every panel of every dashboard, unfiltered, on
// each store.
func BenchmarkDashboards(b *testing.B) {
	duck, ch := loadBothB(b)
	ctx := context.Background()
	for _, q := range []store.Querier{duck, ch} {
		b.Run(string(store.DialectOf(q)), func(b *testing.B) {
			b.ReportAllocs()
			panels := 0
			for range b.N {
				for _, d := range dashboard.Dashboards() {
					for _, p := range d.Panels {
						if _, err := d.Run(ctx, q, p, dashboard.Filter{}); err != nil {
							b.Fatal(err)
						}
						panels++
					}
				}
			}
			b.ReportMetric(float64(panels)/b.Elapsed().Seconds(), "panels/s")
		})
	}
}

func scalarB(b *testing.B, q store.Querier, sql string) int64 {
	b.Helper()
	rows, err := q.Query(context.Background(), store.Request{SQL: sql})
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		n, _ = rows.Values()[0].(int64)
	}
	return n
}
