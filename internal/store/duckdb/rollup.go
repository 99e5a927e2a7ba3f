package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The flow-log top-talker rollup (schema version 11, schemaRollup): per
// hour, account and region, the RollupTopN sources, destinations and
// source–destination pairs with the most bytes and the RollupTopN sources
// with the most rejected flow records, with their bytes, packets and
// flow records. The VPC dashboard's talker panels sum it over the hours
// of their range instead of grouping every flow record by address
// (internal/dashboard; docs/dashboards.md). It is kept current by
// RefreshRollups, which recomputes only the hours whose rows changed
// (flow_rollup_state records each hour's row count and newest ingested_at).

// RollupTopN is how many talkers of each kind the rollup keeps per hour,
// account and region.
const RollupTopN = 100

// Rollup kinds: the value of flow_rollup_top.kind.
const (
	RollupSources     = "src"      // by bytes, srcaddr
	RollupDestination = "dst"      // by bytes, dstaddr
	RollupPairs       = "pair"     // by bytes, srcaddr and dstaddr
	RollupRejected    = "rejected" // by rejected flow records, srcaddr
)

// rollupHour is the rollup's hour of a flow record: whole hours since the
// epoch (integer arithmetic, as the dashboards' buckets).
const rollupHour = "epoch_ms(start_time) // 3600000"

// schemaRollup creates the rollup's tables (new tables only: it does not
// depend on the schema versions 9 and 10 that other branches add). A
// store that migrates to it builds the rollup at its first refresh.
func schemaRollup() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS flow_rollup_state (
  hour BIGINT, account_id VARCHAR, region VARCHAR,
  flows BIGINT NOT NULL, max_ingested_at TIMESTAMPTZ NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS flow_rollup_top (
  kind VARCHAR NOT NULL, hour BIGINT, account_id VARCHAR, region VARCHAR,
  srcaddr VARCHAR, dstaddr VARCHAR, bytes BIGINT, packets BIGINT, flows BIGINT NOT NULL)`,
	}
}

// groupJoin joins a (hour, account_id, region) group of alias a to one of
// alias b, NULLs equal.
func groupJoin(a, b string) string {
	return a + ".hour IS NOT DISTINCT FROM " + b + ".hour AND " + a + ".account_id IS NOT DISTINCT FROM " + b +
		".account_id AND " + a + ".region IS NOT DISTINCT FROM " + b + ".region"
}

// rollupTopSQL inserts the top rows of one kind for the changed groups.
func rollupTopSQL(kind, keys, cond, rank string) string {
	src, dst := "srcaddr", "NULL"
	switch kind {
	case RollupDestination:
		src, dst = "NULL", "dstaddr"
	case RollupPairs:
		dst = "dstaddr"
	}
	return fmt.Sprintf(`INSERT INTO flow_rollup_top
SELECT '%s', hour, account_id, region, %s, %s, bytes, packets, flows FROM (
  SELECT v.hour, v.account_id, v.region, %s, sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, count(*) AS flows
  FROM (SELECT %s AS hour, * FROM vpcflow WHERE %s) v SEMI JOIN trawl_rollup_changed c ON %s
  GROUP BY ALL)
QUALIFY row_number() OVER (PARTITION BY hour, account_id, region ORDER BY %s, %s) <= %d`,
		kind, src, dst, keys, rollupHour, cond, groupJoin("v", "c"), rank, keys, RollupTopN)
}

// RefreshRollups brings the rollup up to date with vpcflow: it finds the
// hours (per account and region) whose row count or newest ingested_at
// changed since the last refresh and recomputes their top rows, in one
// transaction (cancelling ctx leaves the previous, consistent rollup). It
// costs two small queries when nothing changed. On a read-only store it
// does nothing. Refreshes of one store run one at a time.
func (s *Store) RefreshRollups(ctx context.Context) error {
	if s.readOnly {
		return nil
	}
	s.rollupMu.Lock()
	defer s.rollupMu.Unlock()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("refreshing the flow rollup: opening a connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("refreshing the flow rollup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	total, newRows, err := rollupDelta(ctx, conn)
	if err != nil {
		return err
	}
	if total.flows-newRows == total.state && newRows == 0 {
		done = true
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	}
	// Only appends since the last refresh: the changed groups are those of
	// the new rows. Otherwise (rows deleted by retention, or a transaction
	// that began before the last refresh committed after it) compare every
	// group's count and newest ingested_at with the state.
	changed := `CREATE OR REPLACE TEMP TABLE trawl_rollup_changed AS
SELECT DISTINCT ` + rollupHour + ` AS hour, account_id, region FROM vpcflow WHERE ingested_at > ?`
	args := []any{total.watermark}
	if total.flows-newRows != total.state {
		changed = `CREATE OR REPLACE TEMP TABLE trawl_rollup_changed AS
WITH cur AS (SELECT ` + rollupHour + ` AS hour, account_id, region, count(*) AS flows, max(ingested_at) AS max_ingested_at FROM vpcflow GROUP BY ALL),
diff AS ((SELECT * FROM cur EXCEPT SELECT * FROM flow_rollup_state) UNION ALL (SELECT * FROM flow_rollup_state EXCEPT SELECT * FROM cur))
SELECT DISTINCT hour, account_id, region FROM diff`
		args = nil
	}
	exec := func(what, sql string, args ...any) error {
		if _, err := conn.ExecContext(ctx, sql, args...); err != nil {
			return fmt.Errorf("refreshing the flow rollup: %s: %w", what, err)
		}
		if afterRollupStep != nil {
			afterRollupStep(what)
		}
		return nil
	}
	if err := exec("finding the changed hours", changed, args...); err != nil {
		return err
	}
	// The time span of the changed hours: a filter in the scans below, so
	// that only the records of those hours are joined and grouped (most of
	// the table, after an ingest of new hours, is not).
	span, spanArgs := "TRUE", []any(nil)
	var lo, hi sql.NullInt64
	var nulls bool
	if err := scanOne(ctx, conn, `SELECT min(hour), max(hour), count(*) FILTER (WHERE hour IS NULL) > 0 FROM trawl_rollup_changed`, nil, &lo, &hi, &nulls); err != nil {
		return fmt.Errorf("refreshing the flow rollup: the changed hours' span: %w", err)
	}
	if lo.Valid && !nulls {
		span = "start_time >= ? AND start_time < ?"
		spanArgs = []any{time.UnixMilli(lo.Int64 * 3600000).UTC(), time.UnixMilli((hi.Int64 + 1) * 3600000).UTC()}
	}
	stmts := []struct {
		what, sql string
		args      []any
	}{
		{"clearing the changed hours", "DELETE FROM flow_rollup_top t WHERE EXISTS (SELECT 1 FROM trawl_rollup_changed c WHERE " + groupJoin("t", "c") + ")", nil},
		{"clearing the changed hours' state", "DELETE FROM flow_rollup_state t WHERE EXISTS (SELECT 1 FROM trawl_rollup_changed c WHERE " + groupJoin("t", "c") + ")", nil},
		{"recording the hours' state", `INSERT INTO flow_rollup_state
SELECT v.hour, v.account_id, v.region, count(*), max(ingested_at)
FROM (SELECT ` + rollupHour + ` AS hour, account_id, region, ingested_at FROM vpcflow WHERE ` + span + `) v SEMI JOIN trawl_rollup_changed c ON ` + groupJoin("v", "c") + `
GROUP BY ALL`, spanArgs},
		{"top sources", rollupTopSQL(RollupSources, "srcaddr", span, "bytes DESC NULLS LAST"), spanArgs},
		{"top destinations", rollupTopSQL(RollupDestination, "dstaddr", span, "bytes DESC NULLS LAST"), spanArgs},
		{"top pairs", rollupTopSQL(RollupPairs, "srcaddr, dstaddr", span, "bytes DESC NULLS LAST"), spanArgs},
		{"top rejected sources", rollupTopSQL(RollupRejected, "srcaddr", span+" AND action = 'REJECT' AND srcaddr IS NOT NULL", "flows DESC"), spanArgs},
		{"dropping the changed hours", "DROP TABLE trawl_rollup_changed", nil},
	}
	for _, st := range stmts {
		if err := exec(st.what, st.sql, st.args...); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("refreshing the flow rollup: committing: %w", err)
	}
	done = true
	return nil
}

// afterRollupStep, when set (by tests), runs after each statement of a
// refresh.
var afterRollupStep func(step string)

// rollupTotals are vpcflow's row count (flows), the rollup state's
// (state), and the state's newest ingested_at (watermark).
type rollupTotals struct {
	flows, state int64
	watermark    time.Time
}

// rollupDelta reads the totals and, of the rows ingested after the
// watermark, how many there are.
func rollupDelta(ctx context.Context, db queryer) (total rollupTotals, newRows int64, err error) {
	var wm sql.NullTime
	if err := scanOne(ctx, db, `SELECT (SELECT count(*) FROM vpcflow), (SELECT coalesce(sum(flows), 0)::BIGINT FROM flow_rollup_state),
  (SELECT max(max_ingested_at) FROM flow_rollup_state)`, nil, &total.flows, &total.state, &wm); err != nil {
		return total, newRows, fmt.Errorf("reading the flow rollup's state: %w", err)
	}
	if wm.Valid {
		total.watermark = wm.Time
	}
	if err := scanOne(ctx, db, `SELECT count(*) FROM vpcflow WHERE ingested_at > ?`, []any{total.watermark}, &newRows); err != nil {
		return total, newRows, fmt.Errorf("reading the flow rollup's state: %w", err)
	}
	return total, newRows, nil
}

// scanOne runs a query of one row into dst.
func scanOne(ctx context.Context, db queryer, q string, args []any, dst ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dst...); err != nil {
		return err
	}
	return rows.Close()
}

// RollupFresh reports whether the rollup holds every flow record of the
// hours from (inclusive) to to (exclusive; zero times are unbounded): no
// row of the range was ingested after the last refresh, and no row was
// deleted or committed late since. A store without the rollup's tables
// (an older schema opened read-only) is never fresh.
func (s *Store) RollupFresh(ctx context.Context, from, to time.Time) (bool, error) {
	var have bool
	if err := scanOne(ctx, s.db, `SELECT count(*) = 2 FROM duckdb_tables() WHERE database_name = current_database()
  AND schema_name = 'main' AND table_name IN ('flow_rollup_state', 'flow_rollup_top')`, nil, &have); err != nil {
		return false, fmt.Errorf("checking the flow rollup: %w", err)
	}
	if !have {
		return false, nil
	}
	var flows, state int64
	var wm sql.NullTime
	if err := scanOne(ctx, s.db, `SELECT (SELECT count(*) FROM vpcflow), (SELECT coalesce(sum(flows), 0)::BIGINT FROM flow_rollup_state),
  (SELECT max(max_ingested_at) FROM flow_rollup_state)`, nil, &flows, &state, &wm); err != nil {
		return false, fmt.Errorf("checking the flow rollup: %w", err)
	}
	var after time.Time
	if wm.Valid {
		after = wm.Time
	}
	cond := []string{"TRUE"}
	var args []any
	if !from.IsZero() {
		cond = append(cond, "start_time >= ?")
		args = append(args, from.UTC())
	}
	if !to.IsZero() {
		cond = append(cond, "start_time < ?")
		args = append(args, to.UTC())
	}
	var newAll, newIn int64
	if err := scanOne(ctx, s.db, `SELECT count(*), count(*) FILTER (WHERE `+strings.Join(cond, " AND ")+`) FROM vpcflow WHERE ingested_at > ?`,
		append(args, after), &newAll, &newIn); err != nil {
		return false, fmt.Errorf("checking the flow rollup: %w", err)
	}
	return newIn == 0 && flows-newAll == state, nil
}

// flowsChanged tells RunRollups that vpcflow changed (without blocking).
func (s *Store) flowsChanged() {
	select {
	case s.flowsIn <- struct{}{}:
	default:
	}
}

// RunRollups keeps the rollup current in the background until ctx ends:
// it refreshes once at the start, then after every commit that wrote
// flow records (and every prune of them), waiting quiet seconds after
// the last one first (but no more than 4 quiet periods after the first)
// so that a burst of commits costs one refresh. A
// failed refresh is reported to logf and retried at the next change.
// It does nothing on a read-only store.
func (s *Store) RunRollups(ctx context.Context, quiet time.Duration, logf func(err error)) {
	if s.readOnly {
		return
	}
	refresh := func() {
		if err := s.RefreshRollups(ctx); err != nil && ctx.Err() == nil && logf != nil {
			logf(err)
		}
	}
	refresh()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.flowsIn:
		}
		t, limit := time.NewTimer(quiet), time.NewTimer(4*quiet)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				limit.Stop()
				return
			case <-s.flowsIn:
				t.Reset(quiet)
			case <-t.C:
				break wait
			case <-limit.C:
				break wait
			}
		}
		t.Stop()
		limit.Stop()
		refresh()
	}
}
