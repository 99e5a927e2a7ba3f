package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/schema"
)

// A Tx writes the buffered rows of a table when there are flushRows of them
// or their text reaches flushBytes. Real data comes in many small objects (a
// CloudTrail file per account, region and 5 minutes); one INSERT per object
// would cost more than the rows themselves.
const (
	flushRows  = 16384
	flushBytes = 24 << 20
)

// Tx is a write transaction. Rows, ledger entries and quarantine entries
// written through it become visible together at Commit, or not at all.
// Records are buffered and written in batches; Flush writes what is
// buffered. A Tx is used from one goroutine.
type Tx struct {
	st   *Store
	conn *sql.Conn
	now  time.Time

	ct   buffer[event.CloudTrail]
	vp   buffer[event.VPCFlow]
	gd   buffer[event.Finding]
	dg   buffer[event.Digest]
	q    []event.Quarantined
	w    []event.Warning
	hits []event.Hit
	dups map[ledger.DupKey]int64

	flows bool // vpcflow rows were written (RunRollups is told at Commit)
	done  bool
}

// Begin starts a write transaction. ctx bounds only the start; each call on
// the Tx takes its own.
func (s *Store) Begin(ctx context.Context) (*Tx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection: %w", err)
	}
	t := &Tx{st: s, conn: conn, now: time.Now().UTC().Truncate(time.Microsecond),
		dups: map[ledger.DupKey]int64{}}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("beginning a transaction: %w", err)
	}
	return t, nil
}

// Write buffers the records, quarantine entries, warnings and hits (which
// become alerts at Flush, in this transaction) of a batch;
// the batch may be reused once Write returns. Buffers are written when
// they are large enough, and at Flush. The batch is validated first
// (schema.Validate, changing it as described there), also when its maker
// did so: one value DuckDB cannot hold would fail the whole transaction,
// on every re-run. That costs about 0.2 µs per record, 3% of a write.
func (t *Tx) Write(ctx context.Context, b *event.Batch) error {
	schema.Validate(b)
	src := b.Object
	if len(b.CloudTrail) > 0 && t.ct.add(src, b.CloudTrail, func(e *event.CloudTrail) string { return e.Raw }) {
		if err := t.flushCloudTrail(ctx); err != nil {
			return err
		}
	}
	if len(b.VPCFlow) > 0 && t.vp.add(src, b.VPCFlow, func(f *event.VPCFlow) string { return f.Raw }) {
		if err := t.flushVPCFlow(ctx); err != nil {
			return err
		}
	}
	if len(b.Findings) > 0 && t.gd.add(src, b.Findings, func(f *event.Finding) string { return f.Raw }) {
		if err := t.flushFindings(ctx); err != nil {
			return err
		}
	}
	if len(b.Digests) > 0 {
		named := make([]event.Digest, len(b.Digests))
		for i, d := range b.Digests {
			if d.DigestS3Object == "" {
				d.DigestS3Object = src // a digest without its own name is known by its file
			}
			named[i] = d
		}
		if t.dg.add(src, named, func(d *event.Digest) string { return d.Raw }) {
			if err := t.flushDigests(ctx); err != nil {
				return err
			}
		}
	}
	if len(b.Quarantined) > 0 {
		t.q = append(t.q, b.Quarantined...)
		if len(t.q) >= flushRows {
			if err := t.flushQuarantine(ctx); err != nil {
				return err
			}
		}
	}
	for _, h := range b.Hits {
		// The batch is reused: keep copies of what its hits refer to.
		h.EventIDs, h.Tags = slices.Clone(h.EventIDs), slices.Clone(h.Tags)
		t.hits = append(t.hits, h)
	}
	if len(b.Warnings) > 0 {
		t.w = append(t.w, b.Warnings...)
		if len(t.w) >= flushRows {
			if err := t.flushWarnings(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// buffer holds the records of one table until they are written, with the
// source of each.
type buffer[T any] struct {
	recs  []T
	srcs  []string
	bytes int // text held, for the flush threshold
}

// add appends recs from source and reports whether the buffer should be
// written. raw returns a record's text.
func (b *buffer[T]) add(source string, recs []T, raw func(*T) string) bool {
	b.recs = append(b.recs, recs...)
	for i := range recs {
		b.srcs = append(b.srcs, source)
		b.bytes += len(raw(&recs[i]))
	}
	return len(b.recs) >= flushRows || b.bytes >= flushBytes
}

// reset empties the buffer, dropping its references to the records' text.
func (b *buffer[T]) reset() {
	clear(b.recs)
	b.recs, b.srcs, b.bytes = b.recs[:0], b.srcs[:0], 0
}

func (t *Tx) flushCloudTrail(ctx context.Context) error {
	if len(t.ct.recs) == 0 {
		return nil
	}
	defer t.ct.reset()
	d := t.st.dedup
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(ctx, t.conn); err != nil {
		return err
	}
	recs, srcs := t.ct.recs, t.ct.srcs
	hashes := make([]uint64, len(recs))
	var check []*event.CloudTrail
	for i := range recs {
		e := &recs[i]
		k := ctKey{e.EventID, e.EventTime.UnixMicro()}
		hashes[i] = d.hash(k)
		if d.mayExist(k, e.EventTime, hashes[i]) {
			check = append(check, e)
		}
	}
	seen, err := t.existingEvents(ctx, check)
	if err != nil {
		return err
	}
	keep, keepSrc, keepHash := recs[:0], srcs[:0], hashes[:0]
	for i := range recs {
		e := &recs[i]
		k := ctKey{e.EventID, e.EventTime.UnixMicro()}
		if _, dup := seen[k]; dup {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindCloudTrail}]++
			continue
		}
		seen[k] = struct{}{}
		keep = append(keep, *e)
		keepSrc = append(keepSrc, srcs[i])
		keepHash = append(keepHash, hashes[i])
	}
	if len(keep) == 0 {
		return nil
	}
	raws := make([]*string, len(keep))
	texts := make([]string, len(keep))
	for i := range keep {
		raws[i] = &keep[i].Raw
		texts[i] = keep[i].Raw
	}
	blk, err := t.nextTextBlock(ctx)
	if err != nil {
		return err
	}
	bloom := bloomOf(texts) // built while the rows are inserted
	ids, err := t.spill(ctx, raws)
	if err != nil {
		return err
	}
	cols := ctColumns
	if ids != nil {
		spilled := map[*event.CloudTrail]int64{}
		for i, id := range ids {
			if id != 0 {
				spilled[&keep[i]] = id
			}
		}
		cols = append(cols[:len(cols):len(cols)], intCol("spill_id", duckdb.TYPE_BIGINT, func(e *event.CloudTrail) (int64, bool) {
			id, ok := spilled[e]
			return id, ok
		}))
	}
	if err := insertRows(ctx, t.st, t.conn, "cloudtrail_base", keep, keepSrc, cols, "", constant{"ingested_at", t.now}, constant{"text_block", blk}); err != nil {
		return err
	}
	b := <-bloom
	defer bloomPool.Put(b)
	if err := t.writeBloom(ctx, blk, b); err != nil {
		return err
	}
	for _, h := range keepHash {
		d.add(h)
	}
	return nil
}

type ctKey struct {
	id string
	ts int64
}

// existingEvents returns the keys of recs that are already stored. Events
// delivered twice have the same id and time, so the search is limited to the
// time range of recs, which lets DuckDB skip row groups by their min/max.
func (t *Tx) existingEvents(ctx context.Context, recs []*event.CloudTrail) (map[ctKey]struct{}, error) {
	seen := make(map[ctKey]struct{}, len(recs))
	var lo, hi time.Time
	var ids, untimed []string
	for _, e := range recs {
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
		return eachRow(ctx, t.conn, "checking for duplicate events", q, func(rows *sql.Rows) error {
			var id string
			var ts sql.NullTime
			if err := rows.Scan(&id, &ts); err != nil {
				return err
			}
			k := ctKey{id: id, ts: time.Time{}.UnixMicro()}
			if ts.Valid {
				k.ts = ts.Time.UnixMicro()
			}
			seen[k] = struct{}{}
			return nil
		}, args...)
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

func (t *Tx) flushVPCFlow(ctx context.Context) error {
	defer t.vp.reset()
	t.flows = t.flows || len(t.vp.recs) > 0
	return insertRows(ctx, t.st, t.conn, "vpcflow", t.vp.recs, t.vp.srcs, vpcCols, "", constant{"ingested_at", t.now})
}

var findingColumns = fromSchema(schema.Finding)

func (t *Tx) flushFindings(ctx context.Context) error {
	if len(t.gd.recs) == 0 {
		return nil
	}
	defer t.gd.reset()
	recs, srcs := t.gd.recs, t.gd.srcs
	type key struct {
		id string
		ts int64
	}
	ids := make([]string, 0, len(recs))
	for i := range recs {
		ids = append(ids, recs[i].ID)
	}
	// seen holds what a version says (findingGist) by its key, to tell a
	// repeated version from a conflicting one.
	seen := map[key]string{}
	err := eachRow(ctx, t.conn, "reading finding history",
		`SELECT id, updated_at, severity, "count", archived, type, title FROM guardduty_finding_history WHERE id IN (SELECT unnest(?::VARCHAR[]))`,
		func(rows *sql.Rows) error {
			var f event.Finding
			var count sql.NullInt64
			var archived sql.NullBool
			var typ, title sql.NullString
			if err := rows.Scan(&f.ID, &f.UpdatedAt, &f.Severity, &count, &archived, &typ, &title); err != nil {
				return err
			}
			f.Count = event.Int{V: count.Int64, Valid: count.Valid}
			if archived.Valid {
				f.Archived = event.BoolOf(archived.Bool)
			}
			f.Type, f.Title = typ.String, title.String
			seen[key{f.ID, f.UpdatedAt.UnixMicro()}] = findingGist(&f)
			return nil
		}, ids)
	if err != nil {
		return err
	}
	var hist []event.Finding
	var histSrc []string
	newest := map[string]int{} // id -> index in hist of its newest version
	for i := range recs {
		f := &recs[i]
		k := key{f.ID, f.UpdatedAt.UnixMicro()}
		if gist, ok := seen[k]; ok {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindGuardDuty}]++
			if gist != findingGist(f) {
				t.w = append(t.w, event.Warning{Object: srcs[i], Kind: event.KindGuardDuty, Record: f.Unit, Field: "updatedAt",
					Reason: fmt.Sprintf("finding %s has a stored version with the same updatedAt (%s) but other content (%s, not %s); the stored version is kept",
						f.ID, f.UpdatedAt.Format(time.RFC3339Nano), findingGist(f), gist)})
			}
			continue
		}
		seen[k] = findingGist(f)
		hist = append(hist, *f)
		histSrc = append(histSrc, srcs[i])
		if j, ok := newest[f.ID]; !ok || f.UpdatedAt.After(hist[j].UpdatedAt) {
			newest[f.ID] = len(hist) - 1
		}
	}
	if len(hist) == 0 {
		return nil
	}
	if err := insertRows(ctx, t.st, t.conn, "guardduty_finding_history", hist, histSrc, findingColumns, "", constant{"ingested_at", t.now}); err != nil {
		return err
	}
	// The current state takes the newest version of each id, if it is newer
	// than the stored one (DuckDB cannot update a row twice in a statement).
	var cur []event.Finding
	var curSrc []string
	for _, j := range newest {
		cur = append(cur, hist[j])
		curSrc = append(curSrc, histSrc[j])
	}
	return insertRows(ctx, t.st, t.conn, "guardduty_finding", cur, curSrc, findingColumns, findingUpsert,
		constant{"ingested_at", t.now})
}

// findingUpsert makes a finding version replace the stored row of its id
// only when it is newer.
var findingUpsert = func() string {
	var sets []string
	for _, c := range findingColumns {
		if c.name != "id" {
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", quoteIdent(c.name), quoteIdent(c.name)))
		}
	}
	sets = append(sets, "source = excluded.source", "ingested_at = excluded.ingested_at")
	return "ON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", ") + " WHERE excluded.updated_at > guardduty_finding.updated_at"
}()

var digestColumns = fromSchema(schema.Digest)

var digestFileColumns = fromSchema(schema.DigestFiles)

func (t *Tx) flushDigests(ctx context.Context) error {
	if len(t.dg.recs) == 0 {
		return nil
	}
	defer t.dg.reset()
	recs, srcs := t.dg.recs, t.dg.srcs
	keys := make([]string, len(recs))
	for i := range recs {
		keys[i] = recs[i].DigestS3Object
	}
	seen := map[string]bool{}
	err := eachRow(ctx, t.conn, "reading stored digests",
		`SELECT digest_object FROM cloudtrail_digest WHERE digest_object IN (SELECT unnest(?::VARCHAR[]))`,
		func(rows *sql.Rows) error {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			seen[k] = true
			return nil
		}, keys)
	if err != nil {
		return err
	}
	var keep []event.Digest
	var keepSrc []string
	var files []schema.DigestFile
	fileSeen := map[[2]string]bool{}
	for i := range recs {
		d := &recs[i]
		if seen[d.DigestS3Object] {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindCloudTrailDigest}]++
			continue
		}
		seen[d.DigestS3Object] = true
		keep = append(keep, *d)
		keepSrc = append(keepSrc, srcs[i])
		for _, f := range d.LogFiles {
			k := [2]string{d.DigestS3Object, f.S3Object}
			if !fileSeen[k] && f.S3Object != "" {
				fileSeen[k] = true
				files = append(files, schema.DigestFile{Digest: d.DigestS3Object, DigestLogFile: f})
			}
		}
	}
	if err := insertRows(ctx, t.st, t.conn, "cloudtrail_digest", keep, keepSrc, digestColumns, "", constant{"ingested_at", t.now}); err != nil {
		return err
	}
	return insertRows(ctx, t.st, t.conn, "cloudtrail_digest_file", files, nil, digestFileColumns, "")
}

var quarantineColumns = fromSchema(schema.Quarantine)

var warningColumns = fromSchema(schema.Warning)

func (t *Tx) flushQuarantine(ctx context.Context) error {
	err := insertRows(ctx, t.st, t.conn, "quarantine", t.q, nil, quarantineColumns, "", constant{"quarantined_at", t.now})
	clear(t.q)
	t.q = t.q[:0]
	return err
}

func (t *Tx) flushWarnings(ctx context.Context) error {
	err := insertRows(ctx, t.st, t.conn, "ingest_warning", t.w, nil, warningColumns, "", constant{"warned_at", t.now})
	clear(t.w)
	t.w = t.w[:0]
	return err
}

// flushHits records the buffered hits as alerts (and their deliveries)
// in the transaction, after the records they came from.
func (t *Tx) flushHits(ctx context.Context) error {
	if len(t.hits) == 0 {
		return nil
	}
	_, _, err := applyHits(ctx, t.conn, t.hits, t.st.alerts.get(), t.now)
	clear(t.hits)
	t.hits = t.hits[:0]
	return err
}

// ForgetObject removes the quarantine entries and warnings of an object
// that is about to be read again from its start.
func (t *Tx) ForgetObject(ctx context.Context, object string) error {
	if err := t.flushQuarantine(ctx); err != nil {
		return err
	}
	if err := t.flushWarnings(ctx); err != nil {
		return err
	}
	for _, table := range []string{"quarantine", "ingest_warning"} {
		if _, err := t.conn.ExecContext(ctx, `DELETE FROM `+table+` WHERE object = ?`, object); err != nil {
			return fmt.Errorf("clearing old %s entries of %s: %w", table, object, err)
		}
	}
	return nil
}

// Flush writes every buffered row and returns, per source, how many records
// were dropped as duplicates since the last Flush.
func (t *Tx) Flush(ctx context.Context) (map[ledger.DupKey]int64, error) {
	if err := t.flushCloudTrail(ctx); err != nil {
		return nil, err
	}
	if err := t.flushVPCFlow(ctx); err != nil {
		return nil, err
	}
	if err := t.flushFindings(ctx); err != nil {
		return nil, err
	}
	if err := t.flushDigests(ctx); err != nil {
		return nil, err
	}
	if err := t.flushQuarantine(ctx); err != nil {
		return nil, err
	}
	if err := t.flushWarnings(ctx); err != nil {
		return nil, err
	}
	if err := t.flushHits(ctx); err != nil {
		return nil, err
	}
	dups := t.dups
	t.dups = map[ledger.DupKey]int64{}
	return dups, nil
}

// Commit writes what is buffered and the ledger entries, and makes
// everything written in the transaction durable.
func (t *Tx) Commit(ctx context.Context, entries []ledger.Entry) error {
	if t.done {
		return errors.New("transaction already finished")
	}
	if _, err := t.Flush(ctx); err != nil {
		_ = t.Rollback()
		return err
	}
	if len(entries) > 0 {
		if err := t.ledger(ctx, entries); err != nil {
			_ = t.Rollback()
			return err
		}
	}
	t.done = true
	defer t.release()
	if _, err := t.conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = t.conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("committing: %w", err)
	}
	if t.flows {
		t.st.flowsChanged()
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

func (t *Tx) release() { t.conn.Close() }

// findingGist is what tells two versions of a finding apart: a version
// with the same updatedAt but another gist is a conflict, not a repeat.
func findingGist(f *event.Finding) string {
	count := "-"
	if f.Count.Valid {
		count = strconv.FormatInt(f.Count.V, 10)
	}
	return fmt.Sprintf("severity %g, count %s, archived %v, type %s, title %q", f.Severity, count, f.Archived.Value(), f.Type, f.Title)
}
