package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Backend is what trawl's commands use of a store, whichever engine holds
// it (DuckDB or ClickHouse): queries, the ingest ledger and transactions
// the pipeline writes through, the alert store and its outbox, retention,
// and the schema version. What only one engine has (DuckDB's rollups, its
// free-text index, the sandboxed SQL console) is asserted where it is
// used, through Store.DuckDB or an interface of its own.
type Backend interface {
	store.Querier
	QueryEach(ctx context.Context, req store.Request, fn func(rows store.Rows) error) error
	pipeline.Store
	AlertBackend
	// Prune deletes the rows of table older than before; CountOlder
	// counts them.
	Prune(ctx context.Context, table string, before time.Time) (int64, error)
	CountOlder(ctx context.Context, table string, before time.Time) (int64, error)
	// Version is the engine's version.
	Version(ctx context.Context) (string, error)
	// Dialect is the SQL the store speaks (store.DialectOf).
	Dialect() store.Dialect
	Close() error
}

// AlertBackend is the alert store: hits become alerts, alerts are listed
// and changed, and the delivery outbox is worked (notify.Outbox).
type AlertBackend interface {
	SetAlertOptions(o duckdb.AlertOptions)
	RecordHits(ctx context.Context, hits []event.Hit) (created, updated int, err error)
	Alerts(ctx context.Context, f duckdb.AlertFilter) ([]alert.Alert, error)
	Alert(ctx context.Context, id int64) (alert.Alert, error)
	SetAlertStatus(ctx context.Context, id int64, st alert.Status, note string) error
	DueDeliveries(ctx context.Context, now time.Time, limit int, skip []int64) ([]alert.Delivery, error)
	Deliveries(ctx context.Context, statuses []alert.DeliveryStatus, limit int) ([]alert.Delivery, error)
	MarkDelivered(ctx context.Context, id int64, attempts int, at time.Time) error
	MarkRetry(ctx context.Context, id int64, attempts int, at, next time.Time, reason string) error
	RetryFailed(ctx context.Context, ids []int64) (int64, error)
}

// IsClickHouse reports whether a --db value (or store.path) names a
// ClickHouse database (clickhouse://…) rather than a DuckDB file.
func IsClickHouse(db string) bool { return clickhouse.IsDSN(db) }

// DescribeDB returns db for messages and logs: a ClickHouse address
// without its password.
func DescribeDB(db string) string {
	if !IsClickHouse(db) {
		return db
	}
	d, err := clickhouse.ParseDSN(db)
	if err != nil {
		return "clickhouse://…"
	}
	return d.String()
}

// ErrNeedsDuckDB is returned (wrapped) by what only the DuckDB store can do.
var ErrNeedsDuckDB = errors.New("needs a DuckDB file as --db")

// NeedsDuckDB returns an error saying that what names a feature only the
// DuckDB store has, or nil when st is a DuckDB store.
func (s *Store) NeedsDuckDB(what string) error {
	if s.Store != nil {
		return nil
	}
	return fmt.Errorf("%s %w (this store is %s)", what, ErrNeedsDuckDB, s.Dialect())
}

// DuckDB returns the DuckDB store, or false for another engine.
func (s *Store) DuckDB() (*duckdb.Store, bool) { return s.Store, s.Store != nil }

// duckdbBackend is a DuckDB store as a Backend.
type duckdbBackend struct{ *duckdb.Store }

func (d duckdbBackend) Begin(ctx context.Context) (pipeline.Tx, error) {
	return pipeline.BeginTx(ctx, d.Store.Begin)
}

func (duckdbBackend) Dialect() store.Dialect { return store.DuckDB }

// DisableExternalAccess stops DuckDB from reading or writing files and
// URLs, for a process that runs SQL from users (the server's console);
// other engines keep users in their own sandbox (ClickHouse: readonly
// settings per query), so it does nothing for them.
func (s *Store) DisableExternalAccess(ctx context.Context) error {
	if s.Store == nil {
		return nil
	}
	return s.Store.DisableExternalAccess(ctx)
}

// RefreshRollups brings DuckDB's rollup tables up to date; other engines
// have none and answer the dashboards from their tables.
func (s *Store) RefreshRollups(ctx context.Context) error {
	if s.Store == nil {
		return nil
	}
	return s.Store.RefreshRollups(ctx)
}

// RunRollups keeps DuckDB's rollups current until ctx ends (see
// duckdb.Store.RunRollups); for other engines it returns at once.
func (s *Store) RunRollups(ctx context.Context, quiet time.Duration, logf func(err error)) {
	if s.Store == nil {
		return
	}
	s.Store.RunRollups(ctx, quiet, logf)
}

// WithCloser returns s closing fn as well (after the store) at Close.
func (s *Store) WithCloser(fn func() error) *Store {
	c := *s
	c.Backend = closing{Backend: s.Backend, fn: fn}
	return &c
}

type closing struct {
	Backend
	fn func() error
}

func (c closing) Close() error { return errors.Join(c.Backend.Close(), c.fn()) }
