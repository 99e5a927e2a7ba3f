package lake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

// BenchmarkIngestVPCFlow ingests VPC flow-log .log.gz files (300,000
// records, generated once and kept in the temporary directory) end to end
// into a local lake and reports records/s, bytes per record on disk and
// CPU per record: the Parquet writer's cost on a table of many short,
// mostly repeated strings (BenchmarkIngestCloudTrail is dominated by raw).
func BenchmarkIngestVPCFlow(b *testing.B) {
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = -1, 300_000, -1
	cfg.Attack = false
	want, _ := json.Marshal(cfg)
	dir := filepath.Join(os.TempDir(), "trawl-lake-bench-flow")
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
	b.ReportAllocs()
	var records, disk int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		root := b.TempDir()
		l, err := Open(context.Background(), root, Options{Writer: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		b.StartTimer()
		res, err := pipeline.Run(context.Background(), l, pipeline.Objects(objs...), pipeline.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - cpu0
		records += res.Records.Total()
		disk += dirSize(b, root)
		l.Close()
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(records)/sec, "records/s")
	b.ReportMetric(float64(disk)/float64(records), "B/record")
	b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-µs/record")
}
