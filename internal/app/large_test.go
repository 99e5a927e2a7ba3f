package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestLargeRecordsCommit ingests 600 CloudTrail records of 256 KiB (150 MB,
// more than DuckDB's 128 MB) and checks that they are stored and read back
// whole. DuckDB keeps a vector's 2,048 strings in memory when it writes a
// column, so before large records were stored in parts the commit failed
// ("failed to pin block") at any transaction size.
func TestLargeRecordsCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in := filepath.Join(dir, "big.json")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.BigCloudTrail(f, 600, 256<<10); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	objs, err := file.Objects([]string{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, Options{DB: filepath.Join(dir, "t.duckdb"), Mode: Ingest, MemoryLimit: "128MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Stored(); n != 600 {
		t.Fatalf("%d records stored, want 600", n)
	}
	rows := duckdbtest.Rows(t, st, `SELECT length(raw), length(request_parameters->>'$.policy'), user_principal_id IS NULL, event_version
		FROM cloudtrail WHERE event_id = 'big-00000007'`)
	if len(rows) != 1 || rows[0][1] != "262144" || rows[0][3] != "1.09" {
		t.Errorf("record 7 read back as %v, want the whole record", rows)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail_base WHERE length(raw) > 64 * 1024`); n != 0 {
		t.Errorf("%d rows of cloudtrail_base hold more than 64 KiB", n)
	}
}
