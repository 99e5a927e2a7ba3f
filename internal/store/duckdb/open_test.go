package duckdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
)

// TestStoreOutlivesOpenContext checks that the context given to Open only
// bounds opening: once it is cancelled, the store still opens new
// connections (each runs the connection-init statement) and answers queries.
func TestStoreOutlivesOpenContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := Open(ctx, filepath.Join(t.TempDir(), "t.duckdb"), Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cancel()

	// Hold several connections at once so that the pool must open new ones.
	const n = 4
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := st.db.Conn(context.Background())
		if err != nil {
			t.Fatalf("connection %d after the Open context was cancelled: %v", i, err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tz string
			if err := st.db.QueryRowContext(context.Background(), `SELECT current_setting('TimeZone')`).Scan(&tz); err != nil {
				errs <- err
				return
			}
			if tz != "UTC" {
				t.Errorf("query %d: TimeZone %q, want UTC (the connection-init statement did not run)", i, tz)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("query after the Open context was cancelled: %v", err)
	}
}
