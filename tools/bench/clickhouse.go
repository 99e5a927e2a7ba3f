package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// clickhouseBench ingests the CloudTrail and flow-log data sets into
// ClickHouse in this process (the real pipeline, as trawl ingest --db
// clickhouse://… does) and prints records/s, compressed MB/s and bytes on
// disk per record (system.parts) beside the gzip input's. target is a
// clickhouse:// address (a database per data set is created beside the
// named one, then dropped) or "start": a clickhouse-server started for the
// run on free loopback ports (as the tests' chtest does).
func clickhouseBench(ctx context.Context, target string, dirs ...string) {
	base := target
	if target == "start" {
		srv, err := chtest.StartServer()
		if err != nil {
			fmt.Printf("\n== ClickHouse: cannot start a server: %v\n", err)
			return
		}
		defer srv.Stop()
		base = "clickhouse://" + strings.TrimPrefix(srv.URL(), "http://") + "/trawl"
	}
	d, err := clickhouse.ParseDSN(base)
	if err != nil {
		fmt.Printf("\n== ClickHouse: %v\n", err)
		return
	}
	for i, dir := range dirs {
		objs, err := file.Objects([]string{dir}, nil)
		must(err)
		var size int64
		for _, o := range objs {
			size += o.Size
		}
		d := d
		d.Database = fmt.Sprintf("%s_bench_%d_%d", d.Database, os.Getpid(), i)
		st, err := clickhouse.Open(ctx, d.URL(), clickhouse.Options{})
		if err != nil {
			fmt.Printf("\n== ClickHouse (%s): %v\n", d, err)
			return
		}
		version, _ := st.Version(ctx)
		fmt.Printf("\n== ClickHouse ingest (%s, %s): %d files, %.1f MB compressed\n", dir, version, len(objs), float64(size)/1e6)
		start := time.Now()
		res, err := pipeline.Run(ctx, clickhouse.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{Workers: runtime.NumCPU()})
		el := time.Since(start)
		if err != nil {
			fmt.Printf("   failed: %v\n", err)
		} else {
			var n int64
			for _, c := range res.Records {
				n += c
			}
			disk := scalar(ctx, st, "SELECT toInt64(sum(bytes_on_disk)) FROM system.parts WHERE database = currentDatabase() AND active")
			fmt.Printf("   trawl ingest into ClickHouse: %10.0f records/s %8.1f MB/s  (%d records in %s); %.0f bytes/record on disk, %.0f gzip\n",
				float64(n)/el.Seconds(), float64(size)/1e6/el.Seconds(), n, el.Round(time.Millisecond), float64(disk)/float64(max(n, 1)), float64(size)/float64(max(n, 1)))
		}
		if err := st.Client().Exec(ctx, "DROP DATABASE "+clickhouse.QuoteIdent(d.Database)); err != nil {
			fmt.Printf("   dropping %s: %v\n", d.Database, err)
		}
		st.Close()
	}
}

func scalar(ctx context.Context, q store.Querier, sql string) int64 {
	rows, err := q.Query(ctx, store.Request{SQL: sql})
	if err != nil {
		return 0
	}
	defer rows.Close()
	if rows.Next() {
		n, _ := rows.Values()[0].(int64)
		return n
	}
	return 0
}
