package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/clickhouse"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// ClickHouseSQL runs the SQL console on a ClickHouse store (an SQLRunner
// for Options.SQL): one reading statement at a time, in ClickHouse's
// readonly=1 mode (no writes, no setting changes, no table functions such
// as url() or file()), bounded by the console's timeout
// (max_execution_time) and row limit (max_result_rows with
// result_overflow_mode=break). A refused statement is a
// *duckdb.RefusedError, as on DuckDB (HTTP 403).
type ClickHouseSQL struct {
	Store *clickhouse.Store
}

// readingStatements are the first words of the statements the console runs.
var readingStatements = map[string]bool{"SELECT": true, "WITH": true, "SHOW": true, "DESCRIBE": true, "DESC": true, "EXISTS": true, "(": true}

// QuerySandboxed runs sql and returns at most maxRows rows.
func (c ClickHouseSQL) QuerySandboxed(ctx context.Context, sql string, maxRows int) (*duckdb.SandboxResult, error) {
	stmts := clickhouse.SplitStatements(sql)
	if len(stmts) != 1 {
		return nil, &duckdb.RefusedError{Reason: "run one statement at a time"}
	}
	if !readingStatements[strings.ToUpper(clickhouse.FirstWord(stmts[0]))] {
		return nil, &duckdb.RefusedError{Reason: "the SQL console only reads: SELECT, WITH, SHOW, DESCRIBE or EXISTS"}
	}
	req := store.Request{SQL: stmts[0]}
	if d, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(d), time.Second)
	}
	settings := map[string]string{"readonly": "1"}
	if maxRows > 0 {
		settings["max_result_rows"] = strconv.Itoa(maxRows + 1)
		settings["result_overflow_mode"] = "break"
	}
	rows, err := c.Store.QuerySettings(ctx, req, settings)
	if err != nil {
		if clickhouse.IsCode(err, clickhouse.CodeReadonly) {
			return nil, &duckdb.RefusedError{Reason: "the SQL console is read-only: " + err.Error()}
		}
		return nil, err
	}
	defer rows.Close()
	res := &duckdb.SandboxResult{}
	var types []string
	if t, ok := rows.(interface{ Types() []string }); ok {
		types = t.Types()
	}
	for i, name := range rows.Columns() {
		col := duckdb.SandboxColumn{Name: name}
		if i < len(types) {
			col.Type = types[i]
		}
		res.Columns = append(res.Columns, col)
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
