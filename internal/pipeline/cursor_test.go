package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// page is one page of a stream: flow-log lines in memory.
func page(key string, seq int, lines int, delay time.Duration, acked func(int)) pipeline.Object {
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&b, "2 111122223333 eni-%d 10.0.0.%d 10.0.1.1 %d 443 6 1 60 1793613000 1793613060 ACCEPT OK\n", seq, i%250, 1024+i)
	}
	text := b.String()
	return pipeline.Object{
		Name:     fmt.Sprintf("%s#%d", key, seq),
		Size:     int64(len(text)),
		NoLedger: true,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return io.NopCloser(strings.NewReader(text)), nil
		},
		Ack: func(_ context.Context, err error) {
			if err == nil {
				acked(seq)
			}
		},
		Cursor: &pipeline.Cursor{Key: key, Seq: int64(seq), Value: fmt.Sprint(seq + 1)},
	}
}

// TestCursorCommittedWithRows checks that a stream's position is written
// with the rows, and never past an object that is not finished: when the
// first page is slow, the later ones commit without moving the cursor.
func TestCursorCommittedWithRows(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	const key = "test://group/stream"
	var mu sync.Mutex
	var problems []string
	check := func(seq int) {
		e, err := st.LedgerEntries(context.Background(), []string{key})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		cur, ok := e[key]
		if seq > 0 && ok {
			problems = append(problems, fmt.Sprintf("page %d committed while page 0 was still being read, and the cursor says %q", seq, cur.Cursor))
		}
	}
	var objs []pipeline.Object
	for i := 0; i < 5; i++ {
		delay := time.Duration(0)
		if i == 0 {
			delay = 1500 * time.Millisecond
		}
		objs = append(objs, page(key, i, 200, delay, check))
	}
	// Small transactions and a short age: pages 1–4 commit before page 0.
	cfg := pipeline.Config{TxRows: 150, TxAge: 100 * time.Millisecond, Workers: 2}
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	e, err := st.LedgerEntries(context.Background(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if c := e[key]; c.Status != pipeline.StatusCursor || c.Cursor != "5" {
		t.Errorf("ledger entry %+v, want the cursor after the last page (5)", c)
	}
	if n := scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 1000 {
		t.Errorf("%d records, want 1000", n)
	}
}

// TestSkippedObjectsMoveTheCursor checks that objects of a stream the
// ledger has as done still move the stream's cursor past them.
func TestSkippedObjectsMoveTheCursor(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"))
	defer st.Close()
	const key = "test://group/stream"
	ledgered := func(o pipeline.Object) pipeline.Object {
		o.NoLedger = false
		return o
	}
	noop := func(int) {}
	first := []pipeline.Object{ledgered(page(key, 0, 10, 0, noop)), ledgered(page(key, 1, 10, 0, noop))}
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(first...), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	// A later run cuts the same two objects again, then a new one.
	again := []pipeline.Object{ledgered(page(key, 0, 10, 0, noop)), ledgered(page(key, 1, 10, 0, noop)), ledgered(page(key, 2, 10, 0, noop))}
	res, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(again...), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ObjectsSkipped != 2 || res.Stored() != 10 {
		t.Errorf("second run: %d skipped, %d stored; want 2 and 10", res.ObjectsSkipped, res.Stored())
	}
	e, err := st.LedgerEntries(context.Background(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if c := e[key]; c.Cursor != "3" {
		t.Errorf("cursor %q after the skipped objects and a new one, want 3", c.Cursor)
	}
}
