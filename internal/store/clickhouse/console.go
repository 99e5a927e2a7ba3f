package clickhouse

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// ConsoleRefusal is the error QueryConsole returns for a statement it does
// not run: more than one statement, or one that would write (refused by
// the server in readonly=1 mode).
type ConsoleRefusal struct{ Reason string }

func (e *ConsoleRefusal) Error() string { return e.Reason }

// Refused marks the error as a refusal (the HTTP API answers 403).
func (e *ConsoleRefusal) Refused() bool { return true }

// QueryConsole runs one statement typed by a user of the SQL console, in
// ClickHouse's readonly=1 mode (no writes, no setting changes, no table
// functions such as url() or file()), stopped after timeout
// (max_execution_time; 0: none) and after about maxRows+1 result rows
// (max_result_rows with result_overflow_mode=break, which stops at a block
// boundary: the caller still reads only what it needs). The rows are
// typed as Query's; Rows.Types gives ClickHouse's column types. (This file
// is CH2's, added for the API's SQL console.)
func (s *Store) QueryConsole(ctx context.Context, sql string, maxRows int, timeout time.Duration) (*Rows, error) {
	stmts := SplitStatements(sql)
	if len(stmts) != 1 {
		return nil, &ConsoleRefusal{Reason: "run one statement at a time"}
	}
	q := stmts[0]
	if !returnsRows(q) {
		return nil, &ConsoleRefusal{Reason: "the SQL console only reads: SELECT, WITH, SHOW, DESCRIBE or EXISTS"}
	}
	extra := url.Values{"readonly": {"1"}}
	if maxRows > 0 {
		extra.Set("max_result_rows", strconv.Itoa(maxRows+1))
		extra.Set("result_overflow_mode", "break")
	}
	cancel := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		extra.Set("max_execution_time", strconv.Itoa(max(1, int(timeout.Seconds()+0.999))))
	}
	rows, err := s.c.query(ctx, q, extra, boolColumns)
	if err != nil {
		cancel()
		if IsCode(err, CodeReadonly) {
			return nil, &ConsoleRefusal{Reason: "the SQL console is read-only: " + err.Error()}
		}
		return nil, err
	}
	rows.cancel = cancel
	return rows, nil
}
