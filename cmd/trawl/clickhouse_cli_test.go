package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// TestCommandsOnClickHouse runs the commands that read or write the store
// with --db clickhouse://…: ingest (twice: the second run skips every
// object), query, search (rows, --count), schema, alerts list, verify
// --dry-run and prune --dry-run.
// Counts are compared to the same commands on a DuckDB file.
func TestCommandsOnClickHouse(t *testing.T) {
	dsn := chtest.DSN(t)
	data, _ := generate(t, 3000, 3000)
	duck := t.TempDir() + "/t.duckdb"
	for _, db := range []string{dsn, duck} {
		if out, stderr, code := trawl(t, nil, "ingest", "--db", db, "--progress", "never", data); code != 0 {
			t.Fatalf("ingest --db %s: exit %d\n%s%s", db, code, out, stderr)
		}
	}
	if out, stderr, code := trawl(t, nil, "ingest", "--db", dsn, "--progress", "never", data); code != 0 || !strings.Contains(out, "ingested 0 of ") {
		t.Errorf("second ingest: exit %d: %s%s", code, out, stderr)
	}
	scalar := func(db string, args ...string) int64 {
		t.Helper()
		out, stderr, code := trawl(t, nil, append([]string{"--db", db}, args...)...)
		if code != 0 {
			t.Fatalf("%v on %s: exit %d: %s", args, db, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		n, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err != nil {
			t.Fatalf("%v on %s: %q is not a count", args, db, out)
		}
		return n
	}
	for _, args := range [][]string{
		{"query", "--format", "csv", "SELECT count(*) FROM cloudtrail"},
		{"query", "--format", "csv", "SELECT count(*) FROM vpcflow WHERE action = 'REJECT'"},
		{"query", "--format", "csv", "SELECT count(*) FROM guardduty_finding"},
		{"search", "--count", "eventName:CreateUser OR eventName:AttachUserPolicy"},
		{"search", "--count", "--type", "vpcflow", "action:REJECT AND dstport:22"},
		{"search", "--count", "errorCode:*"},
	} {
		ch, dk := scalar(dsn, args...), scalar(duck, args...)
		if ch != dk || dk == 0 {
			t.Errorf("%v: %d on ClickHouse, %d on DuckDB", args, ch, dk)
		}
	}
	out, stderr, code := trawl(t, nil, "--db", dsn, "search", "--format", "csv", "-n", "5", "eventName:*")
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != 6 {
		t.Errorf("search rows: exit %d: %s%s", code, out, stderr)
	}
	out, stderr, code = trawl(t, nil, "--db", dsn, "schema", "cloudtrail")
	if code != 0 || !strings.Contains(out, "event_name") {
		t.Errorf("schema: exit %d: %s%s", code, out, stderr)
	}
	out, stderr, code = trawl(t, nil, "--db", dsn, "schema")
	if code != 0 || !strings.Contains(out, "guardduty_finding") || strings.Contains(out, "\ncloudtrail_data,") {
		t.Errorf("schema lists the user tables, not the _data tables behind them: exit %d: %s%s", code, out, stderr)
	}
	out, stderr, code = trawl(t, nil, "--db", dsn, "alerts", "list")
	if code != 0 {
		t.Errorf("alerts list: exit %d: %s%s", code, out, stderr)
	}
	out, stderr, code = trawl(t, nil, "--db", dsn, "verify", "--dry-run", data)
	if code > 3 {
		t.Errorf("verify --dry-run: exit %d: %s%s", code, out, stderr)
	}
	// prune: the dry run counts what the real one deletes.
	out, stderr, code = trawl(t, nil, "--db", dsn, "prune", "--before", "2100-01-01", "--tables", "cloudtrail", "--dry-run")
	if code != 0 || !strings.Contains(out, "cloudtrail: would delete ") || strings.Contains(out, "would delete 0 ") {
		t.Errorf("prune --dry-run: exit %d: %s%s", code, out, stderr)
	}
	// The password never shows in what trawl prints.
	withPW := strings.Replace(dsn, "clickhouse://", "clickhouse://default:s3cr3t-pw@", 1)
	out, stderr, _ = trawl(t, nil, "--db", withPW, "query", "SELECT 1")
	if strings.Contains(out+stderr, "s3cr3t-pw") {
		t.Errorf("the password is printed: %s%s", out, stderr)
	}
}
