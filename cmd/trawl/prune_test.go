package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func TestPruneCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := st.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var recs []event.CloudTrail
	for i, age := range []time.Duration{400 * 24 * time.Hour, 100 * 24 * time.Hour, time.Hour} {
		recs = append(recs, event.CloudTrail{EventID: string(rune('a' + i)), EventTime: now.Add(-age), Raw: "{}"})
	}
	if err := tx.Write(context.Background(), &event.Batch{Object: "x", CloudTrail: recs}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, bad := range [][]string{{"prune"}, {"prune", "--older-than", "ninety"}, {"prune", "--older-than", "0d"},
		{"prune", "--before", "yesterday"}, {"prune", "--older-than", "9d", "--before", "2026-01-01"}, {"prune", "--older-than", "9d", "--tables", "ingest_ledger"}} {
		if _, stderr, code := trawl(t, nil, append(bad, "--db", db)...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, want %d with a message", bad, code, exitUsage)
		}
	}
	out, _, code := trawl(t, nil, "prune", "--db", db, "--older-than", "90d", "--tables", "cloudtrail", "--dry-run")
	if code != 0 || !strings.Contains(out, "cloudtrail: would delete 2 rows") {
		t.Errorf("dry run: exit %d: %s", code, out)
	}
	out, _, code = trawl(t, nil, "prune", "--db", db, "--older-than", "180d")
	if code != 0 || !strings.Contains(out, "cloudtrail: deleted 1 rows") || !strings.Contains(out, "vpcflow: deleted 0 rows") {
		t.Errorf("prune: exit %d: %s", code, out)
	}
	st, err = duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail`); n != 2 {
		t.Errorf("%d events left, want 2", n)
	}
}
