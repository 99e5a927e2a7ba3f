package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/pipeline"
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
	ctx  context.Context
	st   *Store
	conn *sql.Conn
	now  time.Time

	ct   buffer[event.CloudTrail]
	vp   buffer[event.VPCFlow]
	gd   buffer[event.Finding]
	dg   buffer[event.Digest]
	q    []event.Quarantined
	dups map[pipeline.DupKey]int64

	done bool
}

// Begin starts a write transaction.
func (s *Store) Begin(ctx context.Context) (pipeline.Tx, error) { return s.BeginTx(ctx) }

// BeginTx starts a write transaction.
func (s *Store) BeginTx(ctx context.Context) (*Tx, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection: %w", err)
	}
	t := &Tx{ctx: ctx, st: s, conn: conn, now: time.Now().UTC().Truncate(time.Microsecond),
		dups: map[pipeline.DupKey]int64{}}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("beginning a transaction: %w", err)
	}
	return t, nil
}

// IngestedAt is the ingested_at value of every row of the transaction.
func (t *Tx) IngestedAt() time.Time { return t.now }

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

// CloudTrail buffers events from one source. At Flush, events whose id (at
// the same event time) is already stored, or buffered earlier, are dropped
// and counted as duplicates of their source.
func (t *Tx) CloudTrail(source string, recs []event.CloudTrail) error {
	if t.ct.add(source, recs, func(e *event.CloudTrail) string { return e.Raw }) {
		return t.flushCloudTrail()
	}
	return nil
}

func (t *Tx) flushCloudTrail() error {
	if len(t.ct.recs) == 0 {
		return nil
	}
	defer t.ct.reset()
	d := t.st.dedup
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(t.ctx, t.conn); err != nil {
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
	seen, err := t.existingEvents(check)
	if err != nil {
		return err
	}
	keep, keepSrc, keepHash := recs[:0], srcs[:0], hashes[:0]
	for i := range recs {
		e := &recs[i]
		k := ctKey{e.EventID, e.EventTime.UnixMicro()}
		if _, dup := seen[k]; dup {
			t.dups[pipeline.DupKey{Source: srcs[i], Kind: event.KindCloudTrail}]++
			continue
		}
		seen[k] = struct{}{}
		keep = append(keep, *e)
		keepSrc = append(keepSrc, srcs[i])
		keepHash = append(keepHash, hashes[i])
	}
	if err := insertRows(t.ctx, t.st, t.conn, "cloudtrail_base", keep, keepSrc, ctColumns, "", constant{"ingested_at", t.now}); err != nil {
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
func (t *Tx) existingEvents(recs []*event.CloudTrail) (map[ctKey]struct{}, error) {
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
		return eachRow(t.ctx, t.conn, "checking for duplicate events", q, func(rows *sql.Rows) error {
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

// VPCFlow buffers flow-log records from one source.
func (t *Tx) VPCFlow(source string, recs []event.VPCFlow) error {
	if t.vp.add(source, recs, func(f *event.VPCFlow) string { return f.Raw }) {
		return t.flushVPCFlow()
	}
	return nil
}

func (t *Tx) flushVPCFlow() error {
	defer t.vp.reset()
	return insertRows(t.ctx, t.st, t.conn, "vpcflow", t.vp.recs, t.vp.srcs, vpcCols, "", constant{"ingested_at", t.now})
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

type finding = event.Finding

var findingColumns = []column[finding]{
	strCol("id", func(f *finding) string { return f.ID }),
	timeCol("updated_at", func(f *finding) time.Time { return f.UpdatedAt }),
	timeCol("created_at", func(f *finding) time.Time { return f.CreatedAt }),
	strCol("arn", func(f *finding) string { return f.ARN }),
	strCol("type", func(f *finding) string { return f.Type }),
	strCol("account_id", func(f *finding) string { return f.AccountID }),
	strCol("region", func(f *finding) string { return f.Region }),
	strCol("partition", func(f *finding) string { return f.Partition }),
	strCol("schema_version", func(f *finding) string { return f.SchemaVersion }),
	floatCol("severity", func(f *finding) float64 { return f.Severity }),
	strCol("severity_label", func(f *finding) string { return SeverityLabel(f.Severity) }),
	strCol("title", func(f *finding) string { return f.Title }),
	strCol("description", func(f *finding) string { return f.Description }),
	strCol("resource_type", func(f *finding) string { return f.ResourceType }),
	strCol("action_type", func(f *finding) string { return f.ActionType }),
	strCol("resource_role", func(f *finding) string { return f.ResourceRole }),
	timeCol("first_seen", func(f *finding) time.Time { return f.FirstSeen }),
	timeCol("last_seen", func(f *finding) time.Time { return f.LastSeen }),
	intCol("count", duckdb.TYPE_BIGINT, func(f *finding) (int64, bool) { return f.Count.V, f.Count.Valid }),
	boolCol("archived", func(f *finding) event.Bool { return f.Archived }),
	strCol("detector_id", func(f *finding) string { return f.DetectorID }),
	strCol("resource", func(f *finding) string { return f.Resource }),
	strCol("service", func(f *finding) string { return f.Service }),
	strCol("raw", func(f *finding) string { return f.Raw }),
}

// Findings buffers GuardDuty finding versions from one source. At Flush,
// every new (id, updatedAt) goes to the history, and in the current-state
// table a version replaces the row of its id only when it is newer.
// Versions already in the history count as duplicates of their source.
func (t *Tx) Findings(source string, recs []event.Finding) error {
	if t.gd.add(source, recs, func(f *event.Finding) string { return f.Raw }) {
		return t.flushFindings()
	}
	return nil
}

func (t *Tx) flushFindings() error {
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
	seen := map[key]bool{}
	err := eachRow(t.ctx, t.conn, "reading finding history",
		`SELECT id, updated_at FROM guardduty_finding_history WHERE id IN (SELECT unnest(?::VARCHAR[]))`,
		func(rows *sql.Rows) error {
			var id string
			var ts time.Time
			if err := rows.Scan(&id, &ts); err != nil {
				return err
			}
			seen[key{id, ts.UnixMicro()}] = true
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
		if seen[k] {
			t.dups[pipeline.DupKey{Source: srcs[i], Kind: event.KindGuardDuty}]++
			continue
		}
		seen[k] = true
		hist = append(hist, *f)
		histSrc = append(histSrc, srcs[i])
		if j, ok := newest[f.ID]; !ok || f.UpdatedAt.After(hist[j].UpdatedAt) {
			newest[f.ID] = len(hist) - 1
		}
	}
	if len(hist) == 0 {
		return nil
	}
	if err := insertRows(t.ctx, t.st, t.conn, "guardduty_finding_history", hist, histSrc, findingColumns, "", constant{"ingested_at", t.now}); err != nil {
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
	return insertRows(t.ctx, t.st, t.conn, "guardduty_finding", cur, curSrc, findingColumns, findingUpsert,
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

type digest = event.Digest

var digestColumns = []column[digest]{
	strCol("digest_object", func(d *digest) string { return d.DigestS3Object }),
	strCol("digest_bucket", func(d *digest) string { return d.DigestS3Bucket }),
	strCol("account_id", func(d *digest) string { return d.AccountID }),
	timeCol("digest_start", func(d *digest) time.Time { return d.DigestStart }),
	timeCol("digest_end", func(d *digest) time.Time { return d.DigestEnd }),
	timeCol("oldest_event_time", func(d *digest) time.Time { return d.OldestEventTime }),
	timeCol("newest_event_time", func(d *digest) time.Time { return d.NewestEventTime }),
	strCol("previous_digest_bucket", func(d *digest) string { return d.PreviousDigestBucket }),
	strCol("previous_digest_object", func(d *digest) string { return d.PreviousDigestObject }),
	strCol("previous_digest_hash", func(d *digest) string { return d.PreviousDigestHash }),
	strCol("previous_digest_hash_algorithm", func(d *digest) string { return d.PreviousDigestHashAlg }),
	strCol("public_key_fingerprint", func(d *digest) string { return d.PublicKeyFingerprint }),
	strCol("signature_algorithm", func(d *digest) string { return d.SignatureAlgorithm }),
	intCol("log_file_count", duckdb.TYPE_INTEGER, func(d *digest) (int64, bool) { return int64(len(d.LogFiles)), true }),
	strCol("raw", func(d *digest) string { return d.Raw }),
}

// digestFile is one log file of a digest, for cloudtrail_digest_file.
type digestFile struct {
	digest string
	event.DigestLogFile
}

var digestFileColumns = []column[digestFile]{
	strCol("digest_object", func(f *digestFile) string { return f.digest }),
	strCol("s3_bucket", func(f *digestFile) string { return f.S3Bucket }),
	strCol("s3_object", func(f *digestFile) string { return f.S3Object }),
	strCol("hash_value", func(f *digestFile) string { return f.HashValue }),
	strCol("hash_algorithm", func(f *digestFile) string { return f.HashAlgorithm }),
	timeCol("oldest_event_time", func(f *digestFile) time.Time { return f.OldestEventTime }),
	timeCol("newest_event_time", func(f *digestFile) time.Time { return f.NewestEventTime }),
}

// Digests buffers CloudTrail digest files from one source. At Flush, the
// digests not yet stored are written with the log files they list; the
// others count as duplicates of their source.
func (t *Tx) Digests(source string, ds []event.Digest) error {
	named := make([]event.Digest, len(ds))
	for i, d := range ds {
		if d.DigestS3Object == "" {
			d.DigestS3Object = source // a digest without its own name is known by its file
		}
		named[i] = d
	}
	if t.dg.add(source, named, func(d *event.Digest) string { return d.Raw }) {
		return t.flushDigests()
	}
	return nil
}

func (t *Tx) flushDigests() error {
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
	err := eachRow(t.ctx, t.conn, "reading stored digests",
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
	var files []digestFile
	fileSeen := map[[2]string]bool{}
	for i := range recs {
		d := &recs[i]
		if seen[d.DigestS3Object] {
			t.dups[pipeline.DupKey{Source: srcs[i], Kind: event.KindCloudTrailDigest}]++
			continue
		}
		seen[d.DigestS3Object] = true
		keep = append(keep, *d)
		keepSrc = append(keepSrc, srcs[i])
		for _, f := range d.LogFiles {
			k := [2]string{d.DigestS3Object, f.S3Object}
			if !fileSeen[k] && f.S3Object != "" {
				fileSeen[k] = true
				files = append(files, digestFile{d.DigestS3Object, f})
			}
		}
	}
	if err := insertRows(t.ctx, t.st, t.conn, "cloudtrail_digest", keep, keepSrc, digestColumns, "", constant{"ingested_at", t.now}); err != nil {
		return err
	}
	return insertRows(t.ctx, t.st, t.conn, "cloudtrail_digest_file", files, nil, digestFileColumns, "")
}

type qrec = event.Quarantined

var quarantineColumns = []column[qrec]{
	strCol("object", func(q *qrec) string { return q.Object }),
	strCol("kind", func(q *qrec) string {
		if q.Kind == event.KindUnknown {
			return ""
		}
		return q.Kind.String()
	}),
	intCol("line", duckdb.TYPE_BIGINT, func(q *qrec) (int64, bool) { return q.Line, q.Line > 0 }),
	intCol("byte_offset", duckdb.TYPE_BIGINT, func(q *qrec) (int64, bool) { return q.Offset, q.Offset >= 0 }),
	int64Col("record", func(q *qrec) int64 { return q.Record }),
	strCol("reason", func(q *qrec) string { return q.Reason }),
	strCol("snippet", func(q *qrec) string { return q.Snippet }),
}

// Quarantine buffers entries for input that could not be decoded.
func (t *Tx) Quarantine(qs []event.Quarantined) error {
	t.q = append(t.q, qs...)
	if len(t.q) >= flushRows {
		return t.flushQuarantine()
	}
	return nil
}

func (t *Tx) flushQuarantine() error {
	err := insertRows(t.ctx, t.st, t.conn, "quarantine", t.q, nil, quarantineColumns, "", constant{"quarantined_at", t.now})
	t.q = t.q[:0]
	return err
}

// ForgetObject removes the quarantine entries of an object that is about to
// be read again from its start.
func (t *Tx) ForgetObject(object string) error {
	if err := t.flushQuarantine(); err != nil {
		return err
	}
	_, err := t.conn.ExecContext(t.ctx, `DELETE FROM quarantine WHERE object = ?`, object)
	if err != nil {
		return fmt.Errorf("clearing old quarantine entries of %s: %w", object, err)
	}
	return nil
}

// Flush writes every buffered row and returns, per source, how many records
// were dropped as duplicates since the last Flush.
func (t *Tx) Flush() (map[pipeline.DupKey]int64, error) {
	if err := t.flushCloudTrail(); err != nil {
		return nil, err
	}
	if err := t.flushVPCFlow(); err != nil {
		return nil, err
	}
	if err := t.flushFindings(); err != nil {
		return nil, err
	}
	if err := t.flushDigests(); err != nil {
		return nil, err
	}
	if err := t.flushQuarantine(); err != nil {
		return nil, err
	}
	dups := t.dups
	t.dups = map[pipeline.DupKey]int64{}
	return dups, nil
}

// Commit writes what is buffered and makes everything written in the
// transaction durable.
func (t *Tx) Commit() error {
	if t.done {
		return errors.New("transaction already finished")
	}
	if _, err := t.Flush(); err != nil {
		_ = t.Rollback()
		return err
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

func (t *Tx) release() { t.conn.Close() }
