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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestCollectS3 runs `trawl run --once` for an s3 source against an
// S3-compatible server on 127.0.0.1 holding the demo's organisation
// layout: it stores what ingesting the same files from disk stores, and a
// second pass reads nothing again.
func TestCollectS3(t *testing.T) {
	ctx := context.Background()
	dir, _, srv := fakeBucket(t)
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
	collectS3(t, ctx, srv.URL, disk)
}

// fakeBucket fills an S3-compatible server on 127.0.0.1 with the demo's
// organisation layout, in bucket trail-bucket.
func fakeBucket(t *testing.T, start ...time.Time) (string, *s3mem.Backend, *httptest.Server) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	gcfg := gen.DefaultConfig()
	gcfg.CloudTrailEvents, gcfg.FlowRecords, gcfg.Findings = 1500, 3000, 10
	if len(start) > 0 {
		gcfg.Start, gcfg.Duration = start[0], 24*time.Hour
	}
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
	return dir, be, srv
}

func collectS3(t *testing.T, ctx context.Context, url string, disk *Store) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "s3.duckdb")
	yaml := fmt.Sprintf("store: {path: %s}\naws: {region: us-east-1, endpoint: %q}\nsources:\n  - name: trail\n    s3: {bucket: trail-bucket, prefix: AWSLogs}\n", db, url)
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

// TestVerifyContinuously deletes a log file from the bucket: the next
// hourly verification of an s3 source with verify: true logs it and sets
// the trawl_verify_problems metric.
func TestVerifyContinuously(t *testing.T) {
	// A day of data that ended two hours ago: the last day's verification
	// covers it.
	dir, be, srv := fakeBucket(t, time.Now().UTC().Add(-26*time.Hour).Truncate(time.Hour))
	defer srv.Close()
	var logFiles []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err == nil && !d.IsDir() && strings.Contains(rel, "/CloudTrail/") {
			logFiles = append(logFiles, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(logFiles)
	victim := logFiles[len(logFiles)/2]
	if _, err := be.DeleteObject("trail-bucket", victim); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("trawl.yaml", []byte(fmt.Sprintf("aws: {region: us-east-1, endpoint: %q}\nsources:\n  - name: trail\n    s3: {bucket: trail-bucket, verify: true}\n", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved := VerifyEvery
	VerifyEvery = 50 * time.Millisecond
	defer func() { VerifyEvery = saved }()
	m := metrics.New()
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		verifyContinuously(ctx, cfg.Sources[0], SourceEnv{Store: st, Log: log, Metrics: m})
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	var text string
	for {
		mu.Lock()
		text = logs.String()
		mu.Unlock()
		if strings.Contains(text, "msg=verified") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verification logged:\n%s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(text, "problem=missing-log-file") || !strings.Contains(text, victim) {
		t.Errorf("the deleted %s is not reported:\n%s", victim, text)
	}
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `trawl_verify_problems{kind="missing-log-file",source="trail"} 1`) {
		t.Errorf("metrics lack the problem:\n%s", grepLines(rec.Body.String(), "trawl_verify"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
