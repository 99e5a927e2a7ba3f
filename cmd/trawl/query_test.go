package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// queryDB ingests a few CloudTrail events into a new database.
func queryDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "t.duckdb")
	in := fmt.Sprintf(ctLine, "e1", "CreateUser") + "\n" + fmt.Sprintf(ctLine, "e2", "ListUsers")
	if out, stderr, code := trawl(t, []byte(in), "ingest", "--db", db, "-"); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, stderr)
	}
	return db
}

// TestQuerySeveralStatements checks that every result of several
// statements is printed, in every format, and that a failing statement is
// named after the results before it.
func TestQuerySeveralStatements(t *testing.T) {
	db := queryDB(t)
	q := "SELECT count(*) AS n FROM cloudtrail; SELECT 'a;b' AS s -- c;\n; SELECT event_id FROM cloudtrail ORDER BY 1;"
	out, stderr, code := trawl(t, nil, "query", "--db", db, "--format", "csv", q)
	if want := "n\n2\n\ns\na;b\n\nevent_id\ne1\ne2\n"; code != 0 || out != want {
		t.Errorf("csv: exit %d\n%q, want\n%q\n%s", code, out, want, stderr)
	}
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "json", q)
	if want := "{\"n\":2}\n{\"s\":\"a;b\"}\n{\"event_id\":\"e1\"}\n{\"event_id\":\"e2\"}\n"; code != 0 || out != want {
		t.Errorf("json: exit %d\n%q, want\n%q", code, out, want)
	}
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "table", q)
	if code != 0 || strings.Count(out, "(1 row)") != 2 || !strings.Contains(out, "(2 rows)") || !strings.Contains(out, "a;b") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	out, stderr, code = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT 7 AS x; SELECT nosuch; SELECT 8")
	if code != exitFailure || out != "x\n7\n" || !strings.Contains(stderr, "statement 2 of 3") || !strings.Contains(stderr, "nosuch") {
		t.Errorf("failing statement: exit %d\n%q\n%s", code, out, stderr)
	}
}

// TestQueryUnquotedSQL checks the hint for SQL given as several words.
func TestQueryUnquotedSQL(t *testing.T) {
	db := queryDB(t)
	_, stderr, code := trawl(t, nil, "query", "--db", db, "SELECT", "count(*)", "FROM", "cloudtrail")
	if code != exitUsage || !strings.Contains(stderr, "put the SQL in quotes") || !strings.Contains(stderr, `trawl query "SELECT count(*) FROM cloudtrail"`) {
		t.Errorf("unquoted: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "query", "--db", db)
	if code != exitUsage || !strings.Contains(stderr, "needs the SQL") {
		t.Errorf("no SQL: exit %d: %s", code, stderr)
	}
}

// TestReadmeRunsAsWritten runs every ./trawl command of README.md's shell
// examples, as written, in a new directory holding the binary as ./trawl
// (what `go build -o trawl ./cmd/trawl` gives), after `./trawl demo`; the
// block of commands that need AWS (it has s3:// in it) is left out. Each
// must exit 0; verify may exit 1, its code for problems found (the demo's
// digests are weeks old by the clock).
func TestReadmeRunsAsWritten(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := os.ReadFile(trawlBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trawl"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	var cmds []string
	demoFirst := false
	for _, block := range strings.Split(string(readme), "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "s3://") {
			continue
		}
		for _, line := range strings.Split(block, "\n") {
			if strings.HasPrefix(line, "./trawl ") {
				if len(cmds) == 0 && strings.HasPrefix(line, "./trawl demo") {
					demoFirst = true
				}
				cmds = append(cmds, line)
			}
		}
	}
	if !demoFirst || len(cmds) < 10 {
		t.Fatalf("README: %d ./trawl commands, the first one not ./trawl demo: %q", len(cmds), cmds)
	}
	for _, c := range cmds {
		cmd := exec.Command("sh", "-c", c)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TRAWL_DB=")
		out, err := cmd.CombinedOutput()
		code := 0
		var xe *exec.ExitError
		if errors.As(err, &xe) {
			code = xe.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != 0 && !(strings.HasPrefix(c, "./trawl verify ") && code == 1 && strings.Contains(string(out), "overdue-digest")) {
			t.Errorf("%s: exit %d\n%s", c, code, out)
		}
		if strings.HasPrefix(c, "./trawl query ") && !strings.Contains(string(out), "\n") {
			t.Errorf("%s: no output", c)
		}
	}
}
