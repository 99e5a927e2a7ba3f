package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/trawl-project/trawl/internal/api"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/server"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// remoteFor returns a client of the trawl server that holds db, when
// opening db failed because another process holds it and that process is
// a trawl server (it wrote DB.server.json). Otherwise it returns nil.
func remoteFor(db string, openErr error) *server.Client {
	if !errors.Is(openErr, duckdb.ErrLocked) {
		return nil
	}
	info, err := server.ReadInfo(db)
	if err != nil {
		return nil
	}
	tok := info.Token
	if v := os.Getenv("TRAWL_TOKEN"); v != "" {
		tok = v
	}
	return &server.Client{URL: info.URL, Token: tok}
}

// remoteQuery runs each statement of sql on the server through its
// read-only SQL endpoint and writes each result like runQuery does.
func remoteQuery(ctx context.Context, e *env, c *server.Client, sql string, newWriter func() output.Writer, blank bool) error {
	fmt.Fprintf(e.stderr, "trawl: the database is held by the trawl server at %s; querying through it (read-only, at most %d rows)\n", c.URL, api.MaxSQLRows)
	stmts := duckdb.SplitStatements(sql)
	if len(stmts) == 0 {
		return &exitError{code: exitFailure, err: errors.New("no SQL statement to run")}
	}
	for i, stmt := range stmts {
		res, err := c.SQL(ctx, stmt, api.MaxSQLRows)
		if err != nil {
			if len(stmts) > 1 {
				err = fmt.Errorf("statement %d of %d: %w", i+1, len(stmts), err)
			}
			return &exitError{code: exitFailure, err: err}
		}
		if i > 0 && blank {
			if _, err := io.WriteString(e.stdout, "\n"); err != nil {
				return err
			}
		}
		w := newWriter()
		cols := make([]string, len(res.Columns))
		for j, col := range res.Columns {
			cols[j] = col.Name
		}
		if err := w.Header(cols); err != nil {
			return err
		}
		for _, row := range res.Rows {
			if err := w.Row(row); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if res.Truncated {
			fmt.Fprintf(e.stderr, "trawl: only the first %d rows are shown (the server's limit)\n", len(res.Rows))
		}
	}
	return nil
}

// remoteSearch runs a search on the server, page by page, and writes the
// rows like runSearch does.
func remoteSearch(ctx context.Context, e *env, c *server.Client, query string, opt search.Options, o searchOptions, w output.Writer) error {
	p := url.Values{"q": {query}}
	if opt.Table != nil {
		p.Set("type", opt.Table.Type)
	}
	if !opt.Since.IsZero() {
		p.Set("from", opt.Since.UTC().Format(time.RFC3339Nano))
	}
	if !opt.Until.IsZero() {
		p.Set("to", opt.Until.UTC().Format(time.RFC3339Nano))
	}
	fail := func(err error) error { return &exitError{code: exitFailure, err: err} }
	if o.count {
		var res struct {
			Count int64 `json:"count"`
		}
		if err := c.Get(ctx, "/api/count", p, &res); err != nil {
			return fail(err)
		}
		fmt.Fprintln(e.stdout, res.Count)
		return nil
	}
	left := o.limit
	started := false
	for {
		page := 1000
		if o.limit > 0 {
			page = min(page, left)
		}
		p.Set("limit", strconv.Itoa(page))
		var res struct {
			Columns []string         `json:"columns"`
			Rows    []map[string]any `json:"rows"`
			Next    *string          `json:"next"`
		}
		if err := c.Get(ctx, "/api/search", p, &res); err != nil {
			return fail(err)
		}
		if !started {
			if err := w.Header(res.Columns); err != nil {
				return err
			}
			started = true
		}
		for _, r := range res.Rows {
			vals := make([]any, len(res.Columns))
			for i, col := range res.Columns {
				vals[i] = r[col]
			}
			if err := w.Row(vals); err != nil {
				return err
			}
		}
		left -= len(res.Rows)
		if res.Next == nil || o.limit > 0 && left <= 0 {
			break
		}
		p.Set("cursor", *res.Next)
	}
	return w.Flush()
}
