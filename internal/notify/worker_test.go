package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/notify"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

var ctx = context.Background()

// clock is a settable clock; it starts at the real time so that the
// store's created_at (real) and the worker's now agree.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Now().UTC().Add(time.Second).Truncate(time.Microsecond)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T, path string, notifiers ...string) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(ctx, path, duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	st.SetAlertOptions(duckdb.AlertOptions{Route: func(string, string) []string { return notifiers }})
	return st
}

// newAlert stores one alert (and its deliveries) and returns it.
func newAlert(t *testing.T, st *duckdb.Store, key string) alert.Alert {
	t.Helper()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	h := event.Hit{RuleID: "aws-root-login", Severity: "high", Title: "Root account console login (" + key + ")", LogType: event.KindCloudTrail,
		EventIDs: []string{"ev-" + key}, First: at, Last: at, DedupKey: key, Count: 1, Tags: []string{"T1078.004"},
		Fields: map[string]string{"principal": "arn:aws:iam::111122223333:root", "event_name": "ConsoleLogin", "source_ip": "203.0.113.7",
			"region": "us-east-1", "account": "111122223333", "event_time": "2026-11-01T10:00:00Z"}}
	if _, _, err := st.RecordHits(ctx, []event.Hit{h}); err != nil {
		t.Fatal(err)
	}
	as, err := st.Alerts(ctx, duckdb.AlertFilter{Limit: 1})
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts %v, %v", as, err)
	}
	return as[0]
}

func worker(st *duckdb.Store, c *clock, n map[string]*notify.Configured) *notify.Worker {
	return &notify.Worker{Outbox: st, Notifiers: n, Now: c.Now, Jitter: func() float64 { return 1 },
		MinBackoff: 10 * time.Second, MaxBackoff: time.Hour, RetryFor: 24 * time.Hour, Log: slog.New(slog.DiscardHandler)}
}

func configured(t *testing.T, name string, n notify.Notifier, timeout time.Duration) map[string]*notify.Configured {
	t.Helper()
	tm, err := notify.NewTemplates(name, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*notify.Configured{name: {Name: name, Notifier: n, Templates: tm, Timeout: timeout}}
}

func deliveries(t *testing.T, st *duckdb.Store) []alert.Delivery {
	t.Helper()
	ds, err := st.Deliveries(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// runUntil makes passes, advancing the clock by step before each, until
// pred holds (at most n passes).
func runUntil(t *testing.T, w *notify.Worker, c *clock, step time.Duration, n int, pred func() bool) {
	t.Helper()
	for range n {
		if pred() {
			return
		}
		c.Advance(step)
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !pred() {
		t.Fatalf("not reached after %d passes", n)
	}
}

// hookServer is a webhook receiver that checks signatures and fails the
// first fail requests with HTTP 500.
type hookServer struct {
	mu       sync.Mutex
	secret   []byte
	fail     int
	requests int
	accepted []notify.WebhookBody
	ids      []string
	badSig   int
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	h.ids = append(h.ids, r.Header.Get("X-Trawl-Delivery"))
	if !notify.Verify(h.secret, body, r.Header.Get("X-Trawl-Signature")) || r.Header.Get("X-Trawl-Timestamp") == "" {
		h.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.requests <= h.fail {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	var b notify.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.accepted = append(h.accepted, b)
}

func (h *hookServer) count() (requests, accepted int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests, len(h.accepted)
}

// TestWebhookBackoffExactlyOnce: two 500s, then delivery; backoff doubles;
// the delivered row is never sent again; the signature verifies.
func TestWebhookBackoffExactlyOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "hook")
	defer st.Close()
	a := newAlert(t, st, "k1")
	srv := &hookServer{secret: []byte("s3cret"), fail: 2}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newClock()
	w := worker(st, c, configured(t, "hook", &notify.Webhook{URL: ts.URL, Secret: []byte("s3cret"), Now: c.Now}, 5*time.Second))

	if n, err := w.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("first pass: %d delivered, %v", n, err)
	}
	d := deliveries(t, st)[0]
	if d.Status != alert.Pending || d.Attempts != 1 || !strings.Contains(d.LastError, "HTTP 500") || d.NextAttempt.Sub(c.Now()) != 10*time.Second {
		t.Fatalf("after one failure: %+v (now %v)", d, c.Now())
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatal("a delivery was attempted before its backoff ended")
	}
	if r, _ := srv.count(); r != 1 {
		t.Fatalf("%d requests during the backoff", r)
	}
	c.Advance(10 * time.Second)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if d := deliveries(t, st)[0]; d.Attempts != 2 || d.NextAttempt.Sub(c.Now()) != 20*time.Second {
		t.Fatalf("the second backoff is not doubled: %+v", d)
	}
	c.Advance(20 * time.Second)
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("third pass: %d delivered, %v", n, err)
	}
	for range 3 {
		c.Advance(2 * time.Hour)
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatal("a delivered message was delivered again")
		}
	}
	r, acc := srv.count()
	if r != 3 || acc != 1 || srv.badSig != 0 {
		t.Fatalf("%d requests, %d accepted, %d bad signatures; want 3, 1, 0", r, acc, srv.badSig)
	}
	if srv.ids[0] != srv.ids[2] || srv.ids[0] != fmt.Sprintf("trawl-%d", d.ID) {
		t.Errorf("delivery ids %v are not the stable id trawl-%d", srv.ids, d.ID)
	}
	got := srv.accepted[0]
	if got.Alert.ID != a.ID || got.Alert.RuleID != "aws-root-login" || got.Alert.Fields["source_ip"] != "203.0.113.7" || got.SentAt == 0 || got.SentAt > c.Now().Unix() || got.ID != srv.ids[2] {
		t.Errorf("body %+v", got)
	}
	if d := deliveries(t, st)[0]; d.Status != alert.Delivered || d.Attempts != 3 || d.DeliveredAt.IsZero() {
		t.Errorf("row %+v", d)
	}
}

// TestWebhookSignature checks Sign against a value computed by hand
// (printf '{"a":1}' | openssl dgst -sha256 -hmac key).
func TestWebhookSignature(t *testing.T) {
	const want = "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342"
	got := notify.Sign([]byte("key"), []byte(`{"a":1}`))
	if got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if !notify.Verify([]byte("key"), []byte(`{"a":1}`), got) || notify.Verify([]byte("key"), []byte(`{"a":2}`), got) {
		t.Error("Verify does not tell bodies apart")
	}
}

// TestRefusedThenUp: the receiver's port is closed (connection refused),
// then a hanging receiver times out, then it comes up: the message is
// delivered once, later.
func TestRefusedTimeoutThenUp(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "hook")
	defer st.Close()
	newAlert(t, st, "k1")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: refused
	c := newClock()
	w := worker(st, c, configured(t, "hook", &notify.Webhook{URL: "http://" + addr + "/in", Secret: []byte("k")}, 300*time.Millisecond))
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if d := deliveries(t, st)[0]; d.Attempts != 1 || !strings.Contains(d.LastError, "refused") {
		t.Fatalf("after a refused connection: %+v", d)
	}
	// A receiver that accepts and never answers: the attempt times out.
	release := make(chan struct{})
	hang := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	hang.Listener.Close()
	if hang.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	hang.Start()
	c.Advance(time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	hang.Close()
	if d := deliveries(t, st)[0]; d.Attempts != 2 || d.Status != alert.Pending || !strings.Contains(d.LastError, "deadline exceeded") {
		t.Fatalf("after a timeout: %+v", d)
	}
	// Up again.
	srv := &hookServer{secret: []byte("k")}
	up := httptest.NewUnstartedServer(srv)
	up.Listener.Close()
	if up.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	up.Start()
	defer up.Close()
	runUntil(t, w, c, time.Hour, 3, func() bool { _, acc := srv.count(); return acc == 1 })
	c.Advance(time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if r, acc := srv.count(); r != 1 || acc != 1 {
		t.Errorf("%d requests, %d accepted after recovery; want 1 and 1", r, acc)
	}
}

// TestDownForAnHourThenRestart: the receiver fails for an hour of clock
// time; the process stops (the store is closed) and a new worker on the
// same database delivers what was pending, once; nothing is lost.
func TestDownForAnHourThenRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.duckdb")
	st := openStore(t, path, "hook")
	for i := range 5 {
		newAlert(t, st, fmt.Sprintf("k%d", i))
	}
	srv := &hookServer{secret: []byte("k"), fail: 1 << 30}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := newClock()
	hook := configured(t, "hook", &notify.Webhook{URL: ts.URL, Secret: []byte("k")}, 5*time.Second)
	w := worker(st, c, hook)
	for range 12 { // an hour, a pass every 5 minutes
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		c.Advance(5 * time.Minute)
	}
	for _, d := range deliveries(t, st) {
		if d.Status != alert.Pending || d.Attempts < 3 {
			t.Fatalf("after an hour down: %+v", d)
		}
	}
	st.Close() // the process stops
	srv.mu.Lock()
	srv.fail = 0 // and the receiver recovers
	srv.mu.Unlock()
	st = openStore(t, path, "hook")
	defer st.Close()
	w = worker(st, c, hook)
	runUntil(t, w, c, time.Hour, 3, func() bool { _, acc := srv.count(); return acc == 5 })
	c.Advance(2 * time.Hour)
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	_, acc := srv.count()
	seen := map[int64]bool{}
	for _, b := range srv.accepted {
		seen[b.Delivery] = true
	}
	if acc != 5 || len(seen) != 5 {
		t.Errorf("%d accepted, %d distinct; want 5 and 5", acc, len(seen))
	}
}

// TestGiveUpAfterRetryFor: a receiver that never accepts makes the row
// failed after RetryFor, kept and visible; a notifier missing from the
// configuration fails at once.
func TestGiveUpAfterRetryFor(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "hook", "gone")
	defer st.Close()
	newAlert(t, st, "k1")
	ts := httptest.NewServer(&hookServer{secret: []byte("k"), fail: 1 << 30})
	defer ts.Close()
	c := newClock()
	w := worker(st, c, configured(t, "hook", &notify.Webhook{URL: ts.URL, Secret: []byte("k")}, 5*time.Second))
	w.RetryFor = 3 * time.Hour
	runUntil(t, w, c, time.Hour, 10, func() bool {
		f, _ := st.Deliveries(ctx, []alert.DeliveryStatus{alert.Failed}, 0)
		return len(f) == 2
	})
	for _, d := range deliveries(t, st) {
		switch d.Notifier {
		case "gone":
			if d.Attempts != 1 || !strings.Contains(d.LastError, `no notifier named "gone"`) {
				t.Errorf("gone: %+v", d)
			}
		case "hook":
			if d.Attempts < 3 || !strings.Contains(d.LastError, "HTTP 500") || d.NextAttempt.Before(d.CreatedAt.Add(3*time.Hour)) {
				t.Errorf("hook: %+v", d)
			}
		}
	}
}

// TestSlack posts to a server answering as Slack's webhook does: a 429
// with Retry-After first, then "ok".
func TestSlack(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db.duckdb"), "slack")
	defer st.Close()
	newAlert(t, st, "k1")
	var mu sync.Mutex
	var bodies []map[string]any
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		bodies = append(bodies, b)
		if len(bodies) == 1 {
			w.Header().Set("Retry-After", "120")
			http.Error(w, "rate_limited", http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer ts.Close()
	c := newClock()
	w := worker(st, c, configured(t, "slack", &notify.Slack{URL: ts.URL + "/services/T0/B0/secretpath"}, 5*time.Second))
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	d := deliveries(t, st)[0]
	if d.NextAttempt.Sub(c.Now()) != 120*time.Second || !strings.Contains(d.LastError, "HTTP 429") || strings.Contains(d.LastError, "secretpath") {
		t.Fatalf("after a 429 with Retry-After 120: %+v", d)
	}
	c.Advance(120 * time.Second)
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("%d delivered, %v", n, err)
	}
	b, _ := json.Marshal(bodies[1])
	s := string(b)
	for _, want := range []string{`"type":"header"`, `[trawl HIGH] Root account console login (k1)`, `*Principal*\narn:aws:iam::111122223333:root`,
		`*Source IP*\n203.0.113.7`, `*API*\nConsoleLogin`, `*Region*\nus-east-1`, `*Account*\n111122223333`, `*Time*\n2026-11-01T10:00:00Z`, "T1078.004"} {
		if !strings.Contains(s, want) {
			t.Errorf("the Slack message lacks %q:\n%s", want, s)
		}
	}
}

// TestTemplates renders custom templates and shows template errors with
// the notifier's name.
func TestTemplates(t *testing.T) {
	tm, err := notify.NewTemplates("ops", `{{upper .Alert.RuleID}} x{{.Alert.Count}}`, `who={{.Fields.principal}} missing={{.Fields.nope}}`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tm.Render(7, alert.Alert{RuleID: "r1", Count: 3, Fields: map[string]string{"principal": "alice"}})
	if err != nil || m.Subject != "R1 x3" || m.Text != "who=alice missing=" || m.ID() != "trawl-7" {
		t.Fatalf("%+v, %v", m, err)
	}
	if _, err := notify.NewTemplates("ops", "{{.Alert.Title", ""); err == nil || !strings.Contains(err.Error(), "notifier ops: template subject") {
		t.Errorf("error %v", err)
	}
	if _, err := notify.Build(ctx, config.Alerts{Notifiers: []config.Notifier{{Name: "bad", Body: "{{end}}", Slack: &config.SlackNotifier{WebhookURL: "http://x"}}}}); err == nil ||
		!strings.Contains(err.Error(), "notifier bad: template body") {
		t.Errorf("Build error %v", err)
	}
	def, _ := notify.NewTemplates("d", "", "")
	m, _ = def.Render(1, alert.Alert{ID: 4, RuleID: "r", Severity: "critical", Title: "T", Count: 2, Tags: []string{"T1"}, EventIDs: []string{"e1"},
		Fields: map[string]string{"principal": "p"}})
	for _, want := range []string{"Rule: r", "Alert: #4", "principal: p", "MITRE ATT&CK: T1", "Events: e1"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("default body lacks %q:\n%s", want, m.Text)
		}
	}
	if m.Subject != "[trawl CRITICAL] T" {
		t.Errorf("default subject %q", m.Subject)
	}
	if m, _ = def.RenderFor(alert.Delivery{ID: 2, Reason: "reminder"}, alert.Alert{Severity: "low", Title: "T"}); m.Subject != "[trawl LOW] still firing: T" || m.Reason != "reminder" {
		t.Errorf("reminder subject %q", m.Subject)
	}
}
