package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/trawl-project/trawl/internal/search"
)

// SampleAbove is the number of rows in a request's time range above which
// /api/fields estimates top values from a sample of the table instead of
// counting every match. A variable so tests can lower it.
var SampleAbove int64 = 300_000

// SampleRows is about how many rows of the time range a sampled
// /api/fields request reads.
var SampleRows int64 = 150_000

// samplePercent chooses the share of the table /api/fields reads: 100
// (exact) when the request's time range holds at most SampleAbove rows,
// else the percent that reads about SampleRows of them. The rows are
// counted with the time condition alone, which zone maps answer quickly.
//
// A query that names a column only a view computes (raw for free text, a
// request parameter read from JSON) is answered exactly: DuckDB cannot
// sample through the view, so a sample would read every row of the table
// (a rare free-text word on 10M events: 45 ms exact, through the free-text
// index, against seconds sampled).
func (a *API) samplePercent(r *http.Request, d *debugSQL, q *query) (float64, error) {
	t := q.c.Table
	if needs, err := a.needsView(r.Context(), t.Name, q.c.Where); err != nil || needs {
		return 100, err
	}
	c, err := search.ParseCompile("", search.Options{Table: t, Since: q.from, Until: q.to})
	if err != nil {
		return 0, fmt.Errorf("rows of %s in the time range: %w", t.Name, err)
	}
	rows, err := a.run(r.Context(), d, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", t.Name, c.Where), c.Args)
	if err != nil {
		return 0, fmt.Errorf("rows of %s in the time range: %w", t.Name, err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		n = toInt(rows.Values()[0])
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rows of %s in the time range: %w", t.Name, err)
	}
	return sampleShare(n, SampleAbove, SampleRows), nil
}

// sampleShare is the percent of n rows to read to see about want of them
// (rounded up to a thousandth of a percent), or 100 when n <= above.
func sampleShare(n, above, want int64) float64 {
	if n <= above || n <= want || want <= 0 {
		return 100
	}
	p := math.Ceil(float64(want)*100*1000/float64(n)) / 1000
	return min(max(p, 0.001), 100)
}

// scale estimates a count in the whole range from its count in a sample
// of percent of it.
func scale(n int64, percent float64) int64 {
	if percent >= 100 {
		return n
	}
	return int64(math.Round(float64(n) * 100 / percent))
}

// sampleFrom is the FROM item that reads percent of table: the table
// itself at 100, else the table with a system (vector-level) TABLESAMPLE,
// which DuckDB applies inside the scan, before the WHERE clause.
//
// DuckDB cannot push a sample through a view (cloudtrail is one, over
// cloudtrail_base): it would sample the view's output after reading every
// row. So when table is a view over <table>_base, the base table is
// sampled instead, under the view's name (samplePercent answers exactly,
// at 100, a query that names a column only the view computes).
func (a *API) sampleFrom(ctx context.Context, table string, percent float64) (string, error) {
	if percent >= 100 {
		return table, nil
	}
	sample := " TABLESAMPLE " + strconv.FormatFloat(percent, 'f', -1, 64) + "% (system)"
	_, ok, err := a.base.viewOnly(ctx, a, table)
	if err != nil || !ok {
		return table + sample, err
	}
	return table + "_base AS " + table + sample, nil
}

// needsView reports whether where names a column that only the view table
// computes (false when table is not such a view).
func (a *API) needsView(ctx context.Context, table, where string) (bool, error) {
	viewOnly, ok, err := a.base.viewOnly(ctx, a, table)
	if err != nil || !ok {
		return false, err
	}
	for _, id := range identifier.FindAllString(where, -1) {
		if viewOnly[id] {
			return true, nil
		}
	}
	return false, nil
}

// identifier matches the names in a WHERE clause (and words in its
// literals, which at worst keep the view).
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// baseTables caches, per view over a <view>_base table, the columns the
// view computes rather than reads from the base table.
type baseTables struct {
	mu    sync.Mutex
	views map[string]baseView
}

type baseView struct {
	ok       bool
	viewOnly map[string]bool
}

// viewOnly returns the columns only the view computes (those the base
// table lacks, and raw, which the view rebuilds from spilled parts), and
// whether table is such a view at all.
func (b *baseTables) viewOnly(ctx context.Context, a *API, table string) (map[string]bool, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.views[table]; ok {
		return v.viewOnly, v.ok, nil
	}
	const q = `SELECT v.column_name, b.column_name IS NOT NULL
FROM (SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main') v
LEFT JOIN (SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'
  AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main')) b USING (column_name)
WHERE ? IN (SELECT view_name FROM duckdb_views() WHERE schema_name = 'main')`
	rows, err := a.run(ctx, nil, q, []any{table, table + "_base", table})
	if err != nil {
		return nil, false, fmt.Errorf("columns of view %s: %w", table, err)
	}
	defer rows.Close()
	v := baseView{viewOnly: map[string]bool{"raw": true}}
	inBase := 0
	for rows.Next() {
		x := rows.Values()
		name, _ := x[0].(string)
		if both, _ := x[1].(bool); both {
			inBase++
		} else {
			v.viewOnly[name] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("columns of view %s: %w", table, err)
	}
	v.ok = inBase > 0
	if b.views == nil {
		b.views = map[string]baseView{}
	}
	b.views[table] = v
	return v.viewOnly, v.ok, nil
}
