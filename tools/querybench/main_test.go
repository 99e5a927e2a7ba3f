package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryBench runs the benchmark once on a small generated database:
// every request answers 200 and gets a line with its figures.
func TestQueryBench(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), options{db: filepath.Join(dir, "q.duckdb"), dir: filepath.Join(dir, "data"), ct: 2000, flows: 2000, n: 1}, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"panel cloudtrail/", "panel vpcflow/", "panel guardduty/", "histogram eventName", "page requestParameters field",
		"fields free text rare", "page free text common", "event vpcflow", "event cloudtrail (no time)", "requests with p95 over 300 ms"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in the output:\n%s", want, s)
		}
	}
	if strings.Contains(s, ": 4") || strings.Contains(s, ": 5") {
		t.Errorf("a request failed:\n%s", s)
	}
}
