package lake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

// benchData generates (once, kept in the temporary directory between
// runs) CloudTrail .json.gz files as tools/bench does: 5% large
// requestParameters, no attack story.
func benchData(b *testing.B, events int) []pipeline.Object {
	b.Helper()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = events, -1, -1
	cfg.Attack, cfg.LargeParams = false, true
	want, _ := json.Marshal(cfg)
	dir := filepath.Join(os.TempDir(), "trawl-lake-bench-ct")
	marker := filepath.Join(dir, ".bench-config.json")
	if have, err := os.ReadFile(marker); err != nil || string(have) != string(want) {
		os.RemoveAll(dir)
		if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(marker, want, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return objs
}

// BenchmarkIngestCloudTrail ingests CloudTrail .json.gz files end to end
// (read, gunzip, decode, validate, write Parquet, commit) into a local
// lake and reports events/s, MB/s of gzip input and bytes per event on
// disk.
func BenchmarkIngestCloudTrail(b *testing.B) {
	objs := benchData(b, 200_000)
	var in int64
	for _, o := range objs {
		in += o.Size
	}
	b.ReportAllocs()
	var events, disk int64
	for b.Loop() {
		b.StopTimer()
		root := b.TempDir()
		l, err := Open(context.Background(), root, Options{Writer: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := pipeline.Run(context.Background(), l, pipeline.Objects(objs...), pipeline.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		events += res.Records.Total()
		disk += dirSize(b, root)
		l.Close()
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(in)*float64(b.N)/1e6/sec, "gzMB/s")
	b.ReportMetric(float64(disk)/float64(events), "B/event")
	b.ReportMetric(float64(in)*float64(b.N)/float64(events), "gzB/event")
}

func dirSize(b *testing.B, root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
