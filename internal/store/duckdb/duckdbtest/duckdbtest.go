// Package duckdbtest has helpers for tests that use a DuckDB store.
package duckdbtest

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Open opens a store in a temporary directory, closed when the test ends.
func Open(t testing.TB) (*duckdb.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.duckdb")
	st, err := duckdb.Open(context.Background(), path, duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// Scalar runs a query that returns one integer.
func Scalar(t testing.TB, q store.Querier, sql string, args ...any) int64 {
	t.Helper()
	rows, err := store.Collect(context.Background(), q, store.Request{SQL: sql, Args: args}, output.Text)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: %d rows, want one value", sql, len(rows))
	}
	n, err := strconv.ParseInt(rows[0][0], 10, 64)
	if err != nil {
		t.Fatalf("%s: %q is not an integer", sql, rows[0][0])
	}
	return n
}

// Rows runs a query and returns its rows as text.
func Rows(t testing.TB, q store.Querier, sql string, args ...any) [][]string {
	t.Helper()
	rows, err := store.Collect(context.Background(), q, store.Request{SQL: sql, Args: args}, output.Text)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}
