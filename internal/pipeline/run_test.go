package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func ctRecord(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"id-%06d","eventTime":"2026-11-02T10:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","requestParameters":{"bucketName":"b","key":"k%d"}}`, i, (i/60)%60, i%60, i)
}

// writeCT writes n records as a gzipped CloudTrail log file.
func writeCT(t *testing.T, path string, from, n int) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, `{"Records":[`)
	for i := from; i < from+n; i++ {
		if i > from {
			io.WriteString(zw, ",")
		}
		io.WriteString(zw, ctRecord(i))
	}
	io.WriteString(zw, `]}`)
	zw.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFlows(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "2 111122223333 eni-0123 10.0.0.%d 10.0.1.1 %d 443 6 1 60 1793613000 1793613060 ACCEPT OK\n", i%250, 1024+i)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, path string) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), path, duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func scalar(t *testing.T, st *duckdb.Store, q string) int64 {
	t.Helper()
	return duckdbtest.Scalar(t, st, q)
}

func run(t *testing.T, st *duckdb.Store, dir string, cfg pipeline.Config) pipeline.Result {
	t.Helper()
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestIngestSkipChangedAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	writeCT(t, filepath.Join(dir, "a", "1.json.gz"), 0, 500)
	writeCT(t, filepath.Join(dir, "a", "2.json.gz"), 400, 300) // overlaps 1 by 100 events
	writeFlows(t, filepath.Join(dir, "b", "flows.log"), 1000)
	os.WriteFile(filepath.Join(dir, "b", "notes.txt"), []byte("not\na\nlog\nfile\n"), 0o644)
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	cfg := pipeline.Config{ChunkUnits: 64, TxRows: 300}
	res := run(t, st, dir, cfg)
	if res.Records[event.KindCloudTrail] != 700 || res.Duplicates != 100 || res.Records[event.KindVPCFlow] != 1000 || res.Quarantined != 1 || res.ObjectsDone != 4 {
		t.Fatalf("first run: %+v", res.Progress)
	}
	if n := scalar(t, st, `SELECT count(*) FROM cloudtrail`); n != 700 {
		t.Errorf("%d events stored", n)
	}
	// Nothing changed: everything is skipped.
	res = run(t, st, dir, cfg)
	if res.ObjectsSkipped != 4 || res.Stored() != 0 {
		t.Errorf("second run: %+v", res.Progress)
	}
	// A changed file is read again; its CloudTrail events are de-duplicated.
	time.Sleep(10 * time.Millisecond)
	writeCT(t, filepath.Join(dir, "a", "2.json.gz"), 400, 350)
	res = run(t, st, dir, cfg)
	if res.ObjectsSkipped != 3 || res.Records[event.KindCloudTrail] != 50 || res.Duplicates != 300 || len(res.Changed) != 1 {
		t.Errorf("after a change: %+v changed=%v", res.Progress, res.Changed)
	}
	if n := scalar(t, st, `SELECT count(*) FROM cloudtrail`); n != 750 {
		t.Errorf("%d events stored, want 750", n)
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`); n != 4 {
		t.Errorf("%d done ledger entries", n)
	}
	if n := scalar(t, st, `SELECT count(*) FROM quarantine`); n != 1 {
		t.Errorf("%d quarantine entries, want the one for notes.txt", n)
	}
}

// TestResumeAfterPartialCommit simulates a crash after some chunks of an
// object were committed: the next run stores only what is missing.
func TestResumeAfterPartialCommit(t *testing.T) {
	dir := t.TempDir()
	writeFlows(t, filepath.Join(dir, "flows.log"), 2000)
	dbPath := filepath.Join(t.TempDir(), "db.duckdb")
	st := openStore(t, dbPath)
	objs, _ := file.Objects([]string{dir}, nil)
	// A run that is cancelled once the first commit is done.
	ctx, cancel := context.WithCancel(context.Background())
	commits := 0
	_, err := pipeline.Run(ctx, app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{ChunkUnits: 100, TxRows: 500, Progress: func(p pipeline.Progress) {
		if p.Stored() >= 500 && commits == 0 {
			commits++
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	partial := scalar(t, st, `SELECT count(*) FROM vpcflow`)
	if partial == 0 || partial >= 2000 {
		t.Fatalf("the cancelled run stored %d records; the test needs a partial object", partial)
	}
	if s := scalar(t, st, `SELECT units FROM ingest_ledger WHERE status = 'partial'`); s != partial {
		t.Errorf("ledger says %d units, %d records are stored", s, partial)
	}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{ChunkUnits: 100, TxRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[event.KindVPCFlow] != 2000-partial {
		t.Errorf("resumed run stored %d, want %d", res.Records[event.KindVPCFlow], 2000-partial)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 2000 {
		t.Errorf("%d records after resuming, want 2000", n)
	}
	if n := scalar(t, st, `SELECT count(DISTINCT raw) FROM vpcflow`); n != 2000 {
		t.Errorf("%d distinct records, want 2000 (no duplicates)", n)
	}
	st.Close()
}

// failingReader fails after n bytes, like a dropped network connection.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestSourceErrorIsRetried: an object whose reading fails is not marked
// done or quarantined; the next run reads it again.
func TestSourceErrorIsRetried(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flows.log")
	writeFlows(t, path, 3000)
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	info, _ := os.Stat(path)
	obj := pipeline.Object{Name: path, Key: path, Size: info.Size(), ModTime: info.ModTime().UTC().Truncate(time.Microsecond),
		Open: func(context.Context) (io.ReadCloser, error) {
			f, err := os.Open(path)
			return struct {
				io.Reader
				io.Closer
			}{&failingReader{r: f, n: 40000}, f}, err
		}}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(obj), pipeline.Config{ChunkUnits: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Quarantined != 0 || !strings.Contains(res.Failed[0], "connection reset") {
		t.Fatalf("failed run: %+v %v", res.Progress, res.Failed)
	}
	if s := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'failed'`); s != 1 {
		t.Errorf("no failed ledger entry")
	}
	objs, _ := file.Objects([]string{dir}, nil)
	res, err = pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 3000 || len(res.Failed) != 0 {
		t.Errorf("after the retry: %d records, failed %v", n, res.Failed)
	}
	if n := scalar(t, st, `SELECT count(DISTINCT raw) FROM vpcflow`); n != 3000 {
		t.Errorf("%d distinct records, want 3000", n)
	}
}
