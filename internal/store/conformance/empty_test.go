package conformance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// TestAPIStatsEmpty: /api/stats on two new, empty stores answers 200 on
// both, with the same counts and no time range. (ClickHouse 18.16 returns
// min/max of a non-Nullable DateTime over no rows as 0000-00-00 00:00:00,
// which the store failed to read, so /api/stats answered 500 on a
// database without GuardDuty findings.)
func TestAPIStatsEmpty(t *testing.T) {
	ctx := context.Background()
	ch, err := clickhouse.Open(ctx, chtest.DSN(t), clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	duck, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "empty.duckdb"), duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	serve := func(q store.Querier) *httptest.Server {
		mux := http.NewServeMux()
		api.New(api.Options{Store: q}).Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	a := apis{duck: serve(plain{duck}), ch: serve(plain{ch})}
	d, c := a.get(t, "/api/stats", url.Values{})
	sameJSON(t, "stats of empty stores", d, c)
	tables, _ := c.(map[string]any)["tables"].([]any)
	if len(tables) == 0 {
		t.Fatalf("no tables in %v", c)
	}
	for _, tb := range tables {
		m := tb.(map[string]any)
		if m["count"] != float64(0) || m["min_time"] != nil || m["max_time_ms"] != nil {
			t.Errorf("ClickHouse: %v, want count 0 and no times", m)
		}
	}
}
