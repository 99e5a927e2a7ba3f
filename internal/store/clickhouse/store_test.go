package clickhouse_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// genDir generates a small data set: every log type, the attack story,
// digests.
func genDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gen")
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 3000, 5000, 60
	if _, err := gen.Generate(context.Background(), dir, cfg); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileObjects(dir string) ([]pipeline.Object, error) { return file.Objects([]string{dir}, nil) }

func ingest(t *testing.T, st pipeline.Store, dirs []string, cfg pipeline.Config) pipeline.Result {
	t.Helper()
	objs, err := file.Objects(dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(context.Background(), st, pipeline.Objects(objs...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// userTables are the tables compared between the stores, with the columns
// whose values differ by design (ingest times) left out.
var userTables = []string{"cloudtrail", "vpcflow", "guardduty_finding", "guardduty_finding_history",
	"cloudtrail_digest", "cloudtrail_digest_file", "ingest_ledger", "quarantine", "ingest_warning"}

var skipColumns = map[string]bool{"ingested_at": true, "spill_id": true, "text_block": true, "quarantined_at": true,
	"warned_at": true, "first_ingested_at": true, "last_ingested_at": true}

// tableDigest reads every row of table and returns its columns, its row
// count and a checksum of the sorted rows (times at second precision:
// ClickHouse 18.16's DateTime has no fractions).
func tableDigest(t *testing.T, q store.Querier, table string) (cols []string, n int, sum string, sample []string) {
	t.Helper()
	rows, err := q.Query(context.Background(), store.Request{SQL: "SELECT * FROM " + table})
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	defer rows.Close()
	var lines []string
	for _, c := range rows.Columns() {
		if !skipColumns[c] {
			cols = append(cols, c)
		}
	}
	for rows.Next() {
		var b strings.Builder
		for i, v := range rows.Values() {
			if skipColumns[rows.Columns()[i]] {
				continue
			}
			fmt.Fprintf(&b, "%s=%s|", rows.Columns()[i], norm(v))
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return cols, len(lines), hex.EncodeToString(h.Sum(nil)), lines
}

// norm formats a value with its Go type, so that a type difference shows.
func norm(v any) string {
	switch x := v.(type) {
	case time.Time:
		return "time:" + x.UTC().Truncate(time.Second).Format(time.RFC3339)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return fmt.Sprintf("%T:%s", v, b)
	case nil:
		return "NULL"
	}
	return fmt.Sprintf("%T:%v", v, v)
}

func compareStores(t *testing.T, duck, ch store.Querier) {
	t.Helper()
	for _, table := range userTables {
		dc, dn, dsum, dl := tableDigest(t, duck, table)
		cc, cn, csum, cl := tableDigest(t, ch, table)
		if !slices.Equal(dc, cc) {
			t.Errorf("%s: columns differ:\nduckdb     %v\nclickhouse %v", table, dc, cc)
			continue
		}
		if dn != cn || dsum != csum {
			t.Errorf("%s: duckdb has %d rows (%s), clickhouse %d (%s)", table, dn, dsum[:12], cn, csum[:12])
			for i := 0; i < len(dl) && i < len(cl); i++ {
				if dl[i] != cl[i] {
					t.Errorf("first difference:\nduckdb     %s\nclickhouse %s", diffFields(dl[i], cl[i]), diffFields(cl[i], dl[i]))
					break
				}
			}
		} else {
			t.Logf("%s: %d rows equal", table, dn)
		}
	}
}

// diffFields returns the fields of a that b lacks.
func diffFields(a, b string) string {
	bf := map[string]bool{}
	for _, f := range strings.Split(b, "|") {
		bf[f] = true
	}
	var out []string
	for _, f := range strings.Split(a, "|") {
		if !bf[f] {
			out = append(out, f)
		}
	}
	return strings.Join(out, " | ")
}

func TestIngestMatchesDuckDB(t *testing.T) {
	dir := genDir(t)
	duck, _ := duckdbtest.Open(t)
	ch := open(t)
	cfg := pipeline.Config{Workers: 1} // the same order of objects in both (see TestCorpusMatchesDuckDB)
	dres := ingest(t, app.PipelineStore(duck), []string{dir}, cfg)
	cres := ingest(t, clickhouse.PipelineStore(ch), []string{dir}, cfg)
	if dres.Records[0] == 0 && len(dres.Records) == 0 {
		t.Fatal("nothing ingested")
	}
	if fmt.Sprint(dres.Records) != fmt.Sprint(cres.Records) || dres.Duplicates != cres.Duplicates || dres.Quarantined != cres.Quarantined {
		t.Errorf("results differ:\nduckdb     %+v\nclickhouse %+v", dres.Progress, cres.Progress)
	}
	compareStores(t, duck, ch)

	// Everything again: all skipped by the ledger.
	again := ingest(t, clickhouse.PipelineStore(ch), []string{dir}, cfg)
	if again.ObjectsDone != 0 && sum(again.Records) != 0 {
		t.Errorf("second run stored %v", again.Records)
	}
	compareStores(t, duck, ch)
}

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
