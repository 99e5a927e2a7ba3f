package cwlogs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/cwlogs"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// benchLogs holds 4 streams of 25,000 flow-log events (default format
// with 14 fields, about 100 bytes a line).
func benchLogs() *fakeLogs {
	f := newFakeLogs()
	for s := 0; s < 4; s++ {
		stream := fmt.Sprintf("eni-%d", s)
		for i := 0; i < 25000; i++ {
			f.add("vpc", stream, base+int64(i)*10, fmt.Sprintf("2 111122223333 %s 10.0.%d.%d 10.0.1.1 %d 443 6 1 60 1793613000 1793613060 ACCEPT OK", stream, i/250%250, i%250, 1024+i%60000))
		}
	}
	return f
}

const benchEvents = 100000

// BenchmarkSource reads every page through the SDK client and the test
// server (JSON encoding on both sides included), without decoding.
func BenchmarkSource(b *testing.B) {
	f := benchLogs()
	c := client(b, f)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, _ := cwlogs.New(c, nil, cwlogs.Config{Groups: []cwlogs.Group{{Name: "vpc"}}, Now: fixedNow, RequestsPerSecond: -1})
		n := 0
		for {
			o, err := src.Next(context.Background())
			if err != nil {
				break
			}
			n += int(o.Size)
		}
		if src.Stats().Events != benchEvents {
			b.Fatalf("%+v", src.Stats())
		}
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIntoDuckDB ingests the same events into a new DuckDB store.
func BenchmarkIntoDuckDB(b *testing.B) {
	f := benchLogs()
	c := client(b, f)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, _ := duckdbtest.Open(b)
		b.StartTimer()
		src, _ := cwlogs.New(c, app.PipelineStore(st), cwlogs.Config{Groups: []cwlogs.Group{{Name: "vpc"}}, Now: fixedNow, RequestsPerSecond: -1})
		if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), src, pipeline.Config{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := duckdbtest.Scalar(b, st, `SELECT count(*) FROM vpcflow`); n != benchEvents {
			b.Fatalf("%d rows", n)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
}
