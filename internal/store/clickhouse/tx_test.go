package clickhouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
	"github.com/trawl-project/trawl/internal/store"
)

func TestForgetObject(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	write := func(objects ...string) {
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objects {
			b := &event.Batch{Object: o, Quarantined: []event.Quarantined{{Object: o, Line: 3, Offset: -1, Record: 2, Reason: "bad"}},
				Warnings: []event.Warning{{Object: o, Record: 1, Field: "x", Reason: "odd"}}}
			if err := tx.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "b")
	write("a") // a re-read writes the same entries: they collapse
	if n := count(t, st, "SELECT count() FROM quarantine WHERE object = 'a'"); n != 1 {
		t.Errorf("quarantine entries of a after a repeat: %d, want 1", n)
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.ForgetObject(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The delete is a mutation that ends in the background: wait for it.
	for i := 0; i < 200 && count(t, st, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0") > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	for _, table := range []string{"quarantine", "ingest_warning"} {
		if n := count(t, st, "SELECT count() FROM "+table+" WHERE object = 'a'"); n != 0 {
			t.Errorf("%s: %d entries of a left", table, n)
		}
		if n := count(t, st, "SELECT count() FROM "+table+" WHERE object = 'b'"); n != 1 {
			t.Errorf("%s: %d entries of b, want 1", table, n)
		}
	}
}

func TestLedgerNewestWins(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, e := range []ledger.Entry{
		{Object: "o", Size: 10, Status: ledger.StatusPartial, Units: 5, Records: 5, First: first},
		{Object: "o", Size: 10, Status: ledger.StatusDone, Units: 9, Records: 8, Quarantined: 1, ETag: "e"},
		{Object: "stream", Size: -1, Status: ledger.StatusCursor, Cursor: "token-2"},
	} {
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx, []ledger.Entry{e}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	got, err := st.LedgerEntries(ctx, []string{"o", "stream", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	o := got["o"]
	if len(got) != 2 || o.Status != ledger.StatusDone || o.Units != 9 || o.ETag != "e" || o.Size != 10 || !o.First.Equal(first) {
		t.Errorf("entries = %+v", got)
	}
	if s := got["stream"]; s.Cursor != "token-2" || s.Size != -1 || s.Status != ledger.StatusCursor {
		t.Errorf("cursor entry = %+v", s)
	}
}

func TestErrorMidStream(t *testing.T) {
	st := open(t)
	rows, err := st.Query(context.Background(), store.Request{SQL: "SELECT number, throwIf(number = 300000) FROM system.numbers LIMIT 400000"})
	if err != nil {
		// The exception came before the first rows: also a clear error.
		if !strings.Contains(err.Error(), "Code: ") {
			t.Errorf("error = %v, want the server's exception", err)
		}
		return
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() == nil || n >= 400000 {
		t.Errorf("read %d rows, error %v; want the server's exception", n, rows.Err())
	}
}

func TestTimeout(t *testing.T) {
	st := open(t)
	_, err := st.Query(context.Background(), store.Request{SQL: "SELECT sleep(3)", Timeout: time.Second})
	if err == nil {
		t.Error("a 3 s query with a 1 s timeout: no error")
	}
}

// TestFindingCurrentStateMended: a process that dies between the finding
// history insert and the current-state insert leaves versions in the
// history without their current row. Re-reading the same findings (exact
// copies of stored versions) must write the current state again. The
// crash is reproduced by emptying the current-state table after a commit.
func TestFindingCurrentStateMended(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)
	batch := func() *event.Batch {
		b := &event.Batch{Object: "findings.json"}
		for i, f := range []struct {
			id string
			at time.Time
		}{{"f1", t0}, {"f1", t0.Add(time.Hour)}, {"f2", t0.Add(2 * time.Hour)}} {
			g, err := ruletest.Finding(map[string]any{"id": f.id, "severity": 5}, f.at)
			if err != nil {
				t.Fatal(err)
			}
			g.Unit = int64(i)
			b.Findings = append(b.Findings, g)
		}
		return b
	}
	write := func() {
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Write(ctx, batch()); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if err := st.Client().Exec(ctx, "TRUNCATE TABLE guardduty_finding_data"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "SELECT count() FROM guardduty_finding"); n != 0 {
		t.Fatalf("%d current findings after emptying the table", n)
	}
	write()
	if n := count(t, st, "SELECT count() FROM guardduty_finding_history"); n != 3 {
		t.Errorf("history holds %d versions, want 3", n)
	}
	if n := count(t, st, "SELECT count() FROM guardduty_finding"); n != 2 {
		t.Errorf("current state holds %d findings after the re-read, want 2", n)
	}
	if n := count(t, st, "SELECT count() FROM guardduty_finding WHERE id = 'f1' AND updated_at = toDateTime('2026-11-04 11:00:00', 'UTC')"); n != 1 {
		t.Errorf("f1's current state is not its newest version (%d rows)", n)
	}
}
