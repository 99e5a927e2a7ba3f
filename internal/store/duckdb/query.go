package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/trawl-project/trawl/internal/store"
)

// showTables matches a plain SHOW TABLES statement.
var showTables = regexp.MustCompile(`(?is)^\s*SHOW\s+TABLES\s*;?\s*$`)

// showUserTables answers SHOW TABLES with the tables and views people
// query: DuckDB's answer, without InternalTables.
var showUserTables = `SELECT name FROM (SHOW TABLES) WHERE name NOT IN ('` + strings.Join(InternalTables, "', '") + `') ORDER BY name`

// Query runs a read-only request. A plain SHOW TABLES lists the tables and
// views people query, without trawl's internal tables (InternalTables). Its rows hold a connection until Close.
func (s *Store) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	cancel := context.CancelFunc(func() {})
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	if showTables.MatchString(req.SQL) {
		req.SQL = showUserTables
	}
	rows, err := s.db.QueryContext(ctx, req.SQL, req.Args...)
	if err != nil {
		cancel()
		if h := castHint(req.SQL, err); h != "" {
			return nil, fmt.Errorf("query failed: %s\n%s", strings.TrimSpace(err.Error()), h)
		}
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		cancel()
		return nil, err
	}
	r := &queryRows{rows: rows, cancel: cancel, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

type queryRows struct {
	rows   *sql.Rows
	cancel context.CancelFunc
	cols   []string
	vals   []any
	ptrs   []any
	err    error
}

func (r *queryRows) Columns() []string { return r.cols }

func (r *queryRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = fmt.Errorf("reading a row: %w", err)
		return false
	}
	return true
}

func (r *queryRows) Values() []any { return r.vals }

func (r *queryRows) Err() error {
	if r.err != nil {
		return r.err
	}
	if err := r.rows.Err(); err != nil {
		return fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	return nil
}

func (r *queryRows) Close() error {
	err := r.rows.Close()
	r.cancel()
	return err
}
