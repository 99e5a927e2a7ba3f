package opensearch_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/pipeline/pipelinetest"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
	"github.com/trawl-project/trawl/internal/sink/opensearch/ostest"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store/duckdb"
	"github.com/trawl-project/trawl/internal/store/duckdb/duckdbtest"
)

// TestPipelineCrashThenResume runs the real pipeline into DuckDB with the
// sink beside it, crashes a commit after the sink's flush, runs again,
// and compares the indices with the store: the documents are exactly the
// stored rows (CloudTrail events, flow records, current findings).
func TestPipelineCrashThenResume(t *testing.T) {
	genData(t)
	st, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "db.duckdb"), duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := ostest.New(t)
	sink := newSink(t, srv, func(c *opensearch.Config) { c.FlushBytes = 512 << 10 })
	objs, err := file.Objects([]string{genDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.Config{ChunkUnits: 500, TxRows: 3000, Sinks: []pipeline.Sink{sink}}
	var commits atomic.Int32
	_, err = pipeline.Run(context.Background(), pipelinetest.CrashingStore{Store: app.PipelineStore(st), N: 2, Commits: &commits}, pipeline.Objects(objs...), cfg)
	if !errors.Is(err, pipelinetest.ErrCrash) {
		t.Fatalf("crashing run: %v", err)
	}
	crashed := count(t, srv, "cloudtrail-*,vpcflowlogs-*,guardduty-*")
	stored := duckdbtest.Scalar(t, st, `SELECT (SELECT count(*) FROM cloudtrail) + (SELECT count(*) FROM vpcflow) + (SELECT count(*) FROM guardduty_finding)`)
	if int64(crashed) <= stored {
		t.Fatalf("after the crash the indices hold %d documents, the store %d rows: the crash did not fall between flush and commit", crashed, stored)
	}
	if _, err := pipeline.Run(context.Background(), app.PipelineStore(st), pipeline.Objects(objs...), cfg); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ indices, sql string }{
		{"cloudtrail-*", `SELECT count(*) FROM cloudtrail`},
		{"vpcflowlogs-*", `SELECT count(*) FROM vpcflow`},
		{"guardduty-*", `SELECT count(*) FROM guardduty_finding`},
	} {
		docs, rows := count(t, srv, c.indices), duckdbtest.Scalar(t, st, c.sql)
		if int64(docs) != rows || rows == 0 {
			t.Errorf("%s: %d documents, store %d rows", c.indices, docs, rows)
		}
	}
	// Each finding's document is the version the store holds as current.
	res := search(t, srv, "guardduty-*", map[string]any{"match_all": map[string]any{}}, 10000)
	for _, h := range res.Hits.Hits {
		var d struct {
			UpdatedAt time.Time `json:"updated_at"`
		}
		_ = json.Unmarshal(h.Source, &d)
		n := duckdbtest.Scalar(t, st, `SELECT count(*) FROM guardduty_finding WHERE id = ? AND updated_at = ?`, h.ID, d.UpdatedAt)
		if n != 1 {
			t.Errorf("finding %s: the document's version %v is not the store's", h.ID, d.UpdatedAt)
		}
	}
}
