package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/schema"
)

// DefaultBatchRows is the number of rows per INSERT. BenchmarkIngest:
// 5,000-row inserts ran at half the rate of 100,000-row ones (the server
// makes a part per insert); a batch of wide CloudTrail rows is bounded by
// flushBytes first.
const DefaultBatchRows = 100000

// flushBytes bounds the record text buffered per table before an INSERT
// (the body is about twice that, and one more is being sent).
const flushBytes = 32 << 20

// HitsWriter records streaming-rule hits as alerts inside a Tx's Flush.
// The alert store (alerts.go) sets it; while it is nil, a Tx given hits
// fails rather than dropping them.
var HitsWriter func(ctx context.Context, s *Store, hits []event.Hit, now time.Time) error

// Tx writes records to the store. ClickHouse has no transactions: rows are
// visible once their INSERT returns (at a buffer's size, Flush or Commit),
// and Commit writes the ledger entries last. A crash in between leaves rows
// without a ledger entry; the re-run inserts them again and the tables'
// de-duplication (ReplacingMergeTree, read with FINAL) keeps one copy.
// A Tx is used from one goroutine.
type Tx struct {
	st  *Store
	now time.Time

	ct   buffer[event.CloudTrail]
	vp   buffer[event.VPCFlow]
	gd   buffer[event.Finding]
	dg   buffer[event.Digest]
	q    []event.Quarantined
	w    []event.Warning
	hits []event.Hit
	dups map[ledger.DupKey]int64
	done bool

	js      rowBuf
	spare   []byte             // the buffer of the previous insert, for reuse
	pending *insertJob         // the insert running in the background
	sent    map[ctKey]struct{} // CloudTrail keys this Tx inserted
	ext     ctExtracted
}

// buffer holds the records of one table until they are written, with the
// source of each.
type buffer[T any] struct {
	recs  []T
	srcs  []string
	bytes int
}

func (b *buffer[T]) add(source string, recs []T, raw func(*T) string, rows int) bool {
	b.recs = append(b.recs, recs...)
	for i := range recs {
		b.srcs = append(b.srcs, source)
		b.bytes += len(raw(&recs[i]))
	}
	return len(b.recs) >= rows || b.bytes >= flushBytes
}

func (b *buffer[T]) reset() {
	clear(b.recs)
	b.recs, b.srcs, b.bytes = b.recs[:0], b.srcs[:0], 0
}

// Begin starts a write transaction.
func (s *Store) Begin(ctx context.Context) (*Tx, error) {
	if s.readOnly {
		return nil, errors.New("the ClickHouse store is open read-only")
	}
	return &Tx{st: s, now: time.Now().UTC().Truncate(time.Second), dups: map[ledger.DupKey]int64{}}, nil
}

// Write buffers the records, quarantine entries, warnings and hits of a
// batch (validated first, schema.Validate); the batch may be reused once
// Write returns. Full buffers are inserted.
func (t *Tx) Write(ctx context.Context, b *event.Batch) error {
	if t.done {
		return errors.New("transaction already finished")
	}
	schema.Validate(b)
	src, rows := b.Object, t.st.batch
	if len(b.CloudTrail) > 0 && t.ct.add(src, b.CloudTrail, func(e *event.CloudTrail) string { return e.Raw }, rows) {
		if err := t.flushCloudTrail(ctx); err != nil {
			return err
		}
	}
	if len(b.VPCFlow) > 0 && t.vp.add(src, b.VPCFlow, func(f *event.VPCFlow) string { return f.Raw }, rows) {
		if err := t.flushVPCFlow(ctx); err != nil {
			return err
		}
	}
	if len(b.Findings) > 0 && t.gd.add(src, b.Findings, func(f *event.Finding) string { return f.Raw }, rows) {
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
		if t.dg.add(src, named, func(d *event.Digest) string { return d.Raw }, rows) {
			if err := t.flushDigests(ctx); err != nil {
				return err
			}
		}
	}
	t.q = append(t.q, b.Quarantined...)
	t.w = append(t.w, b.Warnings...)
	for _, h := range b.Hits {
		h.EventIDs, h.Tags = slices.Clone(h.EventIDs), slices.Clone(h.Tags)
		t.hits = append(t.hits, h)
	}
	if len(t.q) >= rows {
		if err := t.flushQuarantine(ctx); err != nil {
			return err
		}
	}
	if len(t.w) >= rows {
		if err := t.flushWarnings(ctx); err != nil {
			return err
		}
	}
	return nil
}

// encode appends rec's schema columns to r (RowBinary, see ddl.go's
// colType for the types).
func encode[T any](r *rowBuf, cols []schema.Column[T], rec *T) {
	for i := range cols {
		c := &cols[i]
		switch c.Type {
		case schema.String:
			if v := c.Str(rec); c.NotNull {
				r.str(v, false)
			} else {
				r.optStr(v)
			}
		case schema.Timestamp:
			if v := c.Time(rec); c.NotNull {
				if v.IsZero() {
					v = time.Unix(0, 0)
				}
				r.time(v, false)
			} else {
				r.optTime(v)
			}
		case schema.Bool:
			switch c.Bool(rec) {
			case event.BoolTrue:
				r.u8(1, true)
			case event.BoolFalse:
				r.u8(0, true)
			default:
				r.null()
			}
		case schema.Int32:
			if v, ok := c.Int(rec); ok {
				r.i32(v, true)
			} else {
				r.null()
			}
		case schema.Int64:
			if v, ok := c.Int(rec); ok {
				r.i64(v, true)
			} else {
				r.null()
			}
		case schema.Float64:
			r.f64(c.Float(rec))
		}
	}
}

// names returns the column names of a table's view and hidden columns.
func names(t *table) []string {
	out := make([]string, 0, len(t.cols)+len(t.hidden))
	for _, d := range t.cols {
		out = append(out, d.name)
	}
	for _, d := range t.hidden {
		out = append(out, d.name)
	}
	return out
}

// insertJob is an INSERT running in the background.
type insertJob struct {
	done chan struct{}
	body []byte
	err  error
}

// insert sends the buffered JSON lines into name's _data table in the
// background (compressing them there), so that the next batch is
// encoded while the server stores this one. One insert runs at a time:
// insert first waits for the previous one.
func (t *Tx) insert(ctx context.Context, name string) error {
	if err := t.wait(); err != nil {
		return err
	}
	if len(t.js.b) == 0 {
		return nil
	}
	tb := tableByName(name)
	job := &insertJob{done: make(chan struct{}), body: t.js.b}
	t.js.b, t.spare = t.spare[:0], nil
	t.pending = job
	go func() {
		defer close(job.done)
		job.err = t.st.c.Insert(ctx, tb.name+"_data", names(tb), "RowBinary", job.body)
	}()
	return nil
}

// wait waits for the running insert, if any, and returns its error.
func (t *Tx) wait() error {
	job := t.pending
	if job == nil {
		return nil
	}
	<-job.done
	t.pending = nil
	t.spare = job.body
	return job.err
}

var ctTable = tableByName("cloudtrail")

// flushCloudTrail writes raw (the last of schema.CloudTrail) after the
// columns of ctExtra, as ctDefs orders them.
var _ = func() int {
	if schema.CloudTrail[len(schema.CloudTrail)-1].Name != "raw" || ctDefs[len(ctDefs)-1].name != "raw" {
		panic("clickhouse: raw is not cloudtrail's last column")
	}
	return 0
}()

func (t *Tx) flushCloudTrail(ctx context.Context) error {
	if len(t.ct.recs) == 0 {
		return nil
	}
	defer t.ct.reset()
	recs, srcs := t.ct.recs, t.ct.srcs
	seen, err := t.existingEvents(ctx, recs)
	if err != nil {
		return err
	}
	j := &t.js
	for i := range recs {
		e := &recs[i]
		k := ctKey{e.EventID, e.EventTime.Unix()}
		if _, dup := seen[k]; dup {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindCloudTrail}]++
			continue
		}
		seen[k] = struct{}{}
		if t.sent == nil {
			t.sent = map[ctKey]struct{}{}
		}
		t.sent[k] = struct{}{}
		extractCT(e.Raw, &t.ext)
		encode(j, schema.CloudTrail[:len(schema.CloudTrail)-1], e)
		for x := range ctExtra {
			switch {
			case !t.ext.ok[x]:
				j.null()
			case x == ctSessionCreated:
				j.optTime(t.ext.sess)
			default:
				j.str(t.ext.text[x], true)
			}
		}
		encode(j, schema.CloudTrail[len(schema.CloudTrail)-1:], e)
		j.str(srcs[i], false)
		j.time(t.now, false)
	}
	return t.insert(ctx, ctTable.name)
}

type ctKey struct {
	id string
	ts int64 // Unix seconds (ClickHouse's DateTime)
}

// existingEvents returns the keys of recs that are already stored, looked
// up in the time range of recs (which prunes partitions and granules).
func (t *Tx) existingEvents(ctx context.Context, recs []event.CloudTrail) (map[ctKey]struct{}, error) {
	// Events this Tx inserted before are in t.sent: the look-up need not
	// wait for the insert still running.
	seen := make(map[ctKey]struct{}, len(recs))
	for i := range recs {
		k := ctKey{recs[i].EventID, recs[i].EventTime.Unix()}
		if _, ok := t.sent[k]; ok {
			seen[k] = struct{}{}
		}
	}
	var lo, hi time.Time
	ids := make([]string, 0, len(recs))
	for i := range recs {
		e := &recs[i]
		tm := clampTime(e.EventTime)
		if e.EventTime.IsZero() {
			tm = time.Unix(0, 0).UTC()
		}
		if lo.IsZero() || tm.Before(lo) {
			lo = tm
		}
		if tm.After(hi) {
			hi = tm
		}
		ids = append(ids, e.EventID)
	}
	q, err := Bind(`SELECT event_id, toUInt32(ifNull(event_time, toDateTime(0, 'UTC'))) FROM cloudtrail_data
		WHERE ifNull(event_time, toDateTime(0, 'UTC')) BETWEEN ? AND ? AND event_id IN `+inList(ids), []any{lo, hi})
	if err != nil {
		return nil, err
	}
	rows, err := t.st.c.query(ctx, q, bigQuery, nil)
	if err != nil {
		return nil, fmt.Errorf("checking for duplicate events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.Values()
		id, _ := v[0].(string)
		ts, _ := v[1].(int64)
		seen[ctKey{id, ts}] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checking for duplicate events: %w", err)
	}
	// Events without a time are keyed at 0 like those at 1970-01-01.
	for i := range recs {
		if recs[i].EventTime.IsZero() {
			if _, ok := seen[ctKey{recs[i].EventID, 0}]; ok {
				seen[ctKey{recs[i].EventID, recs[i].EventTime.Unix()}] = struct{}{}
			}
		}
	}
	return seen, nil
}

// inList writes ("a", "b", …) for IN; ss must not be empty.
func inList(ss []string) string { return "(" + quoteList(ss) + ")" }

// bigQuery lets a query carry long IN lists.
var bigQuery = url.Values{"max_query_size": {strconv.Itoa(256 << 20)}}

var vpcTable = tableByName("vpcflow")

func (t *Tx) flushVPCFlow(ctx context.Context) error {
	if len(t.vp.recs) == 0 {
		return nil
	}
	defer t.vp.reset()
	j := &t.js
	for i := range t.vp.recs {
		f := &t.vp.recs[i]
		encode(j, schema.VPCFlow, f)
		j.str(t.vp.srcs[i], false)
		j.time(t.now, false)
		j.i64(f.Unit, false)
	}
	return t.insert(ctx, vpcTable.name)
}

func (t *Tx) flushFindings(ctx context.Context) error {
	if len(t.gd.recs) == 0 {
		return nil
	}
	defer t.gd.reset()
	recs, srcs := t.gd.recs, t.gd.srcs
	type key struct {
		id string
		us int64
	}
	ids := make([]string, 0, len(recs))
	for i := range recs {
		ids = append(ids, recs[i].ID)
	}
	if err := t.wait(); err != nil {
		return err
	}
	seen := map[key]string{}
	q, err := Bind(`SELECT id, updated_us, severity, "count", archived, type, title FROM guardduty_finding_history_data FINAL WHERE id IN `+inList(ids), nil)
	if err != nil {
		return err
	}
	rows, err := t.st.c.query(ctx, q, bigQuery, boolColumns)
	if err != nil {
		return fmt.Errorf("reading finding history: %w", err)
	}
	for rows.Next() {
		v := rows.Values()
		var f event.Finding
		f.ID, _ = v[0].(string)
		us, _ := v[1].(int64)
		f.Severity, _ = v[2].(float64)
		if n, ok := v[3].(int64); ok {
			f.Count = event.Int{V: n, Valid: true}
		}
		if b, ok := v[4].(bool); ok {
			f.Archived = event.BoolOf(b)
		}
		f.Type, _ = v[5].(string)
		f.Title, _ = v[6].(string)
		seen[key{f.ID, us}] = findingGist(&f)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("reading finding history: %w", err)
	}
	// hist are the versions new to the history; newest is, per id, the
	// newest version of the batch that is new or an exact copy of a
	// stored one. An exact copy still gets its current-state row: a
	// process that died between the two inserts below left the history
	// without it, and the re-read must mend that (ReplacingMergeTree keeps
	// the largest updated_us of each id, so a row for an older version
	// changes nothing).
	var hist []int
	newest := map[string]int{}
	consider := func(i int) {
		if j, ok := newest[recs[i].ID]; !ok || recs[i].UpdatedAt.After(recs[j].UpdatedAt) {
			newest[recs[i].ID] = i
		}
	}
	for i := range recs {
		f := &recs[i]
		k := key{f.ID, f.UpdatedAt.UnixMicro()}
		if gist, ok := seen[k]; ok {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindGuardDuty}]++
			if gist != findingGist(f) {
				t.w = append(t.w, event.Warning{Object: srcs[i], Kind: event.KindGuardDuty, Record: f.Unit, Field: "updatedAt",
					Reason: fmt.Sprintf("finding %s has a stored version with the same updatedAt (%s) but other content (%s, not %s); the stored version is kept",
						f.ID, f.UpdatedAt.Format(time.RFC3339Nano), findingGist(f), gist)})
				continue
			}
			consider(i)
			continue
		}
		seen[k] = findingGist(f)
		hist = append(hist, i)
		consider(i)
	}
	if len(newest) == 0 {
		return nil
	}
	line := func(i int) {
		f := &recs[i]
		encode(&t.js, schema.Finding, f)
		t.js.str(srcs[i], false)
		t.js.time(t.now, false)
		t.js.u64(uint64(max(f.UpdatedAt.UnixMicro(), 0)))
	}
	if len(hist) > 0 {
		for _, i := range hist {
			line(i)
		}
		if err := t.insert(ctx, "guardduty_finding_history"); err != nil {
			return err
		}
	}
	// The current state: ReplacingMergeTree keeps the version with the
	// largest updated_us of each id.
	for i := range recs {
		if j, ok := newest[recs[i].ID]; ok && j == i {
			line(i)
		}
	}
	return t.insert(ctx, "guardduty_finding")
}

// findingGist is what tells two versions of a finding apart: a version
// with the same updatedAt but another gist is a conflict, not a repeat.
func findingGist(f *event.Finding) string {
	count := "-"
	if f.Count.Valid {
		count = strconv.FormatInt(f.Count.V, 10)
	}
	return fmt.Sprintf("severity %g, count %s, archived %v, type %s, title %q", f.Severity, count, f.Archived.Value(), f.Type, f.Title)
}

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
	if err := t.wait(); err != nil {
		return err
	}
	q, err := Bind(`SELECT digest_object FROM cloudtrail_digest_data WHERE digest_object IN `+inList(keys), nil)
	if err != nil {
		return err
	}
	rows, err := t.st.c.query(ctx, q, bigQuery, nil)
	if err != nil {
		return fmt.Errorf("reading stored digests: %w", err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		k, _ := rows.Values()[0].(string)
		seen[k] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("reading stored digests: %w", err)
	}
	var files []schema.DigestFile
	fileSeen := map[[2]string]bool{}
	for i := range recs {
		d := &recs[i]
		if seen[d.DigestS3Object] {
			t.dups[ledger.DupKey{Source: srcs[i], Kind: event.KindCloudTrailDigest}]++
			continue
		}
		seen[d.DigestS3Object] = true
		encode(&t.js, schema.Digest, d)
		t.js.str(srcs[i], false)
		t.js.time(t.now, false)
		for _, f := range d.LogFiles {
			k := [2]string{d.DigestS3Object, f.S3Object}
			if !fileSeen[k] && f.S3Object != "" {
				fileSeen[k] = true
				files = append(files, schema.DigestFile{Digest: d.DigestS3Object, DigestLogFile: f})
			}
		}
	}
	if err := t.insert(ctx, "cloudtrail_digest"); err != nil {
		return err
	}
	for i := range files {
		encode(&t.js, schema.DigestFiles, &files[i])
	}
	return t.insert(ctx, "cloudtrail_digest_file")
}

func (t *Tx) flushQuarantine(ctx context.Context) error {
	for i := range t.q {
		encode(&t.js, schema.Quarantine, &t.q[i])
		t.js.time(t.now, false)
	}
	clear(t.q)
	t.q = t.q[:0]
	return t.insert(ctx, "quarantine")
}

func (t *Tx) flushWarnings(ctx context.Context) error {
	for i := range t.w {
		encode(&t.js, schema.Warning, &t.w[i])
		t.js.time(t.now, false)
	}
	clear(t.w)
	t.w = t.w[:0]
	return t.insert(ctx, "ingest_warning")
}

func (t *Tx) flushHits(ctx context.Context) error {
	if len(t.hits) == 0 {
		return nil
	}
	if HitsWriter == nil {
		return errors.New("the ClickHouse store cannot record rule hits yet (no alert store)")
	}
	err := HitsWriter(ctx, t.st, t.hits, t.now)
	clear(t.hits)
	t.hits = t.hits[:0]
	return err
}

// ForgetObject removes the quarantine entries and warnings of an object
// that is about to be read again from its start. (ClickHouse deletes them
// asynchronously, as a mutation of the parts that exist now; entries the
// re-read writes are not touched. Until the mutation ends, a repeated entry
// is also collapsed by the tables' keys.)
func (t *Tx) ForgetObject(ctx context.Context, object string) error {
	if err := t.flushQuarantine(ctx); err != nil {
		return err
	}
	if err := t.flushWarnings(ctx); err != nil {
		return err
	}
	if err := t.wait(); err != nil {
		return err
	}
	for _, table := range []string{"quarantine_data", "ingest_warning_data"} {
		if err := t.st.c.Exec(ctx, `ALTER TABLE `+table+` DELETE WHERE object = ?`, object); err != nil {
			return fmt.Errorf("clearing old %s entries of %s: %w", table, object, err)
		}
	}
	return nil
}

// Flush writes every buffered row and returns, per source, how many records
// were dropped as duplicates since the last Flush.
func (t *Tx) Flush(ctx context.Context) (map[ledger.DupKey]int64, error) {
	for _, f := range []func(context.Context) error{t.flushCloudTrail, t.flushVPCFlow, t.flushFindings, t.flushDigests,
		t.flushQuarantine, t.flushWarnings, t.flushHits} {
		if err := f(ctx); err != nil {
			t.wait() //nolint:errcheck // the first error is returned
			return nil, err
		}
	}
	if err := t.wait(); err != nil {
		return nil, err
	}
	dups := t.dups
	t.dups = map[ledger.DupKey]int64{}
	return dups, nil
}

// Commit writes what is buffered, then the ledger entries.
func (t *Tx) Commit(ctx context.Context, entries []ledger.Entry) error {
	if t.done {
		return errors.New("transaction already finished")
	}
	if _, err := t.Flush(ctx); err != nil {
		t.done = true
		return err
	}
	t.done = true
	if len(entries) > 0 {
		return t.st.writeLedger(ctx, entries, t.now)
	}
	return nil
}

// Rollback drops what is still buffered. Rows already inserted stay: a
// re-run of their objects writes them again and de-duplication keeps one
// copy. It is a no-op after Commit.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	t.wait() //nolint:errcheck // rows already sent are harmless (see above)
	t.ct.reset()
	t.vp.reset()
	t.gd.reset()
	t.dg.reset()
	t.q, t.w, t.hits = nil, nil, nil
	return nil
}
