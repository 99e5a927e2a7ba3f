package opensearch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
)

var _ pipeline.Sink = (*opensearch.Sink)(nil)

// decodeFiles decodes every file under dir into batches (copies, with
// Object set to the file's path).
func decodeFiles(t testing.TB, dir string) []*event.Batch {
	t.Helper()
	var out []*event.Batch
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return decode.Decode(context.Background(), decode.Object{Name: p, Key: p}, f, decode.Options{}, func(b *event.Batch) error {
			if b.Rows() == 0 {
				return nil
			}
			out = append(out, &event.Batch{
				Object:     p,
				CloudTrail: slices.Clone(b.CloudTrail),
				VPCFlow:    slices.Clone(b.VPCFlow),
				Findings:   slices.Clone(b.Findings),
				Digests:    slices.Clone(b.Digests),
			})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	genOnce    sync.Once
	genDir     string // the generated files, removed by TestMain
	genBatches []*event.Batch
	genErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(genDir)
	}
	os.Exit(code)
}

// genData is a small generated data set (with the attack story, finding
// updates and duplicate events), decoded once per test binary.
func genData(t testing.TB) []*event.Batch {
	t.Helper()
	genOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trawl-os-gen-")
		if err != nil {
			genErr = err
			return
		}
		genDir = dir
		cfg := gen.DefaultConfig()
		cfg.CloudTrailEvents = 3000
		cfg.FlowRecords = 4000
		cfg.Findings = 60
		if _, genErr = gen.Generate(context.Background(), dir, cfg); genErr != nil {
			return
		}
		genBatches = decodeFiles(t, dir)
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return genBatches
}

func newSink(t testing.TB, srv *ostest.Server, mod func(*opensearch.Config)) *opensearch.Sink {
	t.Helper()
	cfg := opensearch.Config{URLs: []string{srv.URL}, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := opensearch.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func writeAll(t testing.TB, s *opensearch.Sink, batches []*event.Batch) error {
	t.Helper()
	ctx := context.Background()
	for _, b := range batches {
		if err := s.Write(ctx, b); err != nil {
			return err
		}
	}
	return s.Flush(ctx)
}

type searchResult struct {
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []ostest.Hit `json:"hits"`
	} `json:"hits"`
}

// search runs a query through the server's REST API.
func search(t testing.TB, srv *ostest.Server, indices string, query any, size int) searchResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "size": size})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+indices+"/_search", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if srv.Username != "" {
		req.SetBasicAuth(srv.Username, srv.Password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("search %s: HTTP %d: %s", indices, res.StatusCode, data)
	}
	var r searchResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func count(t testing.TB, srv *ostest.Server, indices string) int {
	t.Helper()
	return search(t, srv, indices, map[string]any{"match_all": map[string]any{}}, 0).Hits.Total.Value
}

type expected struct {
	ct, flows, findings int
	latest              map[string]time.Time // finding id → newest updatedAt
	ctByID              map[string]*event.CloudTrail
}

// expect counts the documents the batches should give, independently of
// the sink's code: CloudTrail once per (event id, UTC day), flows once
// per (object, unit), findings once per id.
func expect(batches []*event.Batch) expected {
	e := expected{latest: map[string]time.Time{}, ctByID: map[string]*event.CloudTrail{}}
	ct := map[[2]string]bool{}
	flows := map[string]bool{}
	for _, b := range batches {
		for i := range b.CloudTrail {
			r := &b.CloudTrail[i]
			ct[[2]string{r.EventID, r.EventTime.UTC().Format(time.DateOnly)}] = true
			e.ctByID[r.EventID] = r
		}
		for _, r := range b.VPCFlow {
			flows[fmt.Sprint(b.Object, "\x00", r.Unit)] = true
		}
		for _, f := range b.Findings {
			if f.UpdatedAt.After(e.latest[f.ID]) {
				e.latest[f.ID] = f.UpdatedAt
			}
		}
	}
	e.ct, e.flows, e.findings = len(ct), len(flows), len(e.latest)
	return e
}

// TestIndexCorpusAndGen indexes every corpus file and generated data,
// reads the documents back, then sends everything again.
func TestIndexCorpusAndGen(t *testing.T) {
	batches := append(decodeFiles(t, corpustest.Dir(t)), genData(t)...)
	want := expect(batches)
	if want.ct < 3000 || want.flows < 4000 || want.findings < 20 {
		t.Fatalf("test data too small: %+v", want)
	}
	srv := ostest.New(t)
	s := newSink(t, srv, func(c *opensearch.Config) { c.FlushBytes = 256 << 10; c.Workers = 3 })
	if err := writeAll(t, s, batches); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if n := count(t, srv, "cloudtrail-*"); n != want.ct {
			t.Errorf("%s: %d CloudTrail documents, want %d", when, n, want.ct)
		}
		if n := count(t, srv, "vpcflowlogs-*"); n != want.flows {
			t.Errorf("%s: %d flow documents, want %d", when, n, want.flows)
		}
		if n := count(t, srv, "guardduty-*"); n != want.findings {
			t.Errorf("%s: %d finding documents, want %d", when, n, want.findings)
		}
	}
	check("first send")
	st := s.Stats()
	if st.Requests < 5 || st.Docs == 0 {
		t.Errorf("stats %+v: want several requests of 256 KiB", st)
	}
	// Each finding's document is its latest version.
	res := search(t, srv, "guardduty-*", map[string]any{"match_all": map[string]any{}}, 10000)
	for _, h := range res.Hits.Hits {
		var d struct {
			ID        string    `json:"id"`
			UpdatedAt time.Time `json:"updated_at"`
			Raw       string    `json:"raw"`
		}
		if err := json.Unmarshal(h.Source, &d); err != nil {
			t.Fatal(err)
		}
		if h.ID != d.ID || !d.UpdatedAt.Equal(want.latest[d.ID]) || h.Version != d.UpdatedAt.UnixMilli() {
			t.Errorf("finding %s: updated_at %v, version %d; want the latest, %v", h.ID, d.UpdatedAt, h.Version, want.latest[d.ID])
		}
	}
	// CloudTrail documents carry the typed columns and raw as it came.
	ids := slices.Sorted(maps.Keys(want.ctByID))
	var picked []*event.CloudTrail
	for _, id := range ids {
		if r := want.ctByID[id]; r.ErrorCode != "" && r.SourceIP != "" && !r.EventTime.IsZero() {
			picked = append(picked, r)
			break
		}
	}
	picked = append(picked, want.ctByID[ids[0]], want.ctByID[ids[len(ids)/2]])
	for _, e := range picked {
		res := search(t, srv, "cloudtrail-*", map[string]any{"term": map[string]any{"event_id": e.EventID}}, 10)
		if res.Hits.Total.Value < 1 {
			t.Fatalf("event %s not found", e.EventID)
		}
		var d map[string]any
		if err := json.Unmarshal(res.Hits.Hits[0].Source, &d); err != nil {
			t.Fatal(err)
		}
		if d["raw"] != e.Raw || d["event_name"] != e.EventName || d["source_ip"] != nilIfEmpty(e.SourceIP) || d["error_code"] != nilIfEmpty(e.ErrorCode) {
			t.Errorf("event %s: document %v does not match the record", e.EventID, d)
		}
		if ts, _ := d["@timestamp"].(string); ts != e.EventTime.UTC().Format("2006-01-02T15:04:05.999999Z07:00") {
			t.Errorf("event %s: @timestamp %q, event time %v", e.EventID, ts, e.EventTime)
		}
	}
	// A range query over dates works on what the sink wrote.
	if r := search(t, srv, "cloudtrail-*", map[string]any{"range": map[string]any{"event_time": map[string]any{"gte": "2000-01-01T00:00:00Z"}}}, 0); r.Hits.Total.Value != want.ct-undated(batches) {
		t.Errorf("range on event_time: %d documents, want %d", r.Hits.Total.Value, want.ct-undated(batches))
	}

	// Everything again, through a new sink: documents replace themselves.
	before := srv.BulkRequests()
	s2 := newSink(t, srv, func(c *opensearch.Config) { c.FlushBytes = 1 << 20 })
	if err := writeAll(t, s2, batches); err != nil {
		t.Fatal(err)
	}
	if srv.BulkRequests() <= before {
		t.Fatal("the second send made no _bulk request")
	}
	check("second send")
	if st := s2.Stats(); st.Stale == 0 {
		t.Errorf("second send: no finding version reported stale (409), stats %+v", st)
	}
}

func undated(batches []*event.Batch) int {
	ids := map[string]bool{}
	for _, b := range batches {
		for _, r := range b.CloudTrail {
			if r.EventTime.IsZero() {
				ids[r.EventID] = true
			}
		}
	}
	return len(ids)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func finding(id string, created, updated time.Time, title string) *event.Batch {
	return &event.Batch{Object: "gd.jsonl", Findings: []event.Finding{{
		ID: id, CreatedAt: created, UpdatedAt: updated, Title: title, Type: "Recon:EC2/PortProbeUnprotectedPort",
		Severity: 5, AccountID: "123456789012", Region: "eu-west-1",
		Resource: `{"resourceType":"Instance"}`, Service: `{"count":2}`, Raw: `{"id":"` + id + `"}`,
	}}}
}

func TestGuardDutyOlderVersionLoses(t *testing.T) {
	srv := ostest.New(t)
	s := newSink(t, srv, nil)
	created := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	newer, older := created.Add(2*time.Hour), created.Add(time.Hour)
	if err := writeAll(t, s, []*event.Batch{finding("f1", created, newer, "newer")}); err != nil {
		t.Fatal(err)
	}
	if err := writeAll(t, s, []*event.Batch{finding("f1", created, older, "older")}); err != nil {
		t.Fatalf("an older version must count as written: %v", err)
	}
	res := search(t, srv, "guardduty-2026.11.02", map[string]any{"term": map[string]any{"id": "f1"}}, 10)
	if res.Hits.Total.Value != 1 {
		t.Fatalf("%d documents for f1, want 1", res.Hits.Total.Value)
	}
	if !bytes.Contains(res.Hits.Hits[0].Source, []byte(`"title":"newer"`)) {
		t.Errorf("the older version won: %s", res.Hits.Hits[0].Source)
	}
	if st := s.Stats(); st.Stale != 1 {
		t.Errorf("stale versions %d, want 1", st.Stale)
	}
	// A later update on another day stays in the index of its creation day.
	if err := writeAll(t, s, []*event.Batch{finding("f1", created, created.Add(48*time.Hour), "latest")}); err != nil {
		t.Fatal(err)
	}
	if idx := srv.Indices(); !slices.Equal(idx, []string{"guardduty-2026.11.02"}) {
		t.Errorf("indices %v, want only guardduty-2026.11.02", idx)
	}
	res = search(t, srv, "guardduty-*", map[string]any{"term": map[string]any{"id": "f1"}}, 10)
	if res.Hits.Total.Value != 1 || !bytes.Contains(res.Hits.Hits[0].Source, []byte(`"title":"latest"`)) {
		t.Errorf("after a later update: %d documents, %s", res.Hits.Total.Value, res.Hits.Hits[0].Source)
	}
}

func TestPartialFailureRetried(t *testing.T) {
	batches := genData(t)
	want := expect(batches)
	srv := ostest.New(t)
	var mu sync.Mutex
	failed := map[string]int{}
	srv.FailItem = func(it ostest.Item) *ostest.Failure {
		// Some documents (by the last character of the id) are refused
		// twice: first with 429, then with a 500 whose type says the
		// cluster was too busy.
		if !strings.ContainsAny(it.ID[len(it.ID)-1:], "07aA") || it.Attempt > 2 {
			return nil
		}
		mu.Lock()
		failed[it.Index+"/"+it.ID]++
		mu.Unlock()
		if it.Attempt == 1 {
			return &ostest.Failure{Status: 429, Type: "es_rejected_execution_exception", Reason: "rejected execution of coordinating operation"}
		}
		return &ostest.Failure{Status: 500, Type: "es_rejected_execution_exception", Reason: "rejected execution (queue full)"}
	}
	s := newSink(t, srv, func(c *opensearch.Config) { c.FlushBytes = 512 << 10 })
	if err := writeAll(t, s, batches); err != nil {
		t.Fatal(err)
	}
	if len(failed) == 0 {
		t.Fatal("no document was refused: the test proves nothing")
	}
	for k, n := range failed {
		if n != 2 {
			t.Errorf("%s refused %d times, want 2", k, n)
		}
	}
	if n := count(t, srv, "cloudtrail-*,vpcflowlogs-*,guardduty-*"); n != want.ct+want.flows+want.findings {
		t.Errorf("%d documents, want %d", n, want.ct+want.flows+want.findings)
	}
	if st := s.Stats(); st.Retried < int64(len(failed)) {
		t.Errorf("stats %+v: want at least %d retried", st, len(failed))
	}
}

func TestMappingErrorReported(t *testing.T) {
	batches := genData(t)[:3]
	srv := ostest.New(t)
	var victim ostest.Item
	var mu sync.Mutex
	attempts := 0
	srv.FailItem = func(it ostest.Item) *ostest.Failure {
		mu.Lock()
		defer mu.Unlock()
		if victim.ID == "" {
			victim = it
		}
		if it.ID != victim.ID {
			return nil
		}
		attempts++
		return &ostest.Failure{Status: 400, Type: "mapper_parsing_exception", Reason: "failed to parse field [x] of type [long]"}
	}
	s := newSink(t, srv, nil)
	err := writeAll(t, s, batches)
	var ie *opensearch.ItemError
	if !errors.As(err, &ie) {
		t.Fatalf("Flush: %v, want an *ItemError", err)
	}
	for _, part := range []string{victim.Index, victim.ID, "HTTP 400", "mapper_parsing_exception", "failed to parse field [x]"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %q", err, part)
		}
	}
	if attempts != 1 {
		t.Errorf("the refused document was sent %d times, want 1 (400 is not retried)", attempts)
	}
	// The failure is reported once; the sink goes on.
	if err := s.Flush(context.Background()); err != nil {
		t.Errorf("a second Flush: %v", err)
	}
}

// TestRealMappingConflict puts a template that maps event_name as a long:
// the test server's mapping check refuses the documents as a cluster
// would.
func TestRealMappingConflict(t *testing.T) {
	srv := ostest.New(t)
	tmpl := `{"index_patterns":["cloudtrail-*"],"template":{"mappings":{"properties":{"event_name":{"type":"long"}}}}}`
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_index_template/bad", strings.NewReader(tmpl))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("template: %v %v", res, err)
	}
	s := newSink(t, srv, func(c *opensearch.Config) { c.SkipTemplates = true })
	err := writeAll(t, s, []*event.Batch{{Object: "x", CloudTrail: []event.CloudTrail{{
		EventID: "e1", EventName: "GetObject", EventTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Raw: "{}"}}}})
	if err == nil || !strings.Contains(err.Error(), "cloudtrail-2026.01.02") || !strings.Contains(err.Error(), "event_name") {
		t.Fatalf("Flush: %v, want a mapping error naming the index and field", err)
	}
}

func TestBulk429Backoff(t *testing.T) {
	srv := ostest.New(t)
	srv.RejectBulk = func(n int) (int, string) {
		switch n {
		case 1:
			return http.StatusTooManyRequests, "1"
		case 2:
			return http.StatusServiceUnavailable, ""
		}
		return 0, ""
	}
	s := newSink(t, srv, func(c *opensearch.Config) { c.MinBackoff, c.MaxBackoff = 200*time.Millisecond, time.Second })
	var waits []time.Duration
	opensearch.SetSleep(s, func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	if err := writeAll(t, s, genData(t)[:2]); err != nil {
		t.Fatal(err)
	}
	if n := srv.BulkRequests(); n != 3 {
		t.Errorf("%d _bulk requests, want 3 (two refused, one accepted)", n)
	}
	// The 429's Retry-After: 1 is honoured; the 503 without one waits the
	// second step of the backoff (400 ms, jittered into [200 ms, 400 ms]).
	if len(waits) != 2 || waits[0] != time.Second || waits[1] < 200*time.Millisecond || waits[1] > 400*time.Millisecond {
		t.Errorf("waits %v, want [1s, 200–400ms]", waits)
	}
	if n := count(t, srv, "*"); n == 0 {
		t.Error("nothing indexed")
	}
}

func TestRetriesRunOut(t *testing.T) {
	srv := ostest.New(t)
	srv.RejectBulk = func(int) (int, string) { return http.StatusServiceUnavailable, "" }
	s := newSink(t, srv, func(c *opensearch.Config) { c.MaxRetries = 3 })
	err := writeAll(t, s, genData(t)[:1])
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("Flush: %v, want a failure after 3 attempts naming HTTP 503", err)
	}
	if n := srv.BulkRequests(); n != 3 {
		t.Errorf("%d _bulk requests, want 3", n)
	}
}

func TestBasicAuth(t *testing.T) {
	srv := ostest.New(t)
	srv.Username, srv.Password = "trawl", "s3cret"
	if _, err := opensearch.New(context.Background(), opensearch.Config{URLs: []string{srv.URL}}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("New without credentials: %v, want HTTP 401", err)
	}
	s := newSink(t, srv, func(c *opensearch.Config) { c.Username, c.Password = "trawl", "s3cret" })
	if err := writeAll(t, s, genData(t)[:1]); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	var bulks int
	for _, r := range reqs[1:] { // the first is New's attempt without credentials
		if r.Path == "/_bulk" {
			bulks++
		}
		if got := r.Header.Get("Authorization"); got != "Basic dHJhd2w6czNjcmV0" {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, got)
		}
	}
	if bulks == 0 {
		t.Error("no _bulk request")
	}
}

func TestFlavorsAndPrefix(t *testing.T) {
	srv := ostest.New(t)
	srv.Elasticsearch = true
	s := newSink(t, srv, func(c *opensearch.Config) { c.Flavor = opensearch.FlavorElasticsearch; c.IndexPrefix = "prod-" })
	if err := writeAll(t, s, genData(t)[:5]); err != nil {
		t.Fatal(err)
	}
	for _, idx := range srv.Indices() {
		if !strings.HasPrefix(idx, "prod-") {
			t.Errorf("index %s lacks the prefix", idx)
		}
	}
	res, err := http.Get(srv.URL + "/_index_template/prod-cloudtrail")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"flattened"`)) || !bytes.Contains(body, []byte(`prod-cloudtrail-*`)) {
		t.Errorf("template prod-cloudtrail: HTTP %d %s", res.StatusCode, body)
	}
	if _, err := opensearch.New(context.Background(), opensearch.Config{URLs: []string{srv.URL}, Flavor: "solr"}); err == nil {
		t.Error("New accepted flavor solr")
	}
}
