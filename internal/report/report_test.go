package report_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/report"
	"github.com/trawl-project/trawl/internal/source/file"
)

// ingest generates a small data set, with or without the attack story, and
// ingests it.
func ingest(t *testing.T, attack bool) *app.Store {
	t.Helper()
	ctx := context.Background()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 2000, 5000, 10
	cfg.Attack = attack
	dir := t.TempDir()
	if _, err := gen.Generate(ctx, dir, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := app.Open(ctx, app.Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestChecksFindTheAttack runs every check on generated data with the
// attack story (each finds it) and without (the attack's checks find
// nothing).
func TestChecksFindTheAttack(t *testing.T) {
	ctx := context.Background()
	st := ingest(t, true)
	for _, c := range report.Checks {
		rows, err := c.Run(ctx, st.Querier())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if len(rows) == 0 {
			t.Errorf("%s found nothing in data with the attack", c.Name)
		}
		for _, r := range rows {
			if line := c.Line(r); !strings.HasPrefix(line, "! ") {
				t.Errorf("%s: line %q", c.Name, line)
			}
		}
	}
	var b bytes.Buffer
	if err := report.Summary(ctx, st.Querier(), &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The database holds", "AdministratorAccess", "StopLogging", "port scan"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	// "What stands out" in the summary is in time order, and has every
	// check's lines.
	_, section, _ := strings.Cut(b.String(), "What stands out:\n")
	section, _, _ = strings.Cut(section, "\n\n")
	shown := strings.Split(section, "\n")
	prev := ""
	for _, l := range shown {
		ts := strings.TrimPrefix(strings.TrimSpace(l), "! ")[:16]
		if ts < prev {
			t.Errorf("what stands out is not in time order: %q after %s:\n%s", l, prev, section)
		}
		prev = ts
	}
	lines, err := report.Standouts(ctx, st.Querier())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(shown) || len(lines) < len(report.Checks) {
		t.Errorf("%d lines shown, %d found by %d checks:\n%s", len(shown), len(lines), len(report.Checks), section)
	}

	quiet := ingest(t, false)
	for _, c := range report.Checks {
		if c.Name == "guardduty-medium-or-higher" {
			continue // background findings have medium severities too
		}
		rows, err := c.Run(ctx, quiet.Querier())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if len(rows) != 0 {
			t.Errorf("%s found %d rows in data without the attack: %v", c.Name, len(rows), rows)
		}
	}
}
