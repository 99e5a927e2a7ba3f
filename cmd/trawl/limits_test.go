package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxRecordSizeEnforced: --max-record-size applies to every record,
// also one that the reader already holds whole in its buffer. (Flow-log
// lines and Parquet rows are measured by their own readers.)
func TestMaxRecordSizeEnforced(t *testing.T) {
	dir := t.TempDir()
	ct := fmt.Sprintf(ctLine, "e1", "CreateUser")
	finding := `{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","id":"f1","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T10:00:00Z","resource":{"resourceType":"Instance"}}`
	for _, tc := range []struct{ name, data string }{
		{"ct-lines.json", ct + "\n"},
		{"ct-records.json", `{"Records":[` + ct + `]}`},
		{"findings.jsonl", finding + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			writeFile(t, path, tc.data)
			db := filepath.Join(dir, tc.name+".duckdb")
			out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--max-record-size", "10", path)
			if code != exitPartial || !strings.Contains(out, "quarantined: 1") {
				t.Fatalf("exit %d, want %d with one record quarantined\n%s%s", code, exitPartial, out, stderr)
			}
			out, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv",
				"SELECT (SELECT count(*) FROM cloudtrail_base) + (SELECT count(*) FROM guardduty_finding_history) + (SELECT count(*) FROM vpcflow) AS stored, (SELECT any_value(reason) FROM quarantine) AS reason")
			if !strings.Contains(out, "\n0,") || !strings.Contains(out, "10-byte limit (--max-record-size)") {
				t.Errorf("want nothing stored and the limit named in the quarantine reason:\n%s", out)
			}
		})
	}
}
