package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-project/trawl/internal/app"
	"github.com/trawl-project/trawl/internal/gen"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/file"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/clickhouse/chtest"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Stores are the two stores the suite compares, filled with the same data.
type Stores struct {
	// Duck is the DuckDB store, CH the ClickHouse store.
	Duck *duckdb.Store
	CH   *clickhouse.Store
	// Dir holds the generated data (Dir/data) and the DuckDB file.
	Dir string
	// Gen is the generator's manifest (accounts, attack story).
	Gen *gen.Manifest
}

var (
	loadOnce sync.Once
	loaded   *Stores
	loadErr  error
)

// loadBoth returns the two stores, filled once per test binary, as plain
// Queriers: neither the DuckDB flow rollup nor any other store extra is
// visible through them, so dashboards and the API run their exact SQL on
// both.
func loadBoth(t *testing.T) (duck, ch store.Querier) {
	t.Helper()
	return loadBothB(t)
}

// loadBothB is loadBoth for benchmarks (and tests).
func loadBothB(t testing.TB) (duck, ch store.Querier) {
	t.Helper()
	s := loadStores(t)
	return plain{s.Duck}, plain{s.CH}
}

// loadStores returns the filled stores themselves (for tests of other
// store methods, such as the alert store's).
func loadStores(t testing.TB) *Stores {
	t.Helper()
	base := chtest.URL(t) // skips or fails first when there is no server
	loadOnce.Do(func() { loaded, loadErr = load(base) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

// plain hides every method of a store but Query (and Dialect).
type plain struct {
	q interface {
		store.Querier
	}
}

func (p plain) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	return p.q.Query(ctx, req)
}

// Dialect is the store's dialect.
func (p plain) Dialect() store.Dialect { return store.DialectOf(p.q) }

// genConfig is the data set: small enough for CI, with every record shape.
func genConfig() gen.Config {
	cfg := gen.DefaultConfig()
	cfg.CloudTrailEvents, cfg.FlowRecords, cfg.Findings = 3000, 4000, 80
	return cfg
}

func load(base string) (*Stores, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "trawl-conformance-")
	if err != nil {
		return nil, err
	}
	s := &Stores{Dir: dir}
	fail := func(err error) (*Stores, error) {
		if s.Duck != nil {
			s.Duck.Close()
		}
		os.RemoveAll(dir)
		return nil, err
	}
	if s.Gen, err = gen.Generate(ctx, filepath.Join(dir, "data"), genConfig()); err != nil {
		return fail(fmt.Errorf("generating the data set: %w", err))
	}
	objs, err := file.Objects([]string{filepath.Join(dir, "data")}, nil)
	if err != nil {
		return fail(fmt.Errorf("listing the data set: %w", err))
	}
	if s.Duck, err = duckdb.Open(ctx, filepath.Join(dir, "conformance.duckdb"), duckdb.Options{MemoryLimit: "512MB"}); err != nil {
		return fail(fmt.Errorf("opening DuckDB: %w", err))
	}
	name := fmt.Sprintf("conformance_%d", os.Getpid())
	if err := chtest.Exec(base, "CREATE DATABASE IF NOT EXISTS "+name); err != nil {
		return fail(fmt.Errorf("creating the ClickHouse database: %w", err))
	}
	dsn := "clickhouse://" + strings.TrimPrefix(base, "http://") + "/" + name
	if s.CH, err = clickhouse.Open(ctx, dsn, clickhouse.Options{}); err != nil {
		return fail(fmt.Errorf("opening ClickHouse %s: %w", dsn, err))
	}
	for _, st := range []struct {
		name string
		ps   pipeline.Store
	}{{"duckdb", app.PipelineStore(s.Duck)}, {"clickhouse", clickhouse.PipelineStore(s.CH)}} {
		if err := ingest(ctx, st.ps, objs); err != nil {
			return fail(fmt.Errorf("ingesting into %s: %w", st.name, err))
		}
	}
	return s, nil
}

// ingest stores the objects twice, with two workers: once, then the
// CloudTrail and GuardDuty objects again with Force (every record a
// duplicate of one stored, which both stores drop). Flow-log objects are
// not forced again: DuckDB stores their records a second time (they have
// no natural key; pipeline.Run says so), while ClickHouse collapses them
// by (object, record number) — a documented difference.
func ingest(ctx context.Context, ps pipeline.Store, objs []pipeline.Object) error {
	if _, err := pipeline.Run(ctx, ps, pipeline.Objects(objs...), pipeline.Config{Workers: 2}); err != nil {
		return err
	}
	var again []pipeline.Object
	for _, o := range objs {
		if !strings.Contains(o.Name, "vpcflowlogs") {
			again = append(again, o)
		}
	}
	_, err := pipeline.Run(ctx, ps, pipeline.Objects(again...), pipeline.Config{Workers: 2, Force: true})
	return err
}
