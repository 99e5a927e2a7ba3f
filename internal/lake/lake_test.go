package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// dataset generates a small data set of every log type (attack story
// included) once per test binary.
var dataset = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "trawl-lake-test-")
	if err != nil {
		return "", err
	}
	_, err = gen.Generate(context.Background(), dir, gen.Config{
		Seed: 11, Duration: 4 * time.Hour, Accounts: 2, Regions: []string{"eu-west-1", "us-east-1"},
		CloudTrailEvents: 3000, FlowRecords: 4000, Findings: 40, Attack: true,
	})
	return dir, err
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := dataset(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func data(t testing.TB) string {
	t.Helper()
	dir, err := dataset()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func ingest(t testing.TB, st pipeline.Store, dir string, cfg pipeline.Config) (pipeline.Result, error) {
	t.Helper()
	objs, err := file.Objects([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Run(context.Background(), st, pipeline.Objects(objs...), cfg)
}

// summaries are per-table queries whose answers must be equal for the
// DuckDB store (%[1]s = its table) and the lake (%[1]s = a read_parquet).
var summaries = []struct{ name, store, lake, sql string }{
	{"cloudtrail", "cloudtrail", "cloudtrail",
		`SELECT count(*), count(DISTINCT (event_id, event_time)), sum(hash(raw)), sum(hash(event_name, user_arn, source_ip, read_only, mfa_authenticated, src_asn)),
		        sum(hash(recipient_account_id, aws_region, event_time)), sum(hash(source)) FROM %s`},
	{"vpcflow", "vpcflow", "vpcflow",
		`SELECT count(*), sum(hash(raw)), sum(hash(account_id, region, start_time, end_time, srcport, bytes, protocol_name, action)), sum(hash(source)) FROM %s`},
	{"guardduty", "guardduty_finding_history", "guardduty",
		`SELECT count(*), count(DISTINCT (id, updated_at)), sum(hash(raw)), sum(hash(account_id, region, updated_at, severity, severity_label, count, archived)) FROM %s`},
}

// storeSummaries answers summaries from a DuckDB store ingest of dir.
func storeSummaries(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, _ := duckdbtest.Open(t)
	if _, err := ingest(t, duckStore{st}, dir, pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range summaries {
		rows, err := store.Collect(context.Background(), st, store.Request{SQL: fmt.Sprintf(s.sql, s.store)}, output.Text)
		if err != nil {
			t.Fatal(err)
		}
		out[s.name] = fmt.Sprint(rows)
	}
	return out
}

// duckStore adapts the DuckDB store to pipeline.Store.
type duckStore struct{ *duckdb.Store }

func (s duckStore) Begin(ctx context.Context) (pipeline.Tx, error) { return s.Store.Begin(ctx) }

var storeOnce struct {
	sync.Mutex
	m map[string]string
}

func wantSummaries(t *testing.T) map[string]string {
	storeOnce.Lock()
	defer storeOnce.Unlock()
	if storeOnce.m == nil {
		storeOnce.m = storeSummaries(t, data(t))
	}
	return storeOnce.m
}

// lakeDB opens an in-memory DuckDB.
func lakeDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func lakeScan(root, table string) string {
	return fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning=true, hive_types_autocast=false)", root, table)
}

func queryText(t testing.TB, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out)
}

// checkLake asserts that the lake under root holds exactly the rows a
// DuckDB store ingest of the data set holds, per table, and nothing is
// left in staging.
func checkLake(t *testing.T, root string) {
	t.Helper()
	want := wantSummaries(t)
	db := lakeDB(t)
	for _, s := range summaries {
		got := queryText(t, db, fmt.Sprintf(s.sql, lakeScan(root, s.lake)))
		t.Logf("%s: %s", s.name, got)
		if got != want[s.name] {
			t.Errorf("%s: lake %s, store %s", s.name, got, want[s.name])
		}
	}
	var staged []string
	filepath.WalkDir(filepath.Join(root, stagingDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			staged = append(staged, p)
		}
		return nil
	})
	if len(staged) > 0 {
		t.Errorf("staging not empty: %v", staged)
	}
}

func openLake(t testing.TB, target string, opt Options) *Lake {
	t.Helper()
	l, err := Open(context.Background(), target, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLocalLakeEqualsStore(t *testing.T) {
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1"})
	res, err := ingest(t, l, data(t), pipeline.Config{TxRows: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() == 0 {
		t.Fatal("nothing ingested")
	}
	checkLake(t, root)

	// Layout: every data file is under <table>/account=…/region=…/dt=…
	// (vpcflow: /hour=…), named part-<writer>-<seq>.parquet.
	var files int
	for _, table := range []string{CloudTrail, VPCFlow, GuardDuty} {
		filepath.WalkDir(filepath.Join(root, table), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			tb, names, _, perr := ParsePartitionPath(filepath.ToSlash(rel))
			if perr != nil || tb != table || len(names) != map[bool]int{true: 4, false: 3}[table == VPCFlow] {
				t.Errorf("file %s: table %s partitions %v: %v", rel, tb, names, perr)
			}
			if w, _, ok := ParseFileName(p); !ok || w != "w1" {
				t.Errorf("file name %s", rel)
			}
			files++
			return nil
		})
	}
	if files == 0 {
		t.Fatal("no data files")
	}

	// A second run skips every object: the lake's ledger says done.
	res, err = ingest(t, l, data(t), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() != 0 {
		t.Errorf("re-run stored %d records", res.Records.Total())
	}
	// A new process (another writer) reads the same ledger.
	l2 := openLake(t, root, Options{Writer: "w2"})
	res, err = ingest(t, l2, data(t), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() != 0 {
		t.Errorf("re-run by another writer stored %d records", res.Records.Total())
	}
	checkLake(t, root)
}

// TestParquetTypes checks the data files' physical and logical types.
func TestParquetTypes(t *testing.T) {
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1"})
	if _, err := ingest(t, l, data(t), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	db := lakeDB(t)
	got := queryText(t, db, fmt.Sprintf(`SELECT name, type, converted_type, logical_type IS NOT NULL, repetition_type FROM parquet_schema('%s/cloudtrail/**/*.parquet')
		WHERE name IN ('event_time', 'event_id', 'read_only', 'src_asn') GROUP BY ALL ORDER BY name`, root))
	t.Logf("schema: %s", got)
	if !strings.Contains(got, "event_time INT64") || !strings.Contains(got, "event_id BYTE_ARRAY UTF8") || !strings.Contains(got, "read_only BOOLEAN") {
		t.Errorf("schema: %s", got)
	}
	codecs := queryText(t, db, fmt.Sprintf(`SELECT DISTINCT compression FROM parquet_metadata('%s/*/**/*.parquet')`, root))
	if codecs != "[[ZSTD]]" {
		t.Errorf("compression %s, want ZSTD only", codecs)
	}
	// Column order is the schema's, partition keys excluded from the files.
	cols := queryText(t, db, fmt.Sprintf(`WITH s AS (SELECT * FROM parquet_schema('%s/vpcflow/**/*.parquet'))
		SELECT string_agg(name, ',') FROM s WHERE file_name = (SELECT min(file_name) FROM s) AND num_children IS NULL`, root))
	var want []string
	for _, c := range flowTable.Columns {
		want = append(want, c.Name)
	}
	if cols != "[["+strings.Join(want, ",")+"]]" {
		t.Errorf("vpcflow columns %s, want %v", cols, want)
	}
	if strings.Contains(cols, ",region,") {
		t.Error("vpcflow files hold region, which the partition carries")
	}
}

// TestDefaultPartitionIsNull checks that DuckDB reads an empty partition
// value (__HIVE_DEFAULT_PARTITION__) as NULL.
func TestDefaultPartitionIsNull(t *testing.T) {
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1"})
	tx, err := l.begin(false)
	if err != nil {
		t.Fatal(err)
	}
	b := &event.Batch{Object: "test", End: 1, CloudTrail: []event.CloudTrail{{EventID: "e1", EventTime: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC), Raw: "{}"}}}
	if err := tx.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got := queryText(t, lakeDB(t), fmt.Sprintf(`SELECT account IS NULL, region IS NULL, dt, event_id FROM %s`, lakeScan(root, CloudTrail)))
	if got != "[[true true 2026-11-02 e1]]" {
		t.Errorf("got %s", got)
	}
}

// TestCrashRecovery crashes a commit at each stage, re-opens the lake and
// re-runs the ingest: the lake then holds every row exactly once.
func TestCrashRecovery(t *testing.T) {
	for _, stage := range []string{"staged", "manifest", "publishing"} {
		for _, nth := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s-%d", stage, nth), func(t *testing.T) {
				root := t.TempDir()
				l := openLake(t, root, Options{Writer: "w1"})
				n := 0
				l.hook = func(s string) error {
					if s == stage {
						if n++; n == nth {
							return errCrash
						}
					}
					return nil
				}
				_, err := ingest(t, l, data(t), pipeline.Config{TxRows: 1500, Workers: 1})
				if !errors.Is(err, errCrash) {
					t.Fatalf("ingest: %v, want the crash", err)
				}
				// Readers see only complete files that a manifest names.
				visibleCommitted(t, root)
				l2 := openLake(t, root, Options{Writer: "w1"})
				if _, err := ingest(t, l2, data(t), pipeline.Config{TxRows: 1500}); err != nil {
					t.Fatal(err)
				}
				checkLake(t, root)
			})
		}
	}
}

// TestResentObject writes one object twice (as a queue redelivers it
// after its commit): the second copy is skipped.
func TestResentObject(t *testing.T) {
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1"})
	if _, err := ingest(t, l, data(t), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	objs, err := file.Objects([]string{data(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	res, err := pipeline.Run(context.Background(), l, pipeline.Objects(objs[:3]...), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() != 0 {
		t.Errorf("resent objects stored %d records", res.Records.Total())
	}
	checkLake(t, root)
}

// TestTwoWriters runs two writers at once on halves of the data set, then
// both again on all of it: every row once.
func TestTwoWriters(t *testing.T) {
	root := t.TempDir()
	objs, err := file.Objects([]string{data(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Open(context.Background(), root, Options{Writer: fmt.Sprintf("w%d", i)})
			if err != nil {
				errs[i] = err
				return
			}
			defer l.Close()
			var mine []pipeline.Object
			for j, o := range objs {
				if j%2 == i {
					mine = append(mine, o)
				}
			}
			_, errs[i] = pipeline.Run(context.Background(), l, pipeline.Objects(mine...), pipeline.Config{TxRows: 1000})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	l := openLake(t, root, Options{Writer: "w3"})
	res, err := ingest(t, l, data(t), pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records.Total() != 0 {
		t.Errorf("third writer stored %d records", res.Records.Total())
	}
	checkLake(t, root)
}

// TestSinkBesideStore writes the lake as a sink beside a DuckDB store
// whose second commit crashes after the sink's flush: the re-run sends
// the sink records it already holds, which it drops.
func TestSinkBesideStore(t *testing.T) {
	root := t.TempDir()
	st, _ := duckdbtest.Open(t)
	l := openLake(t, root, Options{Writer: "w1"})
	var commits atomic.Int32
	crashing := pipelinetest.CrashingStore{Store: duckStore{st}, N: 2, Commits: &commits}
	_, err := ingest(t, crashing, data(t), pipeline.Config{TxRows: 1500, Workers: 1, Sinks: []pipeline.Sink{l.Sink()}})
	if !errors.Is(err, pipelinetest.ErrCrash) {
		t.Fatalf("ingest: %v, want the crash", err)
	}
	l.Close()
	l2 := openLake(t, root, Options{Writer: "w1"})
	if _, err := ingest(t, duckStore{st}, data(t), pipeline.Config{TxRows: 1500, Sinks: []pipeline.Sink{l2.Sink()}}); err != nil {
		t.Fatal(err)
	}
	checkLake(t, root)
}

// TestSinkStdinNotHeld sends standard input twice through a sink: both
// reads are kept, since stdin has no ledger entry and carries new data.
func TestSinkStdinNotHeld(t *testing.T) {
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1"})
	s := l.Sink()
	for i := range 2 {
		b := &event.Batch{Object: "stdin", End: 1, CloudTrail: []event.CloudTrail{{EventID: fmt.Sprint("e", i), EventTime: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC), Raw: "{}"}}}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A file object's unit 0 is held after its first flush.
		f := &event.Batch{Object: "/data/x.json", End: 1, CloudTrail: []event.CloudTrail{{EventID: fmt.Sprint("f", i), EventTime: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC), Raw: "{}"}}}
		if err := s.Write(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := queryText(t, lakeDB(t), fmt.Sprintf(`SELECT string_agg(event_id, ',' ORDER BY event_id) FROM %s`, lakeScan(root, CloudTrail)))
	if got != "[[e0,e1,f0]]" {
		t.Errorf("got %s, want e0,e1,f0", got)
	}
}

// TestRollAndEvict writes with a tiny file size and two open files at
// most: files roll and are closed early, and the lake still holds every
// row once.
func TestRollAndEvict(t *testing.T) {
	old := maxOpenFiles
	maxOpenFiles = 2
	t.Cleanup(func() { maxOpenFiles = old })
	root := t.TempDir()
	l := openLake(t, root, Options{Writer: "w1", FileSize: 32 << 10})
	if _, err := ingest(t, l, data(t), pipeline.Config{}); err != nil {
		t.Fatal(err)
	}
	checkLake(t, root)
	files := queryText(t, lakeDB(t), fmt.Sprintf(`SELECT count(*) > 3 * count(DISTINCT parse_dirpath(file)) FROM glob('%s/cloudtrail/**/*.parquet')`, root))
	if files != "[[true]]" {
		t.Errorf("few files per partition: %s (want rolled files)", files)
	}
}

// visibleCommitted asserts that every data file a reader's glob finds is
// named by a manifest (committed) and reads whole.
func visibleCommitted(t *testing.T, root string) {
	t.Helper()
	committed := map[string]bool{}
	mans, _ := filepath.Glob(filepath.Join(root, manifestDir, "*.json"))
	for _, m := range mans {
		man, err := readManifest(context.Background(), &local{root: root}, manifestDir+"/"+filepath.Base(m))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range man.Files {
			committed[f.Final] = true
		}
	}
	db := lakeDB(t)
	for _, table := range []string{CloudTrail, VPCFlow, GuardDuty} {
		filepath.WalkDir(filepath.Join(root, table), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if !committed[filepath.ToSlash(rel)] {
				t.Errorf("visible file %s is in no manifest", rel)
			}
			queryText(t, db, fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", p))
			return nil
		})
	}
}
