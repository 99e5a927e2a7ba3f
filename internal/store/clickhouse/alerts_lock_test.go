package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// TestAlertLock: a held lock keeps RecordHits waiting (here until its
// context ends, recording nothing); one older than lockLease is taken to be
// left by a crashed writer and broken.
func TestAlertLock(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, chtest.DSN(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hits := []event.Hit{{RuleID: "r", DedupKey: "k", EventIDs: []string{"e1"}, First: time.Unix(1e9, 0), Last: time.Unix(1e9, 0)}}
	if err := st.alertTables(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.c.Exec(ctx, `CREATE TABLE alert_lock (holder String) ENGINE = TinyLog`); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err = st.RecordHits(short, hits)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RecordHits under another's lock: %v, want a deadline error", err)
	}
	if as, err := st.Alerts(ctx, AlertFilter{}); err != nil || len(as) != 0 {
		t.Fatalf("alerts recorded without the lock: %v, %v", as, err)
	}
	old := lockLease
	lockLease = time.Second
	defer func() { lockLease = old }()
	if c, _, err := st.RecordHits(ctx, hits); err != nil || c != 1 {
		t.Fatalf("after the lock went stale: created %d, %v", c, err)
	}
	var left int64 = -1
	if err := st.each(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'alert_lock'`, func(v []any) error {
		left = i64(v[0])
		return nil
	}); err != nil || left != 0 {
		t.Fatalf("the lock is still there (%d), %v", left, err)
	}
}

// TestChunks: IN lists are cut by count and by text size.
func TestChunks(t *testing.T) {
	long := make([]string, 5000)
	for i := range long {
		long[i] = fmt.Sprintf("%0200d", i) // 200-byte ids
	}
	var sizes []int
	total := 0
	if err := chunks(long, func(p []string) error {
		sizes = append(sizes, len(p))
		total += len(p)
		if n := len(literalList(p)); n > 256<<10 {
			t.Errorf("a list of %d bytes", n)
		}
		return nil
	}); err != nil || total != 5000 || len(sizes) < 10 {
		t.Fatalf("chunks of long ids: %v (%d in all), %v", sizes, total, err)
	}
	sizes = nil
	_ = chunks(make([]int64, 4500), func(p []int64) error { sizes = append(sizes, len(p)); return nil })
	if len(sizes) != 3 || sizes[0] != idChunk {
		t.Fatalf("chunks of ints: %v", sizes)
	}
}
