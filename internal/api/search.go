package api

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// tableKey says how rows of a table are identified: _id's SQL expression,
// the column that breaks ties between rows of the same time in the
// keyset order, and the columns _id is computed from in Go (for filter
// patterns, whose rows come from search.Search).
type tableKey struct {
	id     string   // SQL expression of _id
	tie    string   // SQL expression ordering rows of one time
	idCols []string // columns idFromValues reads
	// rowTie: the tie is the row id (an integer), and _id is read for the
	// page's rows in a second query (flowIDs): computing it for every
	// candidate row before the top-N costs seconds.
	rowTie bool
}

// FlowID is the SQL expression of a flow record's _id: flow records have
// no id of their own, so it is the MD5 (hex) of the object the record came
// from, a newline, and the record's text. Identical lines of one object
// share an _id (they are the same record).
const FlowID = "md5(source || chr(10) || raw)"

var keys = map[string]tableKey{
	"cloudtrail":        {id: "event_id", tie: "event_id", idCols: []string{"event_id"}},
	"guardduty_finding": {id: "id", tie: "id", idCols: []string{"id"}},
	"vpcflow":           {id: FlowID, tie: "rowid", idCols: []string{"source", "raw"}, rowTie: true},
}

// FlowIDClickHouse is FlowID in ClickHouse's SQL.
const FlowIDClickHouse = "lower(hex(MD5(concat(source, '\\n', raw))))"

// keyOf is how rows of table are identified in the dialect d. ClickHouse
// has no row ids: flow records of one time are ordered by their _id.
func keyOf(d store.Dialect, table string) tableKey {
	k := keys[table]
	if d == store.ClickHouse && k.rowTie {
		k = tableKey{id: FlowIDClickHouse, tie: FlowIDClickHouse, idCols: k.idCols}
	}
	return k
}

// dialect is the SQL dialect of the API's store.
func (a *API) dialect() store.Dialect { return store.DialectOf(a.opt.Store) }

// idFromValues computes _id in Go from the idCols values (the same value
// as the SQL expression).
func idFromValues(t *search.Table, vals []any) string {
	if t == search.VPCFlow {
		src, _ := vals[0].(string)
		raw, _ := vals[1].(string)
		sum := md5.Sum([]byte(src + "\n" + raw))
		return hex.EncodeToString(sum[:])
	}
	s, _ := vals[0].(string)
	return s
}

// Sidebar lists the columns /api/fields shows by default: short lists of
// low-cardinality columns people filter on.
var Sidebar = map[string][]string{
	"cloudtrail":        {"event_name", "event_source", "user_name", "user_type", "source_ip", "aws_region", "recipient_account_id", "error_code", "read_only"},
	"vpcflow":           {"action", "protocol_name", "dstport", "srcaddr", "dstaddr", "interface_id", "account_id", "region", "flow_direction"},
	"guardduty_finding": {"severity_label", "type", "resource_type", "account_id", "region", "action_type"},
}

// debugSQL records the SQL a request ran, for the X-Trawl-SQL header.
type debugSQL struct {
	list []sqlRun
}

type sqlRun struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args"`
}

func (a *API) run(ctx context.Context, d *debugSQL, sql string, args []any) (store.Rows, error) {
	if d != nil {
		d.list = append(d.list, sqlRun{SQL: sql, Args: jsonArgs(args)})
	}
	return a.opt.Store.Query(ctx, store.Request{SQL: sql, Args: args, Timeout: a.opt.QueryTimeout})
}

func jsonArgs(args []any) []any {
	out := make([]any, len(args))
	for i, v := range args {
		out[i] = jsonValue(v)
	}
	return out
}

// header sets X-Trawl-SQL when the API runs in debug mode.
func (a *API) header(w http.ResponseWriter, d *debugSQL) {
	if !a.opt.Debug || d == nil {
		return
	}
	b, _ := json.Marshal(d.list)
	w.Header().Set("X-Trawl-SQL", string(b))
}

func (a *API) debug() *debugSQL {
	if a.opt.Debug {
		return &debugSQL{}
	}
	return nil
}

// tableStats is one table of /api/stats.
type tableStats struct {
	Type    string  `json:"type"`
	Table   string  `json:"table"`
	Count   int64   `json:"count"`
	MinTime *string `json:"min_time"`
	MaxTime *string `json:"max_time"`
	MinMs   *int64  `json:"min_time_ms"`
	MaxMs   *int64  `json:"max_time_ms"`
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) error {
	d := a.debug()
	out := struct {
		Tables []tableStats `json:"tables"`
		TookMs int64        `json:"took_ms"`
	}{Tables: []tableStats{}}
	start := time.Now()
	for _, t := range search.Tables {
		rows, err := a.run(r.Context(), d, fmt.Sprintf("SELECT count(*), min(%s), max(%s) FROM %s", t.Time, t.Time, t.Name), nil)
		if err != nil {
			return fmt.Errorf("counting %s: %w", t.Name, err)
		}
		s := tableStats{Type: t.Type, Table: t.Name}
		for rows.Next() {
			v := rows.Values()
			s.Count, _ = v[0].(int64)
			if s.Count == 0 {
				// No rows, no time range (ClickHouse returns the
				// epoch for min/max of a non-Nullable column over
				// no rows, DuckDB NULL).
				continue
			}
			if lo, ok := v[1].(time.Time); ok {
				f, ms := formatTime(lo), lo.UnixMilli()
				s.MinTime, s.MinMs = &f, &ms
			}
			if hi, ok := v[2].(time.Time); ok {
				f, ms := formatTime(hi), hi.UnixMilli()
				s.MaxTime, s.MaxMs = &f, &ms
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("counting %s: %w", t.Name, err)
		}
		out.Tables = append(out.Tables, s)
	}
	out.TookMs = tookMs(start)
	a.header(w, d)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cursor is the keyset position after the last row of a page: its time
// and tie-breaking value.
type cursor struct {
	T   int64  `json:"t"` // Unix nanoseconds
	Tie string `json:"k,omitempty"`
	Row int64  `json:"r,omitempty"` // the tie when it is the row id
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, badRequest("cursor: not a cursor this API returned")
	}
	return c, nil
}

// searchResult is the answer of /api/search.
type searchResult struct {
	Type      string           `json:"type"`
	TimeField string           `json:"time_field"`
	Columns   []string         `json:"columns"`
	Rows      []map[string]any `json:"rows"`
	Next      *string          `json:"next"`
	TookMs    int64            `json:"took_ms"`
}

func (a *API) search(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	q, err := a.parseQuery(r)
	if err != nil {
		return err
	}
	t := q.c.Table
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	cols, err := columnsParam(r, "fields", t, t.Show)
	if err != nil {
		return err
	}
	var cur *cursor
	if s := r.URL.Query().Get("cursor"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return err
		}
		cur = &c
	}
	d := a.debug()
	res := searchResult{Type: t.Type, TimeField: t.Time, Columns: cols, Rows: []map[string]any{}}
	if q.c.InGo() {
		err = a.searchPattern(r.Context(), q, cols, limit, cur, &res)
	} else {
		err = a.searchSQL(r.Context(), d, q, cols, limit, cur, &res)
	}
	if err != nil {
		return err
	}
	res.TookMs = tookMs(start)
	a.header(w, d)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// pageSQL returns the SQL of one page of a search: the columns cols,
// then _time, _id and _tie, newest first, after the keyset position cur
// (if any).
func pageSQL(c *search.Compiled, cols []string, limit int, cur *cursor) (string, []any) {
	t := c.Table
	k := keyOf(c.Dialect, t.Name)
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, col := range cols {
		b.WriteString(col)
		b.WriteString(", ")
	}
	id := k.id
	if k.rowTie {
		id = "NULL"
	}
	fmt.Fprintf(&b, "%s AS _time, %s AS _id, %s AS _tie FROM %s WHERE %s", t.Time, id, k.tie, t.Name, c.Where)
	args := append([]any(nil), c.Args...)
	if cur != nil {
		ct := time.Unix(0, cur.T).UTC()
		fmt.Fprintf(&b, " AND %s <= ? AND (%s < ? OR (%s = ? AND %s < ?))", t.Time, t.Time, t.Time, k.tie)
		var tie any = cur.Tie
		if k.rowTie {
			tie = cur.Row
		}
		args = append(args, ct, ct, ct, tie)
	}
	fmt.Fprintf(&b, " ORDER BY %s DESC NULLS LAST, %s DESC LIMIT ?", t.Time, k.tie)
	args = append(args, int64(limit))
	return b.String(), args
}

func (a *API) searchSQL(ctx context.Context, d *debugSQL, q *query, cols []string, limit int, cur *cursor, res *searchResult) error {
	sql, args := pageSQL(q.c, cols, limit, cur)
	rows, err := a.run(ctx, d, sql, args)
	if err != nil {
		return fmt.Errorf("searching %s: %w", q.c.Table.Name, err)
	}
	k := keyOf(q.c.Dialect, q.c.Table.Name)
	var last cursor
	var rowIDs []int64
	var lo, hi time.Time
	for rows.Next() {
		v := rows.Values()
		n := len(cols)
		row := make(map[string]any, n+2)
		for i, c := range cols {
			row[c] = jsonValue(v[i])
		}
		row["_time"] = jsonValue(v[n])
		row["_id"] = jsonValue(v[n+1])
		res.Rows = append(res.Rows, row)
		tm, _ := v[n].(time.Time)
		last.T = tm.UnixNano()
		if lo.IsZero() || tm.Before(lo) {
			lo = tm
		}
		if tm.After(hi) {
			hi = tm
		}
		if k.rowTie {
			last.Row, _ = v[n+2].(int64)
			rowIDs = append(rowIDs, last.Row)
		} else {
			last.Tie = fmt.Sprint(jsonValue(v[n+2]))
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("searching %s: %w", q.c.Table.Name, err)
	}
	if k.rowTie && len(rowIDs) > 0 {
		ids, err := a.rowIDs(ctx, d, q.c.Table, rowIDs, lo, hi)
		if err != nil {
			return err
		}
		for i, r := range rowIDs {
			res.Rows[i]["_id"] = ids[r]
		}
	}
	if len(res.Rows) == limit {
		s := last.encode()
		res.Next = &s
	}
	return nil
}

// rowIDs reads the _id of the rows of a page by their row ids, within the
// page's time span so that DuckDB reads only the row groups of that span.
// The row ids come from the store, never from a request.
func (a *API) rowIDs(ctx context.Context, d *debugSQL, t *search.Table, rowIDs []int64, lo, hi time.Time) (map[int64]string, error) {
	list := make([]string, len(rowIDs))
	for i, r := range rowIDs {
		list[i] = strconv.FormatInt(r, 10)
	}
	sql := fmt.Sprintf("SELECT rowid, %s FROM %s WHERE %s >= ? AND %s <= ? AND rowid IN (%s)", keys[t.Name].id, t.Name, t.Time, t.Time, strings.Join(list, ", "))
	rows, err := a.run(ctx, d, sql, []any{lo, hi})
	if err != nil {
		return nil, fmt.Errorf("reading the ids of %s rows: %w", t.Name, err)
	}
	defer rows.Close()
	out := make(map[int64]string, len(rowIDs))
	for rows.Next() {
		v := rows.Values()
		r, _ := v[0].(int64)
		out[r], _ = v[1].(string)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the ids of %s rows: %w", t.Name, err)
	}
	return out, nil
}

// searchPattern answers a CloudWatch Logs filter pattern through
// search.Search, which matches raw records in Go. Its cursor is the time
// of the last row: the next page holds older rows (rows of exactly that
// time beyond the page are skipped).
func (a *API) searchPattern(ctx context.Context, q *query, cols []string, limit int, cur *cursor, res *searchResult) error {
	c := q.c
	if cur != nil {
		until := time.Unix(0, cur.T).UTC()
		opt := search.Options{Table: c.Table, Since: q.from, Until: until}
		if !q.to.IsZero() && q.to.Before(until) {
			opt.Until = q.to
		}
		var err error
		opt.Dialect = c.Dialect
		if c, err = search.ParseCompile(q.src, opt); err != nil {
			return badRequest("bad query: %v", err)
		}
	}
	t := c.Table
	sel := append(append([]string{t.Time}, cols...), keys[t.Name].idCols...)
	rows, err := search.Search(ctx, a.opt.Store, c, sel, limit)
	if err != nil {
		return err
	}
	defer rows.Close()
	var last time.Time
	for rows.Next() {
		v := rows.Values()
		row := make(map[string]any, len(cols)+2)
		for i, col := range cols {
			row[col] = jsonValue(v[i+1])
		}
		row["_time"] = jsonValue(v[0])
		row["_id"] = idFromValues(t, v[1+len(cols):])
		res.Rows = append(res.Rows, row)
		last, _ = v[0].(time.Time)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(res.Rows) == limit && !last.IsZero() {
		s := cursor{T: last.UnixNano()}.encode()
		res.Next = &s
	}
	return nil
}

func (a *API) count(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	q, err := a.parseQuery(r)
	if err != nil {
		return err
	}
	d := a.debug()
	if d != nil {
		sql, args := q.c.Count()
		d.list = append(d.list, sqlRun{SQL: sql, Args: jsonArgs(args)})
	}
	n, err := search.Count(r.Context(), a.opt.Store, q.c)
	if err != nil {
		return err
	}
	a.header(w, d)
	writeJSON(w, http.StatusOK, map[string]any{"type": q.c.Table.Type, "count": n, "took_ms": tookMs(start)})
	return nil
}

func (a *API) fieldList(w http.ResponseWriter, r *http.Request) error {
	t, err := tableParam(r)
	if err != nil {
		return err
	}
	if t == nil {
		t = search.CloudTrail
	}
	type field struct {
		Name        string `json:"name"`
		Column      string `json:"column"`
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	out := struct {
		Type   string  `json:"type"`
		Fields []field `json:"fields"`
	}{Type: t.Type, Fields: []field{}}
	docs := schemaDocs()
	for _, c := range t.Columns() {
		out.Fields = append(out.Fields, field{Name: t.FieldName(c), Column: c, Type: t.ColumnType(c), Description: describe(docs, t.Name, c)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
