package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// eventSQL returns the SQL that reads one stored record by _id (and, when
// known, its time, so that DuckDB reads only the row groups of that time).
// CloudTrail events and findings are looked up as search.EventByID does
// (without a time, a CloudTrail event id goes through the free-text index);
// flow records by their _id.
func eventSQL(d store.Dialect, t *search.Table, id string, tm time.Time) (string, []any) {
	if sql, args, err := search.EventByIDFor(d, t, id, tm); err == nil {
		return sql, args
	}
	k := keyOf(d, t.Name)
	sql := fmt.Sprintf("SELECT *, %s AS _id FROM %s WHERE %s = ?", k.id, t.Name, k.id)
	args := []any{id}
	if !tm.IsZero() {
		sql += fmt.Sprintf(" AND %s = ?", t.Time)
		args = append(args, tm)
	}
	return sql + " LIMIT 1", args
}

func (a *API) event(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	v := r.URL.Query()
	id := v.Get("id")
	if id == "" {
		return badRequest("id: the event's _id is required")
	}
	if len(id) > 1024 || strings.IndexByte(id, 0) >= 0 || !utf8.ValidString(id) {
		return notFound("no event with id %.64q", id)
	}
	t, err := tableParam(r)
	if err != nil {
		return err
	}
	tm, err := parseTime("time", v.Get("time"), a.opt.Now())
	if err != nil {
		return err
	}
	tables := search.Tables
	if t != nil {
		tables = []*search.Table{t}
	}
	d := a.debug()
	for _, t := range tables {
		if t == search.VPCFlow && !isMD5(id) {
			// Not a flow record's _id: skip a scan that hashes every record.
			continue
		}
		sql, args := eventSQL(a.dialect(), t, id, tm)
		rows, err := a.run(r.Context(), d, sql, args)
		if err != nil {
			return fmt.Errorf("reading event %q of %s: %w", id, t.Name, err)
		}
		cols := rows.Columns()
		var fields map[string]any
		var raw any
		var evTime any
		for rows.Next() {
			fields = map[string]any{}
			for i, val := range rows.Values() {
				switch cols[i] {
				case "raw":
					raw = jsonValue(val)
				case "_id":
				default:
					fields[cols[i]] = jsonValue(val)
				}
				if cols[i] == t.Time {
					evTime = jsonValue(val)
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("reading event %q of %s: %w", id, t.Name, err)
		}
		if fields != nil {
			a.header(w, d)
			writeJSON(w, http.StatusOK, map[string]any{"type": t.Type, "id": id, "time": evTime, "fields": fields, "raw": raw, "took_ms": tookMs(start)})
			return nil
		}
	}
	return notFound("no event with id %q", id)
}

// MaxExport is the most rows one export may ask for.
const MaxExport = 1000000

func (a *API) export(w http.ResponseWriter, r *http.Request) error {
	q, err := a.parseQuery(r)
	if err != nil {
		return err
	}
	t := q.c.Table
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	ext, ctype, wformat := "", "", ""
	switch format {
	case "csv":
		ext, ctype, wformat = "csv", "text/csv; charset=utf-8", "csv"
	case "ndjson":
		ext, ctype, wformat = "ndjson", "application/x-ndjson", "json"
	default:
		return badRequest("format: %q is not csv or ndjson", format)
	}
	limit, err := intParam(r, "limit", 100000, 1, MaxExport)
	if err != nil {
		return err
	}
	cols, err := columnsParam(r, "fields", t, t.Show)
	if err != nil {
		return err
	}
	var sel []string
	if q.c.InGo() && cols[0] != t.Time {
		sel = append([]string{t.Time}, cols...)
	}
	rows, err := search.Search(r.Context(), a.opt.Store, q.c, firstNonNil(sel, cols), limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	name := fmt.Sprintf("trawl-%s-%s.%s", t.Type, a.opt.Now().UTC().Format("20060102T150405Z"), ext)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Cache-Control", "no-store")
	ow, _ := output.NewWriter(wformat, w, 0)
	skip := 0
	if sel != nil {
		skip = 1
	}
	if err := ow.Header(cols); err != nil {
		return err
	}
	for rows.Next() {
		if err := ow.Row(rows.Values()[skip:]); err != nil {
			return nil // the client went away
		}
	}
	if err := rows.Err(); err != nil {
		// Headers are sent: end the body with the error, where a reader
		// sees it.
		_, _ = io.WriteString(w, "\nerror: "+err.Error()+"\n")
		return nil
	}
	return ow.Flush()
}

func firstNonNil(a, b []string) []string {
	if a != nil {
		return a
	}
	return b
}

// isMD5 reports whether s is 32 lower-case hex digits, the form of a flow
// record's _id.
func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
