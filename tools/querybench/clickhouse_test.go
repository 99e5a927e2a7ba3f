package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// TestQueryBenchClickHouse runs the benchmark once on a ClickHouse
// database filled from a small generated data set: every request (the
// same list as on DuckDB) answers 200 through the ClickHouse dialect.
func TestQueryBenchClickHouse(t *testing.T) {
	dir := t.TempDir()
	o := options{db: chtest.DSN(t), dir: filepath.Join(dir, "data"), ct: 2000, flows: 2000, n: 1}
	var out bytes.Buffer
	if err := build(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"clickhouse://", "panel cloudtrail/", "panel vpcflow/", "panel guardduty/", "histogram eventName",
		"page requestParameters field", "fields free text rare", "page free text common", "event vpcflow", "event cloudtrail (no time)",
		"requests with p95 over 300 ms"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in the output:\n%s", want, s)
		}
	}
	if strings.Contains(s, ": 4") || strings.Contains(s, ": 5") {
		t.Errorf("a request failed:\n%s", s)
	}
}
