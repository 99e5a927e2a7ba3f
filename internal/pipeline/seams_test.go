package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/source/file"
)

// fileObject is an object for a local file.
func fileObject(t *testing.T, path string) pipeline.Object {
	t.Helper()
	objs, err := file.Objects([]string{path}, nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("%s: %v (%d objects)", path, err, len(objs))
	}
	return objs[0]
}

// acks records the acknowledgements of objects.
type acks struct {
	mu  sync.Mutex
	got map[string][]error
}

func (a *acks) wrap(o pipeline.Object, check func(error)) pipeline.Object {
	name := o.Name
	o.Ack = func(_ context.Context, err error) {
		if check != nil {
			check(err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.got == nil {
			a.got = map[string][]error{}
		}
		a.got[name] = append(a.got[name], err)
	}
	return o
}

func (a *acks) of(name string) []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[name]
}

// TestAckAfterCommit checks that an object is acked after the commit that
// holds its final ledger entry: when the ack runs, the ledger already says
// done.
func TestAckAfterCommit(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var objs []pipeline.Object
	var a acks
	var bad atomic.Int32
	for i := 0; i < 6; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		writeFlows(t, p, 300)
		o := fileObject(t, p)
		name := o.Name
		objs = append(objs, a.wrap(o, func(err error) {
			e, lerr := st.LedgerEntries(context.Background(), []string{name})
			if err != nil || lerr != nil || e[name].Status != ledger.StatusDone || e[name].Records != 300 {
				bad.Add(1)
				t.Errorf("%s acked with %v while the ledger says %+v (%v)", name, err, e[name], lerr)
			}
		}))
	}
	// Small transactions: objects end in different commits.
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{ChunkUnits: 50, TxRows: 400}); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if got := a.of(o.Name); len(got) != 1 || got[0] != nil {
			t.Errorf("%s: acks %v, want one nil", o.Name, got)
		}
	}
	// A second run skips them all, and acks each at once.
	var b acks
	again := make([]pipeline.Object, len(objs))
	for i, o := range objs {
		again[i] = b.wrap(o, nil)
	}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(again...), pipeline.Config{})
	if err != nil || res.ObjectsSkipped != len(objs) {
		t.Fatalf("second run: %v, %+v", err, res.Progress)
	}
	for _, o := range objs {
		if got := b.of(o.Name); len(got) != 1 || got[0] != nil {
			t.Errorf("skipped %s: acks %v, want one nil", o.Name, got)
		}
	}
}

// TestStreamingSourceAndInflightCopies feeds objects one at a time, never
// listing ahead, with a second delivery of an object while the first is
// still being read (a queue delivering a message twice): its records are
// stored once and both deliveries are acked.
func TestStreamingSourceAndInflightCopies(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var a acks
	var objs []pipeline.Object
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		writeFlows(t, p, 1000)
		objs = append(objs, fileObject(t, p))
	}
	// f0 is slow to read, so its copy arrives while it is in flight.
	slow := objs[0]
	open := slow.Open
	release := make(chan struct{})
	slow.Open = func(ctx context.Context) (io.ReadCloser, error) {
		rc, err := open(ctx)
		if err != nil {
			return nil, err
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return rc, nil
	}
	feed := []pipeline.Object{a.wrap(slow, nil), a.wrap(slow, nil), a.wrap(objs[1], nil), a.wrap(objs[2], nil)}
	next := make(chan pipeline.Object)
	go func() {
		for i, o := range feed {
			next <- o
			if i == 1 {
				close(release) // both copies are listed: let the first read go on
			}
		}
		close(next)
	}()
	src := pipeline.SourceFunc(func(ctx context.Context) (pipeline.Object, error) {
		select {
		case o, ok := <-next:
			if !ok {
				return pipeline.Object{}, io.EOF
			}
			return o, nil
		case <-ctx.Done():
			return pipeline.Object{}, ctx.Err()
		}
	})
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), src, pipeline.Config{ChunkUnits: 100})
	if err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 3000 {
		t.Errorf("%d flow records stored, want 3000 (the second delivery stored nothing)", n)
	}
	if res.ObjectsSkipped != 1 {
		t.Errorf("%d objects skipped, want the second delivery", res.ObjectsSkipped)
	}
	if got := a.of(slow.Name); len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Errorf("the twice-delivered object was acked %v, want nil twice", got)
	}
}

// TestManyCopiesOfOneObject delivers one object many times at once.
func TestManyCopiesOfOneObject(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	p := filepath.Join(dir, "f.log")
	writeFlows(t, p, 500)
	var a acks
	var objs []pipeline.Object
	for i := 0; i < 20; i++ {
		objs = append(objs, a.wrap(fileObject(t, p), nil))
	}
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not end: copies of an object in flight wait forever")
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 500 {
		t.Errorf("%d records, want 500", n)
	}
	if got := a.of(objs[0].Name); len(got) != 20 {
		t.Errorf("%d acks, want 20", len(got))
	}
}

// TestInterruptedAcksNotFinished checks that objects a cancelled run did
// not finish are acked with ErrNotFinished, each exactly once.
func TestInterruptedAcksNotFinished(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var a acks
	var objs []pipeline.Object
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 8; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		writeFlows(t, p, 100)
		o := fileObject(t, p)
		if i >= 2 {
			// These block until the run is cancelled.
			open := o.Open
			o.Open = func(octx context.Context) (io.ReadCloser, error) {
				<-octx.Done()
				return open(octx)
			}
		}
		objs = append(objs, a.wrap(o, nil))
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	_, err := pipeline.Run(ctx, app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{Workers: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	finished := 0
	for _, o := range objs {
		got := a.of(o.Name)
		if len(got) != 1 {
			t.Errorf("%s: %d acks, want exactly one", o.Name, len(got))
			continue
		}
		switch {
		case got[0] == nil:
			finished++
		case !errors.Is(got[0], pipeline.ErrNotFinished):
			t.Errorf("%s: acked with %v, want ErrNotFinished", o.Name, got[0])
		}
	}
	stored := scalar(t, st, `SELECT count(DISTINCT source) FROM vpcflow`)
	if int64(finished) != stored || finished > 2 {
		t.Errorf("%d objects acked as done, %d stored (at most the 2 that could be read)", finished, stored)
	}
}

// TestMergeSources ingests two sources through one writer.
func TestMergeSources(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var x, y []pipeline.Object
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		writeFlows(t, p, 100)
		if i%2 == 0 {
			x = append(x, fileObject(t, p))
		} else {
			y = append(y, fileObject(t, p))
		}
	}
	bad := pipeline.SourceFunc(func() func(context.Context) (pipeline.Object, error) {
		sent := false
		return func(context.Context) (pipeline.Object, error) {
			if !sent {
				sent = true
				return pipeline.Object{}, &pipeline.ListError{Name: "/nope", Err: os.ErrNotExist}
			}
			return pipeline.Object{}, io.EOF
		}
	}())
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Merge(pipeline.Objects(x...), bad, pipeline.Objects(y...)), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 400 || res.ObjectsDone != 4 {
		t.Errorf("%d records from %d objects, want 400 from 4", n, res.ObjectsDone)
	}
	if len(res.Unlisted) != 1 || !strings.Contains(res.Unlisted[0], "/nope") {
		t.Errorf("unlisted: %v, want /nope reported", res.Unlisted)
	}
}

// TestRepeatListsAgain polls a directory: a file added after the first
// listing is ingested by a later one, and files already ingested are
// skipped.
func TestRepeatListsAgain(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	writeFlows(t, filepath.Join(dir, "a.log"), 100)
	var lists atomic.Int32
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := pipeline.Repeat(20*time.Millisecond, func(context.Context) (pipeline.Source, error) {
		n := lists.Add(1)
		if n == 2 {
			writeFlows(t, filepath.Join(dir, "b.log"), 50)
		}
		if n >= 4 && time.Since(start) > 2500*time.Millisecond {
			cancel() // listings while a.log was in flight waited for its commit (at most a second)
		}
		objs, err := file.Objects([]string{dir}, nil)
		return pipeline.Objects(objs...), err
	})
	res, err := pipeline.Run(ctx, app.PipelineStore(st), src, pipeline.Config{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 150 {
		t.Errorf("%d records, want 150", n)
	}
	if res.ObjectsSkipped < 1 {
		t.Errorf("no object skipped on later listings: %+v", res.Progress)
	}
}

// TestProcessors checks that processors run in order on every batch, can
// change records, and that an error stops the run.
func TestProcessors(t *testing.T) {
	dir := t.TempDir()
	writeCT(t, filepath.Join(dir, "ct.json.gz"), 0, 300)
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	var mu sync.Mutex
	var order []string
	first := pipeline.ProcessorFunc(func(_ context.Context, b *event.Batch) error {
		mu.Lock()
		order = append(order, "first")
		mu.Unlock()
		for i := range b.CloudTrail {
			b.CloudTrail[i].EventName = "Renamed" + b.CloudTrail[i].EventName
		}
		return nil
	})
	second := pipeline.ProcessorFunc(func(_ context.Context, b *event.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		if len(order) == 0 || order[len(order)-1] != "first" {
			t.Error("the second processor ran before the first")
		}
		order = append(order, "second")
		for i := range b.CloudTrail {
			if !strings.HasPrefix(b.CloudTrail[i].EventName, "Renamed") {
				t.Error("the second processor did not see the first's change")
			}
		}
		return nil
	})
	objs, _ := file.Objects([]string{dir}, nil)
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{ChunkUnits: 64, Processors: []pipeline.Processor{first, second}}); err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM cloudtrail WHERE event_name = 'RenamedGetObject'`); n != 300 {
		t.Errorf("%d events renamed, want 300", n)
	}
	if len(order) < 10 { // 300 events in batches of 64: at least 5 batches, two processors each
		t.Errorf("processors ran %d times", len(order))
	}

	boom := errors.New("rule engine down")
	writeCT(t, filepath.Join(dir, "ct2.json.gz"), 1000, 10)
	objs, _ = file.Objects([]string{filepath.Join(dir, "ct2.json.gz")}, nil)
	_, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), pipeline.Config{Processors: []pipeline.Processor{
		pipeline.ProcessorFunc(func(context.Context, *event.Batch) error { return boom }),
	}})
	if !errors.Is(err, boom) {
		t.Errorf("a processor's error: run returned %v", err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM ingest_ledger WHERE object LIKE '%ct2.json.gz'`); n != 0 {
		t.Errorf("the object whose processing failed has a ledger entry")
	}
}

// mapSink is an idempotent sink: records by key.
type mapSink struct {
	mu      sync.Mutex
	pending map[string]bool
	durable map[string]bool
	writes  int
}

func (m *mapSink) Write(_ context.Context, b *event.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		m.pending = map[string]bool{}
	}
	for _, f := range b.VPCFlow {
		m.pending[fmt.Sprintf("%s#%d", b.Object, f.Unit)] = true
		m.writes++
	}
	return nil
}

func (m *mapSink) Flush(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.durable == nil {
		m.durable = map[string]bool{}
	}
	for k := range m.pending {
		m.durable[k] = true
	}
	m.pending = nil
	return nil
}

// TestSinkExactlyOnce crashes between a sink's flush and the commit of the
// ledger: the re-run writes the same records to the sink again, and since
// the sink is idempotent by key it ends with exactly the store's rows.
func TestSinkExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		writeFlows(t, filepath.Join(dir, fmt.Sprintf("f%d.log", i)), 1000)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	sink := &mapSink{}
	objs, _ := file.Objects([]string{dir}, nil)
	cfg := pipeline.Config{ChunkUnits: 200, TxRows: 1500, Sinks: []pipeline.Sink{sink}}
	var commits atomic.Int32
	_, err := pipeline.Run(context.Background(), pipelinetest.CrashingStore{Store: app.PipelineStore(st), N: 2, Commits: &commits}, pipeline.Objects(objs...), cfg)
	if !errors.Is(err, pipelinetest.ErrCrash) {
		t.Fatalf("crashing run: %v", err)
	}
	stored := scalar(t, st, `SELECT count(*) FROM vpcflow`)
	if stored == 0 || stored >= 5000 {
		t.Fatalf("%d stored after the crash; the test needs a partial ingest", stored)
	}
	if len(sink.durable) <= int(stored) {
		t.Fatalf("the sink holds %d records, the store %d: the crash did not fall between flush and commit", len(sink.durable), stored)
	}
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), cfg); err != nil {
		t.Fatal(err)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 5000 || len(sink.durable) != 5000 {
		t.Errorf("store %d, sink %d records; want 5000 in both", n, len(sink.durable))
	}
	if sink.writes <= 5000 {
		t.Errorf("the sink got %d writes; the test needs records written twice", sink.writes)
	}
}
