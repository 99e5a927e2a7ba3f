package cwlogs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/source/cwlogs"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

const flowFormat = "${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${action}"

var base = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// flowLine is a line of flowFormat; srcport numbers the events.
func flowLine(stream string, i int) string {
	return fmt.Sprintf("111122223333 %s 10.0.0.1 10.0.0.2 %d 443 6 ACCEPT", stream, i)
}

// collect reads src to its end.
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
	t.Helper()
	rc, err := o.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func fixedNow() time.Time { return time.UnixMilli(base).Add(2 * time.Hour) }

// TestOrderedPages reads two streams over several pages each, with empty
// first pages: every event once, in order, one object per non-empty page,
// cursors numbered per stream.
func TestOrderedPages(t *testing.T) {
	f := newFakeLogs()
	f.EmptyFirst = true
	for i := 0; i < 25; i++ {
		f.add("vpc", "eni-b", base+int64(i)*1000, flowLine("eni-b", i))
		f.add("vpc", "eni-a", base+int64(i)*1000, flowLine("eni-a", i))
	}
	f.add("vpc", "eni-a", fixedNow().Add(-time.Minute).UnixMilli(), "too recent: after now - settle")
	src, err := cwlogs.New(client(t, f), nil, cwlogs.Config{
		Groups: []cwlogs.Group{{Name: "vpc", LogFormat: flowFormat}}, PageLimit: 7, ChunkEvents: 10, Now: fixedNow, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	objs := collect(t, src)
	if len(objs) != 6 {
		t.Fatalf("%d objects, want 6 (3 pages of each stream)", len(objs))
	}
	var lines []string
	for i, o := range objs {
		stream := []string{"eni-a", "eni-b"}[i/3]
		key := "cwl://vpc/" + stream
		if o.Cursor == nil || o.Cursor.Key != key || o.Cursor.Seq != int64(i%3) || o.NoLedger || o.Size != int64(len(content(t, o))) {
			t.Errorf("object %d: %+v, cursor %+v", i, o, o.Cursor)
		}
		want := fmt.Sprintf("%s@%s#", key, time.UnixMilli(base+int64(i%3)*10000).UTC().Format("2006-01-02T15:04:05.000Z"))
		if !strings.HasPrefix(o.Name, want) {
			t.Errorf("object %d is %s, want %s", i, o.Name, want)
		}
		text := content(t, o)
		header, rest, _ := strings.Cut(text, "\n")
		if header != "account-id interface-id srcaddr dstaddr srcport dstport protocol action" {
			t.Errorf("header %q", header)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(rest, "\n"), "\n")...)
	}
	var want []string
	for _, s := range []string{"eni-a", "eni-b"} {
		for i := 0; i < 25; i++ {
			want = append(want, flowLine(s, i))
		}
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	last := objs[2].Cursor.Value
	if ts, ids, _ := cwlogs.ParseCursor(last); ts != base+24000 || len(ids) != 1 {
		t.Errorf("last cursor of eni-a %q", last)
	}
	if st := src.Stats(); st.Events != 50 || st.Pages != 6 {
		t.Errorf("stats %+v", st)
	}
}

// TestFilterPattern passes the group's pattern to AWS.
func TestFilterPattern(t *testing.T) {
	f := newFakeLogs()
	for i := 0; i < 10; i++ {
		act := "ACCEPT"
		if i%2 == 1 {
			act = "REJECT"
		}
		f.add("vpc", "eni-a", base+int64(i), strings.Replace(flowLine("eni-a", i), "ACCEPT", act, 1))
	}
	src, _ := cwlogs.New(client(t, f), nil, cwlogs.Config{Groups: []cwlogs.Group{{Name: "vpc", FilterPattern: `"REJECT"`}}, Now: fixedNow})
	objs := collect(t, src)
	if len(objs) != 1 || strings.Count(content(t, objs[0]), "REJECT") != 5 || strings.Contains(content(t, objs[0]), "ACCEPT") {
		t.Fatalf("objects %d", len(objs))
	}
	if !slices.Equal(f.patterns, []string{`"REJECT"`}) {
		t.Errorf("patterns sent: %q", f.patterns)
	}
}

// TestThrottling gets every third request refused and a quota of 4
// requests a second: the source retries with backoff and reads everything.
func TestThrottling(t *testing.T) {
	f := newFakeLogs()
	f.ThrottleEvery = 3
	f.Quota = 4
	for i := 0; i < 40; i++ {
		f.add("g", "s", base+int64(i), fmt.Sprintf(`{"n":%d}`, i))
	}
	src, _ := cwlogs.New(client(t, f), nil, cwlogs.Config{
		Groups: []cwlogs.Group{{Name: "g"}}, PageLimit: 5, Now: fixedNow,
		RequestsPerSecond: 20, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Attempts: 30,
	})
	objs := collect(t, src)
	n := 0
	for _, o := range objs {
		n += strings.Count(content(t, o), "\n")
	}
	st := src.Stats()
	if n != 40 || st.Throttled == 0 || int(st.Throttled) != f.throttled || int(st.Requests) != f.n {
		t.Errorf("%d events; stats %+v; server: %d requests, %d throttled", n, st, f.n, f.throttled)
	}
	t.Logf("%d requests, %d throttled and retried", st.Requests, st.Throttled)

	// Without retries left, the error ends the source.
	f2 := newFakeLogs()
	f2.ThrottleEvery = 1
	f2.add("g", "s", base, "{}")
	src2, _ := cwlogs.New(client(t, f2), nil, cwlogs.Config{Groups: []cwlogs.Group{{Name: "g"}}, Now: fixedNow, Backoff: time.Millisecond, Attempts: 3})
	if _, err := src2.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "ThrottlingException") || f2.n != 3 {
		t.Errorf("err %v after %d requests, want ThrottlingException after 3", err, f2.n)
	}
}

// TestRateLimit: 5 requests a second (the default) spaces the calls.
func TestRateLimit(t *testing.T) {
	f := newFakeLogs()
	for i := 0; i < 6; i++ {
		f.add("g", "s", base+int64(i), "{}")
	}
	src, _ := cwlogs.New(client(t, f), nil, cwlogs.Config{Groups: []cwlogs.Group{{Name: "g"}}, PageLimit: 1, Now: fixedNow})
	t0 := time.Now()
	collect(t, src)
	// 1 describe + 6 pages: the 6 FilterLogEvents calls are 200 ms apart.
	if d := time.Since(t0); d < time.Second {
		t.Errorf("6 pages in %v at 5 requests/s", d)
	}
}

// TestNewStreams follows a group: a stream created after the first pass
// is read on the next one, and known streams continue where they were.
func TestNewStreams(t *testing.T) {
	f := newFakeLogs()
	old := time.Now().Add(-time.Hour).UnixMilli()
	f.add("g", "s1", old, `{"n":1}`)
	src, _ := cwlogs.New(client(t, f), nil, cwlogs.Config{Groups: []cwlogs.Group{{Name: "g"}}, Follow: 20 * time.Millisecond, Settle: -1, RequestsPerSecond: -1})
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := src.Next(ctx)
	if err != nil || o.Cursor.Key != "cwl://g/s1" {
		t.Fatalf("%v %+v", err, o)
	}
	time.Sleep(5 * time.Millisecond)   // past the first pass's end
	f.add("g", "s2", old+5, `{"n":2}`) // a new stream is read from the start
	f.add("g", "s1", time.Now().UnixMilli(), `{"n":3}`)
	got := map[string]string{}
	for len(got) < 2 {
		o, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("%v after %v", err, got)
		}
		got[o.Cursor.Key] = fmt.Sprint(o.Cursor.Seq) + " " + content(t, o)
	}
	if got["cwl://g/s1"] != "1 {\"n\":3}\n" || got["cwl://g/s2"] != "0 {\"n\":2}\n" {
		t.Errorf("second pass: %q", got)
	}
}

func openStore(t *testing.T) *duckdb.Store {
	st, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "db.duckdb"), duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCrashResume fails the third commit of an ingest of three streams of
// flow logs (which have no key to de-duplicate them), then runs again: the
// store ends with exactly the rows of a clean run.
func TestCrashResume(t *testing.T) {
	f := newFakeLogs()
	for _, s := range []string{"eni-1", "eni-2", "eni-3"} {
		for i := 0; i < 300; i++ {
			f.add("vpc", s, base+int64(i/3)*1000, flowLine(s, i)) // three events per timestamp
		}
	}
	cfgFor := func(led cwlogs.Ledger) *cwlogs.Source {
		src, err := cwlogs.New(client(t, f), led, cwlogs.Config{Groups: []cwlogs.Group{{Name: "vpc", LogFormat: flowFormat}}, PageLimit: 25, ChunkEvents: 40, Now: fixedNow, RequestsPerSecond: -1})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	pcfg := pipeline.Config{TxRows: 100, TxAge: time.Hour, Workers: 2}
	const rows = `SELECT interface_id || ' ' || srcport FROM vpcflow ORDER BY 1`

	clean := openStore(t)
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(clean), cfgFor(app.PipelineStore(clean)), pcfg); err != nil {
		t.Fatal(err)
	}
	want := duckdbtest.Rows(t, clean, rows)
	if len(want) != 900 {
		t.Fatalf("clean run: %d rows", len(want))
	}

	st := openStore(t)
	var commits atomic.Int32
	_, err := pipeline.Run(context.Background(), pipelinetest.CrashingStore{Store: app.PipelineStore(st), N: 3, Commits: &commits}, cfgFor(app.PipelineStore(st)), pcfg)
	if !errors.Is(err, pipelinetest.ErrCrash) {
		t.Fatalf("crashing run: %v", err)
	}
	n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM vpcflow`)
	if n == 0 || n >= 900 {
		t.Fatalf("%d rows after the crash; the test needs a partial ingest", n)
	}
	e, _ := st.LedgerEntries(context.Background(), []string{"cwl://vpc/eni-1"})
	t.Logf("after the crash: %d rows, cursor of eni-1 %q", n, e["cwl://vpc/eni-1"].Cursor)
	var notices []string
	rcfg := pcfg
	rcfg.Notice = func(s string) { notices = append(notices, s) }
	resumed := cfgFor(app.PipelineStore(st))
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), resumed, rcfg); err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed: %+v; %d notices %q", resumed.Stats(), len(notices), notices)
	got := duckdbtest.Rows(t, st, rows)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("%d rows after resuming, want %d equal to a clean run", len(got), len(want))
	}
	// A third run finds nothing new.
	src := cfgFor(app.PipelineStore(st))
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), src, pcfg); err != nil {
		t.Fatal(err)
	}
	if n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM vpcflow`); n != 900 || src.Stats().Pages != 0 {
		t.Errorf("a run after the end: %d rows, %d pages", n, src.Stats().Pages)
	}
	e, _ = st.LedgerEntries(context.Background(), []string{"cwl://vpc/eni-3"})
	if c := e["cwl://vpc/eni-3"]; c.Status != ledger.StatusCursor || !strings.HasPrefix(c.Cursor, fmt.Sprint(base+99000)+" ") || strings.Count(c.Cursor, ",") != 2 {
		t.Errorf("cursor of eni-3: %+v", c)
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

// TestSkipCommittedChunks: a chunk past the cursor that an earlier run
// committed whole is not yielded again; a chunk it committed in part is,
// and the pipeline resumes inside it; the cursor starts where it says.
func TestSkipCommittedChunks(t *testing.T) {
	f := newFakeLogs()
	for i := 0; i < 50; i++ {
		f.add("g", "s", base+int64(i), fmt.Sprintf(`{"n":%d}`, i))
	}
	cfg := cwlogs.Config{Groups: []cwlogs.Group{{Name: "g"}}, ChunkEvents: 10, Now: fixedNow, RequestsPerSecond: -1}
	src, _ := cwlogs.New(client(t, f), nil, cfg)
	all := collect(t, src)
	led := mapLedger{
		// the cursor after the first chunk
		"cwl://g/s": {Object: "cwl://g/s", Status: ledger.StatusCursor, Cursor: all[0].Cursor.Value},
		// the third chunk committed whole, the fourth in part
		all[2].Name: {Object: all[2].Name, Status: ledger.StatusDone, Size: all[2].Size},
		all[3].Name: {Object: all[3].Name, Status: ledger.StatusPartial, Size: all[3].Size, Units: 4},
	}
	src, _ = cwlogs.New(client(t, f), led, cfg)
	objs := collect(t, src)
	var names []string
	for _, o := range objs {
		names = append(names, fmt.Sprint(o.Name, " ", o.Cursor.Seq, " ", o.Cursor.Value))
	}
	want := []string{
		fmt.Sprint(all[1].Name, " 0 ", all[1].Cursor.Value),
		fmt.Sprint(all[3].Name, " 1 ", all[3].Cursor.Value),
		fmt.Sprint(all[4].Name, " 2 ", all[4].Cursor.Value),
	}
	if !slices.Equal(names, want) || src.Stats().Skipped != 1 {
		t.Errorf("objects:\n%s\nwant:\n%s\n%+v", strings.Join(names, "\n"), strings.Join(want, "\n"), src.Stats())
	}
}

// TestCutAsBefore: an earlier run committed part of a chunk it had cut
// after 4 events (the end of its pass); more events came since. The chunk
// is cut at the same event, so that the pipeline resumes inside it, and
// the events after it follow in the next chunk.
func TestCutAsBefore(t *testing.T) {
	f := newFakeLogs()
	for i := 0; i < 4; i++ {
		f.add("g", "s", base+int64(i/2), fmt.Sprintf(`{"n":%d}`, i))
	}
	cfg := cwlogs.Config{Groups: []cwlogs.Group{{Name: "g"}}, ChunkEvents: 10, Now: fixedNow, RequestsPerSecond: -1}
	src, _ := cwlogs.New(client(t, f), nil, cfg)
	before := collect(t, src)
	if len(before) != 1 {
		t.Fatalf("%d objects", len(before))
	}
	for i := 4; i < 12; i++ {
		f.add("g", "s", base+int64(i/2), fmt.Sprintf(`{"n":%d}`, i))
	}
	led := mapLedger{before[0].Name: {Object: before[0].Name, Status: ledger.StatusPartial, Size: before[0].Size, Units: 3}}
	src, _ = cwlogs.New(client(t, f), led, cfg)
	objs := collect(t, src)
	if len(objs) != 2 || objs[0].Name != before[0].Name || objs[0].Size != before[0].Size || content(t, objs[0]) != content(t, before[0]) ||
		objs[0].Cursor.Value != before[0].Cursor.Value || objs[0].Cursor.Seq != 0 || objs[1].Cursor.Seq != 1 {
		t.Fatalf("%d objects: %+v", len(objs), objs)
	}
	var want strings.Builder
	for i := 4; i < 12; i++ {
		fmt.Fprintf(&want, "{\"n\":%d}\n", i)
	}
	if got := content(t, objs[1]); got != want.String() || !strings.HasPrefix(objs[1].Cursor.Value, fmt.Sprint(base+5)+" ") || strings.Count(objs[1].Cursor.Value, ",") != 1 {
		t.Errorf("second chunk %q, cursor %q", got, objs[1].Cursor.Value)
	}
	if ts, ids, _ := cwlogs.ParseCursor(before[0].Cursor.Value); ts != base+1 || len(ids) != 2 {
		t.Errorf("cursor of the first chunk %q", before[0].Cursor.Value)
	}
}
