package app

import (
	"context"
	"fmt"
	"time"

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
	tx, err := c.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx, nil
}

// pruner is retention, where the ClickHouse store has it.
type pruner interface {
	Prune(ctx context.Context, table string, before time.Time) (int64, error)
	CountOlder(ctx context.Context, table string, before time.Time) (int64, error)
}

func (c chBackend) Prune(ctx context.Context, table string, before time.Time) (int64, error) {
	if p, ok := any(c.Store).(pruner); ok {
		return p.Prune(ctx, table, before)
	}
	return 0, fmt.Errorf("pruning %s: %w", table, errNoPrune)
}

func (c chBackend) CountOlder(ctx context.Context, table string, before time.Time) (int64, error) {
	if p, ok := any(c.Store).(pruner); ok {
		return p.CountOlder(ctx, table, before)
	}
	return 0, fmt.Errorf("counting old rows of %s: %w", table, errNoPrune)
}

var errNoPrune = fmt.Errorf("retention on ClickHouse is not in this build")

var _ Backend = chBackend{}
