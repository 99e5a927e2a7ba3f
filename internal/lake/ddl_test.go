package lake

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/athena.sql from the code")

// TestAthenaDDLGolden compares the DDL with testdata/athena.sql (go test
// -run TestAthenaDDLGolden -update rewrites it after a deliberate change).
func TestAthenaDDLGolden(t *testing.T) {
	got := strings.Join(AthenaDDL("s3://lake-bucket/trawl/", "trawl"), ";\n\n") + ";\n"
	if *update {
		if err := os.WriteFile("testdata/athena.sql", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/athena.sql")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("DDL differs from testdata/athena.sql (-update to rewrite):\n%s", got)
	}
}

var (
	colLine  = regexp.MustCompile("^  `([a-z0-9_]+)` ([a-z]+),?$")
	partRe   = regexp.MustCompile(`^PARTITIONED BY \((.*)\)$`)
	createRe = regexp.MustCompile("^CREATE EXTERNAL TABLE IF NOT EXISTS `db`\\.`([a-z]+)` \\($")
)

// TestAthenaDDLMatchesTables parses the DDL back: every table of Tables()
// with exactly its columns in order, each of the type its schema type maps
// to, its partition keys as strings, projection for each key, and a
// location template naming each key.
func TestAthenaDDLMatchesTables(t *testing.T) {
	stmts := AthenaDDL("s3://b/p", "db")
	if stmts[0] != "CREATE DATABASE IF NOT EXISTS `db`" {
		t.Fatalf("first statement %q", stmts[0])
	}
	tables := Tables()
	if len(stmts) != len(tables)+1 {
		t.Fatalf("%d statements for %d tables", len(stmts), len(tables))
	}
	wantType := map[schema.Type]string{schema.String: "string", schema.Timestamp: "timestamp", schema.Bool: "boolean", schema.Int32: "int", schema.Int64: "bigint", schema.Float64: "double"}
	for i, tb := range tables {
		lines := strings.Split(stmts[i+1], "\n")
		m := createRe.FindStringSubmatch(lines[0])
		if m == nil || m[1] != tb.Name {
			t.Fatalf("statement %d starts %q, want table %s", i+1, lines[0], tb.Name)
		}
		var cols []Column
		j := 1
		for ; lines[j] != ")"; j++ {
			cm := colLine.FindStringSubmatch(lines[j])
			if cm == nil {
				t.Fatalf("%s: line %q is not a column", tb.Name, lines[j])
			}
			cols = append(cols, Column{Name: cm[1], Type: typeNamed(t, wantType, cm[2])})
		}
		if len(cols) != len(tb.Columns) {
			t.Fatalf("%s: %d columns in DDL, %d in Tables()", tb.Name, len(cols), len(tb.Columns))
		}
		for k := range cols {
			if cols[k] != tb.Columns[k] {
				t.Errorf("%s column %d: DDL %+v, table %+v", tb.Name, k, cols[k], tb.Columns[k])
			}
		}
		pm := partRe.FindStringSubmatch(lines[j+1])
		if pm == nil {
			t.Fatalf("%s: no PARTITIONED BY after the columns: %q", tb.Name, lines[j+1])
		}
		var parts []string
		for _, p := range tb.Partitions {
			parts = append(parts, "`"+p+"` string")
		}
		if pm[1] != strings.Join(parts, ", ") {
			t.Errorf("%s: partitions %q", tb.Name, pm[1])
		}
		body := stmts[i+1]
		if !strings.Contains(body, "\nSTORED AS PARQUET\nLOCATION 's3://b/p/"+tb.Name+"/'\n") {
			t.Errorf("%s: storage/location wrong:\n%s", tb.Name, body)
		}
		tmpl := "s3://b/p/" + tb.Name
		for _, p := range tb.Partitions {
			if !strings.Contains(body, "'projection."+p+".type'=") {
				t.Errorf("%s: no projection for %s", tb.Name, p)
			}
			tmpl += "/" + p + "=${" + p + "}"
		}
		if !strings.Contains(body, "'storage.location.template'='"+tmpl+"'") {
			t.Errorf("%s: template is not %s", tb.Name, tmpl)
		}
		if !strings.Contains(body, "'projection.account.type'='injected'") {
			t.Errorf("%s: account not injected by default", tb.Name)
		}
	}
}

func typeNamed(t *testing.T, m map[schema.Type]string, name string) schema.Type {
	for k, v := range m {
		if v == name {
			return k
		}
	}
	t.Fatalf("unknown Athena type %q", name)
	return 0
}

func TestAthenaDDLOptions(t *testing.T) {
	stmts := AthenaDDLWith("s3://b", "", DDLOptions{Accounts: []string{"111", "222"}, Regions: []string{"eu-west-1"}, FirstDay: "2024-01-01"})
	if len(stmts) != 3 || !strings.HasPrefix(stmts[0], "CREATE EXTERNAL TABLE IF NOT EXISTS `cloudtrail`") {
		t.Fatalf("without a database: %q", stmts[0])
	}
	for _, want := range []string{"'projection.account.type'='enum'", "'projection.account.values'='111,222'", "'projection.region.values'='eu-west-1'", "'projection.dt.range'='2024-01-01,NOW'"} {
		if !strings.Contains(stmts[0], want) {
			t.Errorf("missing %s in\n%s", want, stmts[0])
		}
	}
}
