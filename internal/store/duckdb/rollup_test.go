package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

// rollupBase is the first hour of the generated flows.
var rollupBase = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// addFlows inserts n generated flow records per hour for hours [h0, h1)
// after rollupBase, ingested at `at`: per hour 60 records of heavy talkers
// (30 sources, 25 destinations, 100–200 kB each, varying by hour), the
// rest small (≤ 100 bytes) from and to thousands of addresses, every
// fifth small one rejected from one of 40 scanners. Every heavy talker,
// pair and scanner is in each hour's top 100, so the rollup's top 10
// equals the exact top 10.
func addFlows(t *testing.T, st *Store, h0, h1, n int, at time.Time) {
	t.Helper()
	q := fmt.Sprintf(`INSERT INTO vpcflow (source, ingested_at, raw, start_time, end_time, account_id, region, srcaddr, dstaddr, bytes, packets, action)
SELECT 'gen', ?::TIMESTAMPTZ, 'r' || i, ?::TIMESTAMPTZ + to_hours(h) + to_seconds(j %% 3600), ?::TIMESTAMPTZ + to_hours(h) + to_seconds(j %% 3600 + 10),
  CASE WHEN i %% 2 = 0 THEN '111111111111' ELSE '222222222222' END,
  CASE WHEN h %% 2 = 0 THEN 'us-east-1' ELSE 'eu-west-1' END,
  CASE WHEN j < 60 THEN '10.0.0.' || (j %% 30) WHEN j %% 5 = 0 THEN '203.0.113.' || (j // 5 %% 40) ELSE '172.16.' || (i %% 5000) END,
  CASE WHEN j < 60 THEN '10.1.0.' || ((j * 7 + h) %% 25) ELSE '172.17.' || (i %% 7000) END,
  CASE WHEN j < 60 THEN 100000 + ((j * 37 + h * 101) %% 997) * 100 ELSE 1 + i %% 100 END,
  CASE WHEN j < 60 THEN 100 + j ELSE 1 END,
  CASE WHEN j >= 60 AND j %% 5 = 0 THEN 'REJECT' ELSE 'ACCEPT' END
FROM (SELECT i, i // %d + %d AS h, i %% %d AS j FROM range(%d) r(i))`, n, h0, n, (h1-h0)*n)
	if _, err := st.db.Exec(q, at, rollupBase, rollupBase); err != nil {
		t.Fatalf("generating flows: %v", err)
	}
}

// topOf returns the top 10 of a kind as text rows, from the rollup or
// the exact SQL, for hours [h0, h1) and an optional account.
func topOf(t *testing.T, st *Store, kind string, fromRollup bool, h0, h1 int, account string) []string {
	t.Helper()
	keys, measure, order, cond := "srcaddr", "sum(bytes)::BIGINT", "bytes DESC NULLS LAST", "TRUE"
	switch kind {
	case RollupDestination:
		keys = "dstaddr"
	case RollupPairs:
		keys = "srcaddr, dstaddr"
	case RollupRejected:
		measure, order, cond = "count(*)", "flows DESC", "action = 'REJECT' AND srcaddr IS NOT NULL"
	}
	from, to := rollupBase.Add(time.Duration(h0)*time.Hour), rollupBase.Add(time.Duration(h1)*time.Hour)
	acct := "TRUE"
	args := []any{}
	var q string
	if fromRollup {
		args = append(args, kind, from.UnixMilli()/3600000, to.UnixMilli()/3600000)
		if account != "" {
			acct = "account_id = ?"
			args = append(args, account)
		}
		q = fmt.Sprintf(`SELECT %s, sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT, sum(flows)::BIGINT AS flows FROM flow_rollup_top
WHERE kind = ? AND hour >= ? AND hour < ? AND %s GROUP BY ALL ORDER BY %s, %s LIMIT 10`, keys, acct, order, keys)
	} else {
		args = append(args, from, to)
		if account != "" {
			acct = "account_id = ?"
			args = append(args, account)
		}
		if kind == RollupRejected {
			measure = "sum(bytes)::BIGINT"
		}
		q = fmt.Sprintf(`SELECT %s, %s AS bytes, sum(packets)::BIGINT, count(*) AS flows FROM vpcflow
WHERE start_time >= ? AND start_time < ? AND %s AND %s GROUP BY ALL ORDER BY %s, %s LIMIT 10`, keys, measure, acct, cond, order, keys)
	}
	rows, err := st.db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, text(vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// text is a row's values separated by spaces.
func text(vals []any) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, " ")
}

var rollupKinds = []string{RollupSources, RollupDestination, RollupPairs, RollupRejected}

// checkExact asserts that the rollup's top 10 of every kind equals the
// exact one for the hours and account.
func checkExact(t *testing.T, st *Store, h0, h1 int, account string) {
	t.Helper()
	for _, k := range rollupKinds {
		exact := topOf(t, st, k, false, h0, h1, account)
		got := topOf(t, st, k, true, h0, h1, account)
		if len(exact) != 10 {
			t.Fatalf("%s: exact top has %d rows, the data should give 10", k, len(exact))
		}
		if !slices.Equal(got, exact) {
			t.Errorf("%s hours [%d,%d) account %q: rollup top 10\n%v\nexact\n%v", k, h0, h1, account, got, exact)
		}
	}
}

func fresh(t *testing.T, st *Store, h0, h1 int) bool {
	t.Helper()
	ok, err := st.RollupFresh(ctx, rollupBase.Add(time.Duration(h0)*time.Hour), rollupBase.Add(time.Duration(h1)*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// freshAll is RollupFresh for an unbounded range.
func freshAll(t *testing.T, st *Store) bool {
	t.Helper()
	ok, err := st.RollupFresh(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// snapshot is the rollup's tables as sorted text.
func snapshot(t *testing.T, st *Store) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{`SELECT * FROM flow_rollup_state ORDER BY ALL`, `SELECT * FROM flow_rollup_top ORDER BY ALL`} {
		rows, err := st.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, text(vals))
		}
		rows.Close()
	}
	return b.String()
}

// TestRollupEqualsExact: on data whose heavy talkers are in every hour's
// top 100, the rollup's top 10 of every kind equals the exact top 10, for
// the whole range, a part of it and one account; the rollup is far smaller
// than the table; a refresh with nothing new changes nothing.
func TestRollupEqualsExact(t *testing.T) {
	st, _ := openTemp(t)
	if fresh(t, st, 0, 24) != true {
		t.Error("an empty store's empty rollup is not fresh")
	}
	addFlows(t, st, 0, 24, 2000, rollupBase.Add(48*time.Hour))
	if fresh(t, st, 0, 24) {
		t.Fatal("fresh before any refresh")
	}
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if !fresh(t, st, 0, 24) || !freshAll(t, st) {
		t.Fatal("not fresh after a refresh")
	}
	checkExact(t, st, 0, 24, "")
	checkExact(t, st, 5, 9, "")
	checkExact(t, st, 0, 24, "222222222222")
	// 24 hours × 1 region × 2 accounts, ≤ 100 rows of each of 4 kinds.
	if n := count(t, st, `SELECT count(*) FROM flow_rollup_top`); n == 0 || n > 48*4*RollupTopN {
		t.Errorf("%d rollup rows", n)
	}
	if n := count(t, st, `SELECT sum(flows) FROM flow_rollup_state`); n != 48000 {
		t.Errorf("the state counts %d flows, want 48000", n)
	}
	before := snapshot(t, st)
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if snapshot(t, st) != before {
		t.Error("a refresh with nothing new changed the rollup")
	}
}

// TestRollupRefreshChangedHours: rows arriving for one hour make ranges
// with that hour stale (and others not); the refresh recomputes only the
// changed hours (a marked row of another hour survives it) and the answer
// changes accordingly. Pruning old rows makes the rollup stale until the
// refresh removes their hours.
func TestRollupRefreshChangedHours(t *testing.T) {
	st, _ := openTemp(t)
	addFlows(t, st, 0, 24, 1000, rollupBase.Add(48*time.Hour))
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Exec(`UPDATE flow_rollup_top SET packets = packets + 1000000000 WHERE hour = ?`, rollupBase.Add(3*time.Hour).UnixMilli()/3600000); err != nil {
		t.Fatal(err)
	}
	// A new heavy talker in hour 7, ingested later.
	if _, err := st.db.Exec(`INSERT INTO vpcflow (source, ingested_at, raw, start_time, account_id, region, srcaddr, dstaddr, bytes, packets, action)
VALUES ('late', ?, 'x', ?, '111111111111', 'eu-west-1', '198.51.100.7', '10.1.0.1', 50000000, 9, 'ACCEPT')`,
		rollupBase.Add(49*time.Hour), rollupBase.Add(7*time.Hour+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if fresh(t, st, 0, 24) || fresh(t, st, 7, 8) || freshAll(t, st) {
		t.Error("ranges with the new row are fresh")
	}
	if !fresh(t, st, 0, 7) || !fresh(t, st, 8, 24) {
		t.Error("ranges without the new row are stale")
	}
	var steps []string
	afterRollupStep = func(s string) { steps = append(steps, s) }
	defer func() { afterRollupStep = nil }()
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if !fresh(t, st, 0, 24) {
		t.Error("stale after the refresh")
	}
	if n := count(t, st, `SELECT count(*) FROM flow_rollup_state WHERE hour = ?`, rollupBase.Add(7*time.Hour).UnixMilli()/3600000); n != 2 {
		t.Errorf("hour 7 has %d state rows, want 2 (accounts)", n)
	}
	if n := count(t, st, `SELECT count(*) FROM flow_rollup_top WHERE packets >= 1000000000`); n == 0 {
		t.Error("the refresh recomputed hour 3, which did not change")
	}
	if _, err := st.db.Exec(`UPDATE flow_rollup_top SET packets = packets - 1000000000 WHERE packets >= 1000000000`); err != nil {
		t.Fatal(err)
	}
	top := topOf(t, st, RollupSources, true, 0, 24, "")
	if !strings.HasPrefix(top[0], "198.51.100.7 50000000 9 1") {
		t.Errorf("the new talker is not first: %v", top)
	}
	checkExact(t, st, 0, 24, "")
	if !slices.Contains(steps, "top pairs") {
		t.Errorf("refresh steps %v", steps)
	}

	// Retention deletes hours 0-1.
	if n, err := st.Prune(ctx, "vpcflow", rollupBase.Add(2*time.Hour)); err != nil || n != 2000 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if fresh(t, st, 5, 9) {
		t.Error("fresh after a prune")
	}
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM flow_rollup_top WHERE hour < ?`, rollupBase.Add(2*time.Hour).UnixMilli()/3600000); n != 0 {
		t.Errorf("%d rollup rows of pruned hours", n)
	}
	if !fresh(t, st, 0, 24) {
		t.Error("stale after the refresh")
	}
	checkExact(t, st, 0, 24, "")
}

// TestRollupCancelled cancels a refresh after each of its statements in
// turn: the rollup stays as it was (the refresh is one transaction), and
// the next refresh completes it.
func TestRollupCancelled(t *testing.T) {
	st, _ := openTemp(t)
	addFlows(t, st, 0, 6, 1000, rollupBase.Add(48*time.Hour))
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	addFlows(t, st, 6, 12, 1000, rollupBase.Add(49*time.Hour))
	before := snapshot(t, st)
	defer func() { afterRollupStep = nil }()
	cancelled := 0
	for step := 1; ; step++ {
		c, cancel := context.WithCancel(ctx)
		n := 0
		afterRollupStep = func(string) {
			if n++; n == step {
				cancel()
			}
		}
		err := st.RefreshRollups(c)
		cancel()
		if err == nil {
			break
		}
		cancelled++
		if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "nterrupt") {
			t.Fatalf("step %d: %v", step, err)
		}
		if got := snapshot(t, st); got != before {
			t.Fatalf("cancelled after step %d, the rollup changed", step)
		}
		if fresh(t, st, 0, 12) {
			t.Fatalf("cancelled after step %d, the rollup is fresh", step)
		}
		if step > 20 {
			t.Fatal("the refresh never finished")
		}
	}
	afterRollupStep = nil
	if cancelled < 9 {
		t.Errorf("cancelled after %d steps only", cancelled)
	}
	if !fresh(t, st, 0, 12) {
		t.Fatal("stale after the refresh")
	}
	checkExact(t, st, 0, 12, "")
}

// TestRollupReadOnly: a read-only store never refreshes and reports a
// stale rollup as stale (the dashboards then run the exact SQL).
func TestRollupReadOnly(t *testing.T) {
	st, path := openTemp(t)
	addFlows(t, st, 0, 4, 500, rollupBase.Add(48*time.Hour))
	st.Close()
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := ro.RollupFresh(ctx, time.Time{}, time.Time{}); err != nil || ok {
		t.Fatalf("read-only fresh = %v, %v", ok, err)
	}
	if n := count(t, ro, `SELECT count(*) FROM flow_rollup_state`); n != 0 {
		t.Errorf("a read-only store refreshed: %d state rows", n)
	}
}

// TestRollupMigrateFromVersion8 opens a store of schema version 8 (without
// the rollup's tables) holding flows: they are created, and a refresh
// builds the rollup from the old rows. A version-8 file opened read-only
// is never fresh.
func TestRollupMigrateFromVersion8(t *testing.T) {
	st, path := openTemp(t)
	addFlows(t, st, 0, 4, 500, rollupBase.Add(48*time.Hour))
	for _, q := range []string{`DROP TABLE flow_rollup_state`, `DROP TABLE flow_rollup_top`, `UPDATE trawl_meta SET value = '8' WHERE key = 'schema_version'`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := ro.RollupFresh(ctx, time.Time{}, time.Time{}); err != nil || ok {
		t.Fatalf("a version-8 store: fresh = %v, %v", ok, err)
	}
	ro.Close()
	st, err = Open(ctx, filepath.Clean(path), Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v := count(t, st, `SELECT value::INT FROM trawl_meta WHERE key = 'schema_version'`); v != SchemaVersion {
		t.Fatalf("schema version %d", v)
	}
	if err := st.RefreshRollups(ctx); err != nil {
		t.Fatal(err)
	}
	if !fresh(t, st, 0, 4) {
		t.Fatal("stale after the refresh")
	}
	checkExact(t, st, 0, 4, "")
}

// TestRunRollups: the background refresh builds the rollup at its start
// and, after a transaction commits flow records, refreshes again without
// being asked; it ends with its context.
func TestRunRollups(t *testing.T) {
	st, _ := openTemp(t)
	addFlows(t, st, 0, 2, 200, rollupBase.Add(48*time.Hour))
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.RunRollups(c, 10*time.Millisecond, func(err error) { t.Error(err) })
	}()
	waitFresh := func(what string) {
		t.Helper()
		for i := 0; i < 600 && !freshAll(t, st); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if !freshAll(t, st) {
			t.Fatalf("%s: the rollup did not become fresh", what)
		}
	}
	waitFresh("at the start")
	tx := mustTx(t, st)
	rec := flowRec("2 123 eni-1 198.51.100.9 10.0.0.1", func(r *event.VPCFlow) {
		r.SetStr(event.FlowSrcAddr, 12, 12)
		r.SetInt(event.FlowBytes, 1<<40)
		r.SetStart(rollupBase.Add(time.Hour).Unix())
	})
	if err := tx.Write(ctx, &event.Batch{Object: "late.log", VPCFlow: []event.VPCFlow{rec}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFresh("after a commit")
	if n := count(t, st, `SELECT count(*) FROM flow_rollup_top WHERE kind = 'src' AND srcaddr = '198.51.100.9'`); n != 1 {
		t.Errorf("the committed talker is in %d rollup rows, want 1", n)
	}
	cancel()
	<-done
}
