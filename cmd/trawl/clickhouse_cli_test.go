package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// TestCommandsOnClickHouse runs the commands that read or write the store
// with --db clickhouse://…: ingest (twice: the second run skips every
// object), query, search (rows, --count), schema, alerts list, verify
// --dry-run and prune --dry-run; trawl serve's SQL console.
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
	// The JSON look-up query --help gives for ClickHouse counts what
	// DuckDB's param() counts.
	chUsers := scalar(dsn, "query", "--format", "csv", "SELECT count(*) FROM cloudtrail WHERE visitParamExtractString(request_parameters, 'userName') != ''")
	dkUsers := scalar(duck, "query", "--format", "csv", "SELECT count(*) FROM cloudtrail WHERE coalesce(param(request_parameters, 'userName'), '') != ''")
	if chUsers != dkUsers || dkUsers == 0 {
		t.Errorf("events with a requestParameters.userName: ClickHouse %d, DuckDB %d", chUsers, dkUsers)
	}

	// trawl serve on ClickHouse: the SQL console answers reads and
	// refuses writes (readonly=1), and the data is unchanged after.
	base, _ := startServe(t, nil, "--db", dsn)
	sqlPost := func(sql string) (int, string) {
		req, err := http.NewRequest("POST", base+"/api/sql", strings.NewReader(`{"sql": `+strconv.Quote(sql)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Trawl-Request", "1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	n := strconv.FormatInt(scalar(dsn, "query", "--format", "csv", "SELECT count(*) FROM cloudtrail"), 10)
	if code, body := sqlPost("SELECT count() AS n FROM cloudtrail"); code != 200 || !strings.Contains(body, n) {
		t.Errorf("/api/sql count on ClickHouse: %d %s, want 200 with %s", code, body, n)
	}
	if code, body := sqlPost("INSERT INTO cloudtrail_data (event_id) VALUES ('x')"); code != 403 {
		t.Errorf("/api/sql INSERT on ClickHouse: %d %s, want 403", code, body)
	}
	if code, body := sqlPost("SELECT count() AS n FROM cloudtrail"); code != 200 || !strings.Contains(body, n) {
		t.Errorf("/api/sql count after a refused INSERT: %d %s, want 200 with %s", code, body, n)
	}

	withPW := strings.Replace(dsn, "clickhouse://", "clickhouse://default:s3cr3t-pw@", 1)
	out, stderr, _ = trawl(t, nil, "--db", withPW, "query", "SELECT 1")
	if strings.Contains(out+stderr, "s3cr3t-pw") {
		t.Errorf("the password is printed: %s%s", out, stderr)
	}
}
