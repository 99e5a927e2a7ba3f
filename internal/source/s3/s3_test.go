package s3_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
	"github.com/trawl-project/trawl/internal/source/s3/layout"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

const bucket = "logs"

// fakeS3 is gofakes3 over real HTTP on 127.0.0.1, behind a handler that
// can deny requests and inject faults, and counts requests.
type fakeS3 struct {
	be  *s3mem.Backend
	srv *httptest.Server
	f   *faults
}

func newFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	f := &faults{h: gofakes3.New(be).Server(), rng: rand.New(rand.NewPCG(1, 2))}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &fakeS3{be: be, srv: srv, f: f}
}

func (s *fakeS3) put(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := s.be.PutObject(bucket, key, nil, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// upload puts every file below dir under its path relative to dir.
func (s *fakeS3) upload(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s.put(t, filepath.ToSlash(rel), data)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// client is a trawl S3 client with the real SDK, configured as the CLI
// does (awsconf), talking to the fake.
func (s *fakeS3) client(t testing.TB, opt s3src.Options, s3opt ...func(*awss3.Options)) *s3src.Client {
	t.Helper()
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", s.srv.URL)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !awsconf.EndpointOverridden(cfg) || cfg.Region == "" {
		t.Fatalf("endpoint from AWS_ENDPOINT_URL_S3 not seen: overridden %v, region %q", awsconf.EndpointOverridden(cfg), cfg.Region)
	}
	return s3src.New(awsconf.NewS3(cfg, s3opt...), opt)
}

// faults wraps the fake: denied paths answer 403 AccessDenied; with rate
// > 0, that share of requests fails (seeded) before the answer or in the
// middle of its body.
type faults struct {
	h        http.Handler
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	deny     func(r *http.Request) bool
	stall    time.Duration
	kinds    []int         // the faults to choose from (default: all)
	delay    time.Duration // before every answer: S3's latency
	gets     atomic.Int64
	lists    atomic.Int64
	injected [7]atomic.Int64
	unpinned atomic.Int64 // ranged GETs without If-Match
}

var faultNames = [7]string{"500", "503 SlowDown", "throttling", "stall", "reset", "reset mid-body", "stall mid-body"}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if r.URL.Query().Has("list-type") {
			f.lists.Add(1)
		} else {
			f.gets.Add(1)
			if r.Header.Get("Range") != "" && r.Header.Get("If-Match") == "" {
				f.unpinned.Add(1)
			}
		}
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.deny != nil && f.deny(r) {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	f.mu.Lock()
	kind := -1
	if f.rate > 0 && f.rng.Float64() < f.rate {
		kind = f.rng.IntN(len(faultNames))
		if f.kinds != nil {
			kind = f.kinds[f.rng.IntN(len(f.kinds))]
		}
	}
	frac := f.rng.Float64()
	f.mu.Unlock()
	if kind < 0 {
		f.h.ServeHTTP(w, r)
		return
	}
	f.injected[kind].Add(1)
	switch kind {
	case 0:
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case 1:
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case 2:
		s3Error(w, http.StatusTooManyRequests, "Throttling", "Rate exceeded")
		return
	case 3:
		select { // until the client gives up
		case <-r.Context().Done():
		case <-time.After(f.stall):
		}
		return
	case 4:
		reset(w)
		return
	}
	// Mid-body: answer in full into a recorder, then send part of it.
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	conn, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	rec.Header().Set("Content-Length", fmt.Sprint(len(body)))
	rec.Header().Write(bw)
	bw.WriteString("\r\n")
	bw.Write(body[:int(frac*float64(len(body)))])
	bw.Flush()
	if kind == 6 {
		conn.SetReadDeadline(time.Now().Add(f.stall))
		io.Copy(io.Discard, conn) // until the client gives up
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST
	}
}

func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>0</RequestId></Error>`, code, msg)
}

// quickRetries shortens the SDK's backoff between its own attempts.
func quickRetries(o *awss3.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 20*time.Millisecond)
}

// generate writes a small data set in AWS's layouts.
func generate(t testing.TB) (string, *gen.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords = 3000, 3000
	cfg.Duration = 3 * time.Hour
	m, err := gen.Generate(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func ingest(t testing.TB, db string, src pipeline.Source) pipeline.Result {
	t.Helper()
	ctx := context.Background()
	st, err := app.Open(ctx, app.Options{DB: db, Mode: app.Ingest})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Ingest(ctx, src, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func fromDisk(t testing.TB, db, dir string) pipeline.Result {
	t.Helper()
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ingest(t, db, pipeline.Objects(objs...))
}

// counts summarises a database for comparisons (sources differ: paths
// and s3:// URLs).
func counts(t testing.TB, db string) map[string]int64 {
	t.Helper()
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]int64{}
	for name, q := range map[string]string{
		"cloudtrail":           `SELECT count(*) FROM cloudtrail_base`,
		"cloudtrail event ids": `SELECT count(DISTINCT event_id) FROM cloudtrail_base`,
		"cloudtrail raw":       `SELECT count(DISTINCT md5(raw)) FROM cloudtrail_base`,
		"vpcflow":              `SELECT count(*) FROM vpcflow`,
		"vpcflow raw":          `SELECT count(DISTINCT md5(raw)) FROM vpcflow`,
		"findings":             `SELECT count(*) FROM guardduty_finding`,
		"finding versions":     `SELECT count(*) FROM guardduty_finding_history`,
		"digests":              `SELECT count(*) FROM cloudtrail_digest`,
		"quarantine":           `SELECT count(*) FROM quarantine`,
		"warnings":             `SELECT count(*) FROM ingest_warning`,
		"ledger done":          `SELECT count(*) FROM ingest_ledger WHERE status = 'done'`,
		"ledger records":       `SELECT coalesce(sum(records), 0) FROM ingest_ledger`,
	} {
		out[name] = duckdbtest.Scalar(t, st, q)
	}
	return out
}

func sameCounts(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s = %d, want %d (as from disk)", what, k, got[k], w)
		}
	}
}

// TestIngestEqualsDisk ingests a bucket filled with the generator's layout
// and compares with the same files ingested from disk; a second run skips
// every object (ledger by s3://bucket/key and ETag) without a GET.
func TestIngestEqualsDisk(t *testing.T) {
	dir, m := generate(t)
	fake := newFakeS3(t)
	n := fake.upload(t, filepath.Join(dir))
	tmp := t.TempDir()
	fromDisk(t, filepath.Join(tmp, "disk.duckdb"), dir)
	want := counts(t, filepath.Join(tmp, "disk.duckdb"))
	if want["cloudtrail"] != int64(m.CloudTrailEvents) || want["vpcflow"] != int64(m.FlowRecords) {
		t.Fatalf("disk run stored %v; generated %d events, %d flows", want, m.CloudTrailEvents, m.FlowRecords)
	}

	c := fake.client(t, s3src.Options{PageSize: 100}) // several pages
	db := filepath.Join(tmp, "s3.duckdb")
	res := ingest(t, db, c.List(bucket, "AWSLogs/"))
	if res.ObjectsTotal != n || len(res.Failed) > 0 || len(res.Unlisted) > 0 {
		t.Fatalf("listed %d of %d objects; failed %v, unlisted %v", res.ObjectsTotal, n, res.Failed, res.Unlisted)
	}
	sameCounts(t, "s3", counts(t, db), want)
	if got := fake.f.gets.Load(); got != int64(n) {
		t.Errorf("first run: %d GETs for %d objects", got, n)
	}

	// The layout-aware walk finds the same objects.
	ldb := filepath.Join(tmp, "layout.duckdb")
	res = ingest(t, ldb, c.Layout(bucket, "", layout.Filter{}))
	if res.ObjectsTotal != n || len(res.Failed) > 0 || len(res.Unlisted) > 0 {
		t.Fatalf("layout: listed %d of %d objects; failed %v, unlisted %v", res.ObjectsTotal, n, res.Failed, res.Unlisted)
	}
	sameCounts(t, "layout", counts(t, ldb), want)
	fake.f.deny = func(r *http.Request) bool { return r.URL.Query().Has("list-type") }
	res = ingest(t, ldb, pipeline.Merge(c.Layout(bucket, "", layout.Filter{}), c.Layout(bucket, "AWSLogs/", layout.Filter{})))
	if len(res.Unlisted) != 2 || !strings.Contains(res.Unlisted[0], "s3:ListBucket") {
		t.Errorf("layout, denied: unlisted %q", res.Unlisted)
	}
	fake.f.deny = nil

	fake.f.gets.Store(0)
	res = ingest(t, db, c.List(bucket, "AWSLogs/"))
	if res.ObjectsSkipped != n || res.ObjectsDone != n {
		t.Errorf("second run: %d of %d objects skipped (%d done)", res.ObjectsSkipped, n, res.ObjectsDone)
	}
	if got := fake.f.gets.Load(); got != 0 {
		t.Errorf("second run sent %d GETs; unchanged objects need none", got)
	}
	sameCounts(t, "s3 after a second run", counts(t, db), want)

	// A replaced object (new ETag) is read again.
	var key string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if key == "" && strings.Contains(p, "GuardDuty") && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			key = filepath.ToSlash(rel)
		}
		return nil
	})
	data, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	fake.put(t, key, append(data, data...)) // two gzip members: the same findings again
	res = ingest(t, db, c.List(bucket, "AWSLogs/"))
	if res.ObjectsSkipped != n-1 || len(res.Changed) != 1 {
		t.Errorf("after replacing %s: skipped %d of %d, changed %v", key, res.ObjectsSkipped, n, res.Changed)
	}
}

// TestFaultsBetweenSDKAndServer injects 500s, SlowDown, throttling, stalls
// and resets, before answers and in the middle of bodies, into about half
// of the requests: what is stored equals a fault-free run.
func TestFaultsBetweenSDKAndServer(t *testing.T) {
	dir, _ := generate(t)
	fake := newFakeS3(t)
	n := fake.upload(t, dir)
	tmp := t.TempDir()
	fromDisk(t, filepath.Join(tmp, "disk.duckdb"), dir)
	want := counts(t, filepath.Join(tmp, "disk.duckdb"))

	fake.f.rate, fake.f.stall = 0.5, 5*time.Second
	c := fake.client(t, s3src.Options{PageSize: 100, Attempts: 30, Backoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}, quickRetries)
	db := filepath.Join(tmp, "s3.duckdb")
	res := ingest(t, db, c.List(bucket, "AWSLogs/"))
	if res.ObjectsTotal != n || len(res.Failed) > 0 || len(res.Unlisted) > 0 {
		t.Fatalf("listed %d of %d objects; failed %v, unlisted %v", res.ObjectsTotal, n, res.Failed, res.Unlisted)
	}
	got := counts(t, db)
	sameCounts(t, "with faults", got, want)
	if got["quarantine"] != 0 {
		t.Errorf("%d quarantine entries", got["quarantine"])
	}
	var inj []string
	for i, name := range faultNames {
		k := fake.f.injected[i].Load()
		if k == 0 {
			t.Errorf("no %s fault injected", name)
		}
		inj = append(inj, fmt.Sprintf("%s %d", name, k))
	}
	if u := fake.f.unpinned.Load(); u > 0 {
		t.Errorf("%d ranged GETs without If-Match", u)
	}
	t.Logf("%d objects, %d GETs, %d listings; injected: %s", n, fake.f.gets.Load(), fake.f.lists.Load(), strings.Join(inj, ", "))
}

// TestBadInput: an object that is not a log is quarantined; a denied GET is
// a source error (not quarantined) and is read by the next run; a denied
// listing ends with an error naming the permission.
func TestBadInput(t *testing.T) {
	fake := newFakeS3(t)
	dir, m := generate(t)
	fake.upload(t, dir)
	fake.put(t, "AWSLogs/junk/not-a-log.bin", []byte("\x00\x01\x02 this is not a log \xff\xfe"))
	var denied string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if denied == "" && strings.Contains(p, "/CloudTrail/") && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			denied = filepath.ToSlash(rel)
		}
		return nil
	})
	deny := true
	fake.f.deny = func(r *http.Request) bool {
		if r.URL.Query().Has("list-type") {
			return strings.HasPrefix(r.URL.Query().Get("prefix"), "secret/")
		}
		return deny && strings.HasSuffix(r.URL.Path, "/"+denied)
	}
	c := fake.client(t, s3src.Options{Backoff: time.Millisecond})
	db := filepath.Join(t.TempDir(), "s3.duckdb")
	res := ingest(t, db, pipeline.Merge(c.List(bucket, "AWSLogs/"), c.List(bucket, "secret/")))
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0], denied) || !strings.Contains(res.Failed[0], "access denied") {
		t.Errorf("failed: %q; want the denied object %s, saying access denied", res.Failed, denied)
	}
	if len(res.Unlisted) != 1 || !strings.Contains(res.Unlisted[0], "s3://logs/secret/") || !strings.Contains(res.Unlisted[0], "s3:ListBucket") {
		t.Errorf("unlisted: %q; want s3://logs/secret/ naming s3:ListBucket", res.Unlisted)
	}
	st, err := duckdb.Open(context.Background(), db, duckdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	q := duckdbtest.Rows(t, st, `SELECT object FROM quarantine`)
	events := duckdbtest.Scalar(t, st, `SELECT count(*) FROM cloudtrail_base`)
	st.Close()
	if len(q) != 1 || q[0][0] != "s3://logs/AWSLogs/junk/not-a-log.bin" {
		t.Errorf("quarantine: %v; want only the junk object", q)
	}
	if events >= int64(m.CloudTrailEvents) {
		t.Errorf("%d events stored with %s denied", events, denied)
	}

	deny = false
	res = ingest(t, db, c.List(bucket, "AWSLogs/"))
	if len(res.Failed) != 0 || res.ObjectsDone-res.ObjectsSkipped != 1 {
		t.Errorf("second run: failed %v, read %d objects; want the denied one only", res.Failed, res.ObjectsDone-res.ObjectsSkipped)
	}
	got := counts(t, db)
	if got["cloudtrail"] != int64(m.CloudTrailEvents) || got["quarantine"] != 1 {
		t.Errorf("after the second run: %v; want %d events and the one quarantine entry", got, m.CloudTrailEvents)
	}
}

// TestObjectResumesMidBody reads one object through Object with every
// response cut short: the reader resumes with ranged GETs pinned by ETag.
func TestObjectResumesMidBody(t *testing.T) {
	fake := newFakeS3(t)
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	fake.put(t, "big.bin", data)
	c := fake.client(t, s3src.Options{Backoff: time.Millisecond, Attempts: 50, IdleTimeout: 200 * time.Millisecond})
	out, err := awss3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, func(o *awss3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(fake.srv.URL), true
	}).HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	fake.f.stall = time.Second
	fake.f.rng = rand.New(rand.NewPCG(3, 4))
	obj := c.Object(bucket, "big.bin", -1, aws.ToString(out.ETag))
	if obj.Name != "s3://logs/big.bin" || obj.Key != "big.bin" {
		t.Fatalf("object %q key %q", obj.Name, obj.Key)
	}
	fake.f.rate, fake.f.kinds = 0.8, []int{5, 6}
	r, err := obj.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(bufio.NewReader(r))
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the object's %d", len(got), len(data))
	}
	if u := fake.f.unpinned.Load(); u > 0 {
		t.Errorf("%d ranged GETs without If-Match", u)
	}
	t.Logf("%d GETs; mid-body resets %d, stalls %d", fake.f.gets.Load(), fake.f.injected[5].Load(), fake.f.injected[6].Load())
}

// TestKeys: a source over keys from elsewhere (the layout-aware listing)
// passes a *pipeline.ListError on and reads the keys it yields, without
// size or ETag (fetched with HeadObject, so that the ledger can skip it).
func TestKeys(t *testing.T) {
	fake := newFakeS3(t)
	fake.put(t, "a/flows.log", []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1700000000 1700000060 ACCEPT OK\n"))
	c := fake.client(t, s3src.Options{})
	i := 0
	src := c.Keys(bucket, func(ctx context.Context) (string, int64, string, error) {
		i++
		switch i {
		case 1:
			return "a/flows.log", -1, "", nil
		case 2:
			return "", 0, "", &pipeline.ListError{Name: "s3://logs/b/", Err: fmt.Errorf("denied")}
		}
		return "", 0, "", io.EOF
	})
	db := filepath.Join(t.TempDir(), "db.duckdb")
	res := ingest(t, db, src)
	if res.ObjectsTotal != 1 || len(res.Unlisted) != 1 || res.Records[event.KindVPCFlow] != 1 {
		t.Errorf("objects %d, unlisted %v, records %v", res.ObjectsTotal, res.Unlisted, res.Records)
	}
	res = ingest(t, db, c.Keys(bucket, func(ctx context.Context) (string, int64, string, error) {
		if i++; i == 4 {
			return "a/flows.log", -1, "", nil
		}
		return "", 0, "", io.EOF
	}))
	if res.ObjectsSkipped != 1 || res.Records[event.KindVPCFlow] != 0 {
		t.Errorf("second run: %d skipped, records %v", res.ObjectsSkipped, res.Records)
	}
}
