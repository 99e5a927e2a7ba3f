package search

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"time"

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
	if c.InGo() && cols != nil && (len(cols) == 0 || cols[0] != c.Table.Time) {
		return nil, fmt.Errorf("search: with a filter pattern or JSON path evaluated in Go the first column must be %s", c.Table.Time)
	}
	if c.InGo() {
		return searchPattern(ctx, q, c, cols, limit)
	}
	sql, args := c.Select(cols, limit)
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args})
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", c.Table.Name, err)
	}
	return rows, nil
}

// Count returns the number of matches of a compiled search.
func Count(ctx context.Context, q Querier, c *Compiled) (int64, error) {
	var n int64
	if c.InGo() {
		err := scanPattern(ctx, q, c, []string{c.Table.Time}, func([]any) { n++ }, func() bool { return false })
		return n, err
	}
	sql, args := c.Count()
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args})
	if err != nil {
		return 0, fmt.Errorf("counting in %s: %w", c.Table.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		switch x := rows.Values()[0].(type) {
		case int64:
			n = x
		default:
			return 0, fmt.Errorf("counting in %s: count is %T", c.Table.Name, x)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("counting in %s: %w", c.Table.Name, err)
	}
	return n, nil
}

// Windows of time a filter-pattern search reads at a time, newest first:
// the first is small so that the latest matches come quickly, and none is
// so large that its raw records strain memory.
const (
	firstWindow = time.Hour
	maxWindow   = 6 * time.Hour
)

// scanPattern reads the candidate rows of a search evaluated in Go (a
// filter pattern or a residual: the columns cols, then raw and the
// residual's terms) one time window at a time, newest window first,
// calls match with the columns of each row whose raw record matches, and
// stops after a window when enough reports true. Rows without a time are
// read last.
func scanPattern(ctx context.Context, q Querier, c *Compiled, cols []string, match func([]any), enough func() bool) error {
	t := c.Table.Time
	bounds, err := q.Query(ctx, store.Request{SQL: "SELECT min(" + t + "), max(" + t + ") FROM " + c.Table.Name + " WHERE " + c.Where, Args: c.Args})
	if err != nil {
		return fmt.Errorf("searching %s: %w", c.Table.Name, err)
	}
	var lo, hi time.Time
	if bounds.Next() {
		lo, _ = bounds.Values()[0].(time.Time)
		hi, _ = bounds.Values()[1].(time.Time)
	}
	err = bounds.Err()
	bounds.Close()
	if err != nil {
		return fmt.Errorf("searching %s: %w", c.Table.Name, err)
	}
	base, args := c.Select(cols, 0)
	scan := func(cond string, extra ...any) error {
		rows, err := q.Query(ctx, store.Request{SQL: base + " AND " + cond, Args: append(append([]any(nil), args...), extra...)})
		if err != nil {
			return fmt.Errorf("searching %s: %w", c.Table.Name, err)
		}
		defer rows.Close()
		n := c.extraCols()
		for rows.Next() {
			vals := rows.Values()
			if len(vals) >= n && c.Match(vals[len(vals)-n:]) {
				match(vals[:len(vals)-n])
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("searching %s: %w", c.Table.Name, err)
		}
		return nil
	}
	if !hi.IsZero() {
		// Just after the newest row: ClickHouse's DateTime (and the
		// literals its store binds) hold whole seconds.
		end := hi.Add(time.Microsecond)
		if c.Dialect == store.ClickHouse {
			end = hi.Add(time.Second)
		}
		for w := firstWindow; end.After(lo); w = min(2*w, maxWindow) {
			start := end.Add(-w)
			if start.Before(lo) {
				start = lo
			}
			if err := scan(t+" >= ? AND "+t+" < ?", start, end); err != nil {
				return err
			}
			if enough() {
				return nil
			}
			end = start
		}
	}
	return scan(t + " IS NULL")
}

// searchPattern returns the newest limit rows (all when limit <= 0) whose
// raw record matches the filter pattern, newest first.
func searchPattern(ctx context.Context, q Querier, c *Compiled, cols []string, limit int) (store.Rows, error) {
	if cols == nil {
		cols = c.Table.Show
	}
	h := &timeHeap{}
	err := scanPattern(ctx, q, c, cols, func(vals []any) {
		if limit > 0 && h.Len() == limit {
			if !rowTime(vals).After(rowTime(h.rows[0])) {
				return
			}
			heap.Pop(h)
		}
		heap.Push(h, append([]any(nil), vals...))
	}, func() bool { return limit > 0 && h.Len() == limit })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(h.rows, func(i, j int) bool { return rowTime(h.rows[i]).After(rowTime(h.rows[j])) })
	return &sliceRows{cols: cols, rows: h.rows}, nil
}

// sliceRows is a result held in memory.
type sliceRows struct {
	cols []string
	rows [][]any
	cur  []any
}

func (r *sliceRows) Columns() []string { return r.cols }

func (r *sliceRows) Next() bool {
	if len(r.rows) == 0 {
		return false
	}
	r.cur, r.rows = r.rows[0], r.rows[1:]
	return true
}

func (r *sliceRows) Values() []any { return r.cur }
func (r *sliceRows) Err() error    { return nil }
func (r *sliceRows) Close() error  { return nil }

// rowTime is a row's first column, its time.
func rowTime(v []any) time.Time {
	t, _ := v[0].(time.Time)
	return t
}

// timeHeap is a min-heap of rows by their first column (time).
type timeHeap struct{ rows [][]any }

func (h *timeHeap) Len() int           { return len(h.rows) }
func (h *timeHeap) Less(i, j int) bool { return rowTime(h.rows[i]).Before(rowTime(h.rows[j])) }
func (h *timeHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *timeHeap) Push(x any)         { h.rows = append(h.rows, x.([]any)) }
func (h *timeHeap) Pop() any {
	x := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return x
}
