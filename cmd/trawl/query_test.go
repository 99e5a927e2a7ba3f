package main

import (
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemaCommand checks `trawl schema`: the columns of a table with
// their types and descriptions, internal tables left out unless --all,
// and an unknown table refused with the list of tables.
func TestSchemaCommand(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.duckdb")
	out, stderr, code := trawl(t, nil, "schema", "--db", none, "--format", "csv", "cloudtrail")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) < 40 {
		t.Fatalf("schema cloudtrail: exit %d, %d rows, %v\n%s", code, len(recs), err, stderr)
	}
	byCol := map[string][]string{}
	for _, r := range recs[1:] {
		if r[0] != "cloudtrail" {
			t.Errorf("schema cloudtrail lists %v", r)
		}
		byCol[r[1]] = r
	}
	if r := byCol["event_time"]; r == nil || r[2] != "TIMESTAMPTZ" || !strings.Contains(r[3], "eventTime") {
		t.Errorf("event_time: %v", r)
	}
	if r := byCol["request_parameters"]; r == nil || r[2] != "JSON" || r[3] == "" {
		t.Errorf("request_parameters: %v", r)
	}
	if r := byCol["source"]; r == nil || r[3] == "" {
		t.Errorf("source: %v", r)
	}
	out, _, code = trawl(t, nil, "schema", "--db", none, "--format", "csv")
	if code != 0 || !strings.Contains(out, "\nvpcflow,srcaddr,VARCHAR,") || !strings.Contains(out, "\nguardduty_finding,severity,DOUBLE,") ||
		strings.Contains(out, "trawl_meta") || strings.Contains(out, "cloudtrail_base") || strings.Contains(out, "alert_outbox") {
		t.Errorf("schema: exit %d\n%s", code, out)
	}
	out, _, code = trawl(t, nil, "schema", "--db", none, "--format", "csv", "--all")
	if code != 0 || !strings.Contains(out, "\ncloudtrail_base,event_time,TIMESTAMPTZ,") || !strings.Contains(out, "\nalert_outbox,") {
		t.Errorf("schema --all: exit %d\n%s", code, out)
	}
	_, stderr, code = trawl(t, nil, "schema", "--db", none, "nosuch")
	if code != exitUsage || !strings.Contains(stderr, `no table "nosuch"`) || !strings.Contains(stderr, "vpcflow") {
		t.Errorf("schema nosuch: exit %d: %s", code, stderr)
	}
}
