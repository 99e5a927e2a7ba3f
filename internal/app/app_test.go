package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestSettingsErrorsNameTheirSource checks that bad tuning values are
// reported as settings errors naming the flag or variable, before DuckDB
// sees them.
func TestSettingsErrorsNameTheirSource(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	for _, c := range []struct {
		env, limit, name string
	}{
		{limit: "lots", name: "--memory-limit"},
		{limit: "1KB", name: "--memory-limit"},
		{env: "threads", name: "TRAWL_DUCKDB_SETTINGS"},
		{env: "=4", name: "TRAWL_DUCKDB_SETTINGS"},
	} {
		t.Setenv("TRAWL_DUCKDB_SETTINGS", c.env)
		_, err := Open(context.Background(), Options{DB: db, MemoryLimit: c.limit})
		var se *SettingsError
		if !errors.As(err, &se) || se.Name != c.name {
			t.Errorf("env %q, limit %q: %v, want a settings error naming %s", c.env, c.limit, err, c.name)
		}
	}
}

// TestModes checks what each mode sets: threads and memory while
// ingesting, read-only for queries, and that TRAWL_DUCKDB_SETTINGS applies.
func TestModes(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "t.duckdb")
	t.Setenv("TRAWL_DUCKDB_SETTINGS", "preserve_insertion_order=false")
	st, err := Open(ctx, Options{DB: db, Mode: Ingest})
	if err != nil {
		t.Fatal(err)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT current_setting('threads')`); n != 1 {
		t.Errorf("ingest mode: %d DuckDB threads, want 1", n)
	}
	rows := duckdbtest.Rows(t, st, `SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')`)
	if !strings.HasPrefix(rows[0][0], "366") || rows[0][1] != "false" { // 384 MB is 366.2 MiB
		t.Errorf("ingest mode: memory limit %s, preserve_insertion_order %s", rows[0][0], rows[0][1])
	}
	st.Close()
	t.Setenv("TRAWL_DUCKDB_SETTINGS", "")
	q, err := Open(ctx, Options{DB: db, Mode: Query})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Querier().Query(ctx, storeRequest(`CREATE TABLE x (a INT)`)); err == nil {
		t.Error("query mode can write")
	}
}

func storeRequest(sql string) store.Request { return store.Request{SQL: sql} }
