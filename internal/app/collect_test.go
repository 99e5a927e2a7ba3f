package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// ctLine is a CloudTrail record at a time.
func ctLine(id string, at time.Time) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s","eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1"}`, id, at.UTC().Format(time.RFC3339))
}

// TestCollectorRunsSourcesWithRetention runs two configured sources once
// into one store, with retention deleting what is older than its age.
func TestCollectorRunsSourcesWithRetention(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	now := time.Now()
	lines := []string{ctLine("old", now.Add(-200*24*time.Hour)), ctLine("new-1", now.Add(-time.Hour))}
	if err := os.WriteFile(filepath.Join(dirs[0], "a.json"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[1], "b.json"), []byte(ctLine("new-2", now.Add(-2*time.Hour))), 0o644); err != nil {
		t.Fatal(err)
	}
	// A stand-in for the s3 kind that lists a local directory (its bucket).
	saved := SourceBuilders["s3"]
	defer func() { SourceBuilders["s3"] = saved }()
	SourceBuilders["s3"] = func(_ context.Context, src config.Source, env SourceEnv) (pipeline.Source, error) {
		if !env.Once {
			t.Error("the collector did not ask for one pass")
		}
		objs, err := file.Objects([]string{src.S3.Bucket}, nil)
		return pipeline.Objects(objs...), err
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	yaml := fmt.Sprintf("store:\n  path: %s\nsources:\n  - name: one\n    s3: {bucket: xxx}\n  - name: two\n    s3: {bucket: yyy}\n  - name: off\n    enabled: false\n    s3: {bucket: zzz}\nretention:\n  cloudtrail: 90d\n", db)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sources[0].S3.Bucket, cfg.Sources[1].S3.Bucket = dirs[0], dirs[1]
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := metrics.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m, Once: true}
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[event.KindCloudTrail] != 3 {
		t.Errorf("%d events collected, want 3", res.Records[event.KindCloudTrail])
	}
	// A single pass applies retention once it has collected.
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail`); n != 2 {
		t.Errorf("%d events left, want the 2 recent ones", n)
	}
}

// TestCollectorStopsCleanly checks that cancelling a collector (SIGTERM)
// commits what is complete and is no error.
func TestCollectorStopsCleanly(t *testing.T) {
	saved := SourceBuilders["s3"]
	defer func() { SourceBuilders["s3"] = saved }()
	SourceBuilders["s3"] = func(context.Context, config.Source, SourceEnv) (pipeline.Source, error) {
		return pipeline.SourceFunc(func(ctx context.Context) (pipeline.Object, error) {
			<-ctx.Done() // a source that polls for ever
			return pipeline.Object{}, ctx.Err()
		}), nil
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	cfg, err := config.Parse("trawl.yaml", []byte("sources:\n  - name: one\n    s3: {bucket: xxx}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := c.Run(ctx); err != nil {
		t.Errorf("a stopped collector returned %v", err)
	}
	cfg.Sources[0].Enabled = false
	if _, err := c.Run(context.Background()); err != ErrNoSources {
		t.Errorf("no enabled source: %v", err)
	}
}
