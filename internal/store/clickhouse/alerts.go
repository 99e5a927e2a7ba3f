package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store"
	"github.com/trawl-project/trawl/internal/store/duckdb"
)

// Alerts on ClickHouse keep DuckDB's rules (see internal/store/duckdb's
// alerts.go: how hits become alerts, suppression, reminders, the outbox)
// on tables that are only ever inserted into, as ClickHouse has no
// transactions and no cheap UPDATE:
//
//   - alert_base: one row per alert, what its first hit said (immutable);
//   - alert_hit: one row per hit absorbed (event ids, count, times, fields);
//   - alert_state: status and note, a ReplacingMergeTree keyed by alert id
//     whose newest version wins (read with FINAL); no row means open;
//   - alert_outbox_data: one row per queued delivery (immutable);
//   - alert_delivery: a delivery's state (status, attempts, next attempt,
//     error), newest version wins; no row means pending, due at once;
//   - alert_claim: which worker has taken a delivery and until when.
//
// The views alert and alert_outbox show them with DuckDB's columns (times
// to the second: ClickHouse 18.16 has no sub-second DateTime; the tables
// keep microseconds, which the methods return).
//
// Writers serialise on a lock: the table alert_lock, created with CREATE
// TABLE (atomic on one server: exactly one of several concurrent creators
// succeeds) and dropped when done. A lock older than lockLease is taken to
// be left by a crashed holder and is broken. Under it RecordHits reads the
// open alerts and the next ids (max + 1: ids are 1, 2, 3… as in DuckDB)
// and inserts, and DueDeliveries claims deliveries, so several `trawl run`
// processes on one database neither split one alert in two nor send one
// delivery twice at once. Delivery is at least once, as with DuckDB's
// outbox: a worker that dies after sending and before MarkDelivered leaves
// the delivery to be sent again once its claim (claimLease) expires.

// AlertOptions configure how hits become alerts (the DuckDB store's type,
// so that callers configure either store alike).
type AlertOptions = duckdb.AlertOptions

// AlertFilter selects alerts (the DuckDB store's type).
type AlertFilter = duckdb.AlertFilter

// ErrNoAlert is returned (wrapped) for an alert id that does not exist;
// it is the DuckDB store's error, so errors.Is works for either store.
var ErrNoAlert = duckdb.ErrNoAlert

// maxHitIDs caps the event ids stored for one hit, as in DuckDB.
const maxHitIDs = 1000

// lockLease is the age after which the alert lock is taken to be stale;
// claimLease is how long a worker's claim on a delivery keeps other
// workers from taking it.
var (
	lockLease  = 2 * time.Minute
	claimLease = 5 * time.Minute
)

// idChunk is how many values go in one IN list (ClickHouse parses queries
// of at most 256 KiB by default).
const idChunk = 2000

// alertState is a store's alert configuration and bookkeeping.
type alertState struct {
	mu      sync.Mutex
	opt     AlertOptions
	ready   bool  // tables created
	lastVer int64 // the last version handed out (microseconds)
}

// alertStates holds each Store's alertState (the Store type is CH1's; its
// fields stay its own). A Store's entry lives as long as the process.
var alertStates sync.Map // *Store → *alertState

func (s *Store) alerts() *alertState {
	if st, ok := alertStates.Load(s); ok {
		return st.(*alertState)
	}
	st, _ := alertStates.LoadOrStore(s, &alertState{})
	return st.(*alertState)
}

// SetAlertOptions sets how hits become alerts and deliveries, for every
// call afterwards.
func (s *Store) SetAlertOptions(o AlertOptions) {
	a := s.alerts()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.opt = o
}

func (s *Store) alertOptions() AlertOptions {
	a := s.alerts()
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.opt
	if o.DefaultSuppress <= 0 {
		o.DefaultSuppress = duckdb.DefaultSuppress
	}
	return o
}

// rowVersion returns a row version: the time in microseconds, strictly
// increasing within this process.
func (s *Store) rowVersion() uint64 {
	a := s.alerts()
	a.mu.Lock()
	defer a.mu.Unlock()
	v := max(time.Now().UnixMicro(), a.lastVer+1)
	a.lastVer = v
	return uint64(v)
}

// AlertDDL returns the statements creating the alert tables and views in
// database (unqualified when ""). Both variants use the same tables.
func AlertDDL(v Variant, database string) []string {
	_ = v
	p := ""
	if database != "" {
		p = QuoteIdent(database) + "."
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_base (id Int64, rule_id String, severity String, title String, log_type String,
  dedup_key String, tags Array(String), created_us Int64) ENGINE = MergeTree ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_hit (seq Int64, alert_id Int64, rule_id String, event_ids Array(String), n Int64,
  first_us Int64, last_us Int64, fields String, recorded_us Int64) ENGINE = MergeTree ORDER BY (rule_id, alert_id, seq)`,
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_state (id Int64, status String, note String, status_us Int64, closed_us Nullable(Int64),
  version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_outbox_data (id Int64, alert_id Int64, notifier String, reason String, created_us Int64)
  ENGINE = MergeTree ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_delivery (id Int64, status String, attempts Int64, next_us Int64,
  last_attempt_us Nullable(Int64), delivered_us Nullable(Int64), last_error Nullable(String), version UInt64)
  ENGINE = ReplacingMergeTree(version) ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS ` + p + `alert_claim (id Int64, worker String, until_us Int64, version UInt64)
  ENGINE = ReplacingMergeTree(version) ORDER BY id`,
		`CREATE VIEW IF NOT EXISTS ` + p + `alert AS SELECT id, rule_id, severity, title,
  ` + dt("first_us") + ` AS first_seen, ` + dt("last_us") + ` AS last_seen, hit_count AS ` + "`count`" + `, status, log_type, event_ids,
  dedup_key, tags, if(fields_json = '', NULL, fields_json) AS fields, if(note_text = '', NULL, note_text) AS note,
  ` + dt("created_us") + ` AS created_at, ` + dt("updated_us") + ` AS updated_at, ` + dt("closed_us") + ` AS closed_at
FROM (` + alertCore(p) + `)`,
		`CREATE VIEW IF NOT EXISTS ` + p + `alert_outbox AS SELECT id, alert_id, notifier, reason, status, attempts,
  ` + dt("created_us") + ` AS created_at, ` + dt("next_at_us") + ` AS next_attempt_at, ` + dt("last_attempt_us") + ` AS last_attempt_at,
  ` + dt("delivered_us") + ` AS delivered_at, last_error
FROM (` + deliveryCore(p) + `)`,
	}
}

// dt converts a microseconds column to a DateTime (UTC, to the second).
func dt(col string) string {
	return "toDateTime(intDiv(" + col + ", 1000000), 'UTC')"
}

// alertCore is every alert with its hits added up and its current state,
// times in microseconds. Its fields are those of the newest hit that has
// any, as DuckDB's arg_max skips NULL fields. p prefixes table names (a database and a dot).
func alertCore(p string) string {
	return `SELECT id, rule_id, severity, title, log_type, dedup_key, tags, created_us, first_us, last_us, hit_count, event_ids,
  fields_json, if(st = '', 'open', st) AS status, note_text, greatest(if(status_us = 0, created_us, status_us), hits_us) AS updated_us, closed_us
FROM (
  SELECT id, rule_id, severity, title, log_type, dedup_key, tags, created_us, first_us, last_us, hit_count, event_ids, fields_json, hits_us
  FROM ` + p + `alert_base ANY INNER JOIN (
    SELECT alert_id AS id, min(first_us) AS first_us, max(last_us) AS last_us, sum(n) AS hit_count,
      arraySlice(arrayReduce('groupArrayArray', arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((seq, event_ids))))), 1, ` + strconv.Itoa(alert.MaxEventIDs) + `) AS event_ids,
      argMaxIf(fields, seq, fields != '') AS fields_json, max(recorded_us) AS hits_us
    FROM ` + p + `alert_hit GROUP BY alert_id) USING id
) ANY LEFT JOIN (SELECT id, status AS st, note AS note_text, status_us, closed_us FROM ` + p + `alert_state FINAL) USING id`
}

// deliveryCore is every outbox row with its current state, times in
// microseconds.
func deliveryCore(p string) string { return deliveryCoreOf(p, "") }

// deliveryCoreOf is deliveryCore of the ids that match ids (a condition on
// id, or "" for all), applied to both sides of the join.
func deliveryCoreOf(p, ids string) string {
	where := ""
	if ids != "" {
		where = " WHERE " + ids
	}
	return `SELECT id, alert_id, notifier, reason, if(st = '', 'pending', st) AS status, attempts, created_us,
  if(st = '', created_us, next_us) AS next_at_us, last_attempt_us, delivered_us, last_error
FROM (SELECT id, alert_id, notifier, reason, created_us FROM ` + p + `alert_outbox_data` + where + `) ANY LEFT JOIN (
  SELECT id, status AS st, attempts, next_us, last_attempt_us, delivered_us, last_error FROM ` + p + `alert_delivery FINAL` + where + `) USING id`
}

// alertTables creates the alert tables on first use (not on a read-only
// store, whose queries then fail naming the missing table).
func (s *Store) alertTables(ctx context.Context) error {
	a := s.alerts()
	a.mu.Lock()
	ready := a.ready
	a.mu.Unlock()
	if ready || s.readOnly {
		return nil
	}
	for _, q := range AlertDDL(s.variant, s.dsn.Database) {
		if err := s.c.Exec(ctx, q); err != nil {
			return fmt.Errorf("creating the alert tables: %w", err)
		}
	}
	a.mu.Lock()
	a.ready = true
	a.mu.Unlock()
	return nil
}

// lockAlerts takes the alert lock and returns the function releasing it.
func (s *Store) lockAlerts(ctx context.Context) (func(), error) {
	wait := 5 * time.Millisecond
	for {
		err := s.c.Exec(ctx, `CREATE TABLE alert_lock (holder String) ENGINE = TinyLog`)
		if err == nil {
			return func() {
				_ = s.c.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS alert_lock`)
			}, nil
		}
		if msg := err.Error(); !IsCode(err, 57) && !strings.Contains(msg, "right now") && !strings.Contains(msg, "already exists") {
			return nil, fmt.Errorf("taking the alert lock: %w", err)
		}
		var age int64 = -1
		err = s.each(ctx, `SELECT toInt64(now()) - toInt64(metadata_modification_time) FROM system.tables
			WHERE database = currentDatabase() AND name = 'alert_lock'`, func(v []any) error {
			age, _ = v[0].(int64)
			return nil
		})
		if IsCode(err, CodeUnknownTable) {
			continue // dropped while system.tables was read: try again
		}
		if err != nil {
			return nil, fmt.Errorf("taking the alert lock: %w", err)
		}
		if age > int64(lockLease/time.Second) {
			// Left by a holder that died: break it.
			if err := s.c.Exec(ctx, `DROP TABLE IF EXISTS alert_lock`); err != nil {
				return nil, fmt.Errorf("breaking a stale alert lock: %w", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the alert lock: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// each runs a query (args bound) and calls fn with every row's values.
func (s *Store) each(ctx context.Context, sql string, fn func([]any) error, args ...any) error {
	rows, err := s.query(ctx, store.Request{SQL: sql, Args: args}, "")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Values()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// insertRows inserts rows (column name → value) as JSONEachRow.
func (s *Store) insertRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	var b []byte
	for _, r := range rows {
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = r[i]
		}
		line, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("inserting into %s: %w", table, err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := s.c.InsertJSON(ctx, table, cols, b); err != nil {
		return fmt.Errorf("inserting %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// literalList writes values as a parenthesised list of literals.
func literalList[T any](vals []T) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i], _ = Literal(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// chunks calls fn with consecutive pieces of vals of at most idChunk
// values and about listBytes of literal text, so that no query passes
// ClickHouse's default max_query_size (256 KiB).
func chunks[T any](vals []T, fn func([]T) error) error {
	for len(vals) > 0 {
		n, size := 0, 0
		for n < len(vals) && n < idChunk && size < listBytes {
			size += len(fmt.Sprint(vals[n])) + 8
			n++
		}
		if err := fn(vals[:n]); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// listBytes bounds the text of one IN list.
const listBytes = 96 << 10

func i64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func usTime(v any) time.Time {
	if v == nil {
		return time.Time{}
	}
	return time.UnixMicro(i64(v)).UTC()
}

// openAlert is what applying hits needs to know of an alert that may
// absorb them.
type openAlert struct {
	id                  int64
	firstSeen, lastSeen time.Time
	severity            string
	notified            time.Time
}

// RecordHits stores hits (from ingest or from scheduled rules and
// backfill) and returns how many alerts were created and how many
// updated, with DuckDB's rules: a hit is absorbed by the newest open or
// acknowledged alert of its rule and dedup key within its suppression
// window, or opens a new alert (queueing a delivery per routed notifier);
// hits whose records are all in alerts of their rule already are ignored,
// so recording the same hits twice changes nothing. Writers serialise on
// the alert lock; the rows are inserted base, outbox, hits, so a crash in
// between leaves at worst an alert nobody sees or a delivery queued twice,
// never a hit recorded without its delivery.
func (s *Store) RecordHits(ctx context.Context, hits []event.Hit) (created, updated int, err error) {
	if len(hits) == 0 {
		return 0, 0, nil
	}
	if s.readOnly {
		return 0, 0, errors.New("recording hits: the store is read-only")
	}
	if err := s.alertTables(ctx); err != nil {
		return 0, 0, err
	}
	unlock, err := s.lockAlerts(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	return s.applyHits(ctx, hits, s.alertOptions(), time.Now().UTC().Truncate(time.Microsecond))
}

func init() {
	HitsWriter = recordTxHits
	// SHOW TABLES lists what DuckDB lists (alert_base, alert_hit and the
	// views alert and alert_outbox), not the state tables and the lock.
	internalTables = append(internalTables, "alert_state", "alert_delivery", "alert_claim", "alert_lock")
}

// recordTxHits records the hits of an ingest transaction (Tx.Flush, before
// the ledger rows): RecordHits at the transaction's time. A crash before the
// ledger is written re-reads the object, and its hits, whose records are
// then in alerts already, are dropped.
func recordTxHits(ctx context.Context, s *Store, hits []event.Hit, now time.Time) error {
	if err := s.alertTables(ctx); err != nil {
		return err
	}
	unlock, err := s.lockAlerts(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, _, err = s.applyHits(ctx, hits, s.alertOptions(), now.UTC().Truncate(time.Microsecond))
	return err
}

func (s *Store) applyHits(ctx context.Context, hits []event.Hit, opt AlertOptions, now time.Time) (created, updated int, err error) {
	var ids, rules []string
	seenRule := map[string]bool{}
	type rk struct{ rule, key string }
	var keys [][2]string
	seenKey := map[rk]bool{}
	for i := range hits {
		ids = append(ids, hits[i].EventIDs...)
		if !seenRule[hits[i].RuleID] {
			seenRule[hits[i].RuleID] = true
			rules = append(rules, hits[i].RuleID)
		}
		k := rk{hits[i].RuleID, hits[i].DedupKey}
		if !seenKey[k] {
			seenKey[k] = true
			keys = append(keys, [2]string{k.rule, k.key})
		}
	}
	known := map[string]bool{} // rule \x00 event id
	if len(ids) > 0 {
		lo, hi := hitSpan(hits)
		err := chunks(ids, func(part []string) error {
			return s.each(ctx, `SELECT rule_id, eid FROM alert_hit ARRAY JOIN event_ids AS eid
				WHERE rule_id IN `+literalList(rules)+` AND last_us >= ? AND first_us <= ? AND eid IN `+literalList(part),
				func(v []any) error {
					known[str(v[0])+"\x00"+str(v[1])] = true
					return nil
				}, lo.UnixMicro(), hi.UnixMicro())
		})
		if err != nil {
			return 0, 0, fmt.Errorf("reading the event ids of alerts: %w", err)
		}
	}
	open, err := s.openAlerts(ctx, keys)
	if err != nil {
		return 0, 0, err
	}
	var maxAlert, maxSeq, maxOutbox int64
	err = s.each(ctx, `SELECT (SELECT max(id) FROM alert_base), (SELECT max(seq) FROM alert_hit), (SELECT max(id) FROM alert_outbox_data)`,
		func(v []any) error {
			maxAlert, maxSeq, maxOutbox = i64(v[0]), i64(v[1]), i64(v[2])
			return nil
		})
	if err != nil {
		return 0, 0, fmt.Errorf("numbering new alerts: %w", err)
	}
	nowUS := now.UnixMicro()
	var bases, outbox, hitRows [][]any
	queue := func(alertID int64, notifier, reason string) {
		maxOutbox++
		outbox = append(outbox, []any{maxOutbox, alertID, notifier, reason, nowUS})
	}
	for i := range hits {
		h := &hits[i]
		var fresh []string
		for _, id := range h.EventIDs {
			k := h.RuleID + "\x00" + id
			if !known[k] {
				known[k] = true
				fresh = append(fresh, id)
			}
		}
		if len(h.EventIDs) > 0 && len(fresh) == 0 {
			continue // every record is in an alert already
		}
		count := max(max(h.Count, 1)-int64(len(h.EventIDs)-len(fresh)), 1)
		first, last := h.Times(now)
		suppress := h.Suppress
		if suppress <= 0 {
			suppress = opt.DefaultSuppress
		}
		key := h.RuleID + "\x00" + h.DedupKey
		var a openAlert
		j := -1
		for i := len(open[key]) - 1; i >= 0; i-- {
			o := open[key][i]
			if !first.After(o.lastSeen.Add(suppress)) && !last.Before(o.firstSeen.Add(-suppress)) {
				a, j = o, i
				break
			}
		}
		if j >= 0 {
			updated++
			if opt.RemindAfter > 0 && opt.Route != nil && !now.Before(a.notified.Add(opt.RemindAfter)) {
				for _, n := range opt.Route(h.RuleID, a.severity) {
					queue(a.id, n, "reminder")
				}
				a.notified = now
			}
		} else {
			created++
			maxAlert++
			a.id = maxAlert
			sev := strings.ToLower(h.Severity)
			if sev == "" {
				sev = "medium"
			}
			bases = append(bases, []any{a.id, h.RuleID, sev, h.Title, logType(h.LogType), h.DedupKey, nonNil(h.Tags), nowUS})
			if opt.Route != nil {
				for _, n := range opt.Route(h.RuleID, sev) {
					queue(a.id, n, "created")
				}
			}
			a.firstSeen, a.lastSeen, a.severity, a.notified = first, last, sev, now
			open[key] = append(open[key], a)
			j = len(open[key]) - 1
		}
		if last.After(a.lastSeen) {
			a.lastSeen = last
		}
		if first.Before(a.firstSeen) {
			a.firstSeen = first
		}
		open[key][j] = a
		stored := fresh
		if len(stored) > maxHitIDs {
			stored = stored[:maxHitIDs]
		}
		fields := ""
		if len(h.Fields) > 0 {
			b, err := json.Marshal(h.Fields)
			if err != nil {
				return 0, 0, fmt.Errorf("encoding the fields of a hit of rule %s: %w", h.RuleID, err)
			}
			fields = string(b)
		}
		maxSeq++
		hitRows = append(hitRows, []any{maxSeq, a.id, h.RuleID, nonNil(stored), count, first.UnixMicro(), last.UnixMicro(), fields, nowUS})
	}
	if err := s.insertRows(ctx, "alert_base", []string{"id", "rule_id", "severity", "title", "log_type", "dedup_key", "tags", "created_us"}, bases); err != nil {
		return 0, 0, fmt.Errorf("creating alerts: %w", err)
	}
	if err := s.insertRows(ctx, "alert_outbox_data", []string{"id", "alert_id", "notifier", "reason", "created_us"}, outbox); err != nil {
		return 0, 0, fmt.Errorf("queueing alert deliveries: %w", err)
	}
	if err := s.insertRows(ctx, "alert_hit", []string{"seq", "alert_id", "rule_id", "event_ids", "n", "first_us", "last_us", "fields", "recorded_us"}, hitRows); err != nil {
		return 0, 0, fmt.Errorf("recording hits: %w", err)
	}
	return created, updated, nil
}

// openAlerts returns the open and acknowledged alerts of the (rule, dedup
// key) pairs, by rule \x00 key, oldest first. The pieces are read apart
// and joined here: ClickHouse 18.16 joins two tables per SELECT.
func (s *Store) openAlerts(ctx context.Context, keys [][2]string) (map[string][]openAlert, error) {
	type cand struct {
		key      string
		severity string
		created  int64
	}
	cands := map[int64]*cand{}
	var ids []int64
	err := chunks(keys, func(part [][2]string) error {
		tuples := make([]string, len(part))
		for i, k := range part {
			tuples[i] = "(" + QuoteString(k[0]) + ", " + QuoteString(k[1]) + ")"
		}
		return s.each(ctx, `SELECT id, rule_id, dedup_key, severity, created_us FROM alert_base
			WHERE (rule_id, dedup_key) IN (`+strings.Join(tuples, ", ")+`)`, func(v []any) error {
			id := i64(v[0])
			cands[id] = &cand{key: str(v[1]) + "\x00" + str(v[2]), severity: str(v[3]), created: i64(v[4])}
			ids = append(ids, id)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading open alerts: %w", err)
	}
	closed := map[int64]bool{}
	spans := map[int64][2]int64{}
	notified := map[int64]int64{}
	err = chunks(ids, func(part []int64) error {
		in := literalList(part)
		if err := s.each(ctx, `SELECT id FROM alert_state FINAL WHERE id IN `+in+` AND status = 'closed'`, func(v []any) error {
			closed[i64(v[0])] = true
			return nil
		}); err != nil {
			return err
		}
		if err := s.each(ctx, `SELECT alert_id, min(first_us), max(last_us) FROM alert_hit WHERE alert_id IN `+in+` GROUP BY alert_id`, func(v []any) error {
			spans[i64(v[0])] = [2]int64{i64(v[1]), i64(v[2])}
			return nil
		}); err != nil {
			return err
		}
		return s.each(ctx, `SELECT alert_id, max(created_us) FROM alert_outbox_data WHERE alert_id IN `+in+` GROUP BY alert_id`, func(v []any) error {
			notified[i64(v[0])] = i64(v[1])
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading open alerts: %w", err)
	}
	slices.Sort(ids)
	open := map[string][]openAlert{}
	for _, id := range ids {
		c := cands[id]
		sp, ok := spans[id]
		if closed[id] || !ok {
			continue // closed, or created by a writer that died before its hits
		}
		n := c.created
		if x, ok := notified[id]; ok {
			n = x
		}
		open[c.key] = append(open[c.key], openAlert{id: id, firstSeen: usTime(sp[0]), lastSeen: usTime(sp[1]), severity: c.severity, notified: usTime(n)})
	}
	return open, nil
}

const alertCols = `id, rule_id, severity, title, first_us, last_us, hit_count, status, log_type, event_ids, dedup_key, tags,
	fields_json, note_text, created_us, updated_us, closed_us`

// Alerts returns the alerts f selects, the newest activity first.
func (s *Store) Alerts(ctx context.Context, f AlertFilter) ([]alert.Alert, error) {
	if err := s.alertTables(ctx); err != nil {
		return nil, err
	}
	var where []string
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			st[i] = string(v)
		}
		where = append(where, `status IN `+literalList(st))
	}
	if r := alert.SeverityRank(f.MinSeverity); r > 0 {
		where = append(where, `severity IN `+literalList(alert.Severities[r:]))
	}
	if len(f.Rules) > 0 {
		var or []string
		for _, r := range f.Rules {
			if p, ok := strings.CutSuffix(r, "*"); ok {
				or = append(or, `startsWith(rule_id, `+QuoteString(p)+`)`)
			} else {
				or = append(or, `rule_id = `+QuoteString(r))
			}
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if !f.Since.IsZero() {
		where = append(where, `last_us >= `+strconv.FormatInt(f.Since.UnixMicro(), 10))
	}
	q := `SELECT ` + alertCols + ` FROM (` + alertCore("") + `)`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY last_us DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []alert.Alert
	err := s.each(ctx, q, func(v []any) error {
		a, err := scanAlert(v)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert, or an error wrapping ErrNoAlert.
func (s *Store) Alert(ctx context.Context, id int64) (alert.Alert, error) {
	if err := s.alertTables(ctx); err != nil {
		return alert.Alert{}, err
	}
	var out []alert.Alert
	err := s.each(ctx, `SELECT `+alertCols+` FROM (`+alertCore("")+`) WHERE id = ?`, func(v []any) error {
		a, err := scanAlert(v)
		out = append(out, a)
		return err
	}, id)
	if err != nil {
		return alert.Alert{}, fmt.Errorf("reading alert %d: %w", id, err)
	}
	if len(out) == 0 {
		return alert.Alert{}, fmt.Errorf("alert %d: %w", id, ErrNoAlert)
	}
	return out[0], nil
}

func scanAlert(v []any) (alert.Alert, error) {
	a := alert.Alert{ID: i64(v[0]), RuleID: str(v[1]), Severity: str(v[2]), Title: str(v[3]), FirstSeen: usTime(v[4]), LastSeen: usTime(v[5]),
		Count: i64(v[6]), Status: alert.Status(str(v[7])), LogType: str(v[8]), EventIDs: store.Strings(v[9]), DedupKey: str(v[10]),
		Tags: store.Strings(v[11]), Note: str(v[13]), CreatedAt: usTime(v[14]), UpdatedAt: usTime(v[15]), ClosedAt: usTime(v[16])}
	if f := str(v[12]); f != "" {
		if err := json.Unmarshal([]byte(f), &a.Fields); err != nil {
			return a, fmt.Errorf("alert %d: reading fields: %w", a.ID, err)
		}
	}
	return a, nil
}

// SetAlertStatus changes an alert's status (acknowledged or closed; open
// re-opens one) and, when note is not empty, its note. Two changes of one
// alert at once: the later version wins.
func (s *Store) SetAlertStatus(ctx context.Context, id int64, st alert.Status, note string) error {
	if _, ok := alert.ParseStatus(string(st)); !ok {
		return fmt.Errorf("alert %d: unknown status %q", id, st)
	}
	cur, err := s.Alert(ctx, id)
	if err != nil {
		return err
	}
	if note == "" {
		note = cur.Note
	}
	now := time.Now().UTC().UnixMicro()
	var closed any
	if st == alert.Closed {
		closed = now
	}
	err = s.insertRows(ctx, "alert_state", []string{"id", "status", "note", "status_us", "closed_us", "version"},
		[][]any{{id, string(st), note, now, closed, s.rowVersion()}})
	if err != nil {
		return fmt.Errorf("setting alert %d to %s: %w", id, st, err)
	}
	return nil
}

const deliveryCols = `id, alert_id, notifier, reason, status, attempts, created_us, next_at_us, delivered_us, coalesce(last_error, '')`

func (s *Store) deliveries(ctx context.Context, where string) ([]alert.Delivery, error) {
	if err := s.alertTables(ctx); err != nil {
		return nil, err
	}
	var out []alert.Delivery
	err := s.each(ctx, `SELECT `+deliveryCols+` FROM (`+deliveryCore("")+`) `+where, func(v []any) error {
		out = append(out, alert.Delivery{ID: i64(v[0]), AlertID: i64(v[1]), Notifier: str(v[2]), Reason: str(v[3]),
			Status: alert.DeliveryStatus(str(v[4])), Attempts: int(i64(v[5])), CreatedAt: usTime(v[6]), NextAttempt: usTime(v[7]),
			DeliveredAt: usTime(v[8]), LastError: str(v[9])})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the alert outbox: %w", err)
	}
	return out, nil
}

// DueDeliveries returns up to limit pending deliveries whose next attempt
// is at or before now, oldest first, leaving out the ids in skip (those in
// flight) and those another worker has claimed; it claims the ones it
// returns for claimLease.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int, skip []int64) ([]alert.Delivery, error) {
	where := func() string {
		w := `WHERE status = 'pending' AND next_at_us <= ` + strconv.FormatInt(now.UnixMicro(), 10) +
			` AND id NOT IN (SELECT id FROM alert_claim FINAL WHERE until_us > ` + strconv.FormatInt(time.Now().UnixMicro(), 10) +
			` AND worker <> ` + QuoteString(s.writer) + `)`
		if len(skip) > 0 {
			w += ` AND id NOT IN ` + literalList(skip)
		}
		return w + fmt.Sprintf(` ORDER BY next_at_us, id LIMIT %d`, limit)
	}
	due, err := s.deliveries(ctx, where())
	if err != nil || len(due) == 0 || s.readOnly {
		return due, err
	}
	// Something is due: claim it under the lock, reading again.
	unlock, err := s.lockAlerts(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if due, err = s.deliveries(ctx, where()); err != nil || len(due) == 0 {
		return due, err
	}
	until := time.Now().Add(claimLease).UnixMicro()
	rows := make([][]any, len(due))
	for i, d := range due {
		rows[i] = []any{d.ID, s.writer, until, s.rowVersion()}
	}
	if err := s.insertRows(ctx, "alert_claim", []string{"id", "worker", "until_us", "version"}, rows); err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", err)
	}
	return due, nil
}

// Deliveries returns the outbox rows of the given statuses (all when
// none), the newest first, at most limit (0: no limit).
func (s *Store) Deliveries(ctx context.Context, statuses []alert.DeliveryStatus, limit int) ([]alert.Delivery, error) {
	q := ""
	if len(statuses) > 0 {
		st := make([]string, len(statuses))
		for i, v := range statuses {
			st[i] = string(v)
		}
		q = `WHERE status IN ` + literalList(st)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return s.deliveries(ctx, q)
}

// deliveryRow is a delivery's current state as alert_delivery holds it.
type deliveryRow struct {
	status                         string
	attempts, next                 int64
	lastAttempt, delivered, lastEr any
}

// currentDeliveries returns the state of deliveries: those whose id
// matches ids ("" for all) selected by where.
func (s *Store) currentDeliveries(ctx context.Context, ids, where string) (map[int64]deliveryRow, error) {
	if err := s.alertTables(ctx); err != nil {
		return nil, err
	}
	out := map[int64]deliveryRow{}
	err := s.each(ctx, `SELECT id, status, attempts, next_at_us, last_attempt_us, delivered_us, last_error FROM (`+deliveryCoreOf("", ids)+`) `+where,
		func(v []any) error {
			out[i64(v[0])] = deliveryRow{status: str(v[1]), attempts: i64(v[2]), next: i64(v[3]), lastAttempt: v[4], delivered: v[5], lastEr: v[6]}
			return nil
		})
	return out, err
}

var deliveryStateCols = []string{"id", "status", "attempts", "next_us", "last_attempt_us", "delivered_us", "last_error", "version"}

// MarkDelivered records that delivery id was sent at at. A delivered row
// is never returned by DueDeliveries again.
func (s *Store) MarkDelivered(ctx context.Context, id int64, attempts int, at time.Time) error {
	cur, err := s.currentDeliveries(ctx, fmt.Sprintf("id = %d", id), "")
	if err != nil {
		return fmt.Errorf("marking delivery %d delivered: %w", id, err)
	}
	d, ok := cur[id]
	if !ok {
		return nil // as DuckDB's UPDATE of no row
	}
	err = s.insertRows(ctx, "alert_delivery", deliveryStateCols,
		[][]any{{id, string(alert.Delivered), attempts, d.next, at.UnixMicro(), at.UnixMicro(), nil, s.rowVersion()}})
	if err != nil {
		return fmt.Errorf("marking delivery %d delivered: %w", id, err)
	}
	return nil
}

// MarkRetry records a failed attempt of delivery id and when to try next;
// with next zero the delivery is marked failed (no more attempts). It
// gives up this worker's claim, so any worker may take the retry.
func (s *Store) MarkRetry(ctx context.Context, id int64, attempts int, at, next time.Time, reason string) error {
	status := string(alert.Pending)
	if next.IsZero() {
		status, next = string(alert.Failed), at
	}
	cur, err := s.currentDeliveries(ctx, fmt.Sprintf("id = %d", id), "")
	if err != nil {
		return fmt.Errorf("recording a failed attempt of delivery %d: %w", id, err)
	}
	d, ok := cur[id]
	if !ok {
		return nil
	}
	err = s.insertRows(ctx, "alert_delivery", deliveryStateCols,
		[][]any{{id, status, attempts, next.UnixMicro(), at.UnixMicro(), d.delivered, reason, s.rowVersion()}})
	if err == nil {
		err = s.insertRows(ctx, "alert_claim", []string{"id", "worker", "until_us", "version"}, [][]any{{id, s.writer, 0, s.rowVersion()}})
	}
	if err != nil {
		return fmt.Errorf("recording a failed attempt of delivery %d: %w", id, err)
	}
	return nil
}

// RetryFailed makes failed deliveries pending again (all when ids is
// empty), to be sent at the worker's next pass; it returns how many.
func (s *Store) RetryFailed(ctx context.Context, ids []int64) (int64, error) {
	in := ""
	if len(ids) > 0 {
		in = `id IN ` + literalList(ids)
	}
	cur, err := s.currentDeliveries(ctx, in, `WHERE status = 'failed'`)
	if err != nil {
		return 0, fmt.Errorf("retrying failed deliveries: %w", err)
	}
	now := time.Now().UTC().UnixMicro()
	var rows [][]any
	for id, d := range cur {
		rows = append(rows, []any{id, string(alert.Pending), d.attempts, now, d.lastAttempt, d.delivered, d.lastEr, s.rowVersion()})
	}
	if err := s.insertRows(ctx, "alert_delivery", deliveryStateCols, rows); err != nil {
		return 0, fmt.Errorf("retrying failed deliveries: %w", err)
	}
	return int64(len(rows)), nil
}

func logType(k event.Kind) string {
	if k == event.KindUnknown {
		return ""
	}
	return k.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// hitSpan returns the earliest and latest time of hits' records, or the
// widest range when a hit has no time (then every stored hit is read).
func hitSpan(hits []event.Hit) (lo, hi time.Time) {
	lo, hi = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
	for i := range hits {
		first, last := hits[i].Times(time.Time{})
		if first.IsZero() {
			return time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if first.Before(lo) {
			lo = first
		}
		if last.After(hi) {
			hi = last
		}
	}
	return lo, hi
}
