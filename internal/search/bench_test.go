package search_test

import (
	"context"
	"os"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

var benchQueries = []struct{ name, query string }{
	{"field", `eventName:CreateUser`},
	{"wildcard", `userIdentity.arn:*deployer*`},
	{"jsonpath", `requestParameters.bucketName:northwind-prod-*`},
	{"freetext", `"access denied"`},
	{"boolean", `(eventSource:iam.amazonaws.com OR eventSource:sts.amazonaws.com) AND NOT errorCode:* AND readOnly:false`},
	{"cidr", `srcaddr:10.0.0.0/8 AND action:REJECT AND dstport:[0 TO 1023]`},
	{"severity", `severity:>=7`},
	{"filterpattern", `{ ($.errorCode = "AccessDenied") || ($.eventName = "StopLogging") }`},
}

// BenchmarkParseCompile measures parsing and compiling typical queries.
func BenchmarkParseCompile(b *testing.B) {
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := search.ParseCompile(bq.query, search.Options{})
				if err != nil {
					b.Fatal(err)
				}
				c.Select(nil, 100)
			}
		})
	}
}

// BenchmarkSearch measures the first page (100 rows, newest first) and the
// count of each query on the test's demo store, or on the database at
// $TRAWL_BENCH_DB (opened read-only) to measure a big one.
func BenchmarkSearch(b *testing.B) {
	var q store.Querier
	if path := os.Getenv("TRAWL_BENCH_DB"); path != "" {
		st, err := app.Open(context.Background(), app.Options{DB: path, Mode: app.Query})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		q = st.Querier()
	} else {
		q = demoStore(b)
	}
	ctx := context.Background()
	for _, bq := range benchQueries {
		c, err := search.ParseCompile(bq.query, search.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bq.name+"/page", func(b *testing.B) {
			rows := 0
			for b.Loop() {
				r, err := search.Search(ctx, q, c, nil, 100)
				if err != nil {
					b.Fatal(err)
				}
				rows = 0
				for r.Next() {
					rows++
				}
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			b.ReportMetric(float64(rows), "rows")
		})
		b.Run(bq.name+"/count", func(b *testing.B) {
			var n int64
			for b.Loop() {
				if n, err = search.Count(ctx, q, c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
}
