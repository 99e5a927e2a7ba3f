package duckdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// RefusedError is a statement the SQL sandbox will not run: more than one
// statement, or a kind of statement that could write or reach outside the
// database.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// SandboxColumn is one column of a sandboxed result.
type SandboxColumn struct {
	Name string
	Type string // DuckDB's type name, such as BIGINT or VARCHAR
}

// SandboxResult is the result of a sandboxed query, held in memory.
type SandboxResult struct {
	Columns []SandboxColumn
	Rows    [][]any
	// Truncated is true when the query had more rows than the limit.
	Truncated bool
}

// DisableExternalAccess turns off DuckDB's access to files, extensions and
// the network for every connection of the process, for good: DuckDB cannot
// turn it on again while the database is open. The store's own reads and
// writes (the database file, its WAL and temporary files, and the Go row
// source of ingest) keep working. A server calls it once before it answers
// user SQL (QuerySandboxed).
func (s *Store) DisableExternalAccess(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "SET GLOBAL enable_external_access = false"); err != nil {
		return fmt.Errorf("disabling DuckDB's external access: %w", err)
	}
	return nil
}

// sandboxTypes are the statement types the sandbox runs. SHOW, DESCRIBE
// and SUMMARIZE are SELECT statements to DuckDB.
var sandboxTypes = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_SELECT:  "SELECT",
	duckdb.STATEMENT_TYPE_EXPLAIN: "EXPLAIN",
	duckdb.STATEMENT_TYPE_PRAGMA:  "PRAGMA",
}

// readPragma matches the PRAGMA statements that only read: a name from
// the list, with no assignment.
var readPragma = regexp.MustCompile(`(?is)^\s*PRAGMA\s+(table_info|show_tables|show_tables_expanded|database_size|storage_info|version|platform|database_list|functions|show|collations|metadata_info)\b[^=;]*;?\s*$`)

// QuerySandboxed runs one read-only statement from a user: SELECT (with
// WITH, SHOW, DESCRIBE, SUMMARIZE), EXPLAIN, or a PRAGMA that reads. It
// runs in a READ ONLY transaction on a connection of its own, so that
// nothing it does can write; DisableExternalAccess keeps it from files,
// extensions and the network. At most maxRows rows are returned
// (Truncated says when there were more); ctx's deadline interrupts it.
// A statement the sandbox will not run is a *RefusedError.
func (s *Store) QuerySandboxed(ctx context.Context, text string, maxRows int) (*SandboxResult, error) {
	stmts := SplitStatements(text)
	switch {
	case len(stmts) == 0:
		return nil, &RefusedError{Reason: "no SQL statement to run"}
	case len(stmts) > 1:
		return nil, &RefusedError{Reason: fmt.Sprintf("one statement at a time, not %d", len(stmts))}
	}
	stmt := stmts[0]
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandboxed query: a connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY"); err != nil {
		return nil, fmt.Errorf("sandboxed query: starting a read-only transaction: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // nothing was written
	var typ duckdb.StmtType
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		ps, err := c.PrepareContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer ps.Close()
		typ, err = ps.(*duckdb.Stmt).StatementType()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	kind, ok := sandboxTypes[typ]
	if !ok {
		return nil, &RefusedError{Reason: "only SELECT, WITH, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE and reading PRAGMAs run here: the SQL console is read-only"}
	}
	if kind == "PRAGMA" && !readPragma.MatchString(stmt) {
		return nil, &RefusedError{Reason: "this PRAGMA is not one that only reads (table_info, show_tables, database_size, storage_info, version …)"}
	}
	rows, err := conn.QueryContext(ctx, stmt)
	if err != nil {
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("query failed: %w", err)
	}
	res := &SandboxResult{Columns: make([]SandboxColumn, len(types)), Rows: [][]any{}}
	for i, t := range types {
		res.Columns[i] = SandboxColumn{Name: t.Name(), Type: t.DatabaseTypeName()}
	}
	for rows.Next() {
		if len(res.Rows) == maxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("reading a row: %w", err)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	return res, nil
}

// IsRefused reports whether err is a statement the sandbox refused.
func IsRefused(err error) bool {
	var re *RefusedError
	return errors.As(err, &re)
}
