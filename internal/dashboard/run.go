package dashboard

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// Filter narrows a dashboard: a time range (From inclusive, To exclusive;
// zero means unbounded) and accounts and regions (empty means all).
type Filter struct {
	From, To          time.Time
	Accounts, Regions []string
}

// Result is a panel's data, as the HTTP API returns it.
type Result struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Kind    Kind     `json:"kind"`
	Type    string   `json:"type"`
	Unit    string   `json:"unit"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// Search holds, per row, the search-language query listing the events
	// behind it (the dashboard's account and region filter included; the
	// time range is the caller's), or "".
	Search []string `json:"search"`
	// IntervalMS is the bucket width of a timeseries.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	// Approximate is true when the rows come from the flow-log top-talker
	// rollup: sums of each hour's top RollupTopN talkers (docs/dashboards.md).
	Approximate bool  `json:"approximate,omitempty"`
	TookMS      int64 `json:"took_ms"`
}

// queryTimeout bounds each panel's query.
const queryTimeout = 30 * time.Second

// maxBuckets is the most buckets a timeseries has over its range.
const maxBuckets = 100

// intervals is the ladder bucket widths are chosen from (milliseconds),
// the same as the search histogram's.
var intervals = []int64{
	1000, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
	3600000, 3 * 3600000, 6 * 3600000, 12 * 3600000, 86400000, 7 * 86400000,
}

// Interval returns the smallest width of the ladder with which at most
// maxBuckets buckets cover span.
func Interval(span time.Duration) int64 {
	ms := span.Milliseconds()
	for _, iv := range intervals {
		if (ms+iv-1)/iv <= maxBuckets {
			return iv
		}
	}
	return intervals[len(intervals)-1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// where is the filter's SQL condition on the source's columns and its
// bound arguments.
func (s *source) where(f Filter, d store.Dialect) (string, []any) {
	var parts []string
	var args []any
	t := s.table.Time
	if !f.From.IsZero() {
		parts = append(parts, t+" >= ?")
		args = append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		parts = append(parts, t+" < ?")
		args = append(args, f.To.UTC())
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		parts = append(parts, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in(s.account, f.Accounts)
	in(s.region, f.Regions)
	if len(parts) == 0 {
		if d == store.ClickHouse {
			return "1", nil
		}
		return "TRUE", nil
	}
	return "(" + strings.Join(parts, " AND ") + ")", args
}

// search is the filter's accounts and regions in the search language
// (the time range is not part of a query).
func (s *source) search(f Filter) string {
	field := func(name string, vals []string) string {
		switch len(vals) {
		case 0:
			return ""
		case 1:
			return name + ":" + quote(vals[0])
		}
		return name + ":" + searchList(vals)
	}
	return and(field(s.accountField, f.Accounts), field(s.regionField, f.Regions))
}

// expand returns the SQL of a panel with its placeholders filled in and
// the arguments of every {where} in order.
func (d *Dashboard) expand(sql string, f Filter, interval int64, dl store.Dialect) (string, []any) {
	cond, cargs := d.src.where(f, dl)
	var args []any
	for range strings.Count(sql, "{where}") {
		args = append(args, cargs...)
	}
	r := strings.NewReplacer("{table}", d.src.table.Name, "{where}", cond, "{bucket}", search.BucketExprFor(dl, d.src.table.Time, time.Duration(interval)*time.Millisecond))
	return r.Replace(sql), args
}

// SQL returns the SQL a panel runs for the filter, with its arguments,
// and the bucket width of a timeseries (chosen from the filter's range;
// an unbounded range takes the data's, which costs a query). The SQL is in
// q's dialect (store.DialectOf).
func (d *Dashboard) SQL(ctx context.Context, q Querier, p *Panel, f Filter) (string, []any, int64, error) {
	var iv int64
	if p.Kind == Timeseries {
		span, err := d.span(ctx, q, f)
		if err != nil {
			return "", nil, 0, err
		}
		iv = Interval(span)
	}
	dl := store.DialectOf(q)
	sql, args := d.expand(p.SQLFor(dl), f, iv, dl)
	return sql, args, iv, nil
}

// span is the filter's time range, or where it is unbounded the range of
// the dashboard's data within it.
func (d *Dashboard) span(ctx context.Context, q Querier, f Filter) (time.Duration, error) {
	if !f.From.IsZero() && !f.To.IsZero() {
		return f.To.Sub(f.From), nil
	}
	cond, args := d.src.where(f, store.DialectOf(q))
	t := d.src.table.Time
	rows, err := q.Query(ctx, store.Request{SQL: "SELECT min(" + t + "), max(" + t + ") FROM " + d.src.table.Name + " WHERE " + cond, Args: args, Timeout: queryTimeout})
	if err != nil {
		return 0, fmt.Errorf("dashboard %s: time range of %s: %w", d.ID, d.src.table.Name, err)
	}
	defer rows.Close()
	lo, hi := f.From, f.To
	if rows.Next() {
		v := rows.Values()
		if lo.IsZero() {
			lo, _ = v[0].(time.Time)
		}
		if hi.IsZero() {
			hi, _ = v[1].(time.Time)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("dashboard %s: time range of %s: %w", d.ID, d.src.table.Name, err)
	}
	if lo.IsZero() || hi.IsZero() || !hi.After(lo) {
		return time.Hour, nil
	}
	return hi.Sub(lo) + time.Millisecond, nil
}

// Run runs a panel of the dashboard for the filter.
func (d *Dashboard) Run(ctx context.Context, q Querier, p *Panel, f Filter) (*Result, error) {
	start := time.Now()
	sql, args, approx, err := d.useRollup(ctx, q, p, f)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s panel %s: %w", d.ID, p.ID, err)
	}
	var iv int64
	if !approx {
		if sql, args, iv, err = d.SQL(ctx, q, p, f); err != nil {
			return nil, err
		}
	}
	rows, err := q.Query(ctx, store.Request{SQL: sql, Args: args, Timeout: queryTimeout})
	if err != nil {
		return nil, fmt.Errorf("dashboard %s panel %s: %w", d.ID, p.ID, err)
	}
	defer rows.Close()
	res := &Result{ID: p.ID, Title: p.Title, Kind: p.Kind, Type: d.Type, Unit: p.Unit, Columns: p.Columns,
		Rows: [][]any{}, Search: []string{}, IntervalMS: iv, Approximate: approx}
	if n := len(rows.Columns()); n < len(p.Columns) {
		return nil, fmt.Errorf("dashboard %s panel %s: the query returned %d columns, the panel has %d", d.ID, p.ID, n, len(p.Columns))
	}
	filter := d.src.search(f)
	for rows.Next() {
		vals := rows.Values()
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = jsonValue(v)
		}
		s := ""
		if p.Search != nil {
			if s = p.Search(row); s != "" {
				s = and(filter, s)
			}
		}
		res.Rows = append(res.Rows, row[:len(p.Columns)])
		res.Search = append(res.Search, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard %s panel %s: %w", d.ID, p.ID, err)
	}
	res.TookMS = time.Since(start).Milliseconds()
	return res, nil
}

// Filters are the accounts and regions a dashboard's filter can choose.
type Filters struct {
	Accounts []string `json:"accounts"`
	Regions  []string `json:"regions"`
}

// Filters returns the accounts and regions of the dashboard's data in the
// filter's time range (its accounts and regions are ignored), sorted.
func (d *Dashboard) Filters(ctx context.Context, q Querier, f Filter) (*Filters, error) {
	cond, args := d.src.where(Filter{From: f.From, To: f.To}, store.DialectOf(q))
	out := &Filters{Accounts: []string{}, Regions: []string{}}
	for _, c := range []struct {
		col string
		dst *[]string
	}{{d.src.account, &out.Accounts}, {d.src.region, &out.Regions}} {
		sql := "SELECT DISTINCT " + c.col + " FROM " + d.src.table.Name + " WHERE " + cond + " AND " + c.col + " IS NOT NULL ORDER BY " + c.col
		got, err := store.Collect(ctx, q, store.Request{SQL: sql, Args: args, Timeout: queryTimeout}, func(v any) string { s, _ := v.(string); return s })
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %s values: %w", d.ID, c.col, err)
		}
		for _, r := range got {
			*c.dst = append(*c.dst, r[0])
		}
	}
	return out, nil
}

// jsonValue turns a value from the store into one encoding/json writes as
// the API promises: times as RFC 3339 UTC, big integers as numbers.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case []byte:
		return string(x)
	}
	return v
}

// quote is s as a search-language phrase.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// eq is the search-language term for field equal to v (a NULL v: the
// field is absent).
func eq(field string, v any) string {
	switch x := v.(type) {
	case nil:
		return "NOT " + field + ":*"
	case string:
		return field + ":" + quote(x)
	case bool:
		return field + ":" + strconv.FormatBool(x)
	case int64, int32, int16, int8, int, uint64, uint32, uint16, uint8, float64, float32:
		return field + ":" + fmt.Sprint(x)
	}
	return field + ":" + quote(fmt.Sprint(v))
}

// and joins the non-empty search-language queries with AND.
func and(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " AND ")
}
