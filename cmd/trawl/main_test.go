package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/schemadoc"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// trawlBin is the trawl binary built once for the tests that need a real
// process (kill -9, exit codes, stdin).
var trawlBin string

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// A child process started by a test to run one helper: it needs no binary.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "trawl-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trawlBin = filepath.Join(dir, "trawl")
	build := exec.Command("go", "build", "-o", trawlBin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building trawl:", err)
		os.Exit(1)
	}
	code := m.Run()
	chtest.Stop() // the ClickHouse server of the tests that started one
	os.RemoveAll(dir)
	os.Exit(code)
}

// trawl runs the binary and returns its stdout, stderr and exit code.
func trawl(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(trawlBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// generate writes a small generated data set and returns its directory.
func generate(t testing.TB, events, flows int) (string, *gen.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords = events, flows
	cfg.Duration = 6 * time.Hour
	m, err := gen.Generate(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// tableCounts summarises a database for comparisons.
func tableCounts(t *testing.T, db string) map[string]int64 {
	t.Helper()
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]int64{}
	for name, q := range map[string]string{
		"cloudtrail":          `SELECT count(*) FROM cloudtrail_base`,
		"cloudtrail distinct": `SELECT count(DISTINCT (event_id, event_time)) FROM cloudtrail_base`,
		"vpcflow":             `SELECT count(*) FROM vpcflow`,
		"vpcflow distinct":    `SELECT count(DISTINCT (source, raw)) FROM vpcflow`,
		"findings":            `SELECT count(*) FROM guardduty_finding`,
		"finding versions":    `SELECT count(*) FROM guardduty_finding_history`,
		"digests":             `SELECT count(*) FROM cloudtrail_digest`,
		"digest files":        `SELECT count(*) FROM cloudtrail_digest_file`,
		"quarantine":          `SELECT count(*) FROM quarantine`,
		"ledger done":         `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`,
		"ledger rows":         `SELECT coalesce(sum(records), 0) FROM ingest_ledger`,
	} {
		out[name] = duckdbtest.Scalar(t, st, q)
	}
	return out
}

// TestCrashResume kills `trawl ingest` with SIGKILL twice in the middle of a
// run; after a final run the database equals one from an uninterrupted run.
func TestCrashResume(t *testing.T) {
	data, m := generate(t, 30000, 60000)
	tmp := t.TempDir()
	clean := filepath.Join(tmp, "clean.duckdb")
	if _, stderr, code := trawl(t, nil, "ingest", "--db", clean, "--progress", "never", data); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, stderr)
	}
	want := tableCounts(t, clean)
	if want["cloudtrail"] != int64(m.CloudTrailEvents) || want["vpcflow"] != int64(m.FlowRecords) || want["finding versions"] != int64(m.FindingVersions) {
		t.Fatalf("clean run stored %v; the generator wrote %d events, %d flows, %d finding versions", want, m.CloudTrailEvents, m.FlowRecords, m.FindingVersions)
	}

	crashed := filepath.Join(tmp, "crashed.duckdb")
	for round, at := range []float64{0.25, 0.6} {
		// Small transactions, so that several commits happen before the kill.
		cmd := exec.Command(trawlBin, "ingest", "--db", crashed, "--progress", "always", "--tx-rows", "3000", "--tx-age", "200ms", data)
		killAtProgress(t, cmd, round, func(done, total int) bool { return float64(done) >= at*float64(total) })
	}
	partial := tableCounts(t, crashed)
	if partial["cloudtrail"]+partial["vpcflow"] == 0 || partial["ledger done"] >= want["ledger done"] {
		t.Fatalf("the killed runs should leave a partial database: %v", partial)
	}
	out, stderr, code := trawl(t, nil, "ingest", "--db", crashed, "--progress", "never", data)
	if code != 0 {
		t.Fatalf("resumed run: exit %d: %s\n%s", code, out, stderr)
	}
	got := tableCounts(t, crashed)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d after crashes and a resume, %d in an uninterrupted run", k, got[k], v)
		}
	}
	if !strings.Contains(out, "unchanged, skipped") {
		t.Errorf("the resumed run should report skipped objects:\n%s", out)
	}
}

// scanCR splits on \r as well as \n (the progress line is redrawn with \r).
func scanCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\r' || b == '\n' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func writeFile(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const ctLine = `{"eventVersion":"1.08","eventID":"%s","eventTime":"2026-11-02T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"%s","userIdentity":{"type":"IAMUser","userName":"alice"},"requestParameters":{"userName":"bob"}}`

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	good := filepath.Join(dir, "good", "ct.json")
	writeFile(t, good, fmt.Sprintf(ctLine, "e1", "CreateUser")+"\n"+fmt.Sprintf(ctLine, "e2", "DeleteUser")+"\n")
	out, stderr, code := trawl(t, nil, "ingest", "--db", db, filepath.Dir(good))
	if code != exitOK || !strings.Contains(out, "2 CloudTrail events") {
		t.Fatalf("clean ingest: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = trawl(t, nil, "ingest", "--db", db, filepath.Dir(good))
	if code != exitOK || !strings.Contains(out, "1 unchanged, skipped: already ingested") || !strings.Contains(out, "no new records") {
		t.Errorf("re-ingest: exit %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad", "ct.json")
	writeFile(t, bad, fmt.Sprintf(ctLine, "e3", "CreateUser")+"\n{\"eventVersion\": broken\n")
	out, stderr, code = trawl(t, nil, "ingest", "--db", db, bad)
	if code != exitPartial || !strings.Contains(out, "quarantined: 1") {
		t.Errorf("partly bad input: exit %d, want %d\n%s%s", code, exitPartial, out, stderr)
	}
	if want := "quarantined: " + bad + ":2 (byte "; !strings.Contains(stderr, want) || !strings.Contains(stderr, "invalid JSON") {
		t.Errorf("stderr should name the file, line and reason (%q):\n%s", want, stderr)
	}
	_, stderr, code = trawl(t, nil, "ingest", "--db", db, filepath.Join(dir, "missing"))
	if code != exitFailure || !strings.Contains(stderr, "missing") {
		t.Errorf("missing path: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "ingest", "--db", db, "--type", "nonsense", good)
	if code != exitUsage || !strings.Contains(stderr, "--type") {
		t.Errorf("bad --type: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "ingest", "--no-such-flag", good)
	if code != exitUsage || !strings.Contains(stderr, "unknown flag") {
		t.Errorf("unknown flag: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "ingest", "--db", db, "--vpc-format", "${version} ${nope}", good)
	if code != exitUsage || !strings.Contains(stderr, "nope") {
		t.Errorf("bad --vpc-format: exit %d: %s", code, stderr)
	}
	_, _, code = trawl(t, nil, "ingest")
	if code != exitUsage {
		t.Errorf("no arguments: exit %d", code)
	}
	// The quarantine entry names the object, line and reason.
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT object, line, reason FROM quarantine")
	if code != 0 || !strings.Contains(out, bad) || !strings.Contains(out, ",2,") || !strings.Contains(out, "invalid JSON") {
		t.Errorf("quarantine entry: %s", out)
	}
}

func TestStdinAndQueryFormats(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	in := fmt.Sprintf(ctLine, "e1", "CreateUser") + "\n" + fmt.Sprintf(ctLine, "e2", "CreateUser") + "\n" + fmt.Sprintf(ctLine, "e3", "ListUsers")
	out, stderr, code := trawl(t, []byte(in), "ingest", "--db", db, "-")
	if code != 0 || !strings.Contains(out, "3 CloudTrail events") {
		t.Fatalf("stdin: exit %d\n%s%s", code, out, stderr)
	}
	q := "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1"
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "csv", q)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 3 || recs[1][0] != "CreateUser" || recs[1][1] != "2" {
		t.Errorf("csv: %q %v", out, err)
	}
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "json", q)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var row map[string]any
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &row) != nil || row["event_name"] != "CreateUser" || row["n"] != float64(2) {
		t.Errorf("json: %q", out)
	}
	out, _, code = trawl(t, nil, "query", "--db", db, "--format", "table", q)
	if code != 0 || !strings.Contains(out, "event_name") || !strings.Contains(out, "CreateUser  2") || !strings.Contains(out, "(2 rows)") {
		t.Errorf("table: %q", out)
	}
	out, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT source, request_parameters->>'$.userName' AS u FROM cloudtrail LIMIT 1")
	if !strings.Contains(out, "stdin,bob") {
		t.Errorf("stdin source and JSON columns: %q", out)
	}
	_, stderr, code = trawl(t, nil, "query", "--db", db, "SELECT * FROM no_such_table")
	if code != exitFailure || !strings.Contains(stderr, "no_such_table") {
		t.Errorf("bad SQL: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "query", "--db", filepath.Join(t.TempDir(), "none.duckdb"), "SELECT 1")
	if code != exitFailure || !strings.Contains(stderr, "no database at") {
		t.Errorf("missing db: exit %d: %s", code, stderr)
	}
	_, stderr, code = trawl(t, nil, "query", "--db", db, "--format", "xml", "SELECT 1")
	if code != exitUsage || !strings.Contains(stderr, "--format") {
		t.Errorf("bad format: exit %d: %s", code, stderr)
	}
}

func TestLockedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.duckdb")
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, stderr, code := trawl(t, nil, "query", "--db", db, "SELECT 1")
	if code != exitFailure || !strings.Contains(stderr, "in use by another process") {
		t.Errorf("locked database: exit %d: %s", code, stderr)
	}
	// No server holds it (no DB.server.json): the message names the way out.
	if !strings.Contains(stderr, "another --db") {
		t.Errorf("the locked-database message should name only real commands and the way out: %s", stderr)
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, _, code := trawl(t, nil, "version")
	if code != 0 || !strings.Contains(out, "trawl ") || !regexp.MustCompile(`duckdb\s+v1\.\d+\.\d+`).MatchString(out) {
		t.Errorf("version: %q", out)
	}
	for _, cmd := range [][]string{{"--help"}, {"ingest", "--help"}, {"query", "--help"}, {"demo", "--help"}} {
		out, _, code := trawl(t, nil, cmd...)
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--db") {
			t.Errorf("%v: exit %d: %q", cmd, code, out)
		}
	}
	out, _, _ = trawl(t, nil, "ingest", "--help")
	for _, want := range []string{"Exit status", "quarantine", "--vpc-format", "resumes"} {
		if !strings.Contains(out, want) {
			t.Errorf("ingest --help does not mention %q", want)
		}
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.duckdb")
	args := []string{"demo", "--db", db, "--out", filepath.Join(dir, "data"), "--events", "3000", "--flows", "8000", "--progress", "never", "--no-serve"}
	out, stderr, code := trawl(t, nil, args...)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"CloudTrail events", "Busiest API calls", "What stands out",
		"attached AdministratorAccess to IAM user svc-backup-sync",
		"console login without MFA by svc-backup-sync",
		"called StopLogging",
		"port scan:",
		"UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
		// The built-in rules' alerts on the attack, among the most severe.
		"Alerts raised by the built-in rules",
		"AdministratorAccess attached by ci-deployer",
		"CloudTrail StopLogging arn:aws:cloudtrail:us-east-1:428592661197:trail/organization-trail by svc-backup-sync",
		"Flow logs fl-3f3eb9142928d2702 deleted by svc-backup-sync",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "generating demo data") {
		t.Errorf("stderr: %s", stderr)
	}
	// A second run reuses the files and ingests nothing new.
	out2, stderr2, code := trawl(t, nil, args...)
	if code != 0 || !strings.Contains(stderr2, "reusing the demo data") || !strings.Contains(stderr2, "unchanged, skipped") {
		t.Errorf("second demo run: exit %d\n%s", code, stderr2)
	}
	if out2 != out {
		t.Errorf("the summary changed between runs:\n%s\n---\n%s", out, out2)
	}
	// The demo database answers queries.
	q, _, _ := trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT count(*) FROM cloudtrail WHERE event_name = 'StopLogging'")
	if n := strings.TrimSpace(strings.TrimPrefix(q, "count_star()")); n == "0" || n == "" {
		t.Errorf("StopLogging count: %q", q)
	}
	// The demo enriches: the attacker's address has its (synthetic) place,
	// and user agents their class.
	q, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT count(*) FROM cloudtrail WHERE src_country = 'DE' AND src_asn = 60729 AND ua_class IS NOT NULL")
	if n := strings.TrimSpace(strings.TrimPrefix(q, "count_star()")); n == "0" || n == "" {
		t.Errorf("events from the attacker's address with geo data: %q", q)
	}
	q, _, _ = trawl(t, nil, "query", "--db", db, "--format", "csv", "SELECT count(*) FROM vpcflow WHERE src_country IS NOT NULL OR dst_country IS NOT NULL")
	if n := strings.TrimSpace(strings.TrimPrefix(q, "count_star()")); n == "0" || n == "" {
		t.Errorf("flows with geo data: %q", q)
	}
}

// TestSchemaDocumented checks docs/schema.md against the schema a new
// store creates: every column of every table and view is listed, with its
// type, in the column table of the section whose heading names that table;
// columns marked computed exist only in views; and every documented column
// exists, so the documentation cannot drift from the code either way.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "schema.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := schemadoc.Parse(string(doc))
	db := filepath.Join(t.TempDir(), "t.duckdb")
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows := duckdbtest.Rows(t, st, `SELECT c.table_name, t.table_type = 'VIEW', c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
		WHERE c.table_name <> 'trawl_meta' ORDER BY 1, c.ordinal_position`)
	type key struct{ table, col string }
	actual := map[key]string{}
	isView := map[string]bool{}
	var problems []string
	for _, r := range rows {
		table, view, col, typ := r[0], r[1] == "true", r[2], r[3]
		typ = strings.ReplaceAll(typ, "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
		actual[key{table, col}] = typ
		isView[table] = view
		sec, ok := sections[table]
		if !ok {
			problems = append(problems, fmt.Sprintf("table %s has no section (a heading naming `%s`)", table, table))
			continue
		}
		d, ok := sec.Columns[col]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s.%s (%s) is not in the column table under %q", table, col, typ, sec.Heading))
		case d.Type != typ:
			problems = append(problems, fmt.Sprintf("%s.%s is %s, documented as %q (line %d)", table, col, typ, d.Type, d.Line))
		case d.Computed && !view:
			problems = append(problems, fmt.Sprintf("%s.%s is stored in table %s but documented as computed (line %d)", table, col, table, d.Line))
		case schemadoc.Describe(sections, table, col) == "":
			problems = append(problems, fmt.Sprintf("%s.%s has no description, here or under the table it is read through (line %d)", table, col, d.Line))
		}
	}
	// Every documented column exists in its section's tables: a computed
	// one in a view, any other one in every table of the section.
	for _, sec := range sections {
		for col, d := range sec.Columns {
			for _, table := range sec.Tables {
				if _, ok := actual[key{table, col}]; !ok && (!d.Computed || isView[table]) {
					problems = append(problems, fmt.Sprintf("line %d documents %s.%s, which does not exist", d.Line, table, col))
				}
			}
		}
	}
	sort.Strings(problems)
	problems = slices.Compact(problems)
	if len(problems) > 0 {
		t.Errorf("docs/schema.md does not match the schema:\n%s", strings.Join(problems, "\n"))
	}
	_ = sql.ErrNoRows
}

// killAtProgress starts cmd (a trawl ingest with --progress always) and
// kills it with SIGKILL once its progress line reports objects done and in
// total for which reached is true; the run must die by that signal.
func killAtProgress(t *testing.T, cmd *exec.Cmd, round int, reached func(done, total int) bool) {
	t.Helper()
	progress := regexp.MustCompile(`(\d+)/(\d+) objects`)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Split(scanCR)
	killed := false
	for sc.Scan() {
		mm := progress.FindStringSubmatch(sc.Text())
		if mm == nil {
			continue
		}
		done, _ := strconv.Atoi(mm[1])
		total, _ := strconv.Atoi(mm[2])
		if reached(done, total) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: the run ended before it could be killed (%v)", round, err)
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: expected death by SIGKILL, got %v", round, err)
	}
}
