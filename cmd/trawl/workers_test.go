package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trawl-project/trawl/internal/lake"
	"github.com/trawl-project/trawl/internal/source/sqs/sqstest"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
)

// workerEnv is the environment of a trawl process reaching the fake S3
// and SQS servers with static keys and no profile.
func workerEnv(s3URL, sqsURL string) []string {
	return append(os.Environ(),
		"AWS_ENDPOINT_URL_S3="+s3URL, "AWS_ENDPOINT_URL_SQS="+sqsURL,
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=", "AWS_PROFILE=", "AWS_ENDPOINT_URL=",
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true",
		"TRAWL_CLICKHOUSE_PASSWORD=")
}

// syncBuf is a process's output, read while it runs.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// s3Notification is the body S3 sends to a queue for a new object.
func s3Notification(bucket, key string, size int, etag string) string {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": "2026-11-02T00:05:00.000Z", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "trawl",
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(key), "size": size, "eTag": etag, "sequencer": "0066A1B2C3D4E5F6"},
		},
	}}})
	return string(b)
}

// TestManyWorkers is the scale-out layout of docs/production.md: three
// trawl run processes consume one SQS queue of S3 notifications for the
// generated organisation's logs and write to one ClickHouse database. One
// of them is killed with SIGKILL while it holds messages it has not
// finished; its messages come back after their visibility timeout and the
// survivors ingest them. Every message is deleted, and the stored rows —
// count and key set of every table, and the ledger — equal a
// single-process ingest of the same objects, with no duplicates.
func TestManyWorkers(t *testing.T) {
	ref, workers := chtest.DSN(t), chtest.DSN(t)
	runWorkers(t, workerLayout{
		ingest: []string{"--db", ref},
		config: fmt.Sprintf("store: {path: '%s'}\n", workers),
		keys: func(t *testing.T) (map[string][]string, map[string][]string) {
			return storedKeys(t, ref), storedKeys(t, workers)
		},
	})
}

// TestManyWorkersLake is TestManyWorkers with a Parquet lake and no
// database: the lake holds the ledger the workers share, and what
// DuckDB's read_parquet (trawl query --lake) reads from it equals a
// single-process trawl ingest --lake.
func TestManyWorkersLake(t *testing.T) {
	dir := t.TempDir()
	ref, workers := filepath.Join(dir, "ref"), filepath.Join(dir, "workers")
	runWorkers(t, workerLayout{
		ingest: []string{"--lake", ref},
		config: fmt.Sprintf("sinks:\n  - name: lake\n    lake: {target: '%s'}\n", workers),
		keys: func(t *testing.T) (map[string][]string, map[string][]string) {
			return lakeKeys(t, ref), lakeKeys(t, workers)
		},
		// Worker 0 kills itself right after writing its first commit
		// manifest, before publishing its files: the survivors, which
		// skip its objects (their ledger entries are committed), publish
		// that commit themselves. The killed worker does not restart.
		victimEnv: []string{lake.KillAfterManifestEnv + "=1"},
		check: func(t *testing.T) {
			// Every commit manifest has its published marker, and the
			// victim's last one was published by a survivor.
			pubs, err := filepath.Glob(filepath.Join(workers, "_trawl", "published", "*"))
			if err != nil {
				t.Fatal(err)
			}
			mans, err := filepath.Glob(filepath.Join(workers, "_trawl", "manifests", "*.json"))
			if err != nil {
				t.Fatal(err)
			}
			done := map[string]bool{}
			for _, p := range pubs {
				done[filepath.Base(p)] = true
			}
			for _, m := range mans {
				if base := strings.TrimSuffix(filepath.Base(m), ".json"); !done[base] {
					t.Errorf("commit %s is not published", base)
				}
			}
			if len(mans) < 2 {
				t.Errorf("%d commit manifests: the victim's and the survivors' expected", len(mans))
			}
		},
	})
}

// workerLayout is where the reference ingest and the workers write.
type workerLayout struct {
	ingest []string // trawl ingest flags of the single-process run
	config string   // the store/sinks part of the workers' trawl.yaml
	// keys reads the reference's and the workers' keys per table.
	keys func(t *testing.T) (ref, workers map[string][]string)
	// victimEnv, if set, is added to worker 0's environment, which makes
	// it kill itself: it is then the victim, instead of the worker the
	// test kills.
	victimEnv []string
	// check, if set, asserts something of the workers' store after the
	// survivors have finished.
	check func(t *testing.T)
}

// bucketQueue is generated data in a fake S3 bucket and the S3
// notifications of its objects, ready to send to a fake SQS queue.
type bucketQueue struct {
	q      *sqstest.Server
	env    []string // a worker's environment
	bodies []string
	events int64 // CloudTrail events and flow records in the data
}

// getDelay is how long the fake S3 takes to start answering a GET of an
// object.
var getDelay = 25 * time.Millisecond

func newBucketQueue(tb testing.TB, events, flows int) *bucketQueue {
	tb.Helper()
	data, m := generate(tb, events, flows)
	be := s3mem.New()
	if err := be.CreateBucket("trail"); err != nil {
		tb.Fatal(err)
	}
	// Each GET of an object takes a little while, as over a network, so
	// that the workers are still busy when one is killed.
	s3h := gofakes3.New(be).Server()
	s3srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
			time.Sleep(getDelay)
		}
		s3h.ServeHTTP(w, r)
	}))
	tb.Cleanup(s3srv.Close)
	bq := &bucketQueue{q: sqstest.New(tb, 4*time.Second, 0), events: int64(m.CloudTrailEvents + m.FlowRecords)}
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		key := filepath.ToSlash(rel)
		if _, err := be.PutObject("trail", key, nil, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			return err
		}
		sum := md5.Sum(b)
		bq.bodies = append(bq.bodies, s3Notification("trail", key, len(b), hex.EncodeToString(sum[:])))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	bq.env = workerEnv(s3srv.URL, bq.q.Endpoint)
	return bq
}

// workerConfig writes a worker's trawl.yaml: layout (store or sinks) and
// the queue as the source.
func workerConfig(tb testing.TB, layout, queueURL string) string {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "trawl.yaml")
	cfg := layout + fmt.Sprintf(`sources:
  - name: queue
    sqs: {queue_url: '%s', wait: 1s, max_messages: 2, visibility: 4s}
rules: {enabled: false}
metrics: {listen: '127.0.0.1:0'}
log: {level: info}
`, queueURL)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	return file
}

func runWorkers(t *testing.T, layout workerLayout) {
	bq := newBucketQueue(t, 6000, 6000)
	q, bodies, env := bq.q, bq.bodies, bq.env

	// The reference: one process reading the same objects from S3.
	cmd := exec.Command(trawlBin, append(append([]string{"ingest"}, layout.ingest...), "--progress", "never", "--no-rules", "s3://trail/AWSLogs/")...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("single-process ingest: %v\n%s", err, out)
	}

	for _, b := range bodies {
		q.Send(b)
	}
	cfgFile := workerConfig(t, layout.config, q.URL)
	type worker struct {
		cmd  *exec.Cmd
		out  *syncBuf
		done chan error
	}
	var ws []*worker
	victim := -1 // the worker killed
	start := func() {
		w := &worker{cmd: exec.Command(trawlBin, "run", "-c", cfgFile, "--log-format", "json"), out: &syncBuf{}, done: make(chan error, 1)}
		// Each worker signs with its own access key, so that the queue
		// tells whose messages are in flight.
		w.cmd.Env = append(slices.Clip(env), fmt.Sprintf("AWS_ACCESS_KEY_ID=AKIDWORKER%d", len(ws)))
		if len(ws) == 0 {
			w.cmd.Env = append(w.cmd.Env, layout.victimEnv...)
		}
		w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { w.done <- w.cmd.Wait() }()
		ws = append(ws, w)
	}
	defer func() {
		for _, w := range ws {
			w.cmd.Process.Kill()
		}
	}()
	logs := func() string {
		var b strings.Builder
		for i, w := range ws {
			fmt.Fprintf(&b, "--- worker %d\n%s", i, w.out.String())
		}
		return b.String()
	}
	// poll waits for cond, failing the test at the deadline.
	poll := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; queue %+v\n%s", what, limit, q.State(), logs())
			}
			for i, w := range ws {
				select {
				case err := <-w.done:
					if i != victim {
						t.Fatalf("worker %d ended: %v\n%s", i, err, logs())
					}
					w.done <- err
				default:
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	total := len(bodies)
	for range 3 {
		start()
	}

	held := 0
	if layout.victimEnv != nil {
		// Worker 0 kills itself at a point of its own.
		victim = 0
		poll("worker 0 killing itself", 3*time.Minute, func() bool {
			select {
			case err := <-ws[0].done:
				ws[0].done <- err
				held = q.InFlight("AKIDWORKER0")
				return true
			default:
				return false
			}
		})
		<-ws[victim].done
		t.Logf("worker 0 killed itself holding %d messages, queue %+v of %d messages", held, q.State(), total)
	} else {
		// Once an eighth of the messages are done, kill the worker holding
		// the most messages it received and has not finished.
		poll("an eighth of the messages deleted, others in flight", 3*time.Minute, func() bool {
			s := q.State()
			if s.Deleted == total {
				t.Fatalf("every message was done before a worker could be killed; slow the fake S3 down\n%s", logs())
			}
			if s.Deleted < total/8 {
				return false
			}
			for i := range ws {
				if n := q.InFlight(fmt.Sprintf("AKIDWORKER%d", i)); n > held {
					victim, held = i, n
				}
			}
			return held > 0
		})
		before := q.State()
		if err := ws[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-ws[victim].done
		t.Logf("worker %d killed holding %d messages, queue %+v of %d messages", victim, held, before, total)
	}

	poll("every message deleted by the survivors", 5*time.Minute, func() bool { return q.State().Deleted == total })
	for i, w := range ws {
		if i == victim {
			continue
		}
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("worker %d after SIGTERM: %v", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("worker %d still runs a minute after SIGTERM\n%s", i, logs())
		}
	}
	again := 0
	for _, m := range q.Messages() {
		if m.Receives > 1 {
			again++
		}
	}
	if again == 0 {
		t.Errorf("no message was delivered twice: the killed worker held none in flight\n%s", logs())
	}
	if s := q.State(); s.DLQ != 0 || s.Visible != 0 {
		t.Errorf("queue after the run: %+v", s)
	}

	if layout.check != nil {
		layout.check(t)
	}
	want, got := layout.keys(t)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, g := want[k], got[k]
		if len(w) == 0 && k != "quarantine" && k != "ingest_ledger" {
			t.Errorf("%s: the single-process run stored nothing", k)
		}
		if !slices.Equal(w, g) {
			t.Errorf("%s: %d rows from three workers, %d from one process; first difference %s", k, len(g), len(w), firstDiff(w, g))
		}
	}
	t.Logf("%d messages, %d delivered more than once; rows per table: %s", total, again, describeCounts(want))
}

// keyQueries are, per table, the key of a stored row: a row stored twice
// shows as a repeated key.
var keyQueries = map[string]string{
	"cloudtrail":                `SELECT event_id, toString(event_time) FROM cloudtrail`,
	"vpcflow":                   `SELECT source, raw FROM vpcflow`,
	"guardduty_finding":         `SELECT id, toString(updated_at) FROM guardduty_finding`,
	"guardduty_finding_history": `SELECT id, toString(updated_at) FROM guardduty_finding_history`,
	"cloudtrail_digest":         `SELECT digest_object FROM cloudtrail_digest`,
	"quarantine":                `SELECT object, toString(line), toString(record) FROM quarantine`,
	// Not records: an object whose rows a killed worker inserted before
	// its ledger entry (ClickHouse has no transactions) is read again by
	// a survivor, whose entry then says 0 records stored (all duplicates).
	"ingest_ledger": `SELECT object, status, toString(units) FROM ingest_ledger`,
}

// storedKeys reads every table's keys, sorted (duplicates kept).
func storedKeys(t *testing.T, dsn string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	st, err := clickhouse.Open(ctx, dsn, clickhouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string][]string{}
	for table, sql := range keyQueries {
		rows, err := st.Query(ctx, store.Request{SQL: sql})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		var keys []string
		for rows.Next() {
			keys = append(keys, fmt.Sprint(rows.Values()...))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		rows.Close()
		sort.Strings(keys)
		out[table] = keys
	}
	return out
}

// lakeKeyQueries are keyQueries for a lake's views.
var lakeKeyQueries = map[string]string{
	"cloudtrail":        `SELECT event_id, event_time FROM cloudtrail`,
	"vpcflow":           `SELECT source, raw FROM vpcflow`,
	"guardduty":         `SELECT id, updated_at FROM guardduty`,
	"guardduty_finding": `SELECT id, updated_at FROM guardduty_finding`,
}

// lakeKeys reads a lake's keys per view through trawl query --lake.
func lakeKeys(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for view, sql := range lakeKeyQueries {
		res, stderr, code := trawl(t, nil, "query", "--lake", dir, "--format", "csv", sql)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", view, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(res), "\n")[1:] // the header
		sort.Strings(lines)
		out[view] = lines
	}
	return out
}

func firstDiff(want, got []string) string {
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("at %d: want %q, got %q", i, want[i], got[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(want), len(got))
}

func describeCounts(m map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, len(m[k])))
	}
	return strings.Join(parts, ", ")
}
