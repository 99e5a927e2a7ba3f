package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/textindex"
)

// showTables matches a plain SHOW TABLES statement.
var showTables = regexp.MustCompile(`(?is)^\s*SHOW\s+TABLES\s*;?\s*$`)

// showUserTables answers SHOW TABLES with the tables and views people
// query: DuckDB's answer, without InternalTables.
var showUserTables = `SELECT name FROM (SHOW TABLES) WHERE name NOT IN ('` + strings.Join(InternalTables, "', '") + `') ORDER BY name`

// Query runs a read-only request. A plain SHOW TABLES lists the tables and
// views people query, without trawl's internal tables (InternalTables).
// Its rows hold a connection until Close.
func (s *Store) Query(ctx context.Context, req store.Request) (store.Rows, error) {
	return query(ctx, s.db, req)
}

// queryer is a database or one of its connections.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func query(ctx context.Context, db queryer, req store.Request) (store.Rows, error) {
	cancel := context.CancelFunc(func() {})
	if req.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
	}
	if showTables.MatchString(req.SQL) {
		req.SQL = showUserTables
	}
	stmt, err := resolveTextBlocks(ctx, db, req.SQL)
	if err != nil {
		cancel()
		return nil, err
	}
	rows, err := db.QueryContext(ctx, stmt, req.Args...)
	if err != nil {
		cancel()
		if h := castHint(req.SQL, err); h != "" {
			return nil, fmt.Errorf("query failed: %s\n%s", strings.TrimSpace(err.Error()), h)
		}
		return nil, fmt.Errorf("query failed: %s", strings.TrimSpace(err.Error()))
	}
	return store.SQLRows(rows, cancel)
}

// StatementError is a failure of one statement of several (QueryEach).
type StatementError = store.StatementError

// QueryEach runs every statement of req.SQL (SplitStatements) in order on
// one connection, so that SET and temporary tables carry over, and passes
// each result to fn, which must not keep the rows. It stops at the first
// error, a *StatementError when there are several statements. req.Args
// are allowed with one statement only.
func (s *Store) QueryEach(ctx context.Context, req store.Request, fn func(rows store.Rows) error) error {
	stmts := SplitStatements(req.SQL)
	if len(stmts) == 0 {
		return errors.New("no SQL statement to run")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query failed: %w", err)
	}
	defer conn.Close()
	if len(stmts) == 1 {
		stmts = []string{req.SQL} // as written: a single statement keeps its text
	}
	return store.EachStatement(req, stmts, func(r store.Request) (store.Rows, error) { return query(ctx, conn, r) }, fn)
}

// resolveTextBlocks looks up the free-text index blocks a statement names
// (`text_block IN (…)`, written by internal/search) and puts their ranges
// in its place (textindex.Resolve), so that DuckDB reads only those blocks.
func resolveTextBlocks(ctx context.Context, db queryer, stmt string) (string, error) {
	return textindex.Resolve(stmt, func(sub string) ([]int64, error) {
		rows, err := db.QueryContext(ctx, sub)
		if err != nil && strings.Contains(err.Error(), "trawl_text_bloom does not exist") {
			// Older than schema version 10, opened read-only.
			return nil, textindex.ErrNoIndex
		}
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var b int64
			if err := rows.Scan(&b); err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, rows.Err()
	})
}
