package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
	"github.com/trawl-project/trawl/internal/source/file"
)

// benchOpenSearch (-opensearch) measures the OpenSearch sink: a data set of
// 100k CloudTrail events (5% with large requestParameters), 300k flow
// records and GuardDuty findings is decoded and written through the sink
// to an in-process server that acknowledges every document without
// parsing it (ostest with Discard), so the figures are trawl's side:
// decoding, document encoding, _bulk requests over HTTP on localhost,
// response parsing. A real cluster indexes far slower than this; see
// docs/opensearch.md.
func benchOpenSearch(ctx context.Context, dir string) error {
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 100_000, 300_000, 500
	cfg.Attack, cfg.LargeParams = false, true
	dir = filepath.Join(dir, "opensearch")
	if err := ensure(ctx, dir, cfg); err != nil {
		return err
	}
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		return err
	}
	srv := ostest.Start()
	defer srv.Close()
	srv.Discard = true
	fmt.Printf("\n== OpenSearch sink (%s, %d files; server acknowledges without indexing)\n", dir, len(objs))
	for _, workers := range []int{1, 2, 4} {
		s, err := opensearch.New(ctx, opensearch.Config{URLs: []string{srv.URL}, Workers: workers})
		if err != nil {
			return err
		}
		var docs int64
		start := time.Now()
		for _, o := range objs {
			f, err := os.Open(o.Name)
			if err != nil {
				return err
			}
			err = decode.Decode(ctx, decode.Object{Name: o.Name, Key: o.Key}, f, decode.Options{}, func(b *event.Batch) error {
				docs += int64(len(b.CloudTrail) + len(b.VPCFlow) + len(b.Findings))
				return s.Write(ctx, b)
			})
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", o.Name, err)
			}
		}
		if err := s.Close(ctx); err != nil {
			return err
		}
		el := time.Since(start)
		st := s.Stats()
		fmt.Printf("   decode + sink, %d worker(s): %10.0f docs/s %8.1f MB/s of _bulk body (%d docs, %d requests, %.0f MB, %s)\n",
			workers, float64(docs)/el.Seconds(), float64(st.Bytes)/1e6/el.Seconds(), docs, st.Requests, float64(st.Bytes)/1e6, el.Round(time.Millisecond))
	}
	return nil
}
