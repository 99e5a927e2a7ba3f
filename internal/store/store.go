// Package store declares what every part of trawl that reads stored data
// uses: a Querier that runs a read-only SQL request and returns rows. The
// CLI's query command, the demo's summary, the HTTP API and
// scheduled rules share it, whatever the store behind it (DuckDB or
// ClickHouse; see Dialect).
package store

import (
	"context"
	"time"
)

// Querier runs read-only requests.
type Querier interface {
	Query(ctx context.Context, req Request) (Rows, error)
}

// Request is one query.
type Request struct {
	SQL  string
	Args []any
	// Timeout, if set, cancels the query after this long.
	Timeout time.Duration
}

// Rows is the result of a query, read row by row. Values returned by Values
// are valid until the next call to Next.
type Rows interface {
	Columns() []string
	Next() bool
	Values() []any
	Err() error
	Close() error
}

// Collect reads every row of a query as strings (NULL is ""), for small
// results such as summaries and checks.
func Collect(ctx context.Context, q Querier, req Request, format func(any) string) ([][]string, error) {
	rows, err := q.Query(ctx, req)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := rows.Values()
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = format(v)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// Dialect names the SQL a Querier speaks. Code that builds SQL (the search
// compiler, the dashboards, the API's aggregations, scheduled rules) asks
// DialectOf and writes that dialect; the bound parameters are "?" in both.
type Dialect string

// Dialects.
const (
	// DuckDB is the embedded store's SQL (the default).
	DuckDB Dialect = "duckdb"
	// ClickHouse is ClickHouse's SQL, from release 18.16 on.
	ClickHouse Dialect = "clickhouse"
)

// DialectOf returns the dialect q speaks: its Dialect method's answer, or
// DuckDB when it has none.
func DialectOf(q any) Dialect {
	if d, ok := q.(interface{ Dialect() Dialect }); ok {
		return d.Dialect()
	}
	return DuckDB
}

// Strings converts an array value as the stores return it (a []any) to
// its strings, leaving out what is not a string (NULL elements).
func Strings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
