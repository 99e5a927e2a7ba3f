package duckdb

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func hit(rule, key string, at time.Time, ids ...string) event.Hit {
	return event.Hit{RuleID: rule, Severity: "high", Title: "Root login", LogType: event.KindCloudTrail,
		EventIDs: ids, First: at, Last: at, DedupKey: key, Suppress: time.Hour, Count: int64(max(len(ids), 1)),
		Fields: map[string]string{"principal": "root", "source_ip": "203.0.113.9"}, Tags: []string{"T1078"}}
}

func record(t *testing.T, st *Store, hits ...event.Hit) (int, int) {
	t.Helper()
	c, u, err := st.RecordHits(ctx, hits)
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

// TestAlertSuppression checks the dedup rules: the same rule and key inside
// the window update one alert, outside it or after close open a new one,
// and an acknowledged alert still absorbs hits.
func TestAlertSuppression(t *testing.T) {
	st, _ := openTemp(t)
	if c, u := record(t, st, hit("r1", "k", t0, "e1"), hit("r1", "k", t0.Add(30*time.Minute), "e2")); c != 1 || u != 1 {
		t.Fatalf("created %d updated %d, want 1 and 1", c, u)
	}
	as, err := st.Alerts(ctx, AlertFilter{})
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts %v, %v", as, err)
	}
	a := as[0]
	if a.Count != 2 || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(30*time.Minute)) || !slices.Equal(a.EventIDs, []string{"e1", "e2"}) ||
		a.Status != alert.Open || a.Severity != "high" || a.Fields["principal"] != "root" || !slices.Equal(a.Tags, []string{"T1078"}) || a.LogType != "cloudtrail" {
		t.Fatalf("alert %+v", a)
	}
	// Another key, and the same key after the window: two new alerts.
	if c, u := record(t, st, hit("r1", "other", t0, "e3"), hit("r1", "k", t0.Add(30*time.Minute+61*time.Minute), "e4")); c != 2 || u != 0 {
		t.Fatalf("created %d updated %d, want 2 and 0", c, u)
	}
	newest, _ := st.Alerts(ctx, AlertFilter{Rules: []string{"r*"}, Limit: 1})
	if len(newest) != 1 || !slices.Equal(newest[0].EventIDs, []string{"e4"}) {
		t.Fatalf("newest %+v", newest)
	}
	// Acknowledged still absorbs.
	if err := st.SetAlertStatus(ctx, newest[0].ID, alert.Acknowledged, "looking"); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hit("r1", "k", t0.Add(2*time.Hour), "e5")); c != 0 || u != 1 {
		t.Fatalf("after ack: created %d updated %d, want 0 and 1", c, u)
	}
	// Closed does not.
	if err := st.SetAlertStatus(ctx, newest[0].ID, alert.Closed, ""); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hit("r1", "k", t0.Add(2*time.Hour+time.Minute), "e6")); c != 1 || u != 0 {
		t.Fatalf("after close: created %d updated %d, want 1 and 0", c, u)
	}
	closed, err := st.Alert(ctx, newest[0].ID)
	if err != nil || closed.Status != alert.Closed || closed.Note != "looking" || closed.ClosedAt.IsZero() || closed.Count != 2 {
		t.Fatalf("closed alert %+v, %v", closed, err)
	}
	if n := count(t, st, `SELECT count(*) FROM alert`); n != 4 {
		t.Errorf("%d alerts, want 4", n)
	}
	open, _ := st.Alerts(ctx, AlertFilter{Statuses: []alert.Status{alert.Open}, MinSeverity: "critical"})
	if len(open) != 0 {
		t.Errorf("min severity critical listed %d high alerts", len(open))
	}
	if _, err := st.Alert(ctx, 999); !errors.Is(err, ErrNoAlert) {
		t.Errorf("unknown alert: %v", err)
	}
	if err := st.SetAlertStatus(ctx, 999, alert.Closed, ""); !errors.Is(err, ErrNoAlert) {
		t.Errorf("closing an unknown alert: %v", err)
	}
}

// TestRecordHitsTwice replays the same hits (a backfill run twice over one
// range): the second run changes nothing, even once the alert is closed.
func TestRecordHitsTwice(t *testing.T) {
	st, _ := openTemp(t)
	var hits []event.Hit
	for i := range 50 {
		hits = append(hits, hit("r1", fmt.Sprintf("k%d", i%5), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("e%d", i)))
	}
	thr := hit("thr", "alice", t0, "e1", "e2", "e3") // records at t0, +1m, +2m
	thr.Last = t0.Add(2 * time.Minute)
	thr.Count = 3
	hits = append(hits, thr)
	if c, u := record(t, st, hits...); c != 6 || u != 45 {
		t.Fatalf("first run: created %d updated %d", c, u)
	}
	before := count(t, st, `SELECT sum("count") FROM alert`)
	if before != 53 {
		t.Fatalf("counted %d records, want 53", before)
	}
	if err := st.SetAlertStatus(ctx, 1, alert.Closed, ""); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hits...); c != 0 || u != 0 {
		t.Fatalf("second run: created %d updated %d, want nothing", c, u)
	}
	if after := count(t, st, `SELECT sum("count") FROM alert`); after != before {
		t.Errorf("count %d after the second run, %d before", after, before)
	}
	// A threshold hit overlapping the stored one counts only its new records.
	thr2 := hit("thr", "alice", t0.Add(2*time.Minute), "e3", "e4") // +2m, +3m
	thr2.Last = t0.Add(3 * time.Minute)
	thr2.Count = 2
	if _, u := record(t, st, thr2); u != 1 {
		t.Fatalf("overlapping threshold hit updated %d", u)
	}
	if n := count(t, st, `SELECT "count" FROM alert WHERE rule_id = 'thr'`); n != 4 {
		t.Errorf("threshold alert counts %d, want 4", n)
	}
}

// TestHitsCommitWithRecords writes hits through a Tx: a rollback leaves
// neither alerts nor deliveries, a commit leaves both.
func TestHitsCommitWithRecords(t *testing.T) {
	st, _ := openTemp(t)
	st.SetAlertOptions(AlertOptions{Route: func(rule, sev string) []string {
		if alert.SeverityRank(sev) >= alert.SeverityRank("high") {
			return []string{"slack", "mail"}
		}
		return []string{"slack"}
	}})
	b := &event.Batch{Object: "o1", CloudTrail: []event.CloudTrail{ctEvent("e1", t0, "ConsoleLogin")},
		Hits: []event.Hit{hit("root", "acct", t0, "e1")}}
	tx := mustTx(t, st)
	if err := tx.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM alert_base`) + count(t, st, `SELECT count(*) FROM alert_outbox`); n != 0 {
		t.Fatalf("%d alert rows after a rollback", n)
	}
	tx = mustTx(t, st)
	if err := tx.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Reset() // the batch is reused: the Tx must have kept its own copies
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	as, err := st.Alerts(ctx, AlertFilter{}) // ids are not reused after a rollback
	if err != nil || len(as) != 1 || !slices.Equal(as[0].EventIDs, []string{"e1"}) || as[0].RuleID != "root" {
		t.Fatalf("alerts %+v, %v", as, err)
	}
	ds, err := st.Deliveries(ctx, nil, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries %+v, %v", ds, err)
	}
}

// TestOutboxStates walks a delivery through retry, failure, retry of the
// failed and delivery.
func TestOutboxStates(t *testing.T) {
	st, _ := openTemp(t)
	st.SetAlertOptions(AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
	record(t, st, hit("r", "k", t0, "e1"), hit("r", "k2", t0, "e2"))
	now := time.Now().UTC()
	due, err := st.DueDeliveries(ctx, now, 10, nil)
	if err != nil || len(due) != 2 || due[0].Status != alert.Pending || due[0].Notifier != "hook" {
		t.Fatalf("due %+v, %v", due, err)
	}
	if d, _ := st.DueDeliveries(ctx, now, 10, []int64{due[0].ID}); len(d) != 1 || d[0].ID != due[1].ID {
		t.Fatalf("skipping the one in flight: %+v", d)
	}
	if err := st.MarkRetry(ctx, due[0].ID, 1, now, now.Add(time.Minute), "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDelivered(ctx, due[1].ID, 1, now); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.DueDeliveries(ctx, now, 10, nil); len(d) != 0 {
		t.Fatalf("due before the retry time or after delivery: %+v", d)
	}
	d, _ := st.DueDeliveries(ctx, now.Add(time.Minute), 10, nil)
	if len(d) != 1 || d[0].Attempts != 1 || d[0].LastError != "HTTP 500" {
		t.Fatalf("due at the retry time: %+v", d)
	}
	if err := st.MarkRetry(ctx, d[0].ID, 2, now, time.Time{}, "gave up"); err != nil {
		t.Fatal(err)
	}
	failed, _ := st.Deliveries(ctx, []alert.DeliveryStatus{alert.Failed}, 0)
	if len(failed) != 1 || failed[0].ID != d[0].ID {
		t.Fatalf("failed %+v", failed)
	}
	if n, err := st.RetryFailed(ctx, nil); n != 1 || err != nil {
		t.Fatalf("retry failed: %d, %v", n, err)
	}
	if d, _ := st.DueDeliveries(ctx, time.Now().UTC().Add(time.Second), 10, nil); len(d) != 1 {
		t.Fatalf("due after RetryFailed: %+v", d)
	}
}

// BenchmarkRecordHits measures storing streaming hits (a new key in one of
// ten, the rest absorbed), 1,000 a transaction (an ingest transaction
// holds thousands of records).
func BenchmarkRecordHits(b *testing.B) {
	st, err := Open(ctx, b.TempDir()+"/b.duckdb", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hits := make([]event.Hit, 1000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range hits {
			n++
			hits[i] = hit("r", fmt.Sprintf("k%d", n/10), t0.Add(time.Duration(n)*time.Second), fmt.Sprintf("e%d", n))
		}
		if _, _, err := st.RecordHits(ctx, hits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "hits/s")
}

// BenchmarkOutbox measures claiming a due delivery and marking it
// delivered.
func BenchmarkOutbox(b *testing.B) {
	st, err := Open(ctx, b.TempDir()+"/b.duckdb", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	st.SetAlertOptions(AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
	hits := make([]event.Hit, 2000)
	for i := range hits {
		hits[i] = hit("r", fmt.Sprintf("k%d", i), t0, fmt.Sprintf("e%d", i))
	}
	if _, _, err := st.RecordHits(ctx, hits); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Add(time.Second)
	b.ReportAllocs()
	done := 0
	for b.Loop() {
		d, err := st.DueDeliveries(ctx, now, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(d) == 0 {
			if _, err := st.db.ExecContext(ctx, `UPDATE alert_outbox SET status = 'pending'`); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if err := st.MarkDelivered(ctx, d[0].ID, 1, now); err != nil {
			b.Fatal(err)
		}
		done++
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "deliveries/s")
}

// TestAlertOutOfOrder: a hit earlier than the alert's first_seen, within
// the window, is absorbed and moves first_seen back; one far earlier
// opens another alert.
func TestAlertOutOfOrder(t *testing.T) {
	st, _ := openTemp(t)
	record(t, st, hit("r", "k", t0.Add(2*time.Hour), "e1"))
	if c, u := record(t, st, hit("r", "k", t0.Add(90*time.Minute), "e0")); c != 0 || u != 1 {
		t.Fatalf("an earlier hit within the window: created %d updated %d", c, u)
	}
	a, err := st.Alert(ctx, 1)
	if err != nil || !a.FirstSeen.Equal(t0.Add(90*time.Minute)) || !a.LastSeen.Equal(t0.Add(2*time.Hour)) || a.Count != 2 {
		t.Fatalf("alert %+v, %v", a, err)
	}
	if c, _ := record(t, st, hit("r", "k", t0.Add(-time.Hour), "e-1")); c != 1 {
		t.Fatal("a hit far earlier than the window was absorbed")
	}
}

// TestAlertReminders: with RemindAfter, an alert absorbing a hit that long
// after its last message queues a reminder to the same notifiers; without
// it, updates queue nothing.
func TestAlertReminders(t *testing.T) {
	st, _ := openTemp(t)
	route := func(string, string) []string { return []string{"slack"} }
	st.SetAlertOptions(AlertOptions{Route: route})
	record(t, st, hit("r", "k", t0, "e1"))
	record(t, st, hit("r", "k", t0.Add(time.Minute), "e2"))
	if n := count(t, st, `SELECT count(*) FROM alert_outbox`); n != 1 {
		t.Fatalf("%d deliveries without reminders, want the creation's only", n)
	}
	st.SetAlertOptions(AlertOptions{Route: route, RemindAfter: time.Microsecond})
	record(t, st, hit("r", "k", t0.Add(2*time.Minute), "e3"), hit("r", "k", t0.Add(3*time.Minute), "e4"))
	if n := count(t, st, `SELECT count(*) FROM alert_outbox WHERE reason = 'reminder' AND notifier = 'slack' AND alert_id = 1`); n != 1 {
		t.Errorf("%d reminders, want 1 (one per call, not per hit)", n)
	}
	st.SetAlertOptions(AlertOptions{Route: route, RemindAfter: time.Hour})
	record(t, st, hit("r", "k", t0.Add(4*time.Minute), "e5"))
	if n := count(t, st, `SELECT count(*) FROM alert_outbox`); n != 2 {
		t.Errorf("%d deliveries; a reminder came before remind_after", n)
	}
}
