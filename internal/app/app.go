// Package app wires trawl's parts together for a process: it opens the
// store tuned for what the process does (ingest, query, or both at once in
// a long-running collector and server), and builds the ingest pipeline.
// Commands (ingest, demo, and the coming run and lambda) use it instead of
// assembling sources, decoders and stores themselves, so per-process
// tuning — the Go memory limit, DuckDB's threads and memory, the
// TRAWL_DUCKDB_SETTINGS override — is decided in one place.
package app

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/dustin/go-humanize"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Mode is what a process does with its store.
type Mode int

// Modes.
const (
	// Ingest writes: one DuckDB thread (rows come from one writer, and
	// DuckDB's idle threads would take CPU from the decoders), a memory
	// limit that keeps the process under about 1 GiB, and a Go heap limit.
	Ingest Mode = iota
	// Query reads: the database opened read-only, all cores, and half of
	// the machine's memory (QueryMemoryLimit).
	Query
	// Serve ingests and answers queries in one process (DuckDB allows one
	// writer per file): all cores for queries, the ingest memory limits.
	Serve
)

// Defaults per mode. The ingest figures are measured (docs/performance.md):
// DuckDB at 384 MB and the Go heap at 320 MiB keep an ingest's peak RSS
// under 1 GiB.
const (
	IngestMemoryLimit = "384MB"
	GoMemoryLimit     = 320 << 20
	// FallbackQueryMemoryLimit is the query limit where the machine's
	// memory is unknown.
	FallbackQueryMemoryLimit = "2GB"
)

// QueryMemoryLimit is DuckDB's memory limit for a query process: half of
// the memory the machine (or the process's cgroup) has, at least 512 MiB.
// A query process is short-lived and alone with its database, and DuckDB
// needs room for sorts and joins (SELECT * … ORDER BY … LIMIT on a large
// database ran out of memory at 512 MB); half leaves the rest to other
// processes and to the OS page cache.
func QueryMemoryLimit() string { return queryMemoryLimit(physicalMemory()) }

func queryMemoryLimit(total uint64) string {
	if total == 0 {
		return FallbackQueryMemoryLimit
	}
	return fmt.Sprintf("%dB", max(total/2, 512<<20))
}

// Options open a store.
type Options struct {
	DB   string // database file
	Mode Mode
	// MemoryLimit overrides the mode's DuckDB memory limit ("1GiB").
	MemoryLimit string
}

// SettingsError reports a bad tuning value: the flag or variable it came
// from, so the CLI can call it a usage error.
type SettingsError struct {
	Name string // "--memory-limit" or "TRAWL_DUCKDB_SETTINGS"
	Err  error
}

func (e *SettingsError) Error() string { return e.Name + ": " + e.Err.Error() }

func (e *SettingsError) Unwrap() error { return e.Err }

// MinMemoryLimit is the smallest DuckDB memory limit trawl accepts.
const MinMemoryLimit = 16 << 20

// Store is an open store with what a process needs of it: every method of
// Backend, whichever engine it is.
type Store struct {
	Backend
	// Store is the DuckDB store when the store is DuckDB, for what only
	// DuckDB has (rollups, the sandboxed SQL console, tests reading its
	// tables); nil for another engine. Check with DuckDB or NeedsDuckDB.
	Store *duckdb.Store
	mode  Mode
}

// NewStore wraps an open DuckDB store.
func NewStore(st *duckdb.Store, mode Mode) *Store {
	return &Store{Backend: duckdbBackend{st}, Store: st, mode: mode}
}

// Open opens the store for a mode: a ClickHouse database when opt.DB starts
// with clickhouse://, else a DuckDB file ("" for an in-memory database).
func Open(ctx context.Context, opt Options) (*Store, error) {
	if IsClickHouse(opt.DB) {
		return openClickHouse(ctx, opt)
	}
	dopt := duckdb.Options{}
	switch opt.Mode {
	case Ingest:
		dopt.Threads, dopt.MemoryLimit = 1, IngestMemoryLimit
	case Query:
		dopt.ReadOnly, dopt.MemoryLimit = true, QueryMemoryLimit()
	case Serve:
		dopt.Threads, dopt.MemoryLimit = runtime.NumCPU(), IngestMemoryLimit
	}
	if opt.MemoryLimit != "" {
		n, err := humanize.ParseBytes(opt.MemoryLimit)
		if err != nil {
			return nil, &SettingsError{Name: "--memory-limit", Err: fmt.Errorf("%q is not a size such as 512MB or 1GiB", opt.MemoryLimit)}
		}
		if n < MinMemoryLimit {
			return nil, &SettingsError{Name: "--memory-limit", Err: fmt.Errorf("%s is below the minimum of %s", opt.MemoryLimit, humanize.IBytes(MinMemoryLimit))}
		}
		dopt.MemoryLimit = fmt.Sprintf("%dB", n)
	}
	settings, err := duckdbSettings(os.Getenv("TRAWL_DUCKDB_SETTINGS"))
	if err != nil {
		return nil, err
	}
	dopt.Settings = settings
	st, err := duckdb.Open(ctx, opt.DB, dopt)
	if err != nil {
		return nil, err
	}
	return NewStore(st, opt.Mode), nil
}

// duckdbSettings parses TRAWL_DUCKDB_SETTINGS: "name=value;name=value".
func duckdbSettings(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, &SettingsError{Name: "TRAWL_DUCKDB_SETTINGS", Err: fmt.Errorf("%q is not name=value (settings are separated by ;)", kv)}
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// Querier returns the store's query interface; store.DialectOf tells its
// SQL.
func (s *Store) Querier() store.Querier { return s.Backend }

// Ingest runs the pipeline from src into the store. While it runs, the Go
// heap has a soft limit (unless GOMEMLIMIT is set) so that decoders and
// DuckDB together stay under about 1 GiB.
func (s *Store) Ingest(ctx context.Context, src pipeline.Source, cfg pipeline.Config) (pipeline.Result, error) {
	if os.Getenv("GOMEMLIMIT") == "" {
		release := limitGoMemory(GoMemoryLimit)
		defer release()
	}
	return pipeline.Run(ctx, s.Backend, src, cfg)
}

var memMu sync.Mutex
var memUsers int
var memPrev int64

// limitGoMemory sets the Go heap's soft limit while at least one ingest
// runs, and restores the previous limit after the last.
func limitGoMemory(limit int64) func() {
	memMu.Lock()
	if memUsers == 0 {
		memPrev = debug.SetMemoryLimit(limit)
	}
	memUsers++
	memMu.Unlock()
	return func() {
		memMu.Lock()
		memUsers--
		if memUsers == 0 {
			debug.SetMemoryLimit(memPrev)
		}
		memMu.Unlock()
	}
}

// PipelineStore adapts a DuckDB store to the pipeline's Store interface.
func PipelineStore(st *duckdb.Store) pipeline.Store { return pipeline.StoreOf[*duckdb.Tx](st) }
