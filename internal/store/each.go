package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// StatementError is a failure of one statement of several (QueryEach of
// every store).
type StatementError struct {
	N, Of     int    // 1-based position, number of statements
	Statement string // its text
	Err       error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("statement %d of %d: %v", e.N, e.Of, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// EachStatement is the loop of a store's QueryEach: it runs the statements
// stmts (req.SQL split by the store's own rules) in order through run, each
// as req with its SQL, and passes each result to fn, closing it after. It
// stops at the first error, a *StatementError when there are several
// statements. req.Args are allowed with one statement only.
func EachStatement(req Request, stmts []string, run func(Request) (Rows, error), fn func(Rows) error) error {
	if len(stmts) == 0 {
		return errors.New("no SQL statement to run")
	}
	if len(stmts) > 1 && len(req.Args) > 0 {
		return fmt.Errorf("query arguments need a single statement, not %d", len(stmts))
	}
	for i, stmt := range stmts {
		r := req
		r.SQL = stmt
		err := func() error {
			rows, err := run(r)
			if err != nil {
				return err
			}
			defer rows.Close()
			return fn(rows)
		}()
		if err != nil && len(stmts) > 1 {
			return &StatementError{N: i + 1, Of: len(stmts), Statement: stmt, Err: err}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// SQLRows adapts database/sql rows to Rows; cancel (the query's context,
// or a no-op) is called on Close. Errors read "query failed: …" with the
// driver's message.
func SQLRows(rows *sql.Rows, cancel context.CancelFunc) (Rows, error) {
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		cancel()
		return nil, fmt.Errorf("query failed: %w", err)
	}
	r := &sqlRows{rows: rows, cancel: cancel, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

type sqlRows struct {
	rows   *sql.Rows
	cancel context.CancelFunc
	cols   []string
	vals   []any
	ptrs   []any
	err    error
}

func (r *sqlRows) Columns() []string { return r.cols }

func (r *sqlRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = fmt.Errorf("reading a row: %w", err)
		return false
	}
	return true
}

func (r *sqlRows) Values() []any { return r.vals }

func (r *sqlRows) Err() error {
	if r.err != nil {
		return r.err
	}
	if err := r.rows.Err(); err != nil {
		return fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	return nil
}

func (r *sqlRows) Close() error {
	err := r.rows.Close()
	r.cancel()
	return err
}
