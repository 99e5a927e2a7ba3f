package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// BenchmarkWorkers measures the many-workers layout end to end: 1, 2 and 3
// trawl run processes take S3 notifications from one SQS queue, read the
// gzip objects from S3 (both fakes in this process) and write to one
// ClickHouse (chtest), until every message is deleted. It reports
// CloudTrail events plus flow records per second. Everything — the
// workers, ClickHouse, the fakes — shares this machine's cores, so the
// figure is a floor for separate hosts. TRAWL_BENCH_EVENTS sets the
// CloudTrail events and flow records of the data set (default 50000
// each).
//
//	go test -run '^$' -bench Workers -benchtime 1x ./cmd/trawl/
func BenchmarkWorkers(b *testing.B) {
	n := 50000
	if v, err := strconv.Atoi(os.Getenv("TRAWL_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	for _, workers := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bq := newBucketQueue(b, n, n)
				cfg := workerConfig(b, fmt.Sprintf("store: {path: '%s'}\n", chtest.DSN(b)), bq.q.URL)
				for _, body := range bq.bodies {
					bq.q.Send(body)
				}
				b.StartTimer()
				start := time.Now()
				var cmds []*exec.Cmd
				for range workers {
					c := exec.Command(trawlBin, "run", "-c", cfg, "--log-format", "json")
					c.Env = bq.env
					if err := c.Start(); err != nil {
						b.Fatal(err)
					}
					cmds = append(cmds, c)
				}
				deadline := time.Now().Add(20 * time.Minute)
				for bq.q.State().Deleted < len(bq.bodies) {
					if time.Now().After(deadline) {
						b.Fatalf("not done in 20 minutes: %+v", bq.q.State())
					}
					time.Sleep(20 * time.Millisecond)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				for _, c := range cmds {
					c.Process.Signal(syscall.SIGTERM)
					c.Wait()
				}
				b.ReportMetric(float64(bq.events)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(len(bq.bodies))/elapsed.Seconds(), "objects/s")
			}
		})
	}
}
