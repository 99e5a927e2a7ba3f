package opensearch

import (
	"context"
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

// SetSleep replaces the sink's wait between attempts (set it before the
// first Write).
func SetSleep(s *Sink, f func(context.Context, time.Duration) error) { s.sleep = f }

// EncodeForBenchmark encodes batches into _bulk bodies of 5 MiB and
// returns the bytes encoded.
func EncodeForBenchmark(batches []*event.Batch) int {
	total := 0
	c := newChunk(DefaultFlushBytes)
	for _, b := range batches {
		for i := range b.CloudTrail {
			c.addCloudTrail("", &b.CloudTrail[i])
		}
		for i := range b.VPCFlow {
			c.addFlow("", b.Object, &b.VPCFlow[i])
		}
		for i := range b.Findings {
			c.addFinding("", &b.Findings[i])
		}
		if len(c.buf) >= DefaultFlushBytes {
			total += len(c.buf)
			c.buf, c.items = c.buf[:0], c.items[:0]
		}
	}
	return total + len(c.buf)
}
