package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/docs"
	"github.com/trawl-project/trawl/internal/schemadoc"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// MaxSQLLength is the longest SQL the console accepts, in bytes.
const MaxSQLLength = 64 << 10

type sqlRequest struct {
	SQL   string `json:"sql"`
	Limit int    `json:"limit"`
}

type sqlColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (a *API) sql(w http.ResponseWriter, r *http.Request) error {
	if a.opt.SQL == nil {
		return notFound("the SQL console is not available on this server")
	}
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxSQLLength+1024))
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	var req sqlRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return badRequest(`the body must be JSON: {"sql": "SELECT …", "limit": 1000} (%v)`, err)
	}
	switch {
	case strings.TrimSpace(req.SQL) == "":
		return badRequest("sql: no statement to run")
	case len(req.SQL) > MaxSQLLength:
		return badRequest("sql: %d bytes; the most is %d", len(req.SQL), MaxSQLLength)
	case !utf8.ValidString(req.SQL):
		return badRequest("sql: not valid UTF-8")
	case strings.IndexByte(req.SQL, 0) >= 0:
		return badRequest("sql: holds a NUL character")
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = DefaultSQLRows
	case limit < 0 || limit > MaxSQLRows:
		return badRequest("limit: %d is not from 1 to %d", limit, MaxSQLRows)
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.opt.SQLTimeout)
	defer cancel()
	res, err := a.opt.SQL.QuerySandboxed(ctx, req.SQL, limit)
	if err != nil {
		var re *duckdb.RefusedError
		switch {
		case errors.As(err, &re):
			return err
		case ctx.Err() != nil && r.Context().Err() == nil:
			return &httpError{status: http.StatusGatewayTimeout, msg: fmt.Sprintf("the statement ran longer than %s and was stopped", a.opt.SQLTimeout)}
		}
		// DuckDB's own message: a syntax, binder or permission error.
		return sqlError(err)
	}
	out := struct {
		Columns   []sqlColumn `json:"columns"`
		Rows      [][]any     `json:"rows"`
		Truncated bool        `json:"truncated"`
		TookMs    int64       `json:"took_ms"`
	}{Columns: []sqlColumn{}, Rows: make([][]any, 0, len(res.Rows)), Truncated: res.Truncated}
	for _, c := range res.Columns {
		out.Columns = append(out.Columns, sqlColumn{Name: c.Name, Type: c.Type})
	}
	for _, row := range res.Rows {
		for i, v := range row {
			row[i] = jsonValue(v)
		}
		out.Rows = append(out.Rows, row)
	}
	out.TookMs = tookMs(start)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sqlError turns DuckDB's error into a 400 (a 403 for a permission
// error: file access the sandbox forbids), with the position DuckDB
// points at when it gives one (LINE n: with a caret).
func sqlError(err error) error {
	msg := err.Error()
	status := http.StatusBadRequest
	if strings.Contains(msg, "Permission Error") || strings.Contains(msg, "disabled by configuration") {
		status = http.StatusForbidden
	}
	return &httpError{status: status, msg: msg}
}

// schemaDocs is docs/schema.md parsed.
func schemaDocs() map[string]*schemadoc.Section { return schemadoc.Parse(docs.Schema) }

func describe(sections map[string]*schemadoc.Section, table, col string) string {
	return schemadoc.Describe(sections, table, col)
}

func (a *API) schema(w http.ResponseWriter, r *http.Request) error {
	sql := `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
		WHERE t.table_schema = 'main' AND t.table_catalog = current_database()
		ORDER BY c.table_name, c.ordinal_position`
	if a.dialect() == store.ClickHouse {
		// The views users query (the *_data tables behind them and
		// trawl_meta are internal); 18.16's system.columns has no
		// position, so columns are listed by name.
		sql = `SELECT table, name, type FROM system.columns WHERE database = currentDatabase()
		AND table NOT LIKE '%\\_data' AND table NOT LIKE '.inner.%' AND table != 'trawl_meta' ORDER BY table, name`
	}
	rows, err := a.opt.Store.Query(r.Context(), store.Request{SQL: sql})
	if err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	defer rows.Close()
	type column struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	type table struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Columns     []column `json:"columns"`
	}
	docs := schemaDocs()
	var tables []*table
	for rows.Next() {
		v := rows.Values()
		tn, _ := v[0].(string)
		cn, _ := v[1].(string)
		typ, _ := v[2].(string)
		if slices.Contains(duckdb.InternalTables, tn) {
			continue
		}
		if len(tables) == 0 || tables[len(tables)-1].Name != tn {
			desc := ""
			if s, ok := docs[tn]; ok {
				desc = s.Intro
			}
			tables = append(tables, &table{Name: tn, Description: desc})
		}
		t := tables[len(tables)-1]
		t.Columns = append(t.Columns, column{Name: cn, Type: strings.ReplaceAll(typ, "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"), Description: describe(docs, tn, cn)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	if tables == nil {
		tables = []*table{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": tables})
	return nil
}
