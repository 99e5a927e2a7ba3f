package api

import (
	"context"
	"errors"
	"time"

	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// ClickHouseSQL runs the SQL console on a ClickHouse store (an SQLRunner
// for Options.SQL): one statement at a time in ClickHouse's readonly=1
// mode, bounded by the console's timeout (max_execution_time) and row
// limit (max_result_rows), as clickhouse.Store.QueryConsole does. A
// refused statement is a *duckdb.RefusedError, as on DuckDB (HTTP 403).
type ClickHouseSQL struct {
	Store *clickhouse.Store
}

// QuerySandboxed runs sql and returns at most maxRows rows.
func (c ClickHouseSQL) QuerySandboxed(ctx context.Context, sql string, maxRows int) (*duckdb.SandboxResult, error) {
	var timeout time.Duration
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Second)
	}
	rows, err := c.Store.QueryConsole(ctx, sql, maxRows, timeout)
	if err != nil {
		var ref *clickhouse.ConsoleRefusal
		if errors.As(err, &ref) {
			return nil, &duckdb.RefusedError{Reason: ref.Reason}
		}
		return nil, err
	}
	defer rows.Close()
	res := &duckdb.SandboxResult{}
	types := rows.Types()
	for i, name := range rows.Columns() {
		res.Columns = append(res.Columns, duckdb.SandboxColumn{Name: name, Type: types[i]})
	}
	for rows.Next() {
		if len(res.Rows) == maxRows {
			res.Truncated = true
			break
		}
		res.Rows = append(res.Rows, append([]any(nil), rows.Values()...))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}
