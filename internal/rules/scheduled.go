package rules

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
)

// Scheduled is the query part of a threshold, aggregate or first-seen
// rule. Windows are in event time (see docs/rules.md): the window
// [end-Window, end) is evaluated once end is Settle in the past.
type Scheduled struct {
	Every, Window, Settle time.Duration
	Where                 string
	GroupBy               []Column // threshold and aggregate
	Threshold             float64
	Distinct, Sum         string
	Key, Value            []Column // first_seen
	Lookback              time.Duration
	RequireHistory        bool
	Requires              []string // table.column that must exist
	Params                map[string][]string
	// ClickHouse replaces parts of the SQL on a ClickHouse store, where
	// the rule's DuckDB expressions do not run (trawl.clickhouse).
	ClickHouse SQLParts
	title      string

	table, timeCol, idCol string
}

// SQLParts are the parts of a scheduled rule written in a store's SQL;
// an empty part keeps the rule's own (portable) one.
type SQLParts struct{ Where, Distinct, Sum string }

// Column is a grouping expression and the name it has in the result (and
// in titles: {{name}}).
type Column struct{ Expr, Name string }

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
var asAlias = regexp.MustCompile(`(?i)^(.*\S)\s+AS\s+([a-z_][a-z0-9_]*)$`)

func columns(list []string, plain bool, what string) ([]Column, error) {
	var out []Column
	for _, s := range list {
		s = strings.TrimSpace(s)
		if ident.MatchString(s) {
			out = append(out, Column{Expr: s, Name: s})
			continue
		}
		if plain {
			return nil, fmt.Errorf("trawl.%s: %q is not a column name", what, s)
		}
		m := asAlias.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("trawl.%s: %q is neither a column name nor \"EXPRESSION AS name\"", what, s)
		}
		out = append(out, Column{Expr: m[1], Name: m[2]})
	}
	return out, nil
}

func duration(s, what string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("trawl.%s: %w", what, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("trawl.%s: must be positive", what)
	}
	return d, nil
}

func parseScheduled(r *Rule, t trawlBlock) (*Scheduled, error) {
	s := &Scheduled{Where: strings.TrimSpace(t.Where), Threshold: t.Threshold, Requires: t.Requires,
		Params: map[string][]string{}, title: t.Title}
	if c := t.ClickHouse; c != nil {
		s.ClickHouse = SQLParts{Where: strings.TrimSpace(c.Where), Distinct: strings.TrimSpace(c.Distinct), Sum: strings.TrimSpace(c.Sum)}
	}
	if s.title == "" {
		s.title = r.Title
	}
	for k, v := range t.Params {
		s.Params[k] = v
	}
	var err error
	if s.Window, err = duration(t.Window, "window", 0); err != nil {
		return nil, err
	}
	if s.Window == 0 {
		return nil, errors.New("trawl.window is required for a scheduled rule")
	}
	if s.Every, err = duration(t.Every, "every", s.Window); err != nil {
		return nil, err
	}
	if s.Settle, err = duration(t.Settle, "settle", 0); err != nil {
		return nil, err
	}
	if t.Suppress == "" {
		r.Suppress = s.Window
	}
	if s.Where == "" {
		s.Where = "TRUE"
	}
	switch r.LogType {
	case event.KindCloudTrail:
		s.table, s.timeCol, s.idCol = "cloudtrail", "event_time", "event_id"
	case event.KindVPCFlow:
		s.table, s.timeCol = "vpcflow", "start_time"
	case event.KindGuardDuty:
		s.table, s.timeCol, s.idCol = "guardduty_finding_history", "updated_at", "id"
	}
	switch r.Kind {
	case KindThreshold, KindAggregate:
		if s.GroupBy, err = columns(t.GroupBy, false, "group_by"); err != nil {
			return nil, err
		}
		if t.Threshold <= 0 {
			return nil, fmt.Errorf("trawl.threshold must be positive for a %s rule", r.Kind)
		}
		if r.Kind == KindAggregate {
			if t.Sum == "" {
				return nil, errors.New("trawl.sum is required for an aggregate rule")
			}
			s.Sum = t.Sum
		} else {
			s.Distinct = t.Distinct
		}
	case KindFirstSeen:
		if s.Key, err = columns(t.Key, true, "key"); err != nil {
			return nil, err
		}
		if s.Value, err = columns(t.Value, true, "value"); err != nil {
			return nil, err
		}
		if len(s.Value) == 0 {
			return nil, errors.New("trawl.value is required for a first_seen rule")
		}
		if s.Lookback, err = duration(t.Lookback, "lookback", 30*24*time.Hour); err != nil {
			return nil, err
		}
		s.RequireHistory = t.History == nil || *t.History
	default:
		return nil, fmt.Errorf("trawl.kind %q is not streaming, threshold, aggregate or first_seen", r.Kind)
	}
	for _, req := range s.Requires {
		if tbl, col, ok := strings.Cut(req, "."); !ok || !ident.MatchString(tbl) || !ident.MatchString(col) {
			return nil, fmt.Errorf("trawl.requires: %q is not table.column", req)
		}
	}
	if _, err := s.where(store.DuckDB); err != nil {
		return nil, err
	}
	if _, err := s.where(store.ClickHouse); err != nil {
		return nil, err
	}
	return s, nil
}

var paramRef = regexp.MustCompile(`\{\{\s*params\.([a-z_][a-z0-9_]*)\s*\}\}`)

// where returns the condition in dialect d with {{params.NAME}} replaced
// by a list of SQL string literals.
func (s *Scheduled) where(d store.Dialect) (string, error) {
	var bad error
	where := s.Where
	if d == store.ClickHouse {
		if s.ClickHouse.Where != "" {
			where = s.ClickHouse.Where
		}
		if where == "TRUE" {
			where = "1" // ClickHouse 18.16 has no TRUE
		}
	}
	w := paramRef.ReplaceAllStringFunc(where, func(m string) string {
		name := paramRef.FindStringSubmatch(m)[1]
		vals, ok := s.Params[name]
		if !ok || len(vals) == 0 {
			bad = fmt.Errorf("trawl.where: {{params.%s}} has no values (set trawl.params.%s)", name, name)
			return "NULL"
		}
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = quote(d, v)
		}
		return strings.Join(q, ", ")
	})
	return w, bad
}

// quote returns v as a string literal of dialect d.
func quote(d store.Dialect, v string) string {
	if d == store.ClickHouse {
		// ClickHouse also reads backslash escapes in string literals.
		v = strings.ReplaceAll(v, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// SQL returns the rule's query (in DuckDB's SQL) and its arguments for the
// window [start, end). It is plain SQL: aggregates, GROUP BY … HAVING and
// correlated NOT EXISTS; only the rule's own where and column expressions
// may use the store's functions.
func (r *Rule) SQL(start, end time.Time) (string, []any, error) {
	return r.sql(store.DuckDB, start, end, 0)
}

// DialectSQL is SQL in dialect d. On ClickHouse (18.16 has no correlated
// subqueries) a first-seen rule's NOT EXISTS and EXISTS are written as
// (key, value) NOT IN and key IN subqueries, which give the same rows
// (NULL keys match nothing in either), and the rule's trawl.clickhouse
// parts replace its where, distinct and sum.
func (r *Rule) DialectSQL(d store.Dialect, start, end time.Time) (string, []any, error) {
	return r.sql(d, start, end, 0)
}

// bucketExpr is the window number of time column col for windows of n
// seconds: seconds since the epoch divided by n, rounded down.
func bucketExpr(d store.Dialect, col string, n int64) string {
	if d == store.ClickHouse {
		return fmt.Sprintf("intDiv(toInt64(toUInt32(%s)), %d)", col, n)
	}
	return fmt.Sprintf("FLOOR(EXTRACT(EPOCH FROM %s) / %d)", col, n)
}

// sql is DialectSQL; with bucket > 0 (threshold and aggregate rules), it
// groups the range [start, end) into windows of that length and returns a
// bucket column: the window's start in seconds since the epoch divided by
// the window.
func (r *Rule) sql(d store.Dialect, start, end time.Time, bucket time.Duration) (string, []any, error) {
	s := r.Scheduled
	if s == nil {
		return "", nil, fmt.Errorf("rule %s is not a scheduled rule", r.ID)
	}
	where, err := s.where(d)
	if err != nil {
		return "", nil, err
	}
	sum, distinct := s.Sum, s.Distinct
	if d == store.ClickHouse {
		if s.ClickHouse.Sum != "" {
			sum = s.ClickHouse.Sum
		}
		if s.ClickHouse.Distinct != "" {
			distinct = s.ClickHouse.Distinct
		}
	}
	var b strings.Builder
	var sel, group []string
	id := "NULL"
	if s.idCol != "" {
		id = s.idCol
	}
	tail := fmt.Sprintf("COUNT(*) AS n, MIN(%[1]s) AS first_time, MAX(%[1]s) AS last_time, MIN(%[2]s) AS id_first, MAX(%[2]s) AS id_last", s.timeCol, id)
	switch r.Kind {
	case KindThreshold, KindAggregate:
		for _, c := range s.GroupBy {
			sel = append(sel, fmt.Sprintf("%s AS %s", c.Expr, c.Name))
			group = append(group, c.Expr)
		}
		agg := "COUNT(*)"
		switch {
		case sum != "":
			agg = "SUM(" + sum + ")"
		case distinct != "":
			agg = "COUNT(DISTINCT " + distinct + ")"
		}
		if bucket > 0 {
			be := bucketExpr(d, s.timeCol, int64(bucket/time.Second))
			sel = append(sel, be+" AS bucket")
			group = append(group, be)
		}
		sel = append(sel, agg+" AS value", tail)
		fmt.Fprintf(&b, "SELECT %s\nFROM %s\nWHERE %s >= ? AND %s < ? AND (%s)", strings.Join(sel, ", "), s.table, s.timeCol, s.timeCol, where)
		if len(group) > 0 {
			fmt.Fprintf(&b, "\nGROUP BY %s", strings.Join(group, ", "))
		}
		fmt.Fprintf(&b, "\nHAVING %s >= %s", agg, strconv.FormatFloat(s.Threshold, 'f', -1, 64))
		return b.String(), []any{start, end}, nil
	}
	if d == store.ClickHouse {
		return s.firstSeenClickHouse(where, id), s.firstSeenArgs(start, end), nil
	}
	// first_seen
	var corr, keyCorr []string
	for _, c := range s.Key {
		sel = append(sel, "c."+c.Name+" AS "+c.Name)
		group = append(group, "c."+c.Name)
		keyCorr = append(keyCorr, fmt.Sprintf("h.%[1]s = c.%[1]s", c.Name))
	}
	var notNull []string
	for _, c := range s.Value {
		sel = append(sel, "c."+c.Name+" AS "+c.Name)
		group = append(group, "c."+c.Name)
		corr = append(corr, fmt.Sprintf("h.%[1]s = c.%[1]s", c.Name))
		notNull = append(notNull, "c."+c.Name+" IS NOT NULL")
	}
	sel = append(sel, "COUNT(*) AS value", strings.ReplaceAll(strings.ReplaceAll(tail, "("+s.timeCol+")", "(c."+s.timeCol+")"), "("+id+")", "(c."+id+")"))
	if id == "NULL" {
		sel[len(sel)-1] = strings.ReplaceAll(sel[len(sel)-1], "c.NULL", "NULL")
	}
	args := s.firstSeenArgs(start, end)
	fmt.Fprintf(&b, "SELECT %s\nFROM %s c\nWHERE c.%s >= ? AND c.%s < ? AND (%s) AND %s", strings.Join(sel, ", "), s.table, s.timeCol, s.timeCol, where, strings.Join(notNull, " AND "))
	fmt.Fprintf(&b, "\n  AND NOT EXISTS (SELECT 1 FROM %s h WHERE h.%s >= ? AND h.%s < ? AND (%s) AND %s)", s.table, s.timeCol, s.timeCol, where, strings.Join(append(append([]string{}, keyCorr...), corr...), " AND "))
	if s.RequireHistory && len(keyCorr) > 0 {
		fmt.Fprintf(&b, "\n  AND EXISTS (SELECT 1 FROM %s h WHERE h.%s >= ? AND h.%s < ? AND (%s) AND %s)", s.table, s.timeCol, s.timeCol, where, strings.Join(keyCorr, " AND "))
	}
	fmt.Fprintf(&b, "\nGROUP BY %s", strings.Join(group, ", "))
	return b.String(), args, nil
}

// firstSeenArgs are the arguments of a first-seen rule's query: the
// window, the lookback for NOT EXISTS and, when history is required, for
// EXISTS.
func (s *Scheduled) firstSeenArgs(start, end time.Time) []any {
	args := []any{start, end, start.Add(-s.Lookback), start}
	if s.RequireHistory && len(s.Key) > 0 {
		args = append(args, start.Add(-s.Lookback), start)
	}
	return args
}

// firstSeenClickHouse is a first-seen rule's query on ClickHouse, whose
// 18.16 release has no correlated subqueries: the (key, value) pairs of
// the lookback are a NOT IN set, its keys an IN set.
func (s *Scheduled) firstSeenClickHouse(where, id string) string {
	var sel, keys, all, notNull []string
	for _, c := range s.Key {
		sel = append(sel, c.Name)
		keys = append(keys, c.Name)
	}
	for _, c := range s.Value {
		sel = append(sel, c.Name)
		notNull = append(notNull, c.Name+" IS NOT NULL")
	}
	all = append(all, sel...)
	group := strings.Join(all, ", ")
	sel = append(sel, "COUNT(*) AS value", fmt.Sprintf("COUNT(*) AS n, MIN(%[1]s) AS first_time, MAX(%[1]s) AS last_time, MIN(%[2]s) AS id_first, MAX(%[2]s) AS id_last", s.timeCol, id))
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s\nFROM %s\nWHERE %s >= ? AND %s < ? AND (%s) AND %s", strings.Join(sel, ", "), s.table, s.timeCol, s.timeCol, where, strings.Join(notNull, " AND "))
	fmt.Fprintf(&b, "\n  AND (%s) NOT IN (SELECT %s FROM %s WHERE %s >= ? AND %s < ? AND (%s))", group, group, s.table, s.timeCol, s.timeCol, where)
	if s.RequireHistory && len(keys) > 0 {
		k := strings.Join(keys, ", ")
		fmt.Fprintf(&b, "\n  AND (%s) IN (SELECT %s FROM %s WHERE %s >= ? AND %s < ? AND (%s))", k, k, s.table, s.timeCol, s.timeCol, where)
	}
	fmt.Fprintf(&b, "\nGROUP BY %s", group)
	return b.String()
}

// HitRecorder stores hits as alerts: a hit whose dedup key matches an
// open alert of its rule within the suppression window updates it. The
// alert store implements it.
type HitRecorder interface {
	RecordHits(ctx context.Context, hits []event.Hit) (created, updated int, err error)
}

// MissingColumns returns the rule's required table.column names the store
// does not have (columns added by a later schema version).
func (r *Rule) MissingColumns(ctx context.Context, q store.Querier) ([]string, error) {
	if r.Scheduled == nil || len(r.Scheduled.Requires) == 0 {
		return nil, nil
	}
	sql := "SELECT table_name, column_name FROM information_schema.columns"
	if store.DialectOf(q) == store.ClickHouse {
		sql = "SELECT table, name FROM system.columns WHERE database = currentDatabase()"
	}
	rows, err := store.Collect(ctx, q, store.Request{SQL: sql}, output.Text)
	if err != nil {
		return nil, fmt.Errorf("listing the store's columns: %w", err)
	}
	have := map[string]bool{}
	for _, row := range rows {
		have[strings.ToLower(row[0]+"."+row[1])] = true
	}
	var missing []string
	for _, req := range r.Scheduled.Requires {
		if !have[strings.ToLower(req)] {
			missing = append(missing, req)
		}
	}
	return missing, nil
}

// RunWindow runs a scheduled rule over the window [start, end) and returns
// one hit per group that fires.
func (r *Rule) RunWindow(ctx context.Context, q store.Querier, start, end time.Time) ([]event.Hit, error) {
	sql, args, err := r.DialectSQL(store.DialectOf(q), start, end)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, q, sql, args, start, end)
}

// RunRange runs a scheduled rule over every window of [start, end)
// (windows aligned to the rule's window): threshold and aggregate rules in
// one query grouped by window, first-seen rules once per window that holds
// records.
func (r *Rule) RunRange(ctx context.Context, q store.Querier, start, end time.Time) ([]event.Hit, error) {
	w := r.Scheduled.Window
	start, end = start.Truncate(w), end.Truncate(w).Add(w)
	d := store.DialectOf(q)
	if r.Kind != KindFirstSeen {
		sql, args, err := r.sql(d, start, end, w)
		if err != nil {
			return nil, err
		}
		return r.run(ctx, q, sql, args, time.Time{}, time.Time{})
	}
	s := r.Scheduled
	where, err := s.where(d)
	if err != nil {
		return nil, err
	}
	buckets, err := store.Collect(ctx, q, store.Request{
		SQL: fmt.Sprintf("SELECT DISTINCT %[2]s FROM %[3]s WHERE %[1]s >= ? AND %[1]s < ? AND (%[4]s)",
			s.timeCol, bucketExpr(d, s.timeCol, int64(w/time.Second)), s.table, where),
		Args: []any{start, end}}, output.Text)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	var hits []event.Hit
	for _, b := range buckets {
		n, err := strconv.ParseFloat(b[0], 64)
		if err != nil {
			continue
		}
		ws := time.Unix(int64(n)*int64(w/time.Second), 0).UTC()
		hs, err := r.RunWindow(ctx, q, ws, ws.Add(w))
		if err != nil {
			return nil, err
		}
		hits = append(hits, hs...)
	}
	return hits, nil
}

// run runs a scheduled rule's query; a bucket column, when there is one,
// gives each row its window, otherwise it is [start, end).
func (r *Rule) run(ctx context.Context, q store.Querier, sql string, args []any, start, end time.Time) ([]event.Hit, error) {
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args})
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	defer rows.Close()
	cols := rows.Columns()
	var hits []event.Hit
	for rows.Next() {
		vals := rows.Values()
		m := map[string]string{}
		var first, last time.Time
		var ids []string
		var count int64
		ws, we := start, end
		for i, c := range cols {
			switch c {
			case "bucket":
				if n, err := strconv.ParseFloat(output.Text(vals[i]), 64); err == nil {
					w := r.Scheduled.Window
					ws = time.Unix(int64(n)*int64(w/time.Second), 0).UTC()
					we = ws.Add(w)
				}
			case "first_time":
				first, _ = vals[i].(time.Time)
			case "last_time":
				last, _ = vals[i].(time.Time)
			case "id_first", "id_last":
				if v := output.Text(vals[i]); v != "" && (len(ids) == 0 || ids[0] != v) {
					ids = append(ids, v)
				}
			case "n":
				count, _ = strconv.ParseInt(output.Text(vals[i]), 10, 64)
			default:
				m[c] = output.Text(vals[i])
			}
		}
		m["count"] = strconv.FormatInt(count, 10)
		m["window_start"] = ws.UTC().Format(time.RFC3339)
		m["window_end"] = we.UTC().Format(time.RFC3339)
		key := r.ID
		for _, c := range append(append(append([]Column{}, r.Scheduled.GroupBy...), r.Scheduled.Key...), r.Scheduled.Value...) {
			key += "|" + m[c.Name]
		}
		hits = append(hits, event.Hit{
			RuleID: r.ID, Severity: r.Severity(), Title: renderMap(r.Scheduled.title, m), LogType: r.LogType,
			EventIDs: ids, First: first.UTC(), Last: last.UTC(), DedupKey: key, Suppress: r.Suppress,
			Count: count, Fields: m, Tags: r.Techniques,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	// By key, then in time: the store returns groups in any order, and
	// recording a key's windows out of time order could join or split its
	// alerts differently from one run (or store) to the next.
	sort.Slice(hits, func(i, j int) bool {
		a, b := &hits[i], &hits[j]
		if a.DedupKey != b.DedupKey {
			return a.DedupKey < b.DedupKey
		}
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		if !a.Last.Equal(b.Last) {
			return a.Last.Before(b.Last)
		}
		return a.Fields["window_start"] < b.Fields["window_start"]
	})
	return hits, nil
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)

// renderMap fills {{name}} placeholders from m, "-" when absent.
func renderMap(tmpl string, m map[string]string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(p string) string {
		name := placeholder.FindStringSubmatch(p)[1]
		if v := m[name]; v != "" {
			return v
		}
		return "-"
	})
}
