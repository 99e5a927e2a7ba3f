package opensearch_test

import (
	"context"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
)

func docs(batches []*event.Batch) int {
	n := 0
	for _, b := range batches {
		n += len(b.CloudTrail) + len(b.VPCFlow) + len(b.Findings)
	}
	return n
}

// benchSink writes the generated data set (3k CloudTrail events, 4k flow
// records, GuardDuty findings) to a test server per iteration and reports
// documents per second and _bulk body MB/s.
func benchSink(b *testing.B, discard bool) {
	batches := genData(b)
	srv := ostest.New(b)
	srv.Discard = discard
	s := newSink(b, srv, nil)
	n := docs(batches)
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	before := s.Stats().Bytes
	for b.Loop() {
		for _, bt := range batches {
			if err := s.Write(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	bytes := s.Stats().Bytes - before
	b.ReportMetric(float64(n*b.N)/el, "docs/s")
	b.ReportMetric(float64(bytes)/el/1e6, "MB/s")
}

// BenchmarkSinkDiscard measures the sink (encoding, _bulk requests over
// HTTP, response parsing) against a server that acknowledges without
// parsing.
func BenchmarkSinkDiscard(b *testing.B) { benchSink(b, true) }

// BenchmarkSinkOSTest goes through ostest's full path (mapping checks,
// versioning, storage): mostly the cost of the stand-in server.
func BenchmarkSinkOSTest(b *testing.B) { benchSink(b, false) }

// BenchmarkEncode measures the document encoding alone.
func BenchmarkEncode(b *testing.B) {
	batches := genData(b)
	n := docs(batches)
	b.ReportAllocs()
	var size int
	start := time.Now()
	for b.Loop() {
		size = opensearch.EncodeForBenchmark(batches)
	}
	el := time.Since(start).Seconds()
	b.SetBytes(int64(size))
	b.ReportMetric(float64(n*b.N)/el, "docs/s")
}
