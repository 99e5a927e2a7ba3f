package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/metrics"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// loginRule is a streaming rule standing in for the rules engine: a hit
// for every ConsoleLogin, grouped by account.
var loginRule = pipeline.ProcessorFunc(func(_ context.Context, b *event.Batch) error {
	for i := range b.CloudTrail {
		e := &b.CloudTrail[i]
		if e.EventName != "ConsoleLogin" {
			continue
		}
		b.Hits = append(b.Hits, event.Hit{RuleID: "console-login", Severity: "high", Title: "Console login", LogType: event.KindCloudTrail,
			EventIDs: []string{e.EventID}, First: e.EventTime, Last: e.EventTime, DedupKey: e.RecipientAccountID, Count: 1,
			Suppress: time.Hour, Fields: map[string]string{"event_name": e.EventName}})
	}
	return nil
})

// writeLogins writes files of CloudTrail records, every third a
// ConsoleLogin in one of four accounts, a minute apart.
func writeLogins(t *testing.T, dir string, files, per int) {
	t.Helper()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for f := range files {
		var lines []string
		for range per {
			name := "GetObject"
			if n%3 == 0 {
				name = "ConsoleLogin"
			}
			lines = append(lines, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"ev-%d","eventTime":"%s","eventSource":"signin.amazonaws.com","eventName":"%s","recipientAccountId":"11112222%04d","awsRegion":"us-east-1"}`,
				n, t0.Add(time.Duration(n)*time.Minute).Format(time.RFC3339), name, n%4))
			n++
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.json", f)), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func alertState(t *testing.T, st *Store) string {
	t.Helper()
	return fmt.Sprint(duckdbtest.Scalar(t, st, `SELECT count(*) FROM alert`), " alerts, ",
		duckdbtest.Scalar(t, st, `SELECT coalesce(sum("count"), 0) FROM alert`), " records, ",
		duckdbtest.Scalar(t, st, `SELECT count(*) FROM alert_outbox`), " deliveries, ",
		duckdbtest.Scalar(t, st, `SELECT count(DISTINCT e) FROM (SELECT unnest(event_ids) AS e FROM alert_hit)`), " event ids")
}

// TestAlertsExactlyOnceWithIngest crashes an ingest whose processor emits
// hits between a write and its commit, runs it again, and compares the
// alerts, their counts and the outbox with a clean run's.
func TestAlertsExactlyOnceWithIngest(t *testing.T) {
	dir := t.TempDir()
	writeLogins(t, dir, 6, 300) // 1800 records, 600 logins
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One worker: hits arrive in time order, as the expected alert count assumes
	// (docs/alerts.md: hits far out of order may open a second alert).
	cfg := pipeline.Config{ChunkUnits: 100, TxRows: 500, Workers: 1, Processors: []pipeline.Processor{loginRule}}
	run := func(crash bool) string {
		st, err := Open(context.Background(), Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: Ingest})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ConfigureAlerts(st, config.Alerts{Suppress: time.Hour, Notifiers: []config.Notifier{{Name: "hook"}}})
		if crash {
			var commits atomic.Int32
			_, err := pipeline.Run(context.Background(), pipelinetest.CrashingStore{Store: PipelineStore(st.Store), N: 2, Commits: &commits}, pipeline.Objects(objs...), cfg)
			if !errors.Is(err, pipelinetest.ErrCrash) {
				t.Fatalf("crashing run: %v", err)
			}
			if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM alert_hit`); n == 0 || n >= 600 {
				t.Fatalf("%d hits stored after the crash; the test needs a partial ingest", n)
			}
		}
		if _, err := pipeline.Run(context.Background(), PipelineStore(st.Store), pipeline.Objects(objs...), cfg); err != nil {
			t.Fatal(err)
		}
		return alertState(t, st)
	}
	clean, crashed := run(false), run(true)
	if clean != crashed {
		t.Errorf("after a crash and re-run: %s; a clean run: %s", crashed, clean)
	}
	// 600 logins over 30 hours in 4 accounts: each account logs in every
	// 12 minutes, inside the 1h window, so one alert per account.
	if want := "4 alerts, 600 records, 4 deliveries, 600 event ids"; clean != want {
		t.Errorf("clean run: %s, want %s", clean, want)
	}
}

// TestCollectorDeliversAlerts runs `trawl run` once with a webhook
// notifier: the alerts its ingest raised are delivered before it returns.
func TestCollectorDeliversAlerts(t *testing.T) {
	var mu sync.Mutex
	var got []notify.WebhookBody
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify([]byte("k"), body, r.Header.Get("X-Trawl-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var b notify.WebhookBody
		_ = json.Unmarshal(body, &b)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer ts.Close()
	dir := t.TempDir()
	writeLogins(t, dir, 1, 10)
	saved := SourceBuilders["s3"]
	defer func() { SourceBuilders["s3"] = saved }()
	SourceBuilders["s3"] = func(context.Context, config.Source, SourceEnv) (pipeline.Source, error) {
		objs, err := file.Objects([]string{dir}, nil)
		return pipeline.Objects(objs...), err
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	yaml := fmt.Sprintf("store:\n  path: %s\nsources:\n  - name: one\n    s3: {bucket: xxx}\nalerts:\n  notifiers:\n    - name: hook\n      webhook: {url: %q, secret: k}\n  routes:\n    - notifiers: [hook]\n      min_severity: high\n", db, ts.URL)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Hits a scheduled rule recorded before the run: one routed (high),
	// one not (low).
	ConfigureAlerts(st, cfg.Alerts)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := st.RecordHits(context.Background(), []event.Hit{
		{RuleID: "scheduled-high", Severity: "high", Title: "Many failures", EventIDs: []string{"x1"}, First: at, Last: at, Count: 1},
		{RuleID: "scheduled-low", Severity: "low", Title: "One failure", EventIDs: []string{"x2"}, First: at, Last: at, Count: 1},
	}); err != nil {
		t.Fatal(err)
	}
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.DiscardHandler), Once: true}
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Alert.RuleID != "scheduled-high" {
		t.Fatalf("delivered %+v; want the high alert only", got)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM alert_outbox WHERE status = 'delivered'`); n != 1 {
		t.Errorf("%d deliveries marked delivered", n)
	}
}

// TestCollectorWorkerBesideIngest runs `trawl run` with a source that
// polls for ever: the worker delivers a pending alert while the pipeline
// runs, and cancelling (SIGTERM) stops both, cleanly.
func TestCollectorWorkerBesideIngest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered atomic.Int32
	got := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delivered.Add(1)
		got <- struct{}{}
	}))
	defer ts.Close()
	saved := SourceBuilders["s3"]
	defer func() { SourceBuilders["s3"] = saved }()
	SourceBuilders["s3"] = func(context.Context, config.Source, SourceEnv) (pipeline.Source, error) {
		return pipeline.SourceFunc(func(ctx context.Context) (pipeline.Object, error) {
			<-ctx.Done()
			return pipeline.Object{}, ctx.Err()
		}), nil
	}
	db := filepath.Join(t.TempDir(), "t.duckdb")
	yaml := fmt.Sprintf("sources:\n  - name: one\n    s3: {bucket: xxx}\nalerts:\n  poll: 100ms\n  notifiers:\n    - name: hook\n      webhook: {url: %q, secret: k}\n", ts.URL)
	cfg, err := config.Parse("trawl.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: db, Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ConfigureAlerts(st, cfg.Alerts)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := st.RecordHits(context.Background(), []event.Hit{{RuleID: "r", Severity: "low", Title: "t", EventIDs: []string{"x"}, First: at, Last: at, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Stop the run (SIGTERM) once the alert is out and marked.
		<-got
		for ctx.Err() == nil {
			if ds, err := st.Deliveries(ctx, []alert.DeliveryStatus{alert.Delivered}, 0); err == nil && len(ds) == 1 {
				cancel()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	c := &Collector{Store: st, Config: cfg, Log: slog.New(slog.DiscardHandler)}
	if _, err := c.Run(ctx); err != nil {
		t.Fatalf("a stopped collector returned %v", err)
	}
	if n := delivered.Load(); n != 1 {
		t.Errorf("%d deliveries", n)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM alert_outbox WHERE status = 'delivered'`); n != 1 {
		t.Errorf("%d rows marked delivered", n)
	}
}

// TestAlertWorkerMetrics counts deliveries by notifier and outcome.
func TestAlertWorkerMetrics(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
		}
	}))
	defer ts.Close()
	cfg, err := config.Parse("trawl.yaml", []byte(fmt.Sprintf("alerts:\n  notifiers:\n    - name: hook\n      webhook: {url: %q, secret: k}\n", ts.URL)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), Options{DB: filepath.Join(t.TempDir(), "t.duckdb"), Mode: Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ConfigureAlerts(st, cfg.Alerts)
	m := metrics.New()
	w, err := NewAlertWorker(context.Background(), st, cfg.Alerts, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := st.RecordHits(context.Background(), []event.Hit{{RuleID: "r", Severity: "low", Title: "t", EventIDs: []string{"x"}, First: at, Last: at, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.Now = func() time.Time { return now }
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	fail.Store(false)
	now = now.Add(time.Hour)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "trawl_alert_deliveries_total" {
			continue
		}
		for _, c := range mf.GetMetric() {
			var labels []string
			for _, l := range c.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			got[strings.Join(labels, "/")] = c.GetCounter().GetValue()
		}
	}
	if got["hook/retry"] != 1 || got["hook/delivered"] != 1 {
		t.Errorf("trawl_alert_deliveries_total %v", got)
	}
}
