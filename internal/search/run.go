package search

import (
	"context"
	"fmt"

	"github.com/trawl-project/trawl/internal/cwpattern"
	"github.com/trawl-project/trawl/internal/store"
)

// Querier runs read-only SQL (internal/store's Querier).
type Querier interface {
	Query(ctx context.Context, req store.Request) (store.Rows, error)
}

// Search runs a compiled search: the matching rows, newest first, at most
// limit (<= 0: all), with the columns cols (c.Table.Show if nil). A filter
// pattern is applied to each row's raw record as the rows are read.
func Search(ctx context.Context, q Querier, c *Compiled, cols []string, limit int) (store.Rows, error) {
	for _, name := range cols {
		if !c.Table.HasColumn(name) {
			return nil, fmt.Errorf("search: %s has no column %q", c.Table.Name, name)
		}
	}
	sql, args := c.Select(cols, limit)
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args})
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", c.Table.Name, err)
	}
	if c.Pattern == nil {
		return rows, nil
	}
	return &patternRows{Rows: rows, pat: c.Pattern, limit: limit}, nil
}

// Count returns the number of matches of a compiled search.
func Count(ctx context.Context, q Querier, c *Compiled) (int64, error) {
	sql, args := c.Count()
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args})
	if err != nil {
		return 0, fmt.Errorf("counting in %s: %w", c.Table.Name, err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		v := rows.Values()[0]
		if c.Pattern == nil {
			switch x := v.(type) {
			case int64:
				n = x
			default:
				return 0, fmt.Errorf("counting in %s: count is %T", c.Table.Name, v)
			}
			continue
		}
		if s, ok := v.(string); ok && c.Pattern.MatchString(s) {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("counting in %s: %w", c.Table.Name, err)
	}
	return n, nil
}

// patternRows keeps the rows whose last column (raw) matches a filter
// pattern, hides that column, and stops after limit rows.
type patternRows struct {
	store.Rows
	pat   *cwpattern.Pattern
	limit int
	n     int
}

func (r *patternRows) Columns() []string {
	cols := r.Rows.Columns()
	return cols[:len(cols)-1]
}

func (r *patternRows) Next() bool {
	if r.limit > 0 && r.n >= r.limit {
		return false
	}
	for r.Rows.Next() {
		vals := r.Rows.Values()
		if s, ok := vals[len(vals)-1].(string); ok && r.pat.MatchString(s) {
			r.n++
			return true
		}
	}
	return false
}

func (r *patternRows) Values() []any {
	vals := r.Rows.Values()
	return vals[:len(vals)-1]
}
