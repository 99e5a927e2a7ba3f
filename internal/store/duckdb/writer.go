package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// Tx is a write transaction. Rows appended through it, ledger entries and
// quarantine entries become visible together at Commit, or not at all. A Tx
// is used from one goroutine.
type Tx struct {
	ctx  context.Context
	st   *Store
	conn *sql.Conn
	now  time.Time

	stmts map[string]*sql.Stmt
	done  bool
}

// Begin starts a write transaction.
func (s *Store) Begin(ctx context.Context) (pipeline.Tx, error) { return s.BeginTx(ctx) }

// BeginTx starts a write transaction.
func (s *Store) BeginTx(ctx context.Context) (*Tx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection: %w", err)
	}
	t := &Tx{ctx: ctx, st: s, conn: conn, now: time.Now().UTC().Truncate(time.Microsecond), stmts: map[string]*sql.Stmt{}}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("beginning a transaction: %w", err)
	}
	return t, nil
}

// IngestedAt is the ingested_at value of every row of the transaction.
func (t *Tx) IngestedAt() time.Time { return t.now }

func (t *Tx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.conn.PrepareContext(t.ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing %q: %w", firstLine(query), err)
	}
	t.stmts[query] = st
	return st, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func str(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

func tm(t time.Time) driver.Value {
	if t.IsZero() {
		return nil
	}
	return t
}

// CloudTrail stores events from one source, dropping events whose id (at
// the same event time) is already stored or appears earlier in recs. It
// returns the number dropped as duplicates.
func (t *Tx) CloudTrail(source string, recs []event.CloudTrail) (dups int, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	var seen map[ctKey]struct{}
	if os.Getenv("TRAWL_NODEDUP") != "" {
		seen = map[ctKey]struct{}{}
	} else {
		seen, err = t.existingEvents(recs)
	}
	if err != nil {
		return 0, err
	}
	keep := recs[:0:0]
	for i := range recs {
		e := &recs[i]
		k := ctKey{e.EventID, e.EventTime.UnixMicro()}
		if _, dup := seen[k]; dup {
			dups++
			if keep == nil {
				keep = append(make([]event.CloudTrail, 0, len(recs)), recs[:i]...)
			}
			continue
		}
		seen[k] = struct{}{}
		if keep != nil {
			keep = append(keep, *e)
		}
	}
	if keep == nil {
		keep = recs
	}
	return dups, insertRows(t.ctx, t.st, t.conn, "cloudtrail_base", keep, ctColumns, t.consts(source)...)
}

// consts are the columns every row of a batch from source shares.
func (t *Tx) consts(source string) []constant {
	return []constant{{name: "source", val: source}, {name: "ingested_at", val: t.now}}
}

type ctKey struct {
	id string
	ts int64
}

// existingEvents returns the keys of recs that are already stored. Events
// delivered twice have the same id and time, so the search is limited to the
// time range of recs, which lets DuckDB skip row groups by their min/max.
func (t *Tx) existingEvents(recs []event.CloudTrail) (map[ctKey]struct{}, error) {
	seen := make(map[ctKey]struct{}, len(recs))
	var lo, hi time.Time
	var ids, untimed []string
	for i := range recs {
		e := &recs[i]
		if e.EventTime.IsZero() {
			untimed = append(untimed, e.EventID)
			continue
		}
		if lo.IsZero() || e.EventTime.Before(lo) {
			lo = e.EventTime
		}
		if e.EventTime.After(hi) {
			hi = e.EventTime
		}
		ids = append(ids, e.EventID)
	}
	query := func(q string, args ...any) error {
		rows, err := t.conn.QueryContext(t.ctx, q, args...)
		if err != nil {
			return fmt.Errorf("checking for duplicate events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var ts sql.NullTime
			if err := rows.Scan(&id, &ts); err != nil {
				return err
			}
			k := ctKey{id: id}
			if ts.Valid {
				k.ts = ts.Time.UnixMicro()
			} else {
				k.ts = time.Time{}.UnixMicro()
			}
			seen[k] = struct{}{}
		}
		return rows.Err()
	}
	if len(ids) > 0 {
		if err := query(`SELECT event_id, event_time FROM cloudtrail_base
			WHERE event_time BETWEEN ? AND ? AND event_id IN (SELECT unnest(?::VARCHAR[]))`, lo, hi, ids); err != nil {
			return nil, err
		}
	}
	if len(untimed) > 0 {
		if err := query(`SELECT event_id, event_time FROM cloudtrail_base
			WHERE event_time IS NULL AND event_id IN (SELECT unnest(?::VARCHAR[]))`, untimed); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// VPCFlow stores flow-log records from one source.
func (t *Tx) VPCFlow(source string, recs []event.VPCFlow) error {
	return insertRows(t.ctx, t.st, t.conn, "vpcflow", recs, vpcCols, t.consts(source)...)
}

// SeverityLabel names a GuardDuty severity as the console does.
func SeverityLabel(s float64) string {
	switch {
	case s >= 9:
		return "Critical"
	case s >= 7:
		return "High"
	case s >= 4:
		return "Medium"
	case s > 0:
		return "Low"
	}
	return ""
}

// Findings stores GuardDuty finding versions: every new (id, updatedAt) in
// the history, and in the current-state table a version replaces the row of
// its id only when it is newer. It returns how many versions were already
// in the history.
func (t *Tx) Findings(source string, recs []event.Finding) (dups int, err error) {
	cols := columnNames(gdColumns)
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	var quoted []string
	var sets []string
	for _, c := range cols {
		q := quoteIdent(c)
		quoted = append(quoted, q)
		if c != "id" {
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", q, q))
		}
	}
	hist, err := t.stmt(fmt.Sprintf(`INSERT OR IGNORE INTO guardduty_finding_history (%s) VALUES (%s)`, strings.Join(quoted, ", "), placeholders))
	if err != nil {
		return 0, err
	}
	cur, err := t.stmt(fmt.Sprintf(`INSERT INTO guardduty_finding (%s) VALUES (%s)
		ON CONFLICT (id) DO UPDATE SET %s WHERE excluded.updated_at > guardduty_finding.updated_at`,
		strings.Join(quoted, ", "), placeholders, strings.Join(sets, ", ")))
	if err != nil {
		return 0, err
	}
	for i := range recs {
		f := &recs[i]
		args := []any{
			f.ID, f.UpdatedAt, tm(f.CreatedAt), str(f.ARN), str(f.Type), str(f.AccountID), str(f.Region),
			str(f.Partition), str(f.SchemaVersion), f.Severity, str(SeverityLabel(f.Severity)), str(f.Title),
			str(f.Description), str(f.ResourceType), str(f.ActionType), str(f.ResourceRole), tm(f.FirstSeen),
			tm(f.LastSeen), f.Count.Value(), f.Archived.Value(), str(f.DetectorID), str(f.Resource),
			str(f.Service), f.Raw, source, t.now,
		}
		res, err := hist.ExecContext(t.ctx, args...)
		if err != nil {
			return dups, fmt.Errorf("storing finding %s: %w", f.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dups++
			continue
		}
		if _, err := cur.ExecContext(t.ctx, args...); err != nil {
			return dups, fmt.Errorf("updating finding %s: %w", f.ID, err)
		}
	}
	return dups, nil
}

// Digests stores CloudTrail digest files and the log files they list. A
// digest already stored is skipped and counted as a duplicate.
func (t *Tx) Digests(source string, ds []event.Digest) (dups int, err error) {
	dg, err := t.stmt(`INSERT OR IGNORE INTO cloudtrail_digest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	lf, err := t.stmt(`INSERT OR IGNORE INTO cloudtrail_digest_file VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	for i := range ds {
		d := &ds[i]
		key := d.DigestS3Object
		if key == "" {
			key = source
		}
		res, err := dg.ExecContext(t.ctx, key, str(d.DigestS3Bucket), str(d.AccountID), tm(d.DigestStart), tm(d.DigestEnd),
			tm(d.OldestEventTime), tm(d.NewestEventTime), str(d.PreviousDigestBucket), str(d.PreviousDigestObject),
			str(d.PreviousDigestHash), str(d.PreviousDigestHashAlg), str(d.PublicKeyFingerprint), str(d.SignatureAlgorithm),
			len(d.LogFiles), d.Raw, source, t.now)
		if err != nil {
			return dups, fmt.Errorf("storing digest %s: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dups++
			continue
		}
		for _, f := range d.LogFiles {
			if _, err := lf.ExecContext(t.ctx, key, str(f.S3Bucket), f.S3Object, str(f.HashValue), str(f.HashAlgorithm),
				tm(f.OldestEventTime), tm(f.NewestEventTime)); err != nil {
				return dups, fmt.Errorf("storing digest %s: %w", key, err)
			}
		}
	}
	return dups, nil
}

// Quarantine stores entries for input that could not be decoded.
func (t *Tx) Quarantine(qs []event.Quarantined) error {
	st, err := t.stmt(`INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := range qs {
		q := &qs[i]
		var line, off driver.Value
		if q.Line > 0 {
			line = q.Line
		}
		if q.Offset >= 0 {
			off = q.Offset
		}
		kind := ""
		if q.Kind != event.KindUnknown {
			kind = q.Kind.String()
		}
		if _, err := st.ExecContext(t.ctx, q.Object, str(kind), line, off, q.Record, q.Reason, str(q.Snippet), t.now); err != nil {
			return fmt.Errorf("storing a quarantine entry for %s: %w", q.Object, err)
		}
	}
	return nil
}

// ForgetObject removes the quarantine entries of an object that is about to
// be read again from its start.
func (t *Tx) ForgetObject(object string) error {
	_, err := t.conn.ExecContext(t.ctx, `DELETE FROM quarantine WHERE object = ?`, object)
	if err != nil {
		return fmt.Errorf("clearing old quarantine entries of %s: %w", object, err)
	}
	return nil
}

// Commit makes everything written in the transaction durable.
func (t *Tx) Commit() error {
	if t.done {
		return errors.New("transaction already finished")
	}
	t.done = true
	defer t.release()
	if _, err := t.conn.ExecContext(t.ctx, "COMMIT"); err != nil {
		_, _ = t.conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// Rollback discards the transaction. It is a no-op after Commit.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.release()
	_, err := t.conn.ExecContext(context.Background(), "ROLLBACK")
	return err
}

func (t *Tx) release() {
	for _, st := range t.stmts {
		st.Close()
	}
	t.conn.Close()
}
