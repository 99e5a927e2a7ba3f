package cwlogs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// fakeLogs implements the AWS JSON 1.1 protocol of the CloudWatch Logs
// calls the source makes (POST /, X-Amz-Target: Logs_20140328.<Op>):
// DescribeLogStreams and FilterLogEvents with their nextToken pagination,
// startTime/endTime (inclusive, ms) and a filter pattern (a quoted or bare
// term, matched as a substring), and throttling: a request quota per
// second per operation, and optionally every nth request refused, both
// answered 400 {"__type":"ThrottlingException"}.
type fakeLogs struct {
	mu      sync.Mutex
	streams map[string]map[string][]fakeEvent // group → stream → events in order
	// EmptyFirst makes the first page of every FilterLogEvents query empty
	// (with a nextToken), as CloudWatch Logs does while it searches.
	EmptyFirst bool
	// ThrottleEvery refuses every nth request (0: none).
	ThrottleEvery int
	// Quota is the requests per second allowed per operation (0: any).
	Quota int

	calls     map[string]int
	throttled int
	patterns  []string
	window    map[string][]int64 // op → last seconds' request times (ms)
	n         int
}

type fakeEvent struct {
	ts, ingest int64
	id, msg    string
}

func newFakeLogs() *fakeLogs {
	return &fakeLogs{streams: map[string]map[string][]fakeEvent{}, calls: map[string]int{}, window: map[string][]int64{}}
}

// add appends events to a stream, keeping it in timestamp order.
func (f *fakeLogs) add(group, stream string, ts int64, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.streams[group] == nil {
		f.streams[group] = map[string][]fakeEvent{}
	}
	evs := f.streams[group][stream]
	id := fmt.Sprintf("%056d", len(evs)+1000*len(f.streams[group]))
	evs = append(evs, fakeEvent{ts: ts, ingest: time.Now().UnixMilli(), id: stream + "-" + id, msg: msg})
	if n := len(evs); n > 1 && evs[n-2].ts > ts {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].ts < evs[j].ts })
	}
	f.streams[group][stream] = evs
}

func (f *fakeLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		fail(w, 400, "UnknownOperationException", "bad request "+r.Method+" "+r.URL.Path+" "+target)
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, 400, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.calls[op]++
	now := time.Now().UnixMilli()
	win := f.window[op][:0]
	for _, t := range f.window[op] {
		if now-t < 1000 {
			win = append(win, t)
		}
	}
	f.window[op] = win
	if (f.ThrottleEvery > 0 && f.n%f.ThrottleEvery == 0) || (f.Quota > 0 && len(win) >= f.Quota) {
		f.throttled++
		fail(w, 400, "ThrottlingException", "Rate exceeded")
		return
	}
	f.window[op] = append(win, now)
	switch op {
	case "DescribeLogStreams":
		f.describe(w, in)
	case "FilterLogEvents":
		f.filter(w, in)
	default:
		fail(w, 400, "UnknownOperationException", op)
	}
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func str(in map[string]any, k string) string { s, _ := in[k].(string); return s }

func num(in map[string]any, k string, def int64) int64 {
	if v, ok := in[k].(float64); ok {
		return int64(v)
	}
	return def
}

func (f *fakeLogs) describe(w http.ResponseWriter, in map[string]any) {
	g, ok := f.streams[str(in, "logGroupName")]
	if !ok {
		fail(w, 400, "ResourceNotFoundException", "The specified log group does not exist.")
		return
	}
	var names []string
	for n := range g {
		if strings.HasPrefix(n, str(in, "logStreamNamePrefix")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	from, _ := strconv.Atoi(str(in, "nextToken"))
	limit := int(num(in, "limit", 50))
	out := map[string]any{}
	var list []map[string]any
	for i := from; i < len(names) && i < from+limit; i++ {
		evs := g[names[i]]
		s := map[string]any{"logStreamName": names[i], "creationTime": 1, "arn": "arn:aws:logs:us-east-1:111122223333:log-group:x:log-stream:" + names[i]}
		if len(evs) > 0 {
			s["firstEventTimestamp"] = evs[0].ts
			s["lastEventTimestamp"] = evs[len(evs)-1].ts
			s["lastIngestionTime"] = evs[len(evs)-1].ingest
		}
		list = append(list, s)
	}
	out["logStreams"] = list
	if from+limit < len(names) {
		out["nextToken"] = strconv.Itoa(from + limit)
	}
	reply(w, out)
}

func (f *fakeLogs) filter(w http.ResponseWriter, in map[string]any) {
	g, ok := f.streams[str(in, "logGroupName")]
	if !ok {
		fail(w, 400, "ResourceNotFoundException", "The specified log group does not exist.")
		return
	}
	pattern := str(in, "filterPattern")
	f.patterns = append(f.patterns, pattern)
	term := strings.Trim(pattern, `"`)
	start, end := num(in, "startTime", 0), num(in, "endTime", 1<<62)
	var names []string
	if l, ok := in["logStreamNames"].([]any); ok {
		for _, n := range l {
			names = append(names, n.(string))
		}
	} else {
		for n := range g {
			names = append(names, n)
		}
	}
	type sev struct {
		stream string
		fakeEvent
	}
	var all []sev
	for _, n := range names {
		for _, e := range g[n] {
			if e.ts >= start && e.ts <= end && strings.Contains(e.msg, term) {
				all = append(all, sev{n, e})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ts < all[j].ts })
	tok := str(in, "nextToken")
	if f.EmptyFirst && tok == "" {
		reply(w, map[string]any{"events": []any{}, "nextToken": "0", "searchedLogStreams": []any{}})
		return
	}
	from, _ := strconv.Atoi(tok)
	limit := int(num(in, "limit", 10000))
	var evs []map[string]any
	for i := from; i < len(all) && i < from+limit; i++ {
		e := all[i]
		evs = append(evs, map[string]any{"logStreamName": e.stream, "timestamp": e.ts, "message": e.msg, "ingestionTime": e.ingest, "eventId": e.id})
	}
	out := map[string]any{"events": evs, "searchedLogStreams": []any{}}
	if from+limit < len(all) {
		out["nextToken"] = strconv.Itoa(from + limit)
	}
	reply(w, out)
}

// client returns a real SDK client for srv, without the SDK's own
// retries: the source's backoff is what the tests count.
func client(t testing.TB, f *fakeLogs) *cloudwatchlogs.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return cloudwatchlogs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:  srv.Client(),
	}, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

var _ = context.Background
