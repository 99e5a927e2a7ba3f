package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/corpustest"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

func TestCorpusMatchesDuckDB(t *testing.T) {
	dir := corpustest.Dir(t)
	duck, _ := duckdbtest.Open(t)
	ch := open(t)
	// One decoder, so that of an event in two files the same file's copy
	// is stored first (and the other counted as its duplicate) in both.
	dres := ingest(t, app.PipelineStore(duck), []string{dir}, pipeline.Config{Workers: 1})
	cres := ingest(t, clickhouse.PipelineStore(ch), []string{dir}, pipeline.Config{Workers: 1})
	if sum(dres.Records) == 0 {
		t.Fatal("the corpus gave no records")
	}
	t.Logf("cloudtrail_data: %v active parts", textRows(t, ch, "SELECT count(), uniqExact(partition) FROM system.parts WHERE database = currentDatabase() AND table = 'cloudtrail_data' AND active"))
	if fmt.Sprint(dres.Records) != fmt.Sprint(cres.Records) || dres.Duplicates != cres.Duplicates || dres.Quarantined != cres.Quarantined {
		t.Errorf("results differ:\nduckdb     %+v\nclickhouse %+v", dres.Progress, cres.Progress)
	}
	compareStores(t, duck, ch)
}

// crashingStore makes its Nth commit write the rows but not the ledger
// entries, as a process killed between the two would.
type crashingStore struct {
	pipeline.Store
	n       int32
	commits *atomic.Int32
}

var errCrash = errors.New("crash between the inserts and the ledger")

func (c crashingStore) Begin(ctx context.Context) (pipeline.Tx, error) {
	tx, err := c.Store.Begin(ctx)
	return crashingTx{tx, c}, err
}

type crashingTx struct {
	pipeline.Tx
	c crashingStore
}

func (t crashingTx) Commit(ctx context.Context, entries []ledger.Entry) error {
	if t.c.commits.Add(1) == t.c.n {
		if _, err := t.Tx.Flush(ctx); err != nil {
			return err
		}
		_ = t.Tx.Rollback()
		return errCrash
	}
	return t.Tx.Commit(ctx, entries)
}

func TestCrashResume(t *testing.T) {
	dir := genDir(t)
	duck, _ := duckdbtest.Open(t)
	ch := open(t)
	cfg := pipeline.Config{ChunkUnits: 200, TxRows: 1000}
	ingest(t, app.PipelineStore(duck), []string{dir}, cfg)

	objs := objects(t, dir)
	var commits atomic.Int32
	_, err := pipeline.Run(context.Background(), crashingStore{clickhouse.PipelineStore(ch), 4, &commits}, pipeline.Objects(objs...), cfg)
	if !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	if n := count(t, ch, "SELECT count() FROM cloudtrail") + count(t, ch, "SELECT count() FROM vpcflow"); n == 0 {
		t.Fatal("the crashed run stored nothing: the test crashes too early")
	}
	ingest(t, clickhouse.PipelineStore(ch), []string{dir}, cfg)
	// Rows of the crashed transaction were stored twice; the views show
	// them once. (The ledger's duplicate counts differ from DuckDB's: the
	// re-run found those rows stored.)
	for _, table := range []string{"cloudtrail_data", "vpcflow_data"} {
		raw := count(t, ch, "SELECT count() FROM "+table)
		view := count(t, ch, "SELECT count() FROM "+strings.TrimSuffix(table, "_data"))
		t.Logf("%s: %d rows stored, %d after de-duplication", table, raw, view)
	}
	compareTables(t, duck, ch, []string{"cloudtrail", "vpcflow", "guardduty_finding", "guardduty_finding_history",
		"cloudtrail_digest", "cloudtrail_digest_file", "quarantine", "ingest_warning"})
	ledgerSame(t, duck, ch)
}

func TestTwoWriters(t *testing.T) {
	dir := genDir(t)
	duck, _ := duckdbtest.Open(t)
	dsn := openDSN(t)
	cfg := pipeline.Config{ChunkUnits: 200, TxRows: 1000}
	ingest(t, app.PipelineStore(duck), []string{dir}, cfg)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		st, err := clickhouse.Open(context.Background(), dsn, clickhouse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = pipeline.Run(context.Background(), clickhouse.PipelineStore(st), pipeline.Objects(objects(t, dir)...), cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ch, err := clickhouse.Open(context.Background(), dsn, clickhouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := count(t, ch, "SELECT count() FROM cloudtrail_data")
	t.Logf("cloudtrail_data holds %d rows for %d events", raw, count(t, ch, "SELECT count() FROM cloudtrail"))
	compareTables(t, duck, ch, []string{"cloudtrail", "vpcflow", "guardduty_finding", "guardduty_finding_history",
		"cloudtrail_digest", "cloudtrail_digest_file", "quarantine", "ingest_warning"})
	ledgerSame(t, duck, ch)
}

// ledgerSame checks that both ledgers list the same objects as done with
// the same unit counts.
func ledgerSame(t *testing.T, duck, ch store.Querier) {
	t.Helper()
	q := "SELECT object, status, units FROM ingest_ledger ORDER BY object"
	d, c := textRows(t, duck, q), textRows(t, ch, q)
	if fmt.Sprint(d) != fmt.Sprint(c) {
		t.Errorf("ledgers differ: duckdb %d entries, clickhouse %d", len(d), len(c))
	}
}

// compareTables compares tables, leaving out the source column: which
// copy of an event delivered in two objects is kept depends on the order
// in which racing writers (or a re-run after a crash) insert them.
func compareTables(t *testing.T, duck, ch store.Querier, tables []string) {
	t.Helper()
	saved := userTables
	defer func() { userTables = saved; delete(skipColumns, "source") }()
	userTables = tables
	skipColumns["source"] = true
	compareStores(t, duck, ch)
}

func TestMalformedQuarantined(t *testing.T) {
	dir := t.TempDir()
	flows := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 111122223333 eni-0123 10.0.0.1 10.0.1.1 1024 443 6 1 60 1793613000 1793613060 ACCEPT OK\n" +
		"2 111122223333 eni-0123 10.0.0.2 10.0.1.1 1025 443 6 1 60 1793613000 1793613060 ACCEPT\n" + // a field short
		"this is not a flow record at all\n" +
		"2 111122223333 eni-0123 10.0.0.3 10.0.1.1 99999999999 443 6 1 60 1793613000 1793613060 ACCEPT OK\n"
	write(t, filepath.Join(dir, "flows", "f.log"), flows)
	write(t, filepath.Join(dir, "ct", "broken.json"), `{"Records":[{"eventVersion":"1.08","eventID":"a","eventTime":"2026-11-02T00:00:00Z","eventName":"X"},{"eventID":`)
	write(t, filepath.Join(dir, "notes.txt"), "not\na\nlog\nfile\n")
	duck, _ := duckdbtest.Open(t)
	ch := open(t)
	dres := ingest(t, app.PipelineStore(duck), []string{dir}, pipeline.Config{})
	cres := ingest(t, clickhouse.PipelineStore(ch), []string{dir}, pipeline.Config{})
	if cres.Quarantined == 0 || cres.Quarantined != dres.Quarantined {
		t.Errorf("quarantined: clickhouse %d, duckdb %d", cres.Quarantined, dres.Quarantined)
	}
	if n := count(t, ch, "SELECT count() FROM quarantine"); n != cres.Quarantined {
		t.Errorf("quarantine table holds %d entries, the run quarantined %d", n, cres.Quarantined)
	}
	compareStores(t, duck, ch)
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	dsn := openDSN(t)
	if _, err := clickhouse.Open(context.Background(), dsn, clickhouse.Options{}); err != nil {
		t.Fatal(err)
	}
	ro, err := clickhouse.Open(context.Background(), dsn, clickhouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Begin(context.Background()); err == nil {
		t.Error("Begin on a read-only store: no error")
	}
	_, err = ro.Query(context.Background(), store.Request{SQL: "INSERT INTO trawl_meta (key, value, ver) VALUES ('x', 'y', 1)"})
	if err == nil {
		t.Error("INSERT through a read-only store: no error")
	}
	if n := count(t, ro, "SELECT count() FROM cloudtrail"); n != 0 {
		t.Errorf("%d events in a new store", n)
	}
	tables := textRows(t, ro, "SHOW TABLES")
	if fmt.Sprint(tables) != "[[cloudtrail] [cloudtrail_digest] [cloudtrail_digest_file] [guardduty_finding] [guardduty_finding_history] [ingest_ledger] [ingest_warning] [quarantine] [vpcflow]]" {
		t.Errorf("SHOW TABLES = %v", tables)
	}
}

func TestReopen(t *testing.T) {
	dsn := openDSN(t)
	for i := 0; i < 2; i++ {
		st, err := clickhouse.Open(context.Background(), dsn, clickhouse.Options{})
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		st.Close()
	}
	st := open(t)
	if v, err := st.Version(context.Background()); err != nil || !strings.HasPrefix(v, "ClickHouse ") {
		t.Errorf("Version = %q, %v", v, err)
	}
	if store.DialectOf(st) != store.ClickHouse {
		t.Error("DialectOf is not ClickHouse")
	}
}

func objects(t *testing.T, dir string) []pipeline.Object {
	t.Helper()
	objs, err := fileObjects(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func count(t testing.TB, q store.Querier, sql string) int64 {
	t.Helper()
	rows := collect(t, q, sql)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: %v", sql, rows)
	}
	n, ok := rows[0][0].(int64)
	if !ok {
		t.Fatalf("%s: %T", sql, rows[0][0])
	}
	return n
}

func textRows(t *testing.T, q store.Querier, sql string) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range collect(t, q, sql) {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	return out
}

func TestQuerySettingsReadonly(t *testing.T) {
	st := open(t)
	ro := map[string]string{"readonly": "1", "max_result_rows": "5", "result_overflow_mode": "break"}
	rows, err := st.QuerySettings(context.Background(), store.Request{SQL: "SELECT number FROM system.numbers LIMIT 100000"}, ro)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if rows.Err() != nil || n == 0 || n >= 100000 {
		t.Errorf("rows: %d, %v (want a result cut short by max_result_rows)", n, rows.Err())
	}
	_, err = st.QuerySettings(context.Background(), store.Request{SQL: "CREATE TABLE x (a UInt8) ENGINE = Memory"}, ro)
	if err == nil {
		t.Error("CREATE TABLE with readonly=1: no error")
	}
}
