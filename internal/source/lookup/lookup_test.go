package lookup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/source/lookup"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// fakeTrail implements CloudTrail's LookupEvents in the AWS JSON 1.1
// protocol (X-Amz-Target: com.amazonaws.cloudtrail.v20131101.
// CloudTrail_20131101.LookupEvents, which SDK v2 sends without the
// namespace; times in epoch seconds): StartTime and
// EndTime inclusive, newest first, MaxResults ≤ 50, NextToken; a quota of
// Rate requests a second (a token bucket of burst Rate) and optionally
// every nth request refused, both with 400 ThrottlingException.
type fakeTrail struct {
	mu            sync.Mutex
	events        []ctEvent // by time
	Rate          float64
	ThrottleEvery int

	n, throttled int
	queries      [][2]int64 // StartTime, EndTime of first pages
	tokens       float64
	last         time.Time
}

type ctEvent struct {
	t  int64
	id string
}

func (f *fakeTrail) record(e ctEvent) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"%s","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","eventID":"%s","eventType":"AwsApiCall","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"alice"}}`,
		time.Unix(e.t, 0).UTC().Format(time.RFC3339), e.id)
}

func (f *fakeTrail) add(t int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ctEvent{t, fmt.Sprintf("ev-%06d", len(f.events))})
	sort.SliceStable(f.events, func(i, j int) bool { return f.events[i].t < f.events[j].t })
}

func fail(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(400)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (f *fakeTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The API reference names the target with its namespace; SDK v2 sends
	// it without.
	target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "com.amazonaws.cloudtrail.v20131101.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || target != "CloudTrail_20131101.LookupEvents" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		fail(w, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	var in struct {
		StartTime, EndTime *float64
		MaxResults         *int
		NextToken          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	now := time.Now()
	if f.Rate > 0 {
		if f.last.IsZero() {
			f.tokens = f.Rate
		} else {
			f.tokens = math.Min(f.Rate, f.tokens+now.Sub(f.last).Seconds()*f.Rate)
		}
		f.last = now
	}
	if (f.ThrottleEvery > 0 && f.n%f.ThrottleEvery == 0) || (f.Rate > 0 && f.tokens < 1) {
		f.throttled++
		fail(w, "ThrottlingException", "Rate exceeded")
		return
	}
	f.tokens--
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			fail(w, "InvalidMaxResultsException", "MaxResults must be 1 to 50")
			return
		}
		max = *in.MaxResults
	}
	start, end := int64(0), int64(math.MaxInt64)
	if in.StartTime != nil {
		start = int64(*in.StartTime)
	}
	if in.EndTime != nil {
		end = int64(*in.EndTime)
	}
	if in.NextToken == "" {
		f.queries = append(f.queries, [2]int64{start, end})
	}
	var sel []ctEvent
	for i := len(f.events) - 1; i >= 0; i-- { // newest first
		if e := f.events[i]; e.t >= start && e.t <= end {
			sel = append(sel, e)
		}
	}
	from, _ := strconv.Atoi(in.NextToken)
	out := map[string]any{}
	evs := []map[string]any{}
	for i := from; i < len(sel) && i < from+max; i++ {
		e := sel[i]
		evs = append(evs, map[string]any{"EventId": e.id, "EventName": "ListUsers", "ReadOnly": "true", "EventTime": e.t, "EventSource": "iam.amazonaws.com",
			"Username": "alice", "Resources": []any{}, "CloudTrailEvent": f.record(e)})
	}
	out["Events"] = evs
	if from+max < len(sel) {
		out["NextToken"] = strconv.Itoa(from + max)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// distinct returns the queries without repeats: a call retried after a
// connection failure is recorded twice.
func (f *fakeTrail) distinct() [][2]int64 {
	var queries [][2]int64
	for _, q := range f.queries {
		if len(queries) == 0 || queries[len(queries)-1] != q {
			queries = append(queries, q)
		}
	}
	return queries
}

func client(t testing.TB, f *fakeTrail) *cloudtrail.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return cloudtrail.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:  srv.Client(),
	}, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

var now0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now0 }

func collect(t *testing.T, src pipeline.Source) []pipeline.Object {
	t.Helper()
	var objs []pipeline.Object
	for {
		o, err := src.Next(context.Background())
		if err == io.EOF {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
}

func content(t *testing.T, o pipeline.Object) string {
	rc, _ := o.Open(context.Background())
	b, _ := io.ReadAll(rc)
	return string(b)
}

// TestWindows reads 3 hours in 1-hour windows: queries [start, end − 1 s],
// the events of each window newest first over pages of 50, cursors at the
// window's start and, on its last page, its end; nothing after now −
// settle.
func TestWindows(t *testing.T) {
	f := &fakeTrail{}
	start := now0.Add(-3*time.Hour - 15*time.Minute)
	for i := 0; i < 180; i++ {
		f.add(start.Unix() + int64(i)*60) // one a minute: 60 per window
	}
	f.add(now0.Add(-10 * time.Minute).Unix()) // not settled
	src, err := lookup.New(client(t, f), nil, lookup.Config{Account: "prod", Region: "us-east-1", Start: start, Window: time.Hour, Now: fixedNow, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	objs := collect(t, src)
	if len(objs) != 6 {
		t.Fatalf("%d objects, want 2 pages for each of 3 windows", len(objs))
	}
	seen := map[string]bool{}
	for i, o := range objs {
		w := start.Add(time.Duration(i/2) * time.Hour)
		pos := w
		if i%2 == 1 {
			pos = w.Add(time.Hour)
		}
		if o.Cursor == nil || o.Cursor.Key != "lookup://prod/us-east-1" || o.Cursor.Seq != int64(i) || o.Cursor.Value != pos.Format(time.RFC3339) {
			t.Errorf("object %d: cursor %+v, want value %s", i, o.Cursor, pos.Format(time.RFC3339))
		}
		lines := strings.Split(strings.TrimSpace(content(t, o)), "\n")
		if want := []int{50, 10}[i%2]; len(lines) != want {
			t.Errorf("object %d: %d lines, want %d", i, len(lines), want)
		}
		for _, l := range lines {
			var r struct{ EventID string }
			if err := json.Unmarshal([]byte(l), &r); err != nil || seen[r.EventID] {
				t.Errorf("line %q: %v, or read twice", l, err)
			}
			seen[r.EventID] = true
		}
	}
	if len(seen) != 180 {
		t.Errorf("%d events, want 180", len(seen))
	}
	queries := f.distinct()
	if len(queries) != 3 {
		t.Errorf("queries %v", queries)
	}
	for i, q := range queries {
		w := start.Add(time.Duration(i) * time.Hour)
		if q != [2]int64{w.Unix(), w.Add(time.Hour).Unix() - 1} {
			t.Errorf("query %d: %v", i, q)
		}
	}
}

// TestRateAndThrottling: 2 requests a second against a server allowing 2
// a second is never throttled; a server refusing every third request is
// retried.
func TestRateAndThrottling(t *testing.T) {
	f := &fakeTrail{Rate: 2}
	for i := 0; i < 200; i++ {
		f.add(now0.Add(-time.Hour).Unix() + int64(i))
	}
	src, _ := lookup.New(client(t, f), nil, lookup.Config{Account: "a", Region: "r", Start: now0.Add(-2 * time.Hour), Window: 2 * time.Hour, Now: fixedNow})
	t0 := time.Now()
	objs := collect(t, src)
	d := time.Since(t0)
	// A call that failed on the connection (counted as Transient: on a
	// loaded machine a request can time out) is retried and reaches the
	// server twice; every other request is one page.
	if st := src.Stats(); len(objs) != 4 || int64(f.n) != 4+st.Transient || f.throttled != 0 || d < 1500*time.Millisecond {
		t.Errorf("%d objects, %d requests (%d throttled, %d retried after a connection failure) in %v; want 4, none throttled, ≥ 1.5 s",
			len(objs), f.n, f.throttled, st.Transient, d)
	}
	// Without the limiter, the quota throttles; the backoff recovers.
	f2 := &fakeTrail{Rate: 2, ThrottleEvery: 3}
	for i := 0; i < 300; i++ {
		f2.add(now0.Add(-time.Hour).Unix() + int64(i))
	}
	src2, _ := lookup.New(client(t, f2), nil, lookup.Config{Account: "a", Region: "r", Start: now0.Add(-2 * time.Hour), Window: 2 * time.Hour, Now: fixedNow,
		RequestsPerSecond: -1, Backoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Attempts: 50})
	n := 0
	for _, o := range collect(t, src2) {
		n += strings.Count(content(t, o), "\n")
	}
	st := src2.Stats()
	if n != 300 || st.Throttled == 0 || int(st.Throttled) != f2.throttled {
		t.Errorf("%d events, stats %+v, server throttled %d", n, st, f2.throttled)
	}
	t.Logf("limited: %d requests in %v; unlimited: %d requests, %d throttled and retried", f.n, d, st.Requests, st.Throttled)
}

// TestStartClamped: without a cursor or start, reading begins 90 days
// back; a cursor in the ledger is where the next run begins.
func TestStartClamped(t *testing.T) {
	f := &fakeTrail{}
	src, _ := lookup.New(client(t, f), nil, lookup.Config{Account: "a", Region: "r", Window: 30 * 24 * time.Hour, Now: fixedNow, RequestsPerSecond: -1})
	collect(t, src)
	if q := f.distinct(); len(q) != 3 || q[0][0] != now0.Add(-lookup.History).Unix()+1 || q[2][1] != now0.Add(-lookup.DefaultSettle).Unix()-1 {
		t.Errorf("queries %v", q)
	}
	f.queries = nil
	led := mapLedger{"lookup://a/r": {Status: ledger.StatusCursor, Cursor: now0.Add(-time.Hour).Format(time.RFC3339)}}
	src, _ = lookup.New(client(t, f), led, lookup.Config{Account: "a", Region: "r", Now: fixedNow, RequestsPerSecond: -1})
	collect(t, src)
	if q := f.distinct(); len(q) != 1 || q[0][0] != now0.Add(-time.Hour).Unix() {
		t.Errorf("queries from the cursor %v", q)
	}
}

type mapLedger map[string]ledger.Entry

func (m mapLedger) LedgerEntries(_ context.Context, keys []string) (map[string]ledger.Entry, error) {
	out := map[string]ledger.Entry{}
	for _, k := range keys {
		if e, ok := m[k]; ok {
			out[k] = e
		}
	}
	return out, nil
}

// TestCrashResume fails a commit, then runs again: the store holds every
// event once, as after a clean run, and the cursor is at the end.
func TestCrashResume(t *testing.T) {
	f := &fakeTrail{}
	start := now0.Add(-10 * time.Hour)
	for i := 0; i < 1000; i++ {
		f.add(start.Unix() + int64(i)*30)
	}
	cfg := lookup.Config{Account: "a", Region: "r", Start: start, Window: time.Hour, Now: fixedNow, RequestsPerSecond: -1}
	st, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "db.duckdb"), duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pcfg := pipeline.Config{TxRows: 120, TxAge: time.Hour, Workers: 2}
	var commits atomic.Int32
	src, _ := lookup.New(client(t, f), app.PipelineStore(st), cfg)
	if _, err := pipeline.Run(context.Background(), pipelinetest.CrashingStore{Store: app.PipelineStore(st), N: 3, Commits: &commits}, src, pcfg); !errors.Is(err, pipelinetest.ErrCrash) {
		t.Fatalf("crashing run: %v", err)
	}
	n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail`)
	if n == 0 || n >= 1000 {
		t.Fatalf("%d events after the crash", n)
	}
	src, _ = lookup.New(client(t, f), app.PipelineStore(st), cfg)
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), src, pcfg); err != nil {
		t.Fatal(err)
	}
	got := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail`)
	distinct := duckdbtest.Scalar(t, st, `SELECT count(DISTINCT event_id) FROM cloudtrail`)
	e, _ := st.LedgerEntries(context.Background(), []string{"lookup://a/r"})
	t.Logf("%d after the crash; resumed: %+v", n, src.Stats())
	// The last events are at 10:19:30: the cursor is at the end of their
	// window (an empty window moves no cursor; it costs one request).
	if got != 1000 || distinct != 1000 || e["lookup://a/r"].Cursor != "2026-12-07T11:00:00Z" {
		t.Errorf("%d events (%d distinct), cursor %+v", got, distinct, e["lookup://a/r"])
	}
}
