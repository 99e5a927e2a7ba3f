package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxRecordSizeEnforced: --max-record-size applies to every record,
// also one that the reader already holds whole in its buffer.
func TestMaxRecordSizeEnforced(t *testing.T) {
	dir := t.TempDir()
	ct := fmt.Sprintf(ctLine, "e1", "CreateUser")
	finding := `{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","id":"f1","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T10:00:00Z","resource":{"resourceType":"Instance"}}`
	for _, tc := range []struct {
		name, data  string
		quarantined int
	}{
		{"ct-lines.json", ct + "\n", 1},
		{"ct-records.json", `{"Records":[` + ct + `]}`, 1},
		{"findings.jsonl", finding + "\n", 1},
		// The header line is over the limit too.
		{"flow.log", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
			"2 111122223333 eni-0123 10.0.0.1 10.0.1.1 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			writeFile(t, path, tc.data)
			db := filepath.Join(dir, tc.name+".duckdb")
			out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--max-record-size", "10", path)
			if want := fmt.Sprintf("quarantined: %d ", tc.quarantined); code != exitPartial || !strings.Contains(out, want) {
				t.Fatalf("exit %d, want %d and %q\n%s%s", code, exitPartial, want, out, stderr)
			}
			out, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv",
				"SELECT (SELECT count(*) FROM cloudtrail_base) + (SELECT count(*) FROM guardduty_finding_history) + (SELECT count(*) FROM vpcflow) AS stored, (SELECT any_value(reason) FROM quarantine) AS reason")
			if !strings.Contains(out, "\n0,") || !strings.Contains(out, "10-byte limit (--max-record-size)") {
				t.Errorf("want nothing stored and the limit named in the quarantine reason:\n%s", out)
			}
		})
	}
}
