package dashboard

import (
	"context"
	"strings"
	"time"
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
func (d *Dashboard) rollupSQL(p *Panel, f Filter) (sql string, args []any, ok bool) {
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

	// The part hours at the ends, exactly.
	var edges []string
	var edgeArgs []any
	t := d.src.table.Time
	if hasFrom && f.From.UnixMilli() != h0*hourMS {
		edges = append(edges, "("+t+" >= ? AND "+t+" < ?)")
		edgeArgs = append(edgeArgs, f.From.UTC(), time.UnixMilli(h0*hourMS).UTC())
	}
	if hasTo && f.To.UnixMilli() != h1*hourMS {
		edges = append(edges, "("+t+" >= ? AND "+t+" < ?)")
		edgeArgs = append(edgeArgs, time.UnixMilli(h1*hourMS).UTC(), f.To.UTC())
	}
	if len(edges) > 0 {
		where, wargs := d.src.where(f)
		cond := ""
		if p.rollup == rollupRejected {
			cond = " AND action = 'REJECT' AND srcaddr IS NOT NULL"
		}
		parts = append(parts, "SELECT "+keys+", "+sumBytes+", "+sumPackets+", count(*) FROM "+d.src.table.Name+
			" WHERE "+where+" AND ("+strings.Join(edges, " OR ")+")"+cond+" GROUP BY ALL")
		args = append(append(args, wargs...), edgeArgs...)
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
	sql, args, ok := d.rollupSQL(p, f)
	if !ok {
		return "", nil, false, nil
	}
	fresh, err := rq.RollupFresh(ctx, f.From, f.To)
	if err != nil || !fresh {
		return "", nil, false, err
	}
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
