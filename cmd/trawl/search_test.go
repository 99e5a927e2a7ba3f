package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearch runs `trawl search` on a small database: matches newest
// first in each format, --count, --sql, --type, the time range, a filter
// pattern, and a bad query refused with exit 2 and its column.
func TestSearch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	var lines []string
	for i, name := range []string{"CreateUser", "ListUsers", "CreateUser", "DeleteUser"} {
		l := fmt.Sprintf(ctLine, fmt.Sprintf("e%d", i), name)
		l = strings.Replace(l, "10:00:00Z", fmt.Sprintf("1%d:00:00Z", i), 1)
		lines = append(lines, l)
	}
	if out, stderr, code := trawl(t, []byte(strings.Join(lines, "\n")), "ingest", "--db", db, "-"); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, stderr)
	}

	out, stderr, code := trawl(t, nil, "search", "--db", db, "--format", "csv", "eventName:CreateUser")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 3 || recs[0][0] != "event_time" || recs[1][8] != "e2" || recs[2][8] != "e0" {
		t.Errorf("csv: exit %d %q %v %s", code, out, err, stderr)
	}
	out, _, code = trawl(t, nil, "search", "--db", db, "--format", "json", "--limit", "1", "eventName:*User NOT eventName:ListUsers")
	var row map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &row) != nil || row["event_id"] != "e3" {
		t.Errorf("json with --limit 1: exit %d %q", code, out)
	}
	for query, want := range map[string]string{
		"eventName:CreateUser":                  "2",
		"requestParameters.userName:bob":        "4",
		"requestParameters.userName:b*":         "4",
		"userIdentity.userName:alice":           "4",
		"createuser OR deleteuser":              "3",
		`{ $.eventName = "DeleteUser" }`:        "1",
		"eventTime:[2026-11-02T11:00:00Z TO *]": "3",
	} {
		out, stderr, code = trawl(t, nil, "search", "--db", db, "--count", query)
		if code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("--count %s: exit %d, %q, want %s %s", query, code, out, want, stderr)
		}
	}
	out, _, code = trawl(t, nil, "search", "--db", db, "--count", "--since", "2026-11-02T11:30:00Z", "--until", "2026-11-02T13:00:00Z", "")
	if code != 0 || strings.TrimSpace(out) != "1" {
		t.Errorf("--since/--until: exit %d %q", code, out)
	}
	out, _, code = trawl(t, nil, "search", "--db", db, "--count", "--type", "vpcflow", "")
	if code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("--type vpcflow: exit %d %q", code, out)
	}
	out, _, code = trawl(t, nil, "search", "--sql", "--type", "cloudtrail", "requestParameters.bucketName:prod-*")
	if code != 0 || !strings.Contains(out, "starts_with(req_bucket_name, ?)") || !strings.Contains(out, "-- $1 = 'prod-'") {
		t.Errorf("--sql: exit %d %q", code, out)
	}
	_, stderr, code = trawl(t, nil, "search", "--db", db, "eventName:")
	if code != exitUsage || !strings.Contains(stderr, `expected a value after "eventName:" at column 11`) || !strings.Contains(stderr, "          ^") {
		t.Errorf("bad query: exit %d %q", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "search", "--db", db, "--type", "nope", "x")
	if code != exitUsage || !strings.Contains(stderr, "--type") {
		t.Errorf("bad type: exit %d %q", code, stderr)
	}
}
