package lake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"

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
	b.Run("lake", func(b *testing.B) { benchIngest(b, true) })
	b.Run("discard", func(b *testing.B) { benchIngest(b, false) })
}

// benchIngest ingests into a lake, or (lake false) into a store that
// discards everything: the pipeline's own cost, for comparison.
func benchIngest(b *testing.B, lake bool) {
	objs := benchData(b, 200_000)
	var in int64
	for _, o := range objs {
		in += o.Size
	}
	b.ReportAllocs()
	var events, disk int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		root := b.TempDir()
		var st pipeline.Store = discard{}
		if lake {
			l, err := Open(context.Background(), root, Options{Writer: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			st = l
		}
		cpu0 := cpuTime()
		b.StartTimer()
		res, err := pipeline.Run(context.Background(), st, pipeline.Objects(objs...), pipeline.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - cpu0
		events += res.Records.Total()
		disk += dirSize(b, root)
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(in)*float64(b.N)/1e6/sec, "gzMB/s")
	b.ReportMetric(float64(disk)/float64(events), "B/event")
	b.ReportMetric(float64(in)*float64(b.N)/float64(events), "gzB/event")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
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

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is a pipeline.Store that keeps nothing.
type discard struct{}

func (discard) LedgerEntries(context.Context, []string) (map[string]pipeline.LedgerEntry, error) {
	return nil, nil
}

func (discard) Begin(context.Context) (pipeline.Tx, error) { return discardTx{}, nil }

type discardTx struct{}

func (discardTx) Write(context.Context, *event.Batch) error                { return nil }
func (discardTx) ForgetObject(context.Context, string) error               { return nil }
func (discardTx) Commit(context.Context, []ledger.Entry) error             { return nil }
func (discardTx) Rollback() error                                          { return nil }
func (discardTx) Flush(context.Context) (map[pipeline.DupKey]int64, error) { return nil, nil }
