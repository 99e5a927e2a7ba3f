package api

import (
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/search"
	"github.com/trawl-project/trawl/internal/store"
)

// Intervals are the histogram's bucket widths: the smallest that covers
// the range in at most the asked number of buckets is chosen.
var Intervals = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 7 * 24 * time.Hour,
}

// chooseInterval returns the smallest interval of the ladder that covers
// [from, to) in at most n buckets; beyond the ladder, a multiple of 7 days.
func chooseInterval(from, to time.Time, n int) time.Duration {
	span := to.Sub(from)
	for _, iv := range Intervals {
		if bucketCount(from, to, iv) <= n {
			return iv
		}
	}
	week := 7 * 24 * time.Hour
	k := span/(week*time.Duration(n)) + 1
	for bucketCount(from, to, week*k) > n {
		k++
	}
	return week * k
}

// bucketCount is the number of aligned buckets of width iv that [from, to)
// touches.
func bucketCount(from, to time.Time, iv time.Duration) int {
	ms := iv.Milliseconds()
	lo := floorDiv(from.UnixMilli(), ms)
	hi := floorDiv(to.UnixMilli()-1, ms)
	return int(hi - lo + 1)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

type bucket struct {
	TMs   int64  `json:"t_ms"`
	T     string `json:"t"`
	Count int64  `json:"count"`
}

func (a *API) histogram(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	q, err := a.parseQuery(r)
	if err != nil {
		return err
	}
	n, err := intParam(r, "buckets", 60, 1, 1000)
	if err != nil {
		return err
	}
	t := q.c.Table
	d := a.debug()
	from, to := q.from, q.to
	counts := map[int64]int64{}
	var total int64
	if q.c.InGo() {
		// Filter patterns match in Go: read the matching rows' times.
		rows, err := search.Search(r.Context(), a.opt.Store, q.c, []string{t.Time}, 0)
		if err != nil {
			return err
		}
		var times []time.Time
		for rows.Next() {
			if tm, ok := rows.Values()[0].(time.Time); ok {
				times = append(times, tm)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		if len(times) > 0 {
			lo, hi := times[len(times)-1], times[0]
			if from.IsZero() {
				from = lo
			}
			if to.IsZero() {
				to = hi.Add(time.Millisecond)
			}
		}
		if !from.IsZero() && !to.IsZero() {
			ms := chooseInterval(from, to, n).Milliseconds()
			for _, tm := range times {
				counts[floorDiv(tm.UnixMilli(), ms)*ms]++
				total++
			}
		}
		return a.writeHistogram(w, d, t, from, to, n, counts, total, start)
	}
	if from.IsZero() || to.IsZero() {
		// An open range: the matches' own first and last times.
		sql := fmt.Sprintf("SELECT min(%s), max(%s) FROM %s WHERE %s", t.Time, t.Time, t.Name, q.c.Where)
		rows, err := a.run(r.Context(), d, sql, q.c.Args)
		if err != nil {
			return fmt.Errorf("histogram of %s: %w", t.Name, err)
		}
		for rows.Next() {
			v := rows.Values()
			if lo, ok := v[0].(time.Time); ok && from.IsZero() {
				from = lo
			}
			if hi, ok := v[1].(time.Time); ok && to.IsZero() {
				to = hi.Add(time.Millisecond)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("histogram of %s: %w", t.Name, err)
		}
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		// No matches (or none in range): no buckets.
		return a.writeHistogram(w, d, t, from, to, n, counts, 0, start)
	}
	ms := chooseInterval(from, to, n).Milliseconds()
	sql := fmt.Sprintf("SELECT %s AS t_ms, count(*) FROM %s WHERE %s GROUP BY t_ms", search.BucketExprFor(q.c.Dialect, t.Time, time.Duration(ms)*time.Millisecond), t.Name, q.c.Where)
	rows, err := a.run(r.Context(), d, sql, q.c.Args)
	if err != nil {
		return fmt.Errorf("histogram of %s: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values()
		b, ok := v[0].(int64)
		if !ok {
			continue // rows without a time
		}
		c, _ := v[1].(int64)
		counts[b] += c
		total += c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("histogram of %s: %w", t.Name, err)
	}
	return a.writeHistogram(w, d, t, from, to, n, counts, total, start)
}

func (a *API) writeHistogram(w http.ResponseWriter, d *debugSQL, t *search.Table, from, to time.Time, n int, counts map[int64]int64, total int64, start time.Time) error {
	out := struct {
		Type       string   `json:"type"`
		IntervalMs int64    `json:"interval_ms"`
		From       *string  `json:"from"`
		To         *string  `json:"to"`
		Buckets    []bucket `json:"buckets"`
		Total      int64    `json:"total"`
		TookMs     int64    `json:"took_ms"`
	}{Type: t.Type, Buckets: []bucket{}, Total: total}
	if !from.IsZero() && !to.IsZero() && from.Before(to) {
		ms := chooseInterval(from, to, n).Milliseconds()
		out.IntervalMs = ms
		f, e := formatTime(from), formatTime(to)
		out.From, out.To = &f, &e
		for b := floorDiv(from.UnixMilli(), ms) * ms; b < to.UnixMilli(); b += ms {
			out.Buckets = append(out.Buckets, bucket{TMs: b, T: formatTime(time.UnixMilli(b)), Count: counts[b]})
		}
	}
	out.TookMs = tookMs(start)
	a.header(w, d)
	writeJSON(w, http.StatusOK, out)
	return nil
}

type topValue struct {
	Value any   `json:"value"`
	Count int64 `json:"count"`
}

type fieldTop struct {
	Name    string     `json:"name"`
	Column  string     `json:"column"`
	Top     []topValue `json:"top"`
	Other   int64      `json:"other"`
	Missing int64      `json:"missing"`
}

func (a *API) fields(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	q, err := a.parseQuery(r)
	if err != nil {
		return err
	}
	t := q.c.Table
	cols, err := columnsParam(r, "fields", t, Sidebar[t.Name])
	if err != nil {
		return err
	}
	top, err := intParam(r, "top", 5, 1, 100)
	if err != nil {
		return err
	}
	d := a.debug()
	var out []fieldTop
	pct := 100.0
	if q.c.InGo() {
		out, err = a.fieldsPattern(r, q, cols, top)
	} else if q.c.Dialect == store.ClickHouse {
		out, err = a.fieldsClickHouse(r, d, q, cols, top)
	} else {
		pct, err = a.samplePercent(r, d, q)
		if err == nil {
			out, err = a.fieldsSQL(r, d, q, cols, top, pct)
		}
	}
	if err != nil {
		return err
	}
	a.header(w, d)
	res := map[string]any{"type": t.Type, "fields": out, "took_ms": tookMs(start)}
	if pct < 100 {
		res["sample_percent"] = pct
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// fieldsSQL reads the top values of every field in one GROUPING SETS
// query (one scan of the matches): each field's groups, ranked by count
// within the field (missing values last), with the field's total and
// missing counts on every row; the top few are kept. Below 100 percent,
// it reads a system (vector-level) sample of the table, taken before the
// WHERE clause, and scales the counts by 100/percent.
func (a *API) fieldsSQL(r *http.Request, d *debugSQL, q *query, cols []string, top int, percent float64) ([]fieldTop, error) {
	t := q.c.Table
	var b strings.Builder
	b.WriteString("SELECT g, v, n, tot, miss FROM (SELECT g, v, n, sum(n) OVER (PARTITION BY g) AS tot, ")
	b.WriteString("sum(CASE WHEN v IS NULL THEN n ELSE 0 END) OVER (PARTITION BY g) AS miss, ")
	b.WriteString("row_number() OVER (PARTITION BY g ORDER BY v IS NULL, n DESC, v) AS rk FROM (SELECT CASE")
	for i, c := range cols {
		fmt.Fprintf(&b, " WHEN grouping(%s) = 0 THEN %d", c, i)
	}
	b.WriteString(" END AS g, CASE")
	for _, c := range cols {
		fmt.Fprintf(&b, " WHEN grouping(%s) = 0 THEN CAST(%s AS VARCHAR)", c, c)
	}
	from, err := a.sampleFrom(r.Context(), t.Name, percent)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, " END AS v, count(*) AS n FROM %s WHERE %s GROUP BY GROUPING SETS (", from, q.c.Where)
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%s)", c)
	}
	b.WriteString("))) WHERE rk <= ? ORDER BY g, rk")
	out := make([]fieldTop, len(cols))
	for i, c := range cols {
		out[i] = fieldTop{Name: t.FieldName(c), Column: c, Top: []topValue{}}
	}
	total := make([]int64, len(cols))
	rows, err := a.run(r.Context(), d, b.String(), append(append([]any(nil), q.c.Args...), int64(top)))
	if err != nil {
		return nil, fmt.Errorf("field values of %s: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values()
		g := -1
		switch x := v[0].(type) {
		case int32:
			g = int(x)
		case int64:
			g = int(x)
		}
		if g < 0 || g >= len(out) {
			continue
		}
		total[g] = scale(toInt(v[3]), percent)
		out[g].Missing = scale(toInt(v[4]), percent)
		if v[1] != nil {
			out[g].Top = append(out[g].Top, topValue{Value: typedValue(t, cols[g], v[1]), Count: scale(toInt(v[2]), percent)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("field values of %s: %w", t.Name, err)
	}
	for i := range out {
		shown := int64(0)
		for _, tv := range out[i].Top {
			shown += tv.Count
		}
		out[i].Other = max(total[i]-out[i].Missing-shown, 0)
	}
	return out, nil
}

// toInt reads an integer DuckDB returned (a count, or a sum of counts,
// which is a HUGEINT).
func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case *big.Int:
		return x.Int64()
	case float64:
		return int64(x)
	}
	return 0
}

// typedValue turns a value read back as text into its column's JSON type.
func typedValue(t *search.Table, col string, v any) any {
	s, ok := v.(string)
	if !ok {
		return jsonValue(v)
	}
	switch t.ColumnType(col) {
	case "int":
		var n int64
		if _, err := fmt.Sscan(s, &n); err == nil {
			return n
		}
	case "float":
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil {
			return jsonValue(f)
		}
	case "bool":
		return s == "true"
	case "time":
		// DuckDB writes 2026-11-30 12:00:00+00; answer RFC 3339.
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
			if tm, err := time.Parse(layout, s); err == nil {
				return formatTime(tm)
			}
		}
	}
	return s
}

// fieldsPattern counts field values of the rows a filter pattern matches,
// in Go.
func (a *API) fieldsPattern(r *http.Request, q *query, cols []string, top int) ([]fieldTop, error) {
	t := q.c.Table
	sel := append([]string{t.Time}, cols...)
	rows, err := search.Search(r.Context(), a.opt.Store, q.c, sel, 0)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := make([]map[string]int64, len(cols))
	values := make([]map[string]any, len(cols))
	missing := make([]int64, len(cols))
	for i := range cols {
		counts[i], values[i] = map[string]int64{}, map[string]any{}
	}
	var total int64
	for rows.Next() {
		total++
		v := rows.Values()
		for i := range cols {
			x := v[i+1]
			if x == nil {
				missing[i]++
				continue
			}
			k := fmt.Sprint(jsonValue(x))
			counts[i][k]++
			values[i][k] = jsonValue(x)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]fieldTop, len(cols))
	for i, c := range cols {
		keys := make([]string, 0, len(counts[i]))
		for k := range counts[i] {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(x, y int) bool {
			if counts[i][keys[x]] != counts[i][keys[y]] {
				return counts[i][keys[x]] > counts[i][keys[y]]
			}
			return keys[x] < keys[y]
		})
		f := fieldTop{Name: t.FieldName(c), Column: c, Top: []topValue{}, Missing: missing[i]}
		var shown int64
		for _, k := range keys[:min(top, len(keys))] {
			f.Top = append(f.Top, topValue{Value: values[i][k], Count: counts[i][k]})
			shown += counts[i][k]
		}
		f.Other = total - missing[i] - shown
		out[i] = f
	}
	return out, nil
}
