package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/rules"
	"github.com/trawl-project/trawl/internal/rules/ruletest"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// alertStore is the alert store as both stores implement it (the
// interface trawl's commands use).
type alertStore = app.AlertBackend

// The ClickHouse store serves every consumer of the alert store.
var (
	_ alertStore        = (*duckdb.Store)(nil)
	_ alertStore        = (*clickhouse.Store)(nil)
	_ api.AlertStore    = (*clickhouse.Store)(nil)
	_ notify.Outbox     = (*clickhouse.Store)(nil)
	_ rules.HitRecorder = (*clickhouse.Store)(nil)
)

// freshStores opens an empty DuckDB store and an empty ClickHouse store.
func freshStores(t *testing.T) (*duckdb.Store, *clickhouse.Store) {
	t.Helper()
	ctx := context.Background()
	dsn := chtest.DSN(t)
	duck, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "a.duckdb"), duckdb.Options{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	ch, err := clickhouse.Open(ctx, dsn, clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return duck, ch
}

// alertView is what must be equal of an alert in both stores: all but
// the times the store stamps itself (created, updated, closed: only
// whether they are set).
type alertView struct {
	ID                  int64
	RuleID, Severity    string
	Title, LogType      string
	FirstSeen, LastSeen time.Time
	Count               int64
	Status              alert.Status
	EventIDs, Tags      []string
	DedupKey, Note      string
	Fields              map[string]string
	Closed              bool
}

func viewAlerts(as []alert.Alert) []alertView {
	out := make([]alertView, len(as))
	for i, a := range as {
		out[i] = alertView{a.ID, a.RuleID, a.Severity, a.Title, a.LogType, a.FirstSeen.UTC(), a.LastSeen.UTC(), a.Count, a.Status,
			a.EventIDs, a.Tags, a.DedupKey, a.Note, a.Fields, !a.ClosedAt.IsZero()}
		if len(out[i].Tags) == 0 {
			out[i].Tags = nil
		}
		if len(out[i].EventIDs) == 0 {
			out[i].EventIDs = nil
		}
	}
	return out
}

// deliveryView is what must be equal of a delivery (the queueing time is
// the store's clock).
type deliveryView struct {
	ID, AlertID      int64
	Notifier, Reason string
	Status           alert.DeliveryStatus
	Attempts         int
	LastError        string
	Delivered        bool
}

func viewDeliveries(ds []alert.Delivery) []deliveryView {
	out := make([]deliveryView, len(ds))
	for i, d := range ds {
		out[i] = deliveryView{d.ID, d.AlertID, d.Notifier, d.Reason, d.Status, d.Attempts, d.LastError, !d.DeliveredAt.IsZero()}
	}
	return out
}

func same[T any](t *testing.T, what string, duck, ch T) {
	t.Helper()
	if reflect.DeepEqual(duck, ch) {
		return
	}
	a, b := reflect.ValueOf(duck), reflect.ValueOf(ch)
	if a.Kind() == reflect.Slice {
		for i := 0; i < a.Len() && i < b.Len(); i++ {
			if !reflect.DeepEqual(a.Index(i).Interface(), b.Index(i).Interface()) {
				t.Fatalf("%s differ at %d of %d/%d:\nduckdb:     %+v\nclickhouse: %+v", what, i, a.Len(), b.Len(), a.Index(i), b.Index(i))
			}
		}
		t.Fatalf("%s: %d in DuckDB, %d in ClickHouse", what, a.Len(), b.Len())
	}
	t.Fatalf("%s differ:\nduckdb:     %+v\nclickhouse: %+v", what, duck, ch)
}

// scenarioHits are hits of four rules over ten keys in six hours, out of
// time order, with repeated records (a backfill over ingested data),
// threshold hits of several records, hits with no records and hits with
// the default suppression window.
func scenarioHits(r *rand.Rand, n int) []event.Hit {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var out []event.Hit
	for i := range n {
		rule := fmt.Sprintf("rule-%d", r.IntN(4))
		at := base.Add(time.Duration(r.IntN(6*3600)) * time.Second)
		h := event.Hit{RuleID: rule, Severity: []string{"low", "medium", "high", "critical", ""}[r.IntN(5)], Title: "t " + rule,
			LogType: event.KindCloudTrail, DedupKey: fmt.Sprintf("key-%d", r.IntN(10)), First: at, Last: at,
			Suppress: []time.Duration{0, 30 * time.Minute, time.Hour, 2 * time.Hour}[r.IntN(4)], Tags: []string{"T1078"}}
		switch k := r.IntN(10); {
		case k < 6: // one record, sometimes one seen before
			h.EventIDs = []string{fmt.Sprintf("e%d", r.IntN(n*2/3+1))}
			h.Count = 1
		case k < 8: // a threshold hit over several
			m := 2 + r.IntN(5)
			for j := range m {
				h.EventIDs = append(h.EventIDs, fmt.Sprintf("e%d", (i*7+j)%(n+5)))
			}
			h.Last = at.Add(time.Duration(m) * time.Minute)
			h.Count = int64(m + r.IntN(3))
		default: // no records (a flow aggregate)
			h.Count = int64(1 + r.IntN(100))
		}
		if r.IntN(3) > 0 {
			h.Fields = map[string]string{"principal": fmt.Sprintf("user-%d", r.IntN(3)), "n": fmt.Sprint(i)}
		}
		out = append(out, h)
	}
	return out
}

// TestAlertStoreConformance runs one sequence of alert-store operations on
// an empty DuckDB store and an empty ClickHouse store and compares every
// answer: created and updated counts, the alerts (ids, counts, event ids,
// times, status, notes, fields) and the outbox (ids, reasons, states).
func TestAlertStoreConformance(t *testing.T) {
	ctx := context.Background()
	duck, ch := freshStores(t)
	stores := []alertStore{duck, ch}
	opt := duckdb.AlertOptions{
		DefaultSuppress: 45 * time.Minute,
		RemindAfter:     time.Microsecond,
		Route: func(rule, sev string) []string {
			if alert.SeverityRank(sev) >= alert.SeverityRank("high") {
				return []string{"pager", "slack"}
			}
			return []string{"slack"}
		},
	}
	for _, st := range stores {
		st.SetAlertOptions(opt)
	}
	hits := scenarioHits(rand.New(rand.NewPCG(11, 7)), 400)
	r := rand.New(rand.NewPCG(3, 5))
	for step := 0; len(hits) > 0; step++ {
		n := min(len(hits), 1+r.IntN(60))
		part := hits[:n]
		hits = hits[n:]
		if step == 3 { // from here on, no reminders
			for _, st := range stores {
				st.SetAlertOptions(duckdb.AlertOptions{DefaultSuppress: opt.DefaultSuppress, Route: opt.Route})
			}
		}
		var res [2][2]int
		for i, st := range stores {
			c, u, err := st.RecordHits(ctx, part)
			if err != nil {
				t.Fatalf("step %d, store %d: %v", step, i, err)
			}
			res[i] = [2]int{c, u}
		}
		same(t, fmt.Sprintf("step %d: created and updated", step), res[0], res[1])
		// People acknowledge and close alerts between batches.
		as, err := duck.Alerts(ctx, duckdb.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) > 0 {
			id := as[r.IntN(len(as))].ID
			st := []alert.Status{alert.Acknowledged, alert.Closed, alert.Open}[r.IntN(3)]
			note := []string{"", "looking", "it's o'k \\ fine"}[r.IntN(3)]
			for _, s := range stores {
				if err := s.SetAlertStatus(ctx, id, st, note); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, f := range []duckdb.AlertFilter{
		{},
		{Statuses: []alert.Status{alert.Open, alert.Acknowledged}},
		{MinSeverity: "high"},
		{Rules: []string{"rule-1", "rule-3*"}, Limit: 5},
		{Since: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)},
	} {
		var got [2][]alertView
		for i, st := range stores {
			as, err := st.Alerts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = viewAlerts(as)
		}
		if len(got[0]) == 0 && f.Limit == 0 && len(f.Rules) == 0 {
			t.Fatalf("filter %+v selects no alert: the scenario tests nothing", f)
		}
		same(t, fmt.Sprintf("alerts of %+v", f), got[0], got[1])
	}
	for _, id := range []int64{1, 7, 1000} {
		a, errA := duck.Alert(ctx, id)
		b, errB := ch.Alert(ctx, id)
		same(t, fmt.Sprintf("alert %d error", id), errA != nil, errB != nil)
		same(t, fmt.Sprintf("alert %d", id), viewAlerts([]alert.Alert{a}), viewAlerts([]alert.Alert{b}))
	}
	// The outbox: claim, fail, deliver, give up, retry.
	now := time.Now().UTC().Add(time.Second)
	var due [2][]alert.Delivery
	for i, st := range stores {
		d, err := st.DueDeliveries(ctx, now, 25, []int64{2, 3})
		if err != nil {
			t.Fatal(err)
		}
		due[i] = d
	}
	if len(due[0]) != 25 {
		t.Fatalf("%d deliveries due in DuckDB, want 25", len(due[0]))
	}
	same(t, "due deliveries", viewDeliveries(due[0]), viewDeliveries(due[1]))
	for j, d := range due[0] {
		for _, st := range stores {
			var err error
			switch j % 3 {
			case 0:
				err = st.MarkDelivered(ctx, d.ID, 1, now)
			case 1:
				err = st.MarkRetry(ctx, d.ID, 1, now, now.Add(time.Minute), "HTTP 503")
			case 2:
				err = st.MarkRetry(ctx, d.ID, 3, now, time.Time{}, "gave up")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var retried [2]int64
	for i, st := range stores {
		n, err := st.RetryFailed(ctx, []int64{due[0][2].ID, due[0][5].ID, due[0][0].ID})
		if err != nil {
			t.Fatal(err)
		}
		retried[i] = n
	}
	same(t, "retried", retried[0], retried[1])
	for _, sts := range [][]alert.DeliveryStatus{nil, {alert.Failed}, {alert.Pending, alert.Delivered}} {
		var got [2][]deliveryView
		for i, st := range stores {
			ds, err := st.Deliveries(ctx, sts, 0)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = viewDeliveries(ds)
		}
		same(t, fmt.Sprintf("deliveries %v", sts), got[0], got[1])
	}
	for _, at := range []time.Time{now, now.Add(time.Minute)} {
		var got [2][]deliveryView
		for i, st := range stores {
			ds, err := st.DueDeliveries(ctx, at, 1000, nil)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = viewDeliveries(ds)
		}
		same(t, fmt.Sprintf("due at %s", at), got[0], got[1])
	}
}

// packScheduled returns the pack's scheduled rules, enabled (tests run the
// disabled ones too).
func packScheduled(t *testing.T) []*rules.Rule {
	t.Helper()
	set, err := rules.Load(rules.Pack())
	if err != nil {
		t.Fatal(err)
	}
	var out []*rules.Rule
	for _, r := range set.Rules {
		if r.Scheduled != nil {
			c := *r
			c.Enabled = true
			out = append(out, &c)
		}
	}
	if len(out) == 0 {
		t.Fatal("the pack has no scheduled rules")
	}
	return out
}

// hitView is what must be equal of a scheduled rule's hit.
type hitView struct {
	RuleID, DedupKey, Title, Severity string
	EventIDs                          []string
	First, Last                       time.Time
	Count                             int64
	Fields                            map[string]string
}

func viewHits(hs []event.Hit) []hitView {
	out := make([]hitView, len(hs))
	for i, h := range hs {
		out[i] = hitView{h.RuleID, h.DedupKey, h.Title, h.Severity, h.EventIDs, h.First.UTC(), h.Last.UTC(), h.Count, h.Fields}
		if len(out[i].EventIDs) == 0 {
			out[i].EventIDs = nil
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DedupKey < out[j].DedupKey })
	return out
}

// TestScheduledRulesConformance stores every test case of every scheduled
// rule of the pack in an empty DuckDB store and an empty ClickHouse store,
// runs the rule over its test window on both (RunWindow, as the scheduler
// does, and RunRange, as backfill does) and compares the hits; then records
// the hits as alerts in each store and compares the alerts.
func TestScheduledRulesConformance(t *testing.T) {
	ctx := context.Background()
	for _, r := range packScheduled(t) {
		for _, c := range []struct {
			name  string
			cases []map[string]any
			fires bool
		}{{"match", r.Tests.Match, true}, {"no_match", r.Tests.NoMatch, false}} {
			for i, m := range c.cases {
				t.Run(fmt.Sprintf("%s/%s-%d", r.ID, c.name, i), func(t *testing.T) {
					b, err := ruletest.CaseBatch(ctx, r, m)
					if err != nil {
						t.Fatal(err)
					}
					duck, ch := freshStores(t)
					if err := ruletest.Store(ctx, duck, b); err != nil {
						t.Fatal(err)
					}
					ps := clickhouse.PipelineStore(ch)
					if err := writeBatch(ctx, ps, b); err != nil {
						t.Fatal(err)
					}
					miss, err := r.MissingColumns(ctx, ch)
					if err != nil || len(miss) > 0 {
						t.Fatalf("ClickHouse lacks %v (%v)", miss, err)
					}
					start, end := ruletest.Window(r)
					hd, err := r.RunWindow(ctx, duck, start, end)
					if err != nil {
						t.Fatalf("duckdb: %v", err)
					}
					hc, err := r.RunWindow(ctx, ch, start, end)
					if err != nil {
						t.Fatalf("clickhouse: %v", err)
					}
					if (len(hd) > 0) != c.fires {
						t.Fatalf("on DuckDB the rule gave %d hits; the case says fires=%v", len(hd), c.fires)
					}
					same(t, "RunWindow hits", viewHits(hd), viewHits(hc))
					rd, err := r.RunRange(ctx, duck, start.Add(-24*time.Hour), end)
					if err != nil {
						t.Fatalf("duckdb: %v", err)
					}
					rc, err := r.RunRange(ctx, ch, start.Add(-24*time.Hour), end)
					if err != nil {
						t.Fatalf("clickhouse: %v", err)
					}
					same(t, "RunRange hits", viewHits(rd), viewHits(rc))
					var as [2][]alertView
					for j, st := range []alertStore{duck, ch} {
						if _, _, err := st.RecordHits(ctx, hd); err != nil {
							t.Fatal(err)
						}
						a, err := st.Alerts(ctx, duckdb.AlertFilter{})
						if err != nil {
							t.Fatal(err)
						}
						as[j] = viewAlerts(a)
					}
					same(t, "alerts", as[0], as[1])
				})
			}
		}
	}
}

// writeBatch writes b through a pipeline store in one transaction.
func writeBatch(ctx context.Context, ps pipeline.Store, b *event.Batch) error {
	tx, err := ps.Begin(ctx)
	if err != nil {
		return err
	}
	if err := tx.Write(ctx, b); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Flush(ctx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit(ctx, nil)
}

// TestBackfillConformance runs `trawl rules backfill` (every rule of the
// pack, streaming and scheduled, enabled) over the whole generated data set
// in both stores: the hits are the same, and recorded as alerts in each
// store they make the same alerts. Records of one time may be read in
// another order from each store, so hits are compared as sets and alerts
// without their ids.
func TestBackfillConformance(t *testing.T) {
	ctx := context.Background()
	s := loadStores(t)
	set, err := rules.Load(rules.Pack())
	if err != nil {
		t.Fatal(err)
	}
	var all []*rules.Rule
	for _, r := range set.Rules {
		c := *r
		c.Enabled = true
		all = append(all, &c)
	}
	since, until := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().UTC().Add(48*time.Hour)
	var hits [2][]hitView
	var alerts [2][]alertView
	for i, st := range []interface {
		alertStore
		store.Querier
	}{s.Duck, s.CH} {
		var got []event.Hit
		bf := rules.Backfill{Store: st, Rules: all, Since: since, Until: until,
			Emit: func(ctx context.Context, hs []event.Hit) error {
				got = append(got, hs...)
				_, _, err := st.RecordHits(ctx, hs)
				return err
			}}
		records, n, err := bf.Run(ctx)
		if err != nil {
			t.Fatalf("backfill on %T: %v", st, err)
		}
		if records == 0 || n == 0 {
			t.Fatalf("backfill on %T read %d records and found %d hits: it tests nothing", st, records, n)
		}
		hits[i] = viewHits(got)
		sort.SliceStable(hits[i], func(a, b int) bool { return fmt.Sprint(hits[i][a]) < fmt.Sprint(hits[i][b]) })
		as, err := st.Alerts(ctx, duckdb.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		alerts[i] = viewAlerts(as)
		for j := range alerts[i] {
			alerts[i][j].ID = 0
			sort.Strings(alerts[i][j].EventIDs)
		}
		sort.SliceStable(alerts[i], func(a, b int) bool { return fmt.Sprint(alerts[i][a]) < fmt.Sprint(alerts[i][b]) })
	}
	same(t, "backfill hits", hits[0], hits[1])
	same(t, "alerts after backfill", alerts[0], alerts[1])
	t.Logf("%d hits, %d alerts alike", len(hits[0]), len(alerts[0]))
}

// TestPruneConformance stores CloudTrail events, flows and finding versions
// over five days in both stores, prunes every prunable table at a cutoff
// inside the fourth day and compares what each store counted, deleted and
// kept. On ClickHouse the days before the cutoff's go by DROP PARTITION,
// the rest by a DELETE mutation.
func TestPruneConformance(t *testing.T) {
	ctx := context.Background()
	duck, ch := freshStores(t)
	day0 := time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)
	b := &event.Batch{Object: "prune-test"}
	for i := range 60 {
		at := day0.Add(time.Duration(i) * 2 * time.Hour)
		e, err := ruletest.CloudTrail(map[string]any{"eventSource": "ec2.amazonaws.com", "eventName": fmt.Sprintf("Describe%d", i%7)}, at)
		if err != nil {
			t.Fatal(err)
		}
		e.Unit = int64(b.Rows())
		b.CloudTrail = append(b.CloudTrail, e)
		f, err := ruletest.Flow(map[string]any{"srcaddr": "10.0.0.1", "dstport": i}, at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		f.Unit = int64(b.Rows())
		b.VPCFlow = append(b.VPCFlow, f)
		id := fmt.Sprintf("f%d", i%9) // updated until day 2, then g…
		if i >= 30 {
			id = fmt.Sprintf("g%d", i%4)
		}
		g, err := ruletest.Finding(map[string]any{"id": id, "severity": 2 + i%6}, at.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		g.Unit = int64(b.Rows())
		b.Findings = append(b.Findings, g)
	}
	if err := ruletest.Store(ctx, duck, b); err != nil {
		t.Fatal(err)
	}
	ps := clickhouse.PipelineStore(ch)
	if err := writeBatch(ctx, ps, b); err != nil {
		t.Fatal(err)
	}
	before := day0.Add(3*24*time.Hour + 12*time.Hour + 30*time.Second + 500*time.Millisecond)
	for _, table := range clickhouse.PruneTables() {
		col := duckdb.Prunable[table]
		var older, pruned, left [2]int64
		var err error
		for i, st := range []interface {
			store.Querier
			CountOlder(context.Context, string, time.Time) (int64, error)
			Prune(context.Context, string, time.Time) (int64, error)
		}{duck, ch} {
			if older[i], err = st.CountOlder(ctx, table, before); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			if pruned[i], err = st.Prune(ctx, table, before); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			rows := query(t, st, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s IS NOT NULL AND %s < ?`, table, col, col), before)
			if rows[0][0] != int64(0) {
				t.Errorf("%s: %v rows older than the cutoff left in store %d", table, rows[0][0], i)
			}
			n, ok := query(t, st, `SELECT count(*) FROM `+table)[0][0].(int64)
			if !ok {
				t.Fatalf("%s: count(*) is not an int64", table)
			}
			left[i] = n
		}
		same(t, table+": counted", older[0], older[1])
		same(t, table+": pruned", pruned[0], pruned[1])
		same(t, table+": left", left[0], left[1])
		t.Logf("%s: %d older, %d pruned, %d left", table, older[0], pruned[0], left[0])
		if table == "cloudtrail" && (pruned[0] == 0 || left[0] == 0) {
			t.Fatalf("cloudtrail: pruned %d, left %d: the cutoff tests nothing", pruned[0], left[0])
		}
	}
	// The whole days went as partitions: none older than the cutoff's day.
	rows := query(t, ch, `SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'cloudtrail_data' AND active AND partition < '20261031'`)
	if rows[0][0] != int64(0) {
		t.Errorf("%v parts of days before the cutoff left", rows[0][0])
	}
}
