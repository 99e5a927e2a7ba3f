package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/schema"
)

// tableWriter is what writing one table needs: its layout, Parquet schema
// and column count.
type tableWriter struct {
	Table
	schema *parquet.Schema
	ncols  int
}

var (
	ctTable, flowTable, gdTable = mustTable(CloudTrail), mustTable(VPCFlow), mustTable(GuardDuty)

	ctGetters   = getters(ctTable.Table, schema.CloudTrail)
	flowGetters = getters(flowTable.Table, schema.VPCFlow)
	gdGetters   = getters(gdTable.Table, schema.Finding)
)

func mustTable(name string) *tableWriter {
	t, ok := TableNamed(name)
	if !ok {
		panic("lake: no table " + name)
	}
	return &tableWriter{Table: t, schema: parquetSchema(t), ncols: len(t.Columns)}
}

// partKey identifies an open partition in a transaction: the table, the
// partition values and the time slot (UTC day, or hour for vpcflow).
type partKey struct {
	t       *tableWriter
	account string
	region  string
	slot    int64
}

func slotOf(t time.Time, hourly bool) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	s := t.Unix()
	if hourly {
		return floorDiv(s, 3600)
	}
	return floorDiv(s, 86400)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// partFile is the open data file of one partition.
type partFile struct {
	key     Key
	t       *tableWriter
	staging string
	final   string
	fw      fileWriter
	cw      *countingWriter
	pw      *parquet.Writer
	rows    int64
	vals    []parquet.Value // this batch's rows, ncols values each
	pending int
}

// Tx is a lake transaction: rows go to per-partition data files under
// _trawl/staging; Commit writes the manifest (the commit point), then
// publishes the files under their final names.
type Tx struct {
	l     *Lake
	seq   uint64
	at    int64 // ingested_at, µs since the epoch
	sink  bool
	parts map[partKey]*partFile
	dirty []*partFile // parts with pending rows
	files []File      // closed staging files
	fileN uint64

	quarantine, warnings, digests bytes.Buffer
	nq, nw, nd                    int64
	units                         map[string]int64

	finished bool // committed (manifest written) or rolled back
}

func newTx(l *Lake, seq uint64, sink bool) *Tx {
	return &Tx{l: l, seq: seq, at: time.Now().UnixMicro(), sink: sink, parts: map[partKey]*partFile{}, units: map[string]int64{}}
}

// fileSeq numbers the files of a commit: seq×10⁶ + n, so names sort by
// commit and stay unique per writer.
func (tx *Tx) fileSeq() uint64 {
	tx.fileN++
	return tx.seq*1_000_000 + tx.fileN
}

func (tx *Tx) stagingKey(final string) string {
	return stagingDir + "/" + tx.l.opt.Writer + "/" + strconv.FormatUint(tx.seq, 10) + "/" + final
}

func (tx *Tx) part(ctx context.Context, t *tableWriter, account, region string, ts time.Time) (*partFile, error) {
	k := partKey{t: t, account: account, region: region, slot: slotOf(ts, t.Hourly())}
	if p := tx.parts[k]; p != nil {
		return p, nil
	}
	key := Key{Table: t.Name, Account: account, Region: region}
	if !ts.IsZero() {
		key.Time = ts.UTC()
	}
	final := FilePath(key, tx.l.opt.Writer, tx.fileSeq())
	staging := tx.stagingKey(final)
	fw, err := tx.l.b.Create(ctx, staging)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: fw}
	p := &partFile{key: key, t: t, staging: staging, final: final, fw: fw, cw: cw, pw: newParquetWriter(cw, t.schema)}
	tx.parts[k] = p
	return p, nil
}

// add appends a record's values to its partition's pending rows.
func addRow[T any](ctx context.Context, tx *Tx, t *tableWriter, gs []getter[T], r *T, src, account, region string, ts time.Time) error {
	p, err := tx.part(ctx, t, account, region, ts)
	if err != nil {
		return err
	}
	if p.pending == 0 {
		tx.dirty = append(tx.dirty, p)
	}
	p.vals = appendRow(p.vals, gs, r, src, tx.at)
	p.pending++
	return nil
}

// Write takes the records, quarantine entries, warnings and digests of a
// batch. In a sink, records of units the lake already holds are dropped.
func (tx *Tx) Write(ctx context.Context, b *event.Batch) error {
	if tx.finished {
		return errors.New("lake: write after the transaction ended")
	}
	var held int64
	if tx.sink {
		held = tx.l.heldUnits(b.Object)
	}
	src := b.Object
	for i := range b.CloudTrail {
		r := &b.CloudTrail[i]
		if r.Unit < held {
			continue
		}
		if err := addRow(ctx, tx, ctTable, ctGetters, r, src, r.RecipientAccountID, r.AWSRegion, r.EventTime); err != nil {
			return err
		}
	}
	for i := range b.VPCFlow {
		r := &b.VPCFlow[i]
		if r.Unit < held {
			continue
		}
		start, _ := r.Start()
		if err := addRow(ctx, tx, flowTable, flowGetters, r, src, r.Str(event.FlowAccountID), r.Str(event.FlowRegion), start); err != nil {
			return err
		}
	}
	for i := range b.Findings {
		r := &b.Findings[i]
		if r.Unit < held {
			continue
		}
		if err := addRow(ctx, tx, gdTable, gdGetters, r, src, r.AccountID, r.Region, r.UpdatedAt); err != nil {
			return err
		}
	}
	for i := range b.Digests {
		r := &b.Digests[i]
		if r.Unit < held {
			continue
		}
		appendJSON(&tx.digests, schema.Digest, r, src)
		tx.nd++
	}
	for i := range b.Quarantined {
		r := &b.Quarantined[i]
		if r.Record < held {
			continue
		}
		appendJSON(&tx.quarantine, schema.Quarantine, r, src)
		tx.nq++
	}
	for i := range b.Warnings {
		r := &b.Warnings[i]
		if r.Record < held {
			continue
		}
		appendJSON(&tx.warnings, schema.Warning, r, src)
		tx.nw++
	}
	if b.Object != "" && b.End > tx.units[b.Object] && b.End > held {
		tx.units[b.Object] = b.End
	}
	return tx.writePending(ctx)
}

// writePending writes the rows gathered by Write to their files, flushing
// a row group or closing a file when it is large enough.
func (tx *Tx) writePending(ctx context.Context) error {
	var rows []parquet.Row
	for _, p := range tx.dirty {
		n := p.t.ncols
		rows = rows[:0]
		for i := 0; i < p.pending; i++ {
			rows = append(rows, p.vals[i*n:(i+1)*n:(i+1)*n])
		}
		if _, err := p.pw.WriteRows(rows); err != nil {
			return fmt.Errorf("writing lake file %s: %w", p.final, err)
		}
		p.rows += int64(p.pending)
		p.pending = 0
		p.vals = p.vals[:0]
		size := p.pw.Size()
		if size >= tx.l.opt.FileSize {
			if err := tx.closePart(ctx, p); err != nil {
				return err
			}
			continue
		}
		if size-p.cw.n >= rowGroupBytes {
			if err := p.pw.Flush(); err != nil {
				return fmt.Errorf("writing lake file %s: %w", p.final, err)
			}
		}
	}
	tx.dirty = tx.dirty[:0]
	return nil
}

// closePart completes a partition's file in staging.
func (tx *Tx) closePart(_ context.Context, p *partFile) error {
	for k, q := range tx.parts {
		if q == p {
			delete(tx.parts, k)
			break
		}
	}
	if err := p.pw.Close(); err != nil {
		p.fw.Abort()
		return fmt.Errorf("writing lake file %s: %w", p.final, err)
	}
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("writing lake file %s: %w", p.final, err)
	}
	tx.files = append(tx.files, File{Staging: p.staging, Final: p.final, Table: p.t.Name, Rows: p.rows, Bytes: p.cw.n})
	return nil
}

// ForgetObject is a no-op: the lake keeps the quarantine entries and
// warnings of an abandoned read (NDJSON files are append-only); those of
// the read that finishes follow them.
func (tx *Tx) ForgetObject(context.Context, string) error { return nil }

// Flush completes every open data file in staging. The lake drops no
// records as duplicates, so the counts are empty.
func (tx *Tx) Flush(ctx context.Context) (map[pipeline.DupKey]int64, error) {
	if err := tx.closeAll(ctx); err != nil {
		return nil, err
	}
	return map[pipeline.DupKey]int64{}, nil
}

func (tx *Tx) closeAll(ctx context.Context) error {
	parts := make([]*partFile, 0, len(tx.parts))
	for _, p := range tx.parts {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].final < parts[j].final })
	for _, p := range parts {
		if err := tx.closePart(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Commit completes the data files, writes the side files (quarantine,
// warnings, digests), the manifest with the ledger entries (the commit
// point) and publishes the files.
func (tx *Tx) Commit(ctx context.Context, entries []ledger.Entry) error {
	if tx.finished {
		return errors.New("lake: commit after the transaction ended")
	}
	if err := tx.closeAll(ctx); err != nil {
		return err
	}
	name := manifestName(tx.seq, tx.l.opt.Writer)
	for _, side := range []struct {
		dir string
		buf *bytes.Buffer
		n   int64
	}{{QuarantineDir, &tx.quarantine, tx.nq}, {WarningsDir, &tx.warnings, tx.nw}, {DigestsDir, &tx.digests, tx.nd}} {
		if side.n == 0 {
			continue
		}
		final := side.dir + "/" + name + ".ndjson"
		staging := tx.stagingKey(final)
		fw, err := tx.l.b.Create(ctx, staging)
		if err != nil {
			return err
		}
		if _, err := fw.Write(side.buf.Bytes()); err != nil {
			fw.Abort()
			return fmt.Errorf("writing %s: %w", final, err)
		}
		if err := fw.Close(); err != nil {
			return err
		}
		tx.files = append(tx.files, File{Staging: staging, Final: final, Rows: side.n, Bytes: int64(side.buf.Len())})
	}
	if len(tx.files) == 0 && len(entries) == 0 && len(tx.units) == 0 {
		tx.finished = true
		return nil
	}
	if err := tx.l.at(ctx, "staged"); err != nil {
		return err
	}
	m := &Manifest{Version: manifestVersion, Writer: tx.l.opt.Writer, Seq: tx.seq, Time: time.Now().UTC(),
		Files: tx.files, Ledger: entries, Units: tx.units}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("lake manifest %s: %w", name, err)
	}
	if err := tx.l.b.PutAtomic(ctx, manifestDir+"/"+name+".json", data); err != nil {
		return fmt.Errorf("committing to the lake: %w", err)
	}
	tx.finished = true
	tx.l.mu.Lock()
	tx.l.absorb(name, m)
	tx.l.mu.Unlock()
	if err := tx.l.at(ctx, "manifest"); err != nil {
		return err
	}
	return tx.l.publish(ctx, m)
}

// Rollback discards the transaction's files. After a commit (or a crash
// simulated by a test) it does nothing.
func (tx *Tx) Rollback() error {
	if tx.finished || tx.l.isCrashed() {
		tx.finished = true
		return nil
	}
	tx.finished = true
	ctx := context.Background()
	var errs []error
	for _, p := range tx.parts {
		p.fw.Abort()
	}
	tx.parts = nil
	for _, f := range tx.files {
		if err := tx.l.b.Delete(ctx, f.Staging); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var _ pipeline.Tx = (*Tx)(nil)

// appendJSON appends one record as a JSON object line: every column of
// cols ("" strings, zero times and unset values as null) and source.
func appendJSON[T any](buf *bytes.Buffer, cols []schema.Column[T], r *T, src string) {
	buf.WriteByte('{')
	for _, c := range cols {
		buf.WriteString(strconv.Quote(c.Name))
		buf.WriteByte(':')
		var v any
		switch c.Type {
		case schema.String:
			if s := c.Str(r); s != "" {
				v = s
			}
		case schema.Timestamp:
			if t := c.Time(r); !t.IsZero() {
				v = t.UTC().Format(time.RFC3339Nano)
			}
		case schema.Bool:
			v = c.Bool(r).Value()
		case schema.Int32, schema.Int64:
			if n, ok := c.Int(r); ok {
				v = n
			}
		case schema.Float64:
			v = c.Float(r)
		}
		data, err := json.Marshal(v)
		if err != nil {
			data = []byte("null")
		}
		buf.Write(data)
		buf.WriteByte(',')
	}
	buf.WriteString(`"source":`)
	data, _ := json.Marshal(src)
	buf.Write(data)
	buf.WriteString("}\n")
}
