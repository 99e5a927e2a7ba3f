package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
)

// lakeBench ingests each data set end to end (read, gunzip, decode,
// validate, Parquet, zstd, commit) into a fresh local Parquet lake in this
// process, as `trawl ingest --lake DIR` does without rules and
// enrichment, and prints events/s, MB/s of gzip input, CPU per event,
// bytes per event on disk against the gzip input, and the peak RSS of the
// ingest (VmHWM, reset before it).
func lakeBench(ctx context.Context, dirs ...string) {
	fmt.Printf("\n== Parquet lake (internal/lake; in process, no rules or enrichment)\n")
	for _, dir := range dirs {
		objs, err := file.Objects([]string{dir}, nil)
		must(err)
		var in int64
		for _, o := range objs {
			in += o.Size
		}
		root, err := os.MkdirTemp("", "trawl-bench-lake-")
		must(err)
		l, err := lake.Open(ctx, root, lake.Options{Writer: "bench"})
		must(err)
		runtime.GC()
		resetPeakRSS()
		cpu0 := cpuSelf()
		start := time.Now()
		res, err := pipeline.Run(ctx, l, pipeline.Objects(objs...), pipeline.Config{})
		el := time.Since(start)
		cpu := cpuSelf() - cpu0
		peak := peakRSS()
		must(err)
		must(l.Close())
		disk := treeSize(root)
		os.RemoveAll(root)
		n := res.Records.Total()
		fmt.Printf("   %-8s %9d records: %10.0f records/s %7.1f MB/s of gzip  %5.1f µs CPU/record  on disk %6.0f B/record (gzip input %4.0f B, %.2f×)  peak RSS %4d MiB  (%s)\n",
			filepath.Base(dir), n, float64(n)/el.Seconds(), float64(in)/1e6/el.Seconds(), float64(cpu.Microseconds())/float64(n),
			float64(disk)/float64(n), float64(in)/float64(n), float64(disk)/float64(in), peak>>20, el.Round(time.Millisecond))
	}
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's peak RSS of this process (VmHWM).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in bytes (0 if unknown).
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func treeSize(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
