package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
)

func scalar(t *testing.T, q store.Querier, sql string) string {
	t.Helper()
	rows, err := store.Collect(context.Background(), q, store.Request{SQL: sql}, output.Text)
	if err != nil || len(rows) != 1 {
		t.Fatalf("%s: %v %v", sql, rows, err)
	}
	return rows[0][0]
}

// TestSinksBesideTheStore builds the sinks of a trawl.yaml — a lake
// directory and an OpenSearch cluster with basic auth from a password
// file — and ingests generated data into a DuckDB store with them: the
// lake holds as many CloudTrail events as the store, and the cluster got
// documents in daily CloudTrail indices. Without a store section the lake
// becomes the ledger holder instead of a sink.
func TestSinksBesideTheStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgGen := gen.DefaultConfig()
	cfgGen.CloudTrailEvents, cfgGen.FlowRecords, cfgGen.Duration = 2000, 2000, 3*time.Hour
	if _, err := gen.Generate(ctx, data, cfgGen); err != nil {
		t.Fatal(err)
	}
	cluster := ostest.New(t)
	cluster.Username, cluster.Password = "trawl", "pw-from-file"
	pwFile := filepath.Join(dir, "os-password")
	if err := writeFile(pwFile, "pw-from-file\n"); err != nil {
		t.Fatal(err)
	}
	yaml := "store: {path: t.duckdb}\nsinks:\n  - name: lake\n    lake: {target: lake}\n" +
		"  - name: search\n    opensearch: {urls: ['" + cluster.URL + "'], username: trawl, password_file: os-password}\n"
	cfg, err := config.Parse(filepath.Join(dir, "trawl.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sinks, err := app.OpenSinks(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sinks.Sinks) != 2 || sinks.Ledger != nil || strings.Join(sinks.Names, ",") != "lake,search" {
		t.Fatalf("sinks %v (%d), ledger %v; want lake and search beside the store", sinks.Names, len(sinks.Sinks), sinks.Ledger)
	}
	st, err := app.Open(ctx, app.Options{DB: cfg.Store.Path, Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objs, err := file.Objects([]string{data}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{Sinks: sinks.Sinks}); err != nil {
		t.Fatal(err)
	}
	if err := sinks.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stored := scalar(t, st, "SELECT count(*) FROM cloudtrail_base")
	r, err := lake.OpenReader(ctx, filepath.Join(dir, "lake"), lake.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := scalar(t, r, "SELECT count(*) FROM cloudtrail"); got != stored || stored == "0" {
		t.Errorf("lake: %s CloudTrail events, store %s", got, stored)
	}
	var ct int
	for _, ix := range cluster.Indices() {
		if strings.HasPrefix(ix, "cloudtrail-2026.") {
			ct++
		}
	}
	if ct == 0 || cluster.BulkRequests() == 0 {
		t.Errorf("the cluster got %d _bulk requests, indices %v; want daily cloudtrail indices", cluster.BulkRequests(), cluster.Indices())
	}

	// No store: the lake holds the ledger and is no sink.
	cfg, err = config.Parse(filepath.Join(dir, "trawl.yaml"), []byte("sinks:\n  - name: lake\n    lake: {target: lake2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	only, err := app.OpenSinks(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close(ctx)
	if only.Ledger == nil || len(only.Sinks) != 0 {
		t.Fatalf("lake only: ledger %v, %d sinks", only.Ledger, len(only.Sinks))
	}
	lst := app.LakeStore(only.Ledger, app.Ingest)
	res, err := lst.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ObjectsDone != len(objs) {
		t.Errorf("lake store: %d of %d objects done", res.ObjectsDone, len(objs))
	}
	if _, err := lst.Query(ctx, store.Request{SQL: "SELECT 1"}); err == nil {
		t.Error("a lake store answered SQL; want ErrNoSQL")
	}

	// A missing password file is reported with the sink's name.
	cfg, err = config.Parse(filepath.Join(dir, "trawl.yaml"), []byte("sinks:\n  - name: search\n    opensearch: {urls: ['"+cluster.URL+"'], username: u, password_file: nope}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.OpenSinks(ctx, cfg); err == nil || !strings.Contains(err.Error(), "sink search: password_file") {
		t.Errorf("missing password file: %v", err)
	}
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o600) }
