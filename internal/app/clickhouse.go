package app

import (
	"context"

	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
)

// openClickHouse opens a ClickHouse store: read-only for Query mode
// (readonly=2 on every query), else creating and migrating the schema.
// The memory limits of the modes are DuckDB's and do not apply.
func openClickHouse(ctx context.Context, opt Options) (*Store, error) {
	st, err := clickhouse.Open(ctx, opt.DB, clickhouse.Options{ReadOnly: opt.Mode == Query})
	if err != nil {
		return nil, err
	}
	return &Store{Backend: chBackend{Store: st}, mode: opt.Mode}, nil
}

// chBackend is a ClickHouse store as a Backend.
type chBackend struct{ *clickhouse.Store }

func (c chBackend) Begin(ctx context.Context) (pipeline.Tx, error) {
	return pipeline.BeginTx(ctx, c.Store.Begin)
}

var _ Backend = chBackend{}

// ClickHouse returns the ClickHouse store behind s, or nil when s is
// another engine (for what only ClickHouse has, such as the SQL
// console's per-request settings).
func (s *Store) ClickHouse() *clickhouse.Store {
	if c, ok := s.Backend.(chBackend); ok {
		return c.Store
	}
	return nil
}
