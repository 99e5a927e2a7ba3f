package app

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dustin/go-humanize"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func TestQueryMemoryLimitIsHalfTheMachine(t *testing.T) {
	for total, want := range map[uint64]string{
		0:         FallbackQueryMemoryLimit,
		256 << 20: "536870912B", // at least 512 MiB
		24 << 30:  "12884901888B",
	} {
		if got := queryMemoryLimit(total); got != want {
			t.Errorf("queryMemoryLimit(%d) = %s, want %s", total, got, want)
		}
	}
	total := physicalMemory()
	if total == 0 {
		t.Fatal("the machine's memory is unknown")
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	st, err := Open(context.Background(), Options{DB: db, Mode: Ingest})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	q, err := Open(context.Background(), Options{DB: db, Mode: Query})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := duckdbtest.Rows(t, q, `SELECT current_setting('memory_limit')`)[0][0]
	n, err := humanize.ParseBytes(set)
	want := max(total/2, 512<<20)
	if err != nil || float64(n) < 0.99*float64(want) || float64(n) > 1.01*float64(want) {
		t.Errorf("query mode: DuckDB memory limit %s, want about %s (half of %s)", set, humanize.IBytes(want), humanize.IBytes(total))
	}
}
