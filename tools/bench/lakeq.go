package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/source/file"
)

// lakeQuery writes the CloudTrail data set in dir to a local lake, one
// commit per input object (the small files an ingest leaves), then times
// `trawl query --lake` (a GROUP BY over every event and a needle search),
// `trawl lake compact` and the queries again, and prints events/s, file
// counts and sizes.
func lakeQuery(ctx context.Context, bin, dir string) {
	fmt.Printf("\n== Parquet lake: trawl query --lake and trawl lake compact (%s)\n", dir)
	root, err := os.MkdirTemp("", "trawl-bench-lake-")
	must(err)
	defer os.RemoveAll(root)
	objs, err := file.Objects([]string{dir}, nil)
	must(err)
	l, err := lake.Open(ctx, root, lake.Options{Writer: "bench"})
	must(err)
	var events int64
	start := time.Now()
	for _, o := range objs {
		tx, err := l.Begin(ctx)
		must(err)
		r, err := o.Open(ctx)
		must(err)
		must(decode.Decode(ctx, decode.Object{Name: o.Name, Key: o.Key}, r, decode.Options{}, func(b *event.Batch) error {
			events += int64(len(b.CloudTrail))
			return tx.Write(ctx, b)
		}))
		r.Close()
		must(tx.Commit(ctx, nil))
	}
	must(l.Close())
	fmt.Printf("   written: %d events from %d objects in %s (decode + Parquet, one commit per object, 1 goroutine)\n",
		events, len(objs), time.Since(start).Round(time.Millisecond))
	files := func() (int, int64) {
		var n int
		var size int64
		filepath.WalkDir(filepath.Join(root, lake.CloudTrail), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".parquet") {
				info, _ := d.Info()
				n, size = n+1, size+info.Size()
			}
			return nil
		})
		return n, size
	}
	queries := []struct{ name, sql string }{
		{"GROUP BY event_name", "SELECT event_name, count(*) FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC LIMIT 5"},
		{"needle (source_ip)", "SELECT count(*) FROM cloudtrail WHERE source_ip = '198.51.100.77'"},
	}
	run := func(label string) {
		n, size := files()
		fmt.Printf("   %s: %d files, %.1f MB (%.0f bytes/event)\n", label, n, float64(size)/1e6, float64(size)/float64(max(events, 1)))
		for _, q := range queries {
			el, _, err := runChild(bin, "query", "--lake", root, q.sql)
			if err != nil {
				fmt.Printf("   trawl query --lake (%s) failed: %v\n", q.name, err)
				continue
			}
			fmt.Printf("   trawl query --lake, %-22s %10.0f events/s (%s, process start included)\n", q.name+":", float64(events)/el.Seconds(), el.Round(time.Millisecond))
		}
	}
	run("before compaction")
	el, rss, err := runChild(bin, "lake", "compact", "--lake", root, "--min-age", "0s")
	if err != nil {
		fmt.Printf("   trawl lake compact failed: %v\n", err)
		return
	}
	_, size := files()
	fmt.Printf("   trawl lake compact:          %10.0f events/s %6.1f MB/s of merged Parquet, peak RSS %d MiB (%s)\n",
		float64(events)/el.Seconds(), float64(size)/1e6/el.Seconds(), rss>>20, el.Round(time.Millisecond))
	run("after compaction")
}
