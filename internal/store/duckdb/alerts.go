package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trawl-project/trawl/internal/alert"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/store"
)

// Alerts are stored in two tables and shown by a view (schemaAlerts):
// alert_base holds one row per alert (what the first hit said, and the
// status people change), alert_hit one row per hit absorbed (event ids,
// count, times, fields). Ingest only ever INSERTs into them and into
// alert_outbox: DuckDB refuses to update a row that another transaction
// changed after this one began, and an ingest transaction is long, so an
// `alerts ack` or a delivery worker updating a row must never be the reason
// an ingest fails. The view `alert` adds up the hits.

// DefaultSuppress is the suppression window of a hit that sets none and
// of a store with no AlertOptions.DefaultSuppress.
const DefaultSuppress = time.Hour

// maxHitIDs caps the event ids stored for one hit (a threshold over a
// large group); the count still counts them all.
const maxHitIDs = 1000

// AlertOptions configure how hits become alerts.
type AlertOptions struct {
	// DefaultSuppress is the window of hits with no Suppress of their own.
	DefaultSuppress time.Duration
	// Route returns the notifiers a new alert is delivered to; nil or an
	// empty result queues no delivery.
	Route func(ruleID, severity string) []string
	// RemindAfter, if set, queues a reminder to the same notifiers when
	// an alert absorbs a hit this long or longer after its last message.
	RemindAfter time.Duration
}

type alertConfig struct {
	mu  sync.RWMutex
	opt AlertOptions
}

func (c *alertConfig) get() AlertOptions {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o := c.opt
	if o.DefaultSuppress <= 0 {
		o.DefaultSuppress = DefaultSuppress
	}
	return o
}

// SetAlertOptions sets how hits become alerts and deliveries, for every
// transaction begun afterwards.
func (s *Store) SetAlertOptions(o AlertOptions) {
	s.alerts.mu.Lock()
	defer s.alerts.mu.Unlock()
	s.alerts.opt = o
}

// schemaAlerts is the migration that adds alerts and the outbox (schema
// version 7).
func schemaAlerts() []string {
	return []string{
		`CREATE SEQUENCE IF NOT EXISTS alert_id`,
		`CREATE SEQUENCE IF NOT EXISTS alert_hit_seq`,
		`CREATE SEQUENCE IF NOT EXISTS alert_outbox_id`,
		`CREATE TABLE IF NOT EXISTS alert_base (
  id BIGINT NOT NULL,
  rule_id VARCHAR NOT NULL,
  severity VARCHAR NOT NULL,
  title VARCHAR,
  log_type VARCHAR,
  dedup_key VARCHAR NOT NULL,
  tags VARCHAR[],
  status VARCHAR NOT NULL,
  note VARCHAR,
  created_at TIMESTAMPTZ NOT NULL,
  status_at TIMESTAMPTZ NOT NULL,
  closed_at TIMESTAMPTZ
)`,
		`CREATE TABLE IF NOT EXISTS alert_hit (
  seq BIGINT NOT NULL,
  alert_id BIGINT NOT NULL,
  rule_id VARCHAR NOT NULL,
  event_ids VARCHAR[],
  "count" BIGINT NOT NULL,
  first_seen TIMESTAMPTZ NOT NULL,
  last_seen TIMESTAMPTZ NOT NULL,
  fields JSON,
  recorded_at TIMESTAMPTZ NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS alert_outbox (
  id BIGINT NOT NULL,
  alert_id BIGINT NOT NULL,
  notifier VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  attempts INTEGER NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  last_attempt_at TIMESTAMPTZ,
  delivered_at TIMESTAMPTZ,
  last_error VARCHAR
)`,
		`CREATE OR REPLACE VIEW alert AS
SELECT b.id, b.rule_id, b.severity, b.title, h.first_seen, h.last_seen, h."count", b.status, b.log_type,
  h.event_ids, b.dedup_key, b.tags, h.fields, b.note, b.created_at,
  greatest(b.status_at, h.updated_at) AS updated_at, b.closed_at
FROM alert_base b JOIN (
  SELECT alert_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum("count")::BIGINT AS "count",
    list_slice(flatten(list(event_ids ORDER BY seq)), 1, ` + fmt.Sprint(alert.MaxEventIDs) + `) AS event_ids,
    arg_max(fields, seq) AS fields, max(recorded_at) AS updated_at
  FROM alert_hit GROUP BY alert_id) h ON h.alert_id = b.id`,
	}
}

// execQuerier is a connection or transaction.
type execQuerier interface {
	querier
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// openAlert is what applying hits needs to know of an alert that may
// absorb them.
type openAlert struct {
	id                  int64
	firstSeen, lastSeen time.Time
	severity            string
	notified            time.Time // the latest delivery queued (or creation)
}

// applyHits records hits on q, in order: each is absorbed by the newest
// open or acknowledged alert of its rule and dedup key whose last_seen is
// within the hit's suppression window, or opens a new alert (queueing one
// delivery per routed notifier). A hit whose event ids are all in alerts of
// its rule already is dropped, so re-running a backfill adds nothing.
func applyHits(ctx context.Context, q execQuerier, hits []event.Hit, opt AlertOptions, now time.Time) (created, updated int, err error) {
	if len(hits) == 0 {
		return 0, 0, nil
	}
	var ids, keys []string
	for i := range hits {
		ids = append(ids, hits[i].EventIDs...)
		keys = append(keys, hits[i].RuleID+"\x00"+hits[i].DedupKey)
	}
	known := map[string]bool{} // rule \x00 event id
	if len(ids) > 0 {
		// A stored hit holding one of these records spans its time, so
		// only stored hits overlapping the new ones' span are read: the
		// check stays as cheap as the batch instead of growing with the
		// alert history (zone maps prune the rest).
		lo, hi := hitSpan(hits)
		err := eachRow(ctx, q, "reading the event ids of alerts",
			`SELECT h.rule_id, h.id FROM (SELECT rule_id, unnest(event_ids) AS id FROM alert_hit
				WHERE last_seen >= ? AND first_seen <= ?) h
			SEMI JOIN (SELECT unnest(?::VARCHAR[]) AS id) e ON h.id = e.id`,
			func(rows *sql.Rows) error {
				var rule, id string
				if err := rows.Scan(&rule, &id); err != nil {
					return err
				}
				known[rule+"\x00"+id] = true
				return nil
			}, lo, hi, ids)
		if err != nil {
			return 0, 0, err
		}
	}
	open := map[string][]openAlert{}
	err = eachRow(ctx, q, "reading open alerts",
		`SELECT b.id, b.rule_id, b.dedup_key, min(h.first_seen), max(h.last_seen), b.severity,
			coalesce((SELECT max(o.created_at) FROM alert_outbox o WHERE o.alert_id = b.id), b.created_at)
		FROM alert_base b JOIN alert_hit h ON h.alert_id = b.id
		WHERE b.status <> 'closed' AND b.rule_id || chr(0) || b.dedup_key IN (SELECT unnest(?::VARCHAR[]))
		GROUP BY b.id, b.rule_id, b.dedup_key, b.severity, b.created_at ORDER BY b.id`,
		func(rows *sql.Rows) error {
			var a openAlert
			var rule, key string
			if err := rows.Scan(&a.id, &rule, &key, &a.firstSeen, &a.lastSeen, &a.severity, &a.notified); err != nil {
				return err
			}
			k := rule + "\x00" + key
			open[k] = append(open[k], a) // ordered by id, the newest last
			return nil
		}, keys)
	if err != nil {
		return 0, 0, err
	}
	// Rows to insert; a new alert has a negative id until it is numbered.
	var bases, outbox, hitRows [][]any
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
		count := max(h.Count, 1) - int64(len(h.EventIDs)-len(fresh))
		count = max(count, 1)
		first, last := h.Times(now)
		suppress := h.Suppress
		if suppress <= 0 {
			suppress = opt.DefaultSuppress
		}
		key := h.RuleID + "\x00" + h.DedupKey
		// The newest open alert whose window (first_seen - suppress,
		// last_seen + suppress) the hit falls in absorbs it: hits may come
		// out of time order (several objects are read at once).
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
			if opt.RemindAfter > 0 && opt.Route != nil && a.id > 0 && !now.Before(a.notified.Add(opt.RemindAfter)) {
				// Still firing long after the last message: remind.
				for _, n := range opt.Route(h.RuleID, a.severity) {
					outbox = append(outbox, []any{a.id, n, "reminder", now, now})
				}
				a.notified = now
			}
		} else {
			created++
			a.id = -int64(created) // numbered below, all at once
			sev := strings.ToLower(h.Severity)
			if sev == "" {
				sev = "medium"
			}
			bases = append(bases, []any{a.id, h.RuleID, sev, h.Title, logType(h.LogType), h.DedupKey, nonNil(h.Tags), now, now})
			if opt.Route != nil {
				for _, n := range opt.Route(h.RuleID, sev) {
					outbox = append(outbox, []any{a.id, n, "created", now, now})
				}
			}
			a.firstSeen, a.lastSeen, a.severity, a.notified = first, last, sev, now
			open[key] = append(open[key], a)
			j = len(open[key]) - 1
		}
		a.lastSeen = maxTime(a.lastSeen, last)
		if first.Before(a.firstSeen) {
			a.firstSeen = first
		}
		open[key][j] = a
		stored := fresh
		if len(stored) > maxHitIDs {
			stored = stored[:maxHitIDs]
		}
		var fields any
		if len(h.Fields) > 0 {
			b, err := json.Marshal(h.Fields)
			if err != nil {
				return 0, 0, fmt.Errorf("encoding the fields of a hit of rule %s: %w", h.RuleID, err)
			}
			fields = string(b)
		}
		hitRows = append(hitRows, []any{a.id, h.RuleID, nonNil(stored), count, first, last, fields, now})
	}
	if created > 0 {
		// Number the new alerts in one query, in order of creation.
		ids := make([]int64, 0, created)
		err := eachRow(ctx, q, "numbering new alerts", `SELECT nextval('alert_id') FROM range(?) ORDER BY range`, func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		}, created)
		if err != nil {
			return 0, 0, err
		}
		if len(ids) != created {
			return 0, 0, fmt.Errorf("numbering new alerts: got %d numbers for %d alerts", len(ids), created)
		}
		for _, rows := range [][][]any{bases, outbox, hitRows} {
			for _, r := range rows {
				if id := r[0].(int64); id < 0 {
					r[0] = ids[-id-1]
				}
			}
		}
	}
	if err := insertValues(ctx, q, "creating alerts", `INSERT INTO alert_base (id, rule_id, severity, title, log_type, dedup_key, tags, status, created_at, status_at) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?::VARCHAR[], 'open', ?, ?)`, bases); err != nil {
		return 0, 0, err
	}
	if err := insertValues(ctx, q, "queueing alert deliveries", `INSERT INTO alert_outbox (id, alert_id, notifier, reason, status, attempts, created_at, next_attempt_at) VALUES `,
		`(nextval('alert_outbox_id'), ?, ?, ?, 'pending', 0, ?, ?)`, outbox); err != nil {
		return 0, 0, err
	}
	if err := insertHits(ctx, q, hitRows); err != nil {
		return 0, 0, err
	}
	return created, updated, nil
}

// insertHits inserts alert_hit rows in one statement, each column bound
// as a list (event ids as JSON text, as a list of lists cannot be bound).
func insertHits(ctx context.Context, q execQuerier, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	alertIDs, counts := make([]int64, n), make([]int64, n)
	rules, ids, fields := make([]string, n), make([]string, n), make([]string, n)
	firsts, lasts := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rows {
		alertIDs[i], rules[i], counts[i], firsts[i], lasts[i] = r[0].(int64), r[1].(string), r[3].(int64), r[4].(time.Time), r[5].(time.Time)
		b, err := json.Marshal(r[2].([]string))
		if err != nil {
			return fmt.Errorf("recording hits: %w", err)
		}
		ids[i] = string(b)
		if f, ok := r[6].(string); ok {
			fields[i] = f // "" for none: NULL
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO alert_hit (seq, alert_id, rule_id, event_ids, "count", first_seen, last_seen, fields, recorded_at)
		SELECT nextval('alert_hit_seq'), a, r, from_json(e, '["VARCHAR"]'), c, f, l, nullif(j, '')::JSON, ?
		FROM (SELECT unnest(?::BIGINT[]) AS a, unnest(?::VARCHAR[]) AS r, unnest(?::VARCHAR[]) AS e, unnest(?::BIGINT[]) AS c,
			unnest(?::TIMESTAMPTZ[]) AS f, unnest(?::TIMESTAMPTZ[]) AS l, unnest(?::VARCHAR[]) AS j, generate_subscripts(?::BIGINT[], 1) AS i
			ORDER BY i)`, rows[0][7], alertIDs, rules, ids, counts, firsts, lasts, fields, alertIDs)
	if err != nil {
		return fmt.Errorf("recording %d hits: %w", n, err)
	}
	return nil
}

// insertValues inserts rows with multi-row INSERTs of at most 256 rows:
// one statement per row costs about a millisecond in DuckDB.
func insertValues(ctx context.Context, q execQuerier, what, prefix, tuple string, rows [][]any) error {
	const per = 256
	for len(rows) > 0 {
		n := min(len(rows), per)
		var b strings.Builder
		b.WriteString(prefix)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		rows = rows[n:]
	}
	return nil
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

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// RecordHits stores hits outside ingest (scheduled rules, backfill) in one
// transaction, and returns how many alerts were created and how many
// updated. Hits whose records are all in alerts of their rule already are
// ignored, so recording the same hits twice changes nothing.
func (s *Store) RecordHits(ctx context.Context, hits []event.Hit) (created, updated int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("recording hits: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	created, updated, err = applyHits(ctx, tx, hits, s.alerts.get(), time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("recording hits: committing: %w", err)
	}
	return created, updated, nil
}

// ErrNoAlert is returned (wrapped) for an alert id that does not exist.
var ErrNoAlert = errors.New("no such alert")

// AlertFilter selects alerts; zero fields select everything.
type AlertFilter struct {
	Statuses    []alert.Status
	MinSeverity string
	Rules       []string // rule ids; a trailing * matches a prefix
	Since       time.Time
	Limit       int
}

const alertCols = `id, rule_id, severity, coalesce(title, ''), first_seen, last_seen, "count", status, coalesce(log_type, ''),
	event_ids, dedup_key, tags, fields::VARCHAR, coalesce(note, ''), created_at, updated_at, closed_at`

// Alerts returns the alerts f selects, the newest activity first.
func (s *Store) Alerts(ctx context.Context, f AlertFilter) ([]alert.Alert, error) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			st[i] = string(v)
		}
		where = append(where, `status IN (SELECT unnest(?::VARCHAR[]))`)
		args = append(args, st)
	}
	if r := alert.SeverityRank(f.MinSeverity); r > 0 {
		where = append(where, `severity IN (SELECT unnest(?::VARCHAR[]))`)
		args = append(args, alert.Severities[r:])
	}
	if len(f.Rules) > 0 {
		var or []string
		for _, r := range f.Rules {
			if p, ok := strings.CutSuffix(r, "*"); ok {
				or = append(or, `starts_with(rule_id, ?)`)
				args = append(args, p)
			} else {
				or = append(or, `rule_id = ?`)
				args = append(args, r)
			}
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if !f.Since.IsZero() {
		where = append(where, `last_seen >= ?`)
		args = append(args, f.Since)
	}
	q := `SELECT ` + alertCols + ` FROM alert`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY last_seen DESC, id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []alert.Alert
	err := eachRow(ctx, s.db, "listing alerts", q, func(rows *sql.Rows) error {
		a, err := scanAlert(rows)
		out = append(out, a)
		return err
	}, args...)
	return out, err
}

// Alert returns one alert, or an error wrapping ErrNoAlert.
func (s *Store) Alert(ctx context.Context, id int64) (alert.Alert, error) {
	var out []alert.Alert
	err := eachRow(ctx, s.db, fmt.Sprintf("reading alert %d", id), `SELECT `+alertCols+` FROM alert WHERE id = ?`, func(rows *sql.Rows) error {
		a, err := scanAlert(rows)
		out = append(out, a)
		return err
	}, id)
	if err != nil {
		return alert.Alert{}, err
	}
	if len(out) == 0 {
		return alert.Alert{}, fmt.Errorf("alert %d: %w", id, ErrNoAlert)
	}
	return out[0], nil
}

func scanAlert(rows *sql.Rows) (alert.Alert, error) {
	var a alert.Alert
	var status, fields sql.NullString
	var ids, tags any
	var closed sql.NullTime
	if err := rows.Scan(&a.ID, &a.RuleID, &a.Severity, &a.Title, &a.FirstSeen, &a.LastSeen, &a.Count, &status, &a.LogType,
		&ids, &a.DedupKey, &tags, &fields, &a.Note, &a.CreatedAt, &a.UpdatedAt, &closed); err != nil {
		return a, err
	}
	a.Status = alert.Status(status.String)
	a.EventIDs, a.Tags = store.Strings(ids), store.Strings(tags)
	a.ClosedAt = closed.Time
	if fields.Valid && fields.String != "" {
		if err := json.Unmarshal([]byte(fields.String), &a.Fields); err != nil {
			return a, fmt.Errorf("alert %d: reading fields: %w", a.ID, err)
		}
	}
	return a, nil
}

// SetAlertStatus changes an alert's status (acknowledged or closed; open
// re-opens one) and, when note is not empty, its note.
func (s *Store) SetAlertStatus(ctx context.Context, id int64, st alert.Status, note string) error {
	if _, ok := alert.ParseStatus(string(st)); !ok {
		return fmt.Errorf("alert %d: unknown status %q", id, st)
	}
	now := time.Now().UTC()
	res, err := s.db.ExecContext(ctx, `UPDATE alert_base SET status = ?, status_at = ?,
		closed_at = CASE WHEN ? = 'closed' THEN ? ELSE NULL END,
		note = CASE WHEN ? = '' THEN note ELSE ? END WHERE id = ?`,
		string(st), now, string(st), now, note, note, id)
	if err != nil {
		return fmt.Errorf("setting alert %d to %s: %w", id, st, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %d: %w", id, ErrNoAlert)
	}
	return nil
}

// DueDeliveries returns up to limit pending deliveries whose next attempt
// is at or before now, oldest first, leaving out the ids in skip (those in
// flight).
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int, skip []int64) ([]alert.Delivery, error) {
	if skip == nil {
		skip = []int64{}
	}
	return s.deliveries(ctx, `WHERE status = 'pending' AND next_attempt_at <= ? AND id NOT IN (SELECT unnest(?::BIGINT[])) ORDER BY next_attempt_at, id LIMIT ?`,
		now, skip, limit)
}

// Deliveries returns the outbox rows of the given statuses (all when
// none), the newest first, at most limit (0: no limit).
func (s *Store) Deliveries(ctx context.Context, statuses []alert.DeliveryStatus, limit int) ([]alert.Delivery, error) {
	st := []string{}
	for _, v := range statuses {
		st = append(st, string(v))
	}
	q := `WHERE (len(?::VARCHAR[]) = 0 OR status IN (SELECT unnest(?::VARCHAR[]))) ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return s.deliveries(ctx, q, st, st)
}

func (s *Store) deliveries(ctx context.Context, where string, args ...any) ([]alert.Delivery, error) {
	var out []alert.Delivery
	err := eachRow(ctx, s.db, "reading the alert outbox",
		`SELECT id, alert_id, notifier, reason, status, attempts, created_at, next_attempt_at, delivered_at, coalesce(last_error, '') FROM alert_outbox `+where,
		func(rows *sql.Rows) error {
			var d alert.Delivery
			var st string
			var done sql.NullTime
			if err := rows.Scan(&d.ID, &d.AlertID, &d.Notifier, &d.Reason, &st, &d.Attempts, &d.CreatedAt, &d.NextAttempt, &done, &d.LastError); err != nil {
				return err
			}
			d.Status, d.DeliveredAt = alert.DeliveryStatus(st), done.Time
			out = append(out, d)
			return nil
		}, args...)
	return out, err
}

// MarkDelivered records that delivery id was sent at at. A delivered row
// is never returned by DueDeliveries again.
func (s *Store) MarkDelivered(ctx context.Context, id int64, attempts int, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alert_outbox SET status = 'delivered', attempts = ?, last_attempt_at = ?, delivered_at = ?, last_error = NULL WHERE id = ?`,
		attempts, at, at, id)
	if err != nil {
		return fmt.Errorf("marking delivery %d delivered: %w", id, err)
	}
	return nil
}

// MarkRetry records a failed attempt of delivery id and when to try next;
// with next zero the delivery is marked failed (no more attempts).
func (s *Store) MarkRetry(ctx context.Context, id int64, attempts int, at, next time.Time, reason string) error {
	status := string(alert.Pending)
	if next.IsZero() {
		status, next = string(alert.Failed), at
	}
	_, err := s.db.ExecContext(ctx, `UPDATE alert_outbox SET status = ?, attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
		status, attempts, at, next, reason, id)
	if err != nil {
		return fmt.Errorf("recording a failed attempt of delivery %d: %w", id, err)
	}
	return nil
}

// RetryFailed makes failed deliveries pending again (all when ids is
// empty), to be sent at the worker's next pass; it returns how many.
func (s *Store) RetryFailed(ctx context.Context, ids []int64) (int64, error) {
	q := `UPDATE alert_outbox SET status = 'pending', next_attempt_at = ? WHERE status = 'failed'`
	args := []any{time.Now().UTC()}
	if len(ids) > 0 {
		q += ` AND id IN (SELECT unnest(?::BIGINT[]))`
		args = append(args, ids)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("retrying failed deliveries: %w", err)
	}
	return res.RowsAffected()
}

// hitSpan returns the earliest and latest time of hits' records, or the
// widest range when a hit has no time (then every stored hit is read).
func hitSpan(hits []event.Hit) (lo, hi time.Time) {
	lo, hi = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}
	for i := range hits {
		first, last := hits[i].Times(time.Time{})
		if first.IsZero() {
			return time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
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
