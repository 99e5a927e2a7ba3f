package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/trawl-project/trawl/internal/store"
)

// Query runs a read-only request. Its rows hold a connection until Close.
func (s *Store) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	cancel := context.CancelFunc(func() {})
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
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
