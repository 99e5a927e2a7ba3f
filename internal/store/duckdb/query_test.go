package duckdb

import (
	"context"
	"slices"
	"testing"

	"github.com/trawl-project/trawl/internal/store"
)

func queryColumn(t *testing.T, st *Store, q string) []string {
	t.Helper()
	rows, err := st.Query(context.Background(), store.Request{SQL: q})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		out = append(out, rows.Values()[0].(string))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShowTablesLeavesOutInternalTables checks that SHOW TABLES (in any
// case, with or without a semicolon) lists the user-facing tables and
// views and none of trawl's internal ones, which DuckDB itself lists.
func TestShowTablesLeavesOutInternalTables(t *testing.T) {
	st := readOnlyStore(t)
	all := queryColumn(t, st, `SELECT name FROM (SHOW TABLES)`)
	for _, in := range InternalTables {
		if !slices.Contains(all, in) {
			t.Errorf("internal table %s does not exist: InternalTables is out of date", in)
		}
	}
	for _, q := range []string{"SHOW TABLES", " show tables; ", "Show\n  Tables;"} {
		got := queryColumn(t, st, q)
		for _, want := range []string{"alert", "cloudtrail", "cloudtrail_digest", "cloudtrail_digest_file", "guardduty_finding", "guardduty_finding_history", "ingest_ledger", "ingest_warning", "quarantine", "vpcflow"} {
			if !slices.Contains(got, want) {
				t.Errorf("%q lacks %s: %v", q, want, got)
			}
		}
		for _, in := range InternalTables {
			if slices.Contains(got, in) {
				t.Errorf("%q lists internal table %s", q, in)
			}
		}
	}
}
