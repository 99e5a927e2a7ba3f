package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

const flowHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

// flowLines returns flow-log lines from..to-1 (without a header).
func flowLines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "2 111122223333 eni-0123 10.0.0.%d 10.0.1.1 %d 443 6 1 60 1793613000 1793613060 ACCEPT OK\n", i%250, 1024+i)
	}
	return b.String()
}

// reingest runs the pipeline over path and returns the result and the
// notices it gave.
func reingest(t *testing.T, st *duckdb.Store, path string, force bool) (pipeline.Result, string) {
	t.Helper()
	objs, err := file.Objects([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices strings.Builder
	cfg := pipeline.Config{Force: force, Notice: func(s string) {
		mu.Lock()
		defer mu.Unlock()
		notices.WriteString(s + "\n")
	}}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return res, notices.String()
}

func writeString(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendString(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// later moves a file's modification time on, as touch or cp without -p do.
func later(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	m := info.ModTime().Add(time.Hour)
	if err := os.Chtimes(path, m, m); err != nil {
		t.Fatal(err)
	}
}

func TestReingestUnchangedAppendedChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log")
	writeString(t, path, flowHeader+flowLines(0, 100))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	if res, _ := reingest(t, st, path, false); res.Records[event.KindVPCFlow] != 100 {
		t.Fatalf("first run: %+v", res.Progress)
	}

	later(t, path) // touch: same bytes, another time
	res, notices := reingest(t, st, path, false)
	if res.Stored() != 0 || res.ObjectsSkipped != 1 || len(res.Changed) != 0 || !strings.Contains(notices, "content is what was ingested") {
		t.Errorf("after touch: %+v changed %v\n%s", res.Progress, res.Changed, notices)
	}
	// Skipped again without reading: the ledger now has the new time.
	if res, _ := reingest(t, st, path, false); res.Stored() != 0 || res.ObjectsSkipped != 1 {
		t.Errorf("second run after touch: %+v", res.Progress)
	}

	appendString(t, path, flowLines(100, 130))
	res, notices = reingest(t, st, path, false)
	if res.Records[event.KindVPCFlow] != 30 || len(res.Changed) != 0 || !strings.Contains(notices, "reading only what was appended") {
		t.Errorf("after appending 30 lines: %+v changed %v\n%s", res.Progress, res.Changed, notices)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 130 {
		t.Errorf("%d records stored, want 130", n)
	}
	if n := scalar(t, st, `SELECT count(DISTINCT raw) FROM vpcflow`); n != 130 {
		t.Errorf("%d distinct records, want 130", n)
	}
	if res, _ := reingest(t, st, path, false); res.Stored() != 0 || res.ObjectsSkipped != 1 {
		t.Errorf("run after the append: %+v", res.Progress)
	}

	// A line in the middle rewritten: the whole file is read again.
	data, _ := os.ReadFile(path)
	data = bytes.Replace(data, []byte(" 10.0.0.50 "), []byte(" 10.0.0.99 "), 1)
	writeString(t, path, string(data))
	res, notices = reingest(t, st, path, false)
	if len(res.Changed) != 1 || res.Records[event.KindVPCFlow] != 130 || !strings.Contains(notices, "changed since it was ingested") {
		t.Errorf("after rewriting the middle: %+v changed %v\n%s", res.Progress, res.Changed, notices)
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAppendedGzipMember: a gzip file that grows by a second member (as
// `gzip -c more >> file.gz` does) stores only the new member's lines.
func TestAppendedGzipMember(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log.gz")
	writeString(t, path, string(gzipped(t, flowHeader+flowLines(0, 50))))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	if res, _ := reingest(t, st, path, false); res.Records[event.KindVPCFlow] != 50 {
		t.Fatalf("first run: %+v", res.Progress)
	}
	appendString(t, path, string(gzipped(t, flowLines(50, 70))))
	res, notices := reingest(t, st, path, false)
	if res.Records[event.KindVPCFlow] != 20 || len(res.Changed) != 0 {
		t.Errorf("after appending a member: %+v changed %v\n%s", res.Progress, res.Changed, notices)
	}
	if n, d := scalar(t, st, `SELECT count(*) FROM vpcflow`), scalar(t, st, `SELECT count(DISTINCT raw) FROM vpcflow`); n != 70 || d != 70 {
		t.Errorf("%d records (%d distinct) stored, want 70", n, d)
	}
}

// TestForceSaysWhatItDuplicates: --force on an ingested flow log says that
// its records are stored a second time, whether or not its time changed.
func TestForceSaysWhatItDuplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log")
	writeString(t, path, flowHeader+flowLines(0, 40))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	reingest(t, st, path, false)
	for _, touch := range []bool{false, true} {
		if touch {
			later(t, path)
		}
		res, notices := reingest(t, st, path, true)
		if res.Records[event.KindVPCFlow] != 40 || !strings.Contains(notices, "--force") || !strings.Contains(notices, "stored a second time") || !strings.Contains(notices, "40 records") {
			t.Errorf("--force (touched: %v): %+v\n%s", touch, res.Progress, notices)
		}
	}
}

// TestChangedAfterInterruptSaysSo: an object that changed (here: grew)
// after an interrupted run committed part of it is read again from the
// start; the ledger has no hash of a partial object to tell an append from
// a change, so the run says that flow records may be stored twice.
func TestChangedAfterInterruptSaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log")
	writeString(t, path, flowHeader+flowLines(0, 2000))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	objs, err := file.Objects([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pipeline.Run(ctx, app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{ChunkUnits: 100, TxRows: 500, Progress: func(p pipeline.Progress) {
		if p.Stored() >= 500 {
			cancel()
		}
	}})
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE status = 'partial'`); n != 1 {
		t.Fatalf("%d partial ledger entries; the test needs an interrupted object", n)
	}
	appendString(t, path, flowLines(2000, 2100))
	res, notices := reingest(t, st, path, false)
	if len(res.Changed) != 1 || !strings.Contains(notices, "changed since an interrupted run") || !strings.Contains(notices, "may be stored twice") {
		t.Errorf("after appending to a partly ingested file: changed %v\n%s", res.Changed, notices)
	}
}

// TestAppendCompletesLastLine: a log read while a line was being written
// (its last line cut short, and quarantined) grows by the rest of that line
// and more: the completed line is read again and stored.
func TestAppendCompletesLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log")
	all := flowHeader + flowLines(0, 10)
	cut := len(all) - 30 // inside the last line (srcport 1033)
	writeString(t, path, all[:cut])
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	if res, _ := reingest(t, st, path, false); res.Records[event.KindVPCFlow] != 9 || res.Quarantined != 1 {
		t.Fatalf("first run: %+v", res.Progress)
	}
	appendString(t, path, all[cut:]+flowLines(10, 12))
	res, notices := reingest(t, st, path, false)
	if res.Records[event.KindVPCFlow] != 3 || !strings.Contains(notices, "ended inside a line") {
		t.Errorf("after the append: %+v\n%s", res.Progress, notices)
	}
	if n, d := scalar(t, st, `SELECT count(*) FROM vpcflow WHERE srcport = 1033`), scalar(t, st, `SELECT count(DISTINCT raw) FROM vpcflow`); n != 1 || d != 12 {
		t.Errorf("the completed line is stored %d times (want 1), %d distinct records (want 12)", n, d)
	}
}

// slowLedger is a store whose second ledger look-up returns only after the
// first object was committed and acked: the entries it returns are stale.
type slowLedger struct {
	pipeline.Store
	calls atomic.Int32
	acked chan struct{}
}

func (s *slowLedger) LedgerEntries(ctx context.Context, names []string) (map[string]pipeline.LedgerEntry, error) {
	e, err := s.Store.LedgerEntries(ctx, names)
	if s.calls.Add(1) == 2 {
		<-s.acked
		time.Sleep(50 * time.Millisecond) // the writer releases the name after the ack
	}
	return e, err
}

// TestCopyFinishedDuringLookUp: a second copy of an object (listed again,
// or delivered twice) whose first copy is committed while the copy's
// ledger entry is being read is not read again.
func TestCopyFinishedDuringLookUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.log")
	writeString(t, path, flowHeader+flowLines(0, 100))
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	objs, err := file.Objects([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened, acked := make(chan struct{}), make(chan struct{})
	first, copy := objs[0], objs[0]
	open := first.Open
	var once sync.Once
	first.Open = func(ctx context.Context) (io.ReadCloser, error) {
		once.Do(func() { close(opened) })
		return open(ctx)
	}
	first.Ack = func(context.Context, error) { close(acked) }
	n := 0
	src := pipeline.SourceFunc(func(ctx context.Context) (pipeline.Object, error) {
		n++
		switch n {
		case 1:
			return first, nil
		case 2:
			<-opened // the first copy is being read: the copy is looked up on its own
			return copy, nil
		}
		return pipeline.Object{}, io.EOF
	})
	sl := &slowLedger{Store: app.PipelineStore(st), acked: acked}
	if _, err := pipeline.Run(context.Background(), sl, src, pipeline.Config{TxRows: 10, ChunkUnits: 10, TxAge: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 100 {
		t.Errorf("%d records stored, want 100", n)
	}
}
