package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// TestCopyVerify copies a small DuckDB store into a ClickHouse database
// and -verify finds every spot answer equal; a second copy sends nothing
// (every hour is complete) and the answers stay equal.
func TestCopyVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 1500, 2000, 20
	if _, err := gen.Generate(ctx, filepath.Join(dir, "data"), cfg); err != nil {
		t.Fatal(err)
	}
	objs, err := file.Objects([]string{filepath.Join(dir, "data")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	duck := filepath.Join(dir, "src.duckdb")
	st, err := app.Open(ctx, app.Options{DB: duck, Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	o := options{duck: duck, db: chtest.DSN(t), dir: t.TempDir(), tables: strings.Join(defaultTables, ","), memory: "256MB", desc: true}
	var out bytes.Buffer
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("copy: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "cloudtrail: 0 rows") || strings.Contains(out.String(), "vpcflow: 0 rows") {
		t.Errorf("copy output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("second copy: %v", err)
	}
	if !strings.Contains(out.String(), "cloudtrail: 0 rows") || !strings.Contains(out.String(), "vpcflow: 0 rows") {
		t.Errorf("second copy sent rows again:\n%s", out.String())
	}
	out.Reset()
	o.verify, o.since = true, time.Unix(0, 0)
	if err := run(ctx, o, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "DIFFERENT") || strings.Count(out.String(), ": same") != len(spot) {
		t.Errorf("verify:\n%s", out.String())
	}
}
