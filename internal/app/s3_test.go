package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestCollectS3 runs `trawl run --once` for an s3 source against an
// S3-compatible server on 127.0.0.1 holding the demo's organisation
// layout: it stores what ingesting the same files from disk stores, and a
// second pass reads nothing again.
func TestCollectS3(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	gcfg := gen.DefaultConfig()
	gcfg.CloudTrailEvents, gcfg.FlowRecords, gcfg.Findings = 1500, 3000, 10
	dir := t.TempDir()
	if _, err := gen.Generate(ctx, dir, gcfg); err != nil {
		t.Fatal(err)
	}
	be := s3mem.New()
	if err := be.CreateBucket("trail-bucket"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name()[0] == '.' {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		_, err = be.PutObject("trail-bucket", filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(b), int64(len(b)), nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()

	// The same files from disk, for comparison.
	disk, err := Open(ctx, Options{DB: filepath.Join(t.TempDir(), "disk.duckdb"), Mode: Ingest})
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	objs, _ := file.Objects([]string{dir}, nil)
	if _, err := disk.Ingest(ctx, pipeline.Objects(objs...), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}

	db := filepath.Join(t.TempDir(), "s3.duckdb")
	yaml := fmt.Sprintf("store: {path: %s}\naws: {region: us-east-1, endpoint: %q}\nsources:\n  - name: trail\n    s3: {bucket: trail-bucket, prefix: AWSLogs}\n", db, srv.URL)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Once: true}
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT count(*) FROM cloudtrail`, `SELECT count(*) FROM vpcflow`, `SELECT count(*) FROM guardduty_finding_history`,
		`SELECT count(*) FROM cloudtrail_digest`, `SELECT count(*) FROM quarantine`,
	} {
		if a, b := duckdbtest.Scalar(t, st, q), duckdbtest.Scalar(t, disk, q); a != b {
			t.Errorf("%s: %d from S3, %d from disk", q, a, b)
		}
	}
	if res.ObjectsDone == 0 || duckdbtest.Scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE object LIKE 's3://trail-bucket/AWSLogs/%'`) != int64(res.ObjectsDone) {
		t.Errorf("%d objects, ledger keys not s3://bucket/key", res.ObjectsDone)
	}
	again, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Stored() != 0 || again.ObjectsSkipped != res.ObjectsDone {
		t.Errorf("second pass: %d stored, %d of %d skipped", again.Stored(), again.ObjectsSkipped, res.ObjectsDone)
	}
}
