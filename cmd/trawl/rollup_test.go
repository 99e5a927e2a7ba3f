package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestIngestRefreshesRollup: after `trawl ingest` the flow rollup is
// fresh and holds the flow records' talkers, so the dashboards read it.
func TestIngestRefreshesRollup(t *testing.T) {
	data, _ := generate(t, 500, 5000)
	db := filepath.Join(t.TempDir(), "t.duckdb")
	if out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", data); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, stderr)
	}
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ok, err := st.RollupFresh(context.Background(), time.Time{}, time.Time{}); err != nil || !ok {
		t.Fatalf("rollup fresh after ingest: %v, %v", ok, err)
	}
	flows := duckdbtest.Scalar(t, st, `SELECT count(*) FROM vpcflow`)
	if got := duckdbtest.Scalar(t, st, `SELECT sum(flows) FROM flow_rollup_state`); flows == 0 || got != flows {
		t.Errorf("the rollup state counts %d flows of %d", got, flows)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM flow_rollup_top WHERE kind = 'pair'`); n == 0 {
		t.Error("no pairs in the rollup")
	}
}
