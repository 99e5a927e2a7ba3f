// Package duckdb is trawl's embedded store: one DuckDB file holding every
// table of the schema (docs/schema.md), written in large transactions
// through a Go table function (trawl_rows, see rows.go) and queried with
// SQL.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configure a store.
type Options struct {
	// MemoryLimit caps DuckDB's memory (e.g. "512MB"); empty uses 512MB.
	MemoryLimit string
	// Threads caps DuckDB's worker threads; 0 lets DuckDB decide.
	Threads int
	// ReadOnly opens an existing file without writing to it.
	ReadOnly bool
	// Settings are further DuckDB settings (name → value), applied last.
	Settings map[string]string
}

// Store is an open DuckDB database. Its methods are safe for concurrent
// use, but a file can be open in one process at a time (DuckDB locks it).
type Store struct {
	db      *sql.DB
	conn    *duckdb.Connector
	src     *sources
	threads int      // DuckDB threads that may fill and insert a batch
	dedup   *ctDedup // which CloudTrail events need a duplicate look-up
	alerts  *alertConfig

	readOnly bool
	rollupMu sync.Mutex    // one RefreshRollups at a time
	flowsIn  chan struct{} // signalled when vpcflow changes (RunRollups)
}

// storageVersion is the on-disk format written for new files: the oldest
// that supports zstd string compression. DuckDB 1.2 and later read it.
const storageVersion = "v1.2.0"

// ErrLocked is returned when another process holds the database file.
var ErrLocked = errors.New("database is in use by another process")

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.MemoryLimit == "" {
		opt.MemoryLimit = "512MB"
	}
	q := url.Values{}
	q.Set("storage_compatibility_version", storageVersion)
	q.Set("memory_limit", opt.MemoryLimit)
	// Keep block memory resident: on virtual machines where page faults are
	// expensive, returning blocks to the OS and faulting them in again
	// costs more than the ingest itself.
	q.Set("block_allocator_memory", opt.MemoryLimit)
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	for k, v := range opt.Settings {
		q.Set(k, v)
	}
	if opt.Threads > 0 {
		q.Set("threads", strconv.Itoa(opt.Threads))
	}
	if opt.ReadOnly {
		q.Set("access_mode", "read_only")
	}
	// ctx bounds opening only: the pool opens connections for as long as
	// the store lives, after the caller's ctx may be cancelled.
	initCtx := context.WithoutCancel(ctx)
	c, err := duckdb.NewConnector(path+"?"+q.Encode(), func(ex driver.ExecerContext) error {
		// Per connection: show and read timestamps in UTC, as AWS writes
		// them, and create the SQL helpers (macros.go).
		if _, err := ex.ExecContext(initCtx, "SET TimeZone = 'UTC'", nil); err != nil {
			return err
		}
		for _, m := range macros {
			if _, err := ex.ExecContext(initCtx, m, nil); err != nil {
				return fmt.Errorf("creating the SQL helpers: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, openError(path, err)
	}
	s := &Store{db: sql.OpenDB(c), conn: c, threads: max(opt.Threads, 1), dedup: &ctDedup{}, alerts: &alertConfig{},
		readOnly: opt.ReadOnly, flowsIn: make(chan struct{}, 1)}
	if opt.Threads <= 0 {
		s.threads = runtime.NumCPU()
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, openError(path, err)
	}
	if !opt.ReadOnly {
		if err := s.migrate(ctx); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("preparing the schema of %s: %w", path, err)
		}
		if err := s.registerRows(ctx); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("opening %s: registering the row source: %w", path, err)
		}
	}
	return s, nil
}

func openError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		return fmt.Errorf("opening %s: %w (is another trawl ingest, query, demo, serve or run using it? wait for it to finish, stop it, or use another --db): %v", path, ErrLocked, err)
	}
	if _, statErr := os.Stat(path); statErr == nil && strings.Contains(msg, "not a valid DuckDB database") {
		return fmt.Errorf("opening %s: the file is not a DuckDB database: %w", path, err)
	}
	return fmt.Errorf("opening %s: %w", path, err)
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) migrate(ctx context.Context) error {
	var have int
	row := s.db.QueryRowContext(ctx, `SELECT value FROM trawl_meta WHERE key = 'schema_version'`)
	var v string
	switch err := row.Scan(&v); {
	case err == nil:
		have, _ = strconv.Atoi(v)
	case strings.Contains(err.Error(), "does not exist"), errors.Is(err, sql.ErrNoRows):
		have = 0
	default:
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if have > SchemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than this trawl (%d); upgrade trawl", have, SchemaVersion)
	}
	if have == SchemaVersion {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	// The cloudtrail view is this version's (cloudtrailDDL): it may name
	// columns that a later migration adds, so migrations that recreate it
	// do so once, after the last one.
	view, recreate := cloudtrailDDL()[1], false
	for v := have + 1; v <= SchemaVersion; v++ {
		for _, stmt := range migrations[v-1]() {
			if stmt == view {
				recreate = true
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrating to schema version %d: %w\n%s", v, err, stmt)
			}
		}
	}
	if recreate {
		if _, err := tx.ExecContext(ctx, view); err != nil {
			return fmt.Errorf("migrating to schema version %d: recreating the cloudtrail view: %w", SchemaVersion, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO trawl_meta VALUES ('schema_version', ?)`, strconv.Itoa(SchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Version returns the DuckDB library version.
func (s *Store) Version(ctx context.Context) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT version()`).Scan(&v)
	return v, err
}
