package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// The cases of internal/store/duckdb's alerts_test.go, against a real
// clickhouse-server.

var (
	actx = context.Background()
	t0   = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
)

func hit(rule, key string, at time.Time, ids ...string) event.Hit {
	return event.Hit{RuleID: rule, Severity: "high", Title: "Root login", LogType: event.KindCloudTrail,
		EventIDs: ids, First: at, Last: at, DedupKey: key, Suppress: time.Hour, Count: int64(max(len(ids), 1)),
		Fields: map[string]string{"principal": "root", "source_ip": "203.0.113.9"}, Tags: []string{"T1078"}}
}

func record(t *testing.T, st *clickhouse.Store, hits ...event.Hit) (int, int) {
	t.Helper()
	c, u, err := st.RecordHits(actx, hits)
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

func countOf(t *testing.T, st *clickhouse.Store, sql string) int64 {
	t.Helper()
	rows := collect(t, st, sql)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: %v", sql, rows)
	}
	n, ok := rows[0][0].(int64)
	if !ok {
		t.Fatalf("%s: %T %v", sql, rows[0][0], rows[0][0])
	}
	return n
}

// TestAlertSuppression checks the dedup rules: the same rule and key inside
// the window update one alert, outside it or after close open a new one,
// and an acknowledged alert still absorbs hits.
func TestAlertSuppression(t *testing.T) {
	st := open(t)
	if c, u := record(t, st, hit("r1", "k", t0, "e1"), hit("r1", "k", t0.Add(30*time.Minute), "e2")); c != 1 || u != 1 {
		t.Fatalf("created %d updated %d, want 1 and 1", c, u)
	}
	as, err := st.Alerts(actx, clickhouse.AlertFilter{})
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts %v, %v", as, err)
	}
	a := as[0]
	if a.ID != 1 || a.Count != 2 || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(30*time.Minute)) || !slices.Equal(a.EventIDs, []string{"e1", "e2"}) ||
		a.Status != alert.Open || a.Severity != "high" || a.Fields["principal"] != "root" || !slices.Equal(a.Tags, []string{"T1078"}) || a.LogType != "cloudtrail" {
		t.Fatalf("alert %+v", a)
	}
	if c, u := record(t, st, hit("r1", "other", t0, "e3"), hit("r1", "k", t0.Add(30*time.Minute+61*time.Minute), "e4")); c != 2 || u != 0 {
		t.Fatalf("created %d updated %d, want 2 and 0", c, u)
	}
	newest, _ := st.Alerts(actx, clickhouse.AlertFilter{Rules: []string{"r*"}, Limit: 1})
	if len(newest) != 1 || !slices.Equal(newest[0].EventIDs, []string{"e4"}) {
		t.Fatalf("newest %+v", newest)
	}
	if err := st.SetAlertStatus(actx, newest[0].ID, alert.Acknowledged, "looking"); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hit("r1", "k", t0.Add(2*time.Hour), "e5")); c != 0 || u != 1 {
		t.Fatalf("after ack: created %d updated %d, want 0 and 1", c, u)
	}
	if err := st.SetAlertStatus(actx, newest[0].ID, alert.Closed, ""); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hit("r1", "k", t0.Add(2*time.Hour+time.Minute), "e6")); c != 1 || u != 0 {
		t.Fatalf("after close: created %d updated %d, want 1 and 0", c, u)
	}
	closed, err := st.Alert(actx, newest[0].ID)
	if err != nil || closed.Status != alert.Closed || closed.Note != "looking" || closed.ClosedAt.IsZero() || closed.Count != 2 {
		t.Fatalf("closed alert %+v, %v", closed, err)
	}
	if n := countOf(t, st, `SELECT count(*) FROM alert`); n != 4 {
		t.Errorf("%d alerts, want 4", n)
	}
	// The view has DuckDB's columns.
	rows := collect(t, st, `SELECT id, status, note, "count", closed_at IS NULL FROM alert ORDER BY id`)
	if len(rows) != 4 || rows[2][1] != "closed" || rows[2][2] != "looking" || rows[2][3] != int64(2) || rows[0][2] != nil {
		t.Errorf("alert view %v", rows)
	}
	open, _ := st.Alerts(actx, clickhouse.AlertFilter{Statuses: []alert.Status{alert.Open}, MinSeverity: "critical"})
	if len(open) != 0 {
		t.Errorf("min severity critical listed %d high alerts", len(open))
	}
	if _, err := st.Alert(actx, 999); !errors.Is(err, clickhouse.ErrNoAlert) {
		t.Errorf("unknown alert: %v", err)
	}
	if err := st.SetAlertStatus(actx, 999, alert.Closed, ""); !errors.Is(err, clickhouse.ErrNoAlert) {
		t.Errorf("closing an unknown alert: %v", err)
	}
}

// TestRecordHitsTwice replays the same hits (a backfill run twice over one
// range): the second run changes nothing, even once the alert is closed.
func TestRecordHitsTwice(t *testing.T) {
	st := open(t)
	var hits []event.Hit
	for i := range 50 {
		hits = append(hits, hit("r1", fmt.Sprintf("k%d", i%5), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("e%d", i)))
	}
	thr := hit("thr", "alice", t0, "e1", "e2", "e3")
	thr.Last = t0.Add(2 * time.Minute)
	thr.Count = 3
	hits = append(hits, thr)
	if c, u := record(t, st, hits...); c != 6 || u != 45 {
		t.Fatalf("first run: created %d updated %d", c, u)
	}
	before := countOf(t, st, `SELECT toInt64(sum("count")) FROM alert`)
	if before != 53 {
		t.Fatalf("counted %d records, want 53", before)
	}
	if err := st.SetAlertStatus(actx, 1, alert.Closed, ""); err != nil {
		t.Fatal(err)
	}
	if c, u := record(t, st, hits...); c != 0 || u != 0 {
		t.Fatalf("second run: created %d updated %d, want nothing", c, u)
	}
	if after := countOf(t, st, `SELECT toInt64(sum("count")) FROM alert`); after != before {
		t.Errorf("count %d after the second run, %d before", after, before)
	}
	thr2 := hit("thr", "alice", t0.Add(2*time.Minute), "e3", "e4")
	thr2.Last = t0.Add(3 * time.Minute)
	thr2.Count = 2
	if _, u := record(t, st, thr2); u != 1 {
		t.Fatalf("overlapping threshold hit updated %d", u)
	}
	if n := countOf(t, st, `SELECT "count" FROM alert WHERE rule_id = 'thr'`); n != 4 {
		t.Errorf("threshold alert counts %d, want 4", n)
	}
}

// TestOutboxStates walks a delivery through retry, failure, retry of the
// failed and delivery.
func TestOutboxStates(t *testing.T) {
	st := open(t)
	st.SetAlertOptions(clickhouse.AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
	record(t, st, hit("r", "k", t0, "e1"), hit("r", "k2", t0, "e2"))
	now := time.Now().UTC()
	due, err := st.DueDeliveries(actx, now, 10, nil)
	if err != nil || len(due) != 2 || due[0].Status != alert.Pending || due[0].Notifier != "hook" || due[0].ID != 1 || due[1].ID != 2 {
		t.Fatalf("due %+v, %v", due, err)
	}
	if d, _ := st.DueDeliveries(actx, now, 10, []int64{due[0].ID}); len(d) != 1 || d[0].ID != due[1].ID {
		t.Fatalf("skipping the one in flight: %+v", d)
	}
	if err := st.MarkRetry(actx, due[0].ID, 1, now, now.Add(time.Minute), "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkDelivered(actx, due[1].ID, 1, now); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.DueDeliveries(actx, now, 10, nil); len(d) != 0 {
		t.Fatalf("due before the retry time or after delivery: %+v", d)
	}
	d, _ := st.DueDeliveries(actx, now.Add(time.Minute), 10, nil)
	if len(d) != 1 || d[0].Attempts != 1 || d[0].LastError != "HTTP 500" {
		t.Fatalf("due at the retry time: %+v", d)
	}
	if err := st.MarkRetry(actx, d[0].ID, 2, now, time.Time{}, "gave up"); err != nil {
		t.Fatal(err)
	}
	failed, _ := st.Deliveries(actx, []alert.DeliveryStatus{alert.Failed}, 0)
	if len(failed) != 1 || failed[0].ID != d[0].ID {
		t.Fatalf("failed %+v", failed)
	}
	if n, err := st.RetryFailed(actx, nil); n != 1 || err != nil {
		t.Fatalf("retry failed: %d, %v", n, err)
	}
	if d, _ := st.DueDeliveries(actx, time.Now().UTC().Add(time.Second), 10, nil); len(d) != 1 {
		t.Fatalf("due after RetryFailed: %+v", d)
	}
	all, _ := st.Deliveries(actx, nil, 0)
	if len(all) != 2 || all[0].ID != 2 || all[0].Status != alert.Delivered || all[0].DeliveredAt.IsZero() || all[1].Attempts != 2 {
		t.Fatalf("all deliveries %+v", all)
	}
	if n := countOf(t, st, `SELECT count(*) FROM alert_outbox WHERE status = 'delivered' AND delivered_at IS NOT NULL`); n != 1 {
		t.Errorf("alert_outbox view: %d delivered", n)
	}
}

// TestAlertOutOfOrder: a hit earlier than the alert's first_seen, within
// the window, is absorbed and moves first_seen back; one far earlier
// opens another alert.
func TestAlertOutOfOrder(t *testing.T) {
	st := open(t)
	record(t, st, hit("r", "k", t0.Add(2*time.Hour), "e1"))
	if c, u := record(t, st, hit("r", "k", t0.Add(90*time.Minute), "e0")); c != 0 || u != 1 {
		t.Fatalf("an earlier hit within the window: created %d updated %d", c, u)
	}
	a, err := st.Alert(actx, 1)
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
	st := open(t)
	route := func(string, string) []string { return []string{"slack"} }
	st.SetAlertOptions(clickhouse.AlertOptions{Route: route})
	record(t, st, hit("r", "k", t0, "e1"))
	record(t, st, hit("r", "k", t0.Add(time.Minute), "e2"))
	if n := countOf(t, st, `SELECT count(*) FROM alert_outbox`); n != 1 {
		t.Fatalf("%d deliveries without reminders, want the creation's only", n)
	}
	st.SetAlertOptions(clickhouse.AlertOptions{Route: route, RemindAfter: time.Microsecond})
	record(t, st, hit("r", "k", t0.Add(2*time.Minute), "e3"), hit("r", "k", t0.Add(3*time.Minute), "e4"))
	if n := countOf(t, st, `SELECT count(*) FROM alert_outbox WHERE reason = 'reminder' AND notifier = 'slack' AND alert_id = 1`); n != 1 {
		t.Errorf("%d reminders, want 1 (one per call, not per hit)", n)
	}
	st.SetAlertOptions(clickhouse.AlertOptions{Route: route, RemindAfter: time.Hour})
	record(t, st, hit("r", "k", t0.Add(4*time.Minute), "e5"))
	if n := countOf(t, st, `SELECT count(*) FROM alert_outbox`); n != 2 {
		t.Errorf("%d deliveries; a reminder came before remind_after", n)
	}
}

// openN opens n stores (n writers, as n processes) on one new database.
func openN(t *testing.T, n int) []*clickhouse.Store {
	dsn := chtest.DSN(t)
	out := make([]*clickhouse.Store, n)
	for i := range out {
		st, err := clickhouse.Open(actx, dsn, clickhouse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		st.SetAlertOptions(clickhouse.AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
		out[i] = st
	}
	return out
}

// TestAlertsManyWriters records the same hits from four writers at once
// (four workers that ingested overlapping data): the alerts are those one
// writer makes, with ids 1…n, each record counted once; then the four claim
// due deliveries at once and no delivery goes to two of them.
func TestAlertsManyWriters(t *testing.T) {
	sts := openN(t, 4)
	var hits []event.Hit
	for i := range 40 {
		hits = append(hits, hit("r", fmt.Sprintf("k%d", i%8), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("e%d", i)))
	}
	var wg sync.WaitGroup
	created := make([]int, len(sts))
	errs := make([]error, len(sts))
	for i, st := range sts {
		wg.Go(func() { created[i], _, errs[i] = st.RecordHits(actx, hits) })
	}
	wg.Wait()
	total := 0
	for i := range sts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += created[i]
	}
	if total != 8 {
		t.Errorf("%d alerts created by four writers, want 8", total)
	}
	as, err := sts[0].Alerts(actx, clickhouse.AlertFilter{})
	if err != nil || len(as) != 8 {
		t.Fatalf("alerts %d, %v", len(as), err)
	}
	var ids []int64
	var sum int64
	for _, a := range as {
		ids = append(ids, a.ID)
		sum += a.Count
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{1, 2, 3, 4, 5, 6, 7, 8}) || sum != 40 {
		t.Errorf("ids %v, %d records counted, want 1…8 and 40", ids, sum)
	}
	// Claims: each due delivery goes to one worker.
	now := time.Now().UTC()
	got := make([][]alert.Delivery, len(sts))
	for i, st := range sts {
		wg.Go(func() { got[i], errs[i] = st.DueDeliveries(actx, now, 3, nil) })
	}
	wg.Wait()
	seen := map[int64]int{}
	n := 0
	for i := range sts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, d := range got[i] {
			seen[d.ID]++
			n++
		}
	}
	if n != 8 || len(seen) != 8 {
		t.Errorf("four workers took %d deliveries, %d distinct; want the 8 once each: %v", n, len(seen), got)
	}
	// A worker that gave one up (a retry) lets another take it.
	d := got[slices.IndexFunc(got, func(g []alert.Delivery) bool { return len(g) > 0 })][0]
	owner := 0
	for i := range got {
		if slices.ContainsFunc(got[i], func(x alert.Delivery) bool { return x.ID == d.ID }) {
			owner = i
		}
	}
	oi := (owner + 1) % len(sts)
	other := sts[oi]
	mine := func(ds []alert.Delivery) bool { // only other's own claims
		for _, x := range ds {
			if !slices.ContainsFunc(got[oi], func(y alert.Delivery) bool { return y.ID == x.ID }) {
				return false
			}
		}
		return true
	}
	if again, _ := other.DueDeliveries(actx, now, 10, nil); !mine(again) {
		t.Fatalf("deliveries claimed by others were handed out again: %+v", again)
	}
	if err := sts[owner].MarkRetry(actx, d.ID, 1, now, now, "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if again, _ := other.DueDeliveries(actx, now, 10, nil); !slices.ContainsFunc(again, func(x alert.Delivery) bool { return x.ID == d.ID }) {
		t.Fatalf("after a retry another worker got %+v, not delivery %d", again, d.ID)
	}
}

// BenchmarkRecordHits measures storing streaming hits (a new key in one of
// ten, the rest absorbed), 1,000 a call.
func BenchmarkRecordHits(b *testing.B) {
	st, err := clickhouse.Open(actx, chtest.DSN(b), clickhouse.Options{})
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
		if _, _, err := st.RecordHits(actx, hits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "hits/s")
}

// BenchmarkOutbox measures claiming a due delivery and marking it
// delivered.
func BenchmarkOutbox(b *testing.B) {
	st, err := clickhouse.Open(actx, chtest.DSN(b), clickhouse.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	st.SetAlertOptions(clickhouse.AlertOptions{Route: func(string, string) []string { return []string{"hook"} }})
	hits := make([]event.Hit, 5000)
	for i := range hits {
		hits[i] = hit("r", fmt.Sprintf("k%d", i), t0, fmt.Sprintf("e%d", i))
	}
	if _, _, err := st.RecordHits(actx, hits); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Add(time.Second)
	b.ReportAllocs()
	done := 0
	for b.Loop() {
		d, err := st.DueDeliveries(actx, now, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(d) == 0 {
			b.Fatal("the outbox ran dry; raise the number of hits")
		}
		if err := st.MarkDelivered(actx, d[0].ID, 1, now); err != nil {
			b.Fatal(err)
		}
		done++
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "deliveries/s")
}

// TestHitsWithIngest writes a record and its streaming hit through a Tx:
// the hit becomes an alert with its deliveries; writing the same object
// again (a crash before the ledger, then the re-read) adds nothing.
func TestHitsWithIngest(t *testing.T) {
	st := open(t)
	st.SetAlertOptions(clickhouse.AlertOptions{Route: func(rule, sev string) []string { return []string{"slack", "mail"} }})
	e, err := ruletest.CloudTrail(map[string]any{"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b := &event.Batch{Object: "o1", CloudTrail: []event.CloudTrail{e}, Hits: []event.Hit{hit("root", "acct", t0, e.EventID)}}
		tx, err := st.Begin(actx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Write(actx, b); err != nil {
			t.Fatal(err)
		}
		b.Reset() // the batch is reused
		if _, err := tx.Flush(actx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(actx, nil); err != nil {
			t.Fatal(err)
		}
	}
	as, err := st.Alerts(actx, clickhouse.AlertFilter{})
	if err != nil || len(as) != 1 || !slices.Equal(as[0].EventIDs, []string{e.EventID}) || as[0].RuleID != "root" || as[0].Count != 1 {
		t.Fatalf("alerts %+v, %v", as, err)
	}
	ds, err := st.Deliveries(actx, nil, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries %+v, %v", ds, err)
	}
}
