package dashboard

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/store"
)

// RollupQuerier is a Querier that also keeps the flow-log top-talker
// rollup (the DuckDB store, internal/store/duckdb rollup.go). When the
// dashboard's querier is one and the rollup is fresh for a panel's range,
// the talker panels read the rollup instead of grouping every flow record.
type RollupQuerier interface {
	Querier
	// RollupFresh reports whether the rollup holds every flow record of
	// the range (zero times: unbounded).
	RollupFresh(ctx context.Context, from, to time.Time) (bool, error)
}

// The rollup's kinds (flow_rollup_top.kind) the panels read.
const (
	rollupSources      = "src"
	rollupDestinations = "dst"
	rollupPairs        = "pair"
	rollupRejected     = "rejected"
)

// hourMS is an hour in milliseconds, the rollup's bucket.
const hourMS = int64(time.Hour / time.Millisecond)

// rollupSQL is the SQL of a rollup panel for the filter: the rollup's
// rows of the whole hours in the range, and the exact rows of the part
// hours at its ends, summed per talker. ok is false when the range holds
// no whole hour (the exact SQL is as cheap then).
// edgeData says whether an hour at an end of the range (h0-1, h1) has
// data; rollupSQL leaves out an end without.
func (d *Dashboard) rollupSQL(p *Panel, f Filter, edgeData func(hour int64) bool) (sql string, args []any, ok bool) {
	var h0, h1 int64 // whole hours [h0, h1), epoch hours
	hasFrom, hasTo := !f.From.IsZero(), !f.To.IsZero()
	if hasFrom {
		h0 = ceilDiv(f.From.UnixMilli(), hourMS)
	}
	if hasTo {
		h1 = floorDiv(f.To.UnixMilli(), hourMS)
	}
	if hasFrom && hasTo && h0 >= h1 {
		return "", nil, false
	}
	keys := "srcaddr"
	switch p.rollup {
	case rollupDestinations:
		keys = "dstaddr"
	case rollupPairs:
		keys = "srcaddr, dstaddr"
	}
	conds := []string{"kind = ?"}
	args = []any{p.rollup}
	if hasFrom {
		conds = append(conds, "hour >= ?")
		args = append(args, h0)
	}
	if hasTo {
		conds = append(conds, "hour < ?")
		args = append(args, h1)
	}
	in := func(col string, vals []string) string {
		if len(vals) == 0 {
			return ""
		}
		for _, v := range vals {
			args = append(args, v)
		}
		return col + " IN (?" + strings.Repeat(", ?", len(vals)-1) + ")"
	}
	if c := in(d.src.account, f.Accounts); c != "" {
		conds = append(conds, c)
	}
	if c := in(d.src.region, f.Regions); c != "" {
		conds = append(conds, c)
	}
	parts := []string{"SELECT " + keys + ", bytes, packets, flows FROM flow_rollup_top WHERE " + strings.Join(conds, " AND ")}

	// The part hours at the ends, exactly: each a plain range on the time
	// column, which DuckDB filters in the scan.
	cond := ""
	if p.rollup == rollupRejected {
		cond = " AND action = 'REJECT' AND srcaddr IS NOT NULL"
	}
	edge := func(from, to time.Time) {
		where, wargs := d.src.where(Filter{From: from, To: to, Accounts: f.Accounts, Regions: f.Regions}, store.DuckDB)
		parts = append(parts, "SELECT "+keys+", "+sumBytes+", "+sumPackets+", count(*) FROM "+d.src.table.Name+
			" WHERE "+where+cond+" GROUP BY ALL")
		args = append(args, wargs...)
	}
	if hasFrom && f.From.UnixMilli() != h0*hourMS && edgeData(h0-1) {
		edge(f.From, time.UnixMilli(h0*hourMS))
	}
	if hasTo && f.To.UnixMilli() != h1*hourMS && edgeData(h1) {
		edge(time.UnixMilli(h1*hourMS), f.To)
	}
	from := "(" + strings.Join(parts, " UNION ALL ") + ")"
	if p.rollup == rollupRejected {
		return "SELECT srcaddr, sum(flows)::BIGINT AS count FROM " + from + " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " + itoa(topN), args, true
	}
	return "SELECT " + keys + ", sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, sum(flows)::BIGINT AS flows FROM " + from +
		" GROUP BY ALL ORDER BY bytes DESC NULLS LAST, " + keys + " LIMIT " + itoa(topN), args, true
}

// useRollup returns the rollup SQL of a panel when its querier has a
// rollup that is fresh for the filter's range.
func (d *Dashboard) useRollup(ctx context.Context, q Querier, p *Panel, f Filter) (string, []any, bool, error) {
	rq, ok := q.(RollupQuerier)
	if p.rollup == "" || !ok {
		return "", nil, false, nil
	}
	if _, _, ok := d.rollupSQL(p, f, func(int64) bool { return true }); !ok {
		return "", nil, false, nil
	}
	fresh, err := rq.RollupFresh(ctx, f.From, f.To)
	if err != nil || !fresh {
		return "", nil, false, err
	}
	// The hours with data among those of the part hours at the ends (the
	// rollup's state is current): an end without data costs no scan.
	var edges []any
	if !f.From.IsZero() {
		edges = append(edges, floorDiv(f.From.UnixMilli(), hourMS))
	}
	if !f.To.IsZero() {
		edges = append(edges, floorDiv(f.To.UnixMilli(), hourMS))
	}
	have := map[int64]bool{}
	if len(edges) > 0 {
		got, err := store.Collect(ctx, q, store.Request{SQL: "SELECT DISTINCT hour FROM flow_rollup_state WHERE hour IN (?" +
			strings.Repeat(", ?", len(edges)-1) + ")", Args: edges, Timeout: queryTimeout}, func(v any) string { return fmt.Sprint(v) })
		if err != nil {
			return "", nil, false, fmt.Errorf("hours of the flow rollup: %w", err)
		}
		for _, r := range got {
			h, _ := strconv.ParseInt(r[0], 10, 64)
			have[h] = true
		}
	}
	sql, args, _ := d.rollupSQL(p, f, func(h int64) bool { return have[h] })
	return sql, args, true, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
