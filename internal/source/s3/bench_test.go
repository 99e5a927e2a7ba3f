package s3_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/gen"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
)

var benchData struct {
	once  sync.Once
	dir   string
	err   error
	bytes int64
	objs  int
}

// benchDir generates the benchmark's data set once (20k CloudTrail events,
// 100k flow records, the default findings).
func benchDir(b *testing.B) (string, int, int64) {
	benchData.once.Do(func() {
		dir, err := os.MkdirTemp("", "trawl-s3-bench")
		if err != nil {
			benchData.err = err
			return
		}
		benchData.dir = dir
		cfg := gen.DefaultConfig()
		cfg.CloudTrailEvents, cfg.FlowRecords = 20000, 100000
		cfg.Duration = 6 * time.Hour
		_, benchData.err = gen.Generate(context.Background(), dir, cfg)
		filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				benchData.objs++
				benchData.bytes += fi.Size()
			}
			return nil
		})
	})
	if benchData.err != nil {
		b.Fatal(benchData.err)
	}
	return benchData.dir, benchData.objs, benchData.bytes
}

// BenchmarkIngest ingests the same files from disk and from gofakes3 over
// loopback HTTP (with and without prefetch, and with 20 ms added before
// every answer, about S3's first-byte latency), into a fresh database
// each time, and reports objects/s and MB/s of stored (compressed) bytes.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 3x ./internal/source/s3/
func BenchmarkIngest(b *testing.B) {
	dir, objs, size := benchDir(b)
	fake := newFakeS3(b)
	fake.upload(b, dir)
	report := func(b *testing.B, start time.Time) {
		secs := time.Since(start).Seconds() / float64(b.N)
		b.ReportMetric(float64(objs)/secs, "objects/s")
		b.ReportMetric(float64(size)/1e6/secs, "MB/s")
	}
	b.Run("disk", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			fromDisk(b, filepath.Join(b.TempDir(), "db.duckdb"), dir)
		}
		report(b, start)
	})
	for _, c := range []struct {
		name     string
		prefetch int
		delay    time.Duration
	}{
		{"s3", 0, 0},
		{"s3-no-prefetch", -1, 0},
		{"s3-20ms", 0, 20 * time.Millisecond},
		{"s3-20ms-no-prefetch", -1, 20 * time.Millisecond},
	} {
		b.Run(c.name, func(b *testing.B) {
			fake.f.delay = c.delay
			cl := fake.client(b, s3src.Options{Prefetch: c.prefetch})
			start := time.Now()
			for i := 0; i < b.N; i++ {
				res := ingest(b, filepath.Join(b.TempDir(), "db.duckdb"), cl.List(bucket, ""))
				if res.ObjectsTotal != objs || len(res.Failed) > 0 {
					b.Fatalf("%d of %d objects, failed %v", res.ObjectsTotal, objs, res.Failed)
				}
			}
			report(b, start)
		})
	}
	os.RemoveAll(dir)
}
