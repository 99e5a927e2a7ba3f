package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/decode/cloudtrail"
	"github.com/trawl-project/trawl/internal/decode/guardduty"
	"github.com/trawl-project/trawl/internal/decode/vpcflow"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/output"
	"github.com/trawl-project/trawl/internal/store"
)

// Backfill runs rules over stored history: streaming rules on every
// stored record of [Since, Until) (CloudTrail and findings decoded again
// from their raw text, flow records rebuilt from their columns), and
// scheduled rules on each window of the range, stepped by their window.
type Backfill struct {
	Store        store.Querier
	Rules        []*Rule
	Watch        []*Watch
	Since, Until time.Time
	// Emit receives the hits, a batch at a time.
	Emit func(ctx context.Context, hits []event.Hit) error
	// Progress, if set, is called every 50,000 records and at the end of
	// each part (a log type or a scheduled rule).
	Progress func(part string, records, hits int64)
}

const backfillBatch = 2048

// Run runs the backfill and returns the number of records read and hits
// emitted.
func (bf *Backfill) Run(ctx context.Context) (records, hits int64, err error) {
	eng := NewEngine(bf.Rules, bf.Watch)
	var flowKeys []string // row keys of the batch's flow records, by unit
	progress := func(part string, n int64) {
		if bf.Progress != nil {
			bf.Progress(part, n, hits)
		}
	}
	flush := func(b *event.Batch) error {
		if err := eng.Process(ctx, b); err != nil {
			return err
		}
		for i := range b.Hits {
			h := &b.Hits[i]
			if h.LogType != event.KindVPCFlow || len(h.EventIDs) != 1 {
				continue
			}
			old := h.EventIDs[0]
			u, err := strconv.Atoi(strings.TrimPrefix(old, b.Object+"#"))
			if err != nil || u < 0 || u >= len(flowKeys) {
				continue
			}
			h.EventIDs = []string{flowKeys[u]}
			h.DedupKey = strings.Replace(h.DedupKey, "|"+old, "|"+flowKeys[u], 1)
		}
		flowKeys = flowKeys[:0]
		if len(b.Hits) > 0 {
			hits += int64(len(b.Hits))
			if err := bf.Emit(ctx, append([]event.Hit(nil), b.Hits...)); err != nil {
				return err
			}
		}
		b.Reset()
		return nil
	}
	has := func(k event.Kind) bool {
		if k == event.KindCloudTrail && len(bf.Watch) > 0 {
			return true
		}
		for _, r := range bf.Rules {
			if r.Sigma != nil && r.Enabled && r.LogType == k {
				return true
			}
		}
		return false
	}
	parts := []struct {
		kind       event.Kind
		sql        string
		name, time string // table and its time column
		build      func(b *event.Batch, vals []any) error
	}{
		{event.KindCloudTrail, "SELECT raw FROM cloudtrail WHERE event_time >= ? AND event_time < ? ORDER BY event_time", "cloudtrail", "event_time",
			func(b *event.Batch, vals []any) error {
				b.CloudTrail = append(b.CloudTrail, cloudtrail.FromRaw(output.Text(vals[0]), nil))
				return nil
			}},
		{event.KindGuardDuty, "SELECT raw FROM guardduty_finding_history WHERE updated_at >= ? AND updated_at < ? ORDER BY updated_at", "guardduty_finding_history", "updated_at",
			func(b *event.Batch, vals []any) error {
				f, err := guardduty.FromRaw(output.Text(vals[0]), nil)
				if err != nil {
					return err
				}
				b.Findings = append(b.Findings, f)
				return nil
			}},
		{event.KindVPCFlow, flowSQL(store.DialectOf(bf.Store)), "vpcflow", "start_time", flowBuilder(&flowKeys)},
	}
	for _, p := range parts {
		if !has(p.kind) {
			continue
		}
		// The records are read in time order, a window at a time: sorting
		// the whole range at once holds all of its text in DuckDB's
		// memory (a million CloudTrail events are gigabytes).
		first, last, err := timeSpan(ctx, bf.Store, p.name, p.time, bf.Since, bf.Until)
		if err != nil {
			return records, hits, fmt.Errorf("backfill %s: %w", p.name, err)
		}
		b := &event.Batch{Object: "backfill"}
		var n int64
		for lo := first; !first.IsZero() && !lo.After(last); lo = lo.Add(backfillWindow) {
			hi := lo.Add(backfillWindow)
			if hi.After(bf.Until) {
				hi = bf.Until
			}
			rows, err := bf.Store.Query(ctx, store.Request{SQL: p.sql, Args: []any{lo, hi}})
			if err != nil {
				return records, hits, fmt.Errorf("backfill %s: %w", p.name, err)
			}
			for rows.Next() {
				if err := p.build(b, rows.Values()); err != nil {
					rows.Close()
					return records, hits, fmt.Errorf("backfill %s: %w", p.name, err)
				}
				n++
				records++
				if b.Rows() >= backfillBatch {
					if err := flush(b); err != nil {
						rows.Close()
						return records, hits, err
					}
				}
				if n%50000 == 0 {
					progress(p.name, n)
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return records, hits, fmt.Errorf("backfill %s: %w", p.name, err)
			}
		}
		if err := flush(b); err != nil {
			return records, hits, err
		}
		progress(p.name, n)
	}
	for _, r := range bf.Rules {
		if r.Scheduled == nil || !r.Enabled {
			continue
		}
		if miss, err := r.MissingColumns(ctx, bf.Store); err != nil {
			return records, hits, err
		} else if len(miss) > 0 {
			progress(r.ID+" (skipped: no column "+strings.Join(miss, ", ")+")", 0)
			continue
		}
		hs, err := r.RunRange(ctx, bf.Store, bf.Since, bf.Until)
		if err != nil {
			return records, hits, err
		}
		if len(hs) > 0 {
			hits += int64(len(hs))
			if err := bf.Emit(ctx, hs); err != nil {
				return records, hits, err
			}
		}
		progress(r.ID, 0)
	}
	return records, hits, nil
}

// flowSQL selects every flow field's column, and the source, in dialect d.
func flowSQL(d store.Dialect) string {
	epoch := "epoch(%s)"
	if d == store.ClickHouse {
		epoch = "toInt64(toUInt32(%s))"
	}
	cols := make([]string, 0, len(event.FlowFields)+1)
	for _, f := range event.FlowFields {
		switch f.Kind {
		case event.FlowStart, event.FlowEnd:
			cols = append(cols, fmt.Sprintf(epoch, f.Column))
		default:
			cols = append(cols, `"`+f.Column+`"`)
		}
	}
	cols = append(cols, "source", "raw")
	return "SELECT " + strings.Join(cols, ", ") + " FROM vpcflow WHERE start_time >= ? AND start_time < ? ORDER BY start_time"
}

// flowBuilder rebuilds flow records from their columns: a line with every
// field, parsed with a header naming them. The store keeps no unit for
// flow rows, so a backfilled flow hit's row key is the source and a hash
// of the line (source#sha256:…).
func flowBuilder(keys *[]string) func(b *event.Batch, vals []any) error {
	names := make([]string, len(event.FlowFields))
	for i, f := range event.FlowFields {
		names[i] = f.Name
	}
	p := vpcflow.NewParser(nil)
	if _, err := p.Line(strings.Join(names, " ")); err != vpcflow.ErrHeader {
		panic(fmt.Sprintf("flow header of every field: %v", err))
	}
	parts := make([]string, len(event.FlowFields))
	return func(b *event.Batch, vals []any) error {
		for i := range event.FlowFields {
			var v string
			switch x := vals[i].(type) {
			case nil:
				v = "-"
			case string:
				v = x
			case float64: // epoch() of start_time and end_time
				v = strconv.FormatInt(int64(x), 10)
			case int64: // the same on ClickHouse
				v = strconv.FormatInt(x, 10)
			default:
				v = output.Text(x)
			}
			if v == "" {
				v = "-"
			}
			parts[i] = v
		}
		f, err := p.Line(strings.Join(parts, " "))
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(output.Text(vals[len(vals)-1])))
		f.Unit = int64(len(b.VPCFlow))
		b.VPCFlow = append(b.VPCFlow, f)
		*keys = append(*keys, output.Text(vals[len(vals)-2])+"#sha256:"+hex.EncodeToString(sum[:8]))
		return nil
	}
}

// backfillWindow is how much of the range backfill reads and sorts at once.
const backfillWindow = time.Hour

// timeSpan returns the start of the first backfillWindow of [since, until)
// holding a record of table, and the time of the last record; zero times
// when there is none. Windows start on multiples of backfillWindow from
// since. The count tells an empty range on ClickHouse, where min and max
// of no rows are the epoch rather than NULL.
func timeSpan(ctx context.Context, q store.Querier, table, col string, since, until time.Time) (first, last time.Time, err error) {
	rows, err := q.Query(ctx, store.Request{
		SQL:  "SELECT min(" + col + "), max(" + col + "), count(*) FROM " + table + " WHERE " + col + " >= ? AND " + col + " < ?",
		Args: []any{since, until},
	})
	if err != nil {
		return first, last, err
	}
	defer rows.Close()
	if rows.Next() {
		v := rows.Values()
		lo, ok1 := v[0].(time.Time)
		hi, ok2 := v[1].(time.Time)
		if ok1 && ok2 && output.Text(v[2]) != "0" {
			first = since.Add(lo.Sub(since).Truncate(backfillWindow))
			last = hi
		}
	}
	return first, last, rows.Err()
}
