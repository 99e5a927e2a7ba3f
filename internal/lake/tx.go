package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
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

// partFile gathers the rows of one partition in a transaction. Its data
// files are written by one encoder goroutine (enc): Write hands it rows,
// it rolls a file at FileSize; between barriers only the encoder touches
// cur, closed and err.
type partFile struct {
	key     Key
	t       *tableWriter
	enc     int
	vals    []parquet.Value // rows gathered by the current Write, ncols values each
	pending int

	cur    *openFile
	closed []File
	err    error

	used uint64 // Tx.clock when last written
	live bool   // in Tx.live: has (or is about to have) an open file
}

// openFile is a data file being written in staging.
type openFile struct {
	staging, final string
	fw             fileWriter
	cw             *countingWriter
	pw             *parquet.GenericWriter[any]
	rows           int64
	buffered       int64 // its share of Tx.buffered
}

// job is work for an encoder: rows of a partition, or (close) completing
// its open file, or (abort) dropping it; done is signalled after a close
// or abort.
type job struct {
	ctx   context.Context
	p     *partFile
	vals  []parquet.Value
	n     int
	close bool
	abort bool
	done  *sync.WaitGroup
}

// valsPool recycles the value slices handed to encoders.
var valsPool = sync.Pool{New: func() any { return new([]parquet.Value) }}

// encoders returns the number of encoder goroutines of a transaction.
func encoders() int { return max(runtime.GOMAXPROCS(0), 1) }

func (tx *Tx) startEncoders() {
	tx.jobs = make([]chan job, encoders())
	for i := range tx.jobs {
		ch := make(chan job, 2) // queued rows pin their batch's strings: keep few
		tx.jobs[i] = ch
		tx.encWG.Add(1)
		go func() {
			defer tx.encWG.Done()
			for j := range ch {
				tx.encode(j)
			}
		}()
	}
}

func (tx *Tx) stopEncoders() {
	if tx.jobs == nil {
		return
	}
	for _, ch := range tx.jobs {
		close(ch)
	}
	tx.encWG.Wait()
	tx.jobs = nil
}

// encode runs on an encoder goroutine.
func (tx *Tx) encode(j job) {
	p := j.p
	defer func() {
		if j.vals != nil {
			v := j.vals[:0]
			valsPool.Put(&v)
		}
		if j.done != nil {
			j.done.Done()
		}
	}()
	switch {
	case j.abort:
		if p.cur != nil {
			p.cur.fw.Abort()
			p.cur = nil
		}
		return
	case j.close:
		if p.err == nil && p.cur != nil {
			p.err = tx.closeFile(p)
		}
		return
	}
	if p.err != nil {
		return
	}
	if p.cur == nil {
		final := FilePath(p.key, tx.l.opt.Writer, tx.fileSeq())
		staging := tx.stagingKey(final)
		fw, err := tx.l.b.Create(j.ctx, staging)
		if err != nil {
			p.err = err
			tx.failed.Store(true)
			return
		}
		cw := &countingWriter{w: fw}
		p.cur = &openFile{staging: staging, final: final, fw: fw, cw: cw, pw: newParquetWriter(cw, p.t.schema)}
	}
	f := p.cur
	n := p.t.ncols
	rows := make([]parquet.Row, j.n)
	for i := range rows {
		rows[i] = j.vals[i*n : (i+1)*n : (i+1)*n]
	}
	if _, err := f.pw.WriteRows(rows); err != nil {
		p.err = fmt.Errorf("writing lake file %s: %w", f.final, err)
		tx.failed.Store(true)
		return
	}
	f.rows += int64(j.n)
	size := f.pw.Size()
	if size >= tx.l.opt.FileSize {
		p.err = tx.closeFile(p)
		return
	}
	// Flush the row group (write its pages out) when it is large, or when
	// the transaction's open files buffer too much together.
	buf := size - f.cw.n
	total := tx.buffered.Add(buf - f.buffered)
	f.buffered = buf
	if buf >= rowGroupBytes || (total > txBufferBytes && buf >= minRowGroupBytes) {
		if err := f.pw.Flush(); err != nil {
			p.err = fmt.Errorf("writing lake file %s: %w", f.final, err)
			tx.failed.Store(true)
		}
		tx.buffered.Add(-f.buffered)
		f.buffered = 0
	}
}

// closeFile completes a partition's open file in staging.
func (tx *Tx) closeFile(p *partFile) error {
	f := p.cur
	p.cur = nil
	tx.buffered.Add(-f.buffered)
	if err := f.pw.Close(); err != nil {
		f.fw.Abort()
		tx.failed.Store(true)
		return fmt.Errorf("writing lake file %s: %w", f.final, err)
	}
	if err := f.fw.Close(); err != nil {
		tx.failed.Store(true)
		return fmt.Errorf("writing lake file %s: %w", f.final, err)
	}
	p.closed = append(p.closed, File{Staging: f.staging, Final: f.final, Table: p.t.Name, Rows: f.rows, Bytes: f.cw.n})
	return nil
}

// readOnce reports whether object names an input that is read once and
// has no ledger entry: standard input ("stdin") or a named pipe. Its
// units are not held by name (the next read of it is new data).
func (tx *Tx) readOnce(object string) bool {
	if object == "stdin" {
		return true
	}
	if !filepath.IsAbs(object) {
		return false
	}
	if v, ok := tx.once[object]; ok {
		return v
	}
	info, err := os.Stat(object)
	v := err == nil && info.Mode()&os.ModeNamedPipe != 0
	if tx.once == nil {
		tx.once = map[string]bool{}
	}
	tx.once[object] = v
	return v
}

// writePending hands the rows gathered by Write to the encoders.
func (tx *Tx) writePending(ctx context.Context) error {
	if tx.failed.Load() {
		return tx.barrier(ctx, false)
	}
	for _, p := range tx.dirty {
		tx.jobs[p.enc] <- job{ctx: ctx, p: p, vals: p.vals, n: p.pending}
		p.vals = nil // the next Write takes one from the pool
		p.pending = 0
	}
	tx.dirty = tx.dirty[:0]
	return nil
}

// barrier waits for the encoders to finish every partition's rows, then
// closes (or with abort drops) every open file, and returns the first
// error. The partitions are forgotten: later rows start new files.
func (tx *Tx) barrier(ctx context.Context, abort bool) error {
	var wg sync.WaitGroup
	parts := make([]*partFile, 0, len(tx.parts))
	for _, p := range tx.parts {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].key.Dir() < parts[j].key.Dir() })
	for _, p := range parts {
		wg.Add(1)
		tx.jobs[p.enc] <- job{ctx: ctx, p: p, close: !abort, abort: abort, done: &wg}
	}
	wg.Wait()
	var errs []error
	for _, p := range parts {
		tx.files = append(tx.files, p.closed...)
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	tx.parts = map[partKey]*partFile{}
	tx.dirty = tx.dirty[:0]
	tx.live = tx.live[:0]
	return errors.Join(errs...)
}

// Tx is a lake transaction: rows go to per-partition data files under
// _trawl/staging; Commit writes the manifest (the commit point), then
// publishes the files under their final names.
type Tx struct {
	l      *Lake
	seq    uint64
	at     int64 // ingested_at, µs since the epoch
	sink   bool
	parts  map[partKey]*partFile
	nparts int
	dirty  []*partFile // parts with pending rows
	files  []File      // closed staging files
	fileN  atomic.Uint64
	jobs   []chan job // one per encoder goroutine
	encWG  sync.WaitGroup
	failed atomic.Bool // an encoder failed: the transaction cannot commit
	live   []*partFile // partitions with an open file, at most maxOpenFiles
	// buffered estimates the bytes the open files hold in memory (their
	// current row groups, uncompressed).
	buffered atomic.Int64
	clock    uint64

	quarantine, warnings, digests bytes.Buffer
	nq, nw, nd                    int64
	units                         map[string]int64
	once                          map[string]bool // readOnce's answers

	finished bool // committed (manifest written) or rolled back
}

func newTx(l *Lake, seq uint64, sink bool) *Tx {
	tx := &Tx{l: l, seq: seq, at: time.Now().UnixMicro(), sink: sink, parts: map[partKey]*partFile{}, units: map[string]int64{}}
	tx.startEncoders()
	return tx
}

// fileSeq numbers the files of a commit: seq×10⁶ + n, so names sort by
// commit and stay unique per writer.
func (tx *Tx) fileSeq() uint64 {
	return tx.seq*1_000_000 + tx.fileN.Add(1)
}

func (tx *Tx) stagingKey(final string) string {
	return stagingDir + "/" + tx.l.opt.Writer + "/" + strconv.FormatUint(tx.seq, 10) + "/" + final
}

func (tx *Tx) part(t *tableWriter, account, region string, ts time.Time) *partFile {
	k := partKey{t: t, account: account, region: region, slot: slotOf(ts, t.Hourly())}
	if p := tx.parts[k]; p != nil {
		return p
	}
	key := Key{Table: t.Name, Account: account, Region: region}
	if !ts.IsZero() {
		key.Time = ts.UTC()
	}
	p := &partFile{key: key, t: t, enc: tx.nparts % len(tx.jobs)}
	tx.nparts++
	tx.parts[k] = p
	return p
}

// maxOpenFiles bounds the data files a transaction has open at once: each
// holds a page buffer per column and its compressed pages until it is
// closed. When a transaction touches more partitions (hourly flow logs of
// many accounts and regions), the least recently written file is closed
// and a later row of its partition starts a new one; trawl lake compact
// merges the small files this makes.
var maxOpenFiles = 32

// touch marks p written now, closing the least recently written open
// file when too many are open.
func (tx *Tx) touch(p *partFile) {
	tx.clock++
	p.used = tx.clock
	if p.live {
		return
	}
	p.live = true
	tx.live = append(tx.live, p)
	if len(tx.live) <= maxOpenFiles {
		return
	}
	oldest := 0
	for i, q := range tx.live {
		if q.used < tx.live[oldest].used {
			oldest = i
		}
	}
	q := tx.live[oldest]
	tx.live = append(tx.live[:oldest], tx.live[oldest+1:]...)
	q.live = false
	if q.pending > 0 {
		return // Write hands its rows over first; it stays open a while
	}
	tx.jobs[q.enc] <- job{p: q, close: true}
}

// add appends a record's values to its partition's pending rows.
func addRow[T any](tx *Tx, t *tableWriter, gs []getter[T], r *T, src, account, region string, ts time.Time) {
	p := tx.part(t, account, region, ts)
	if p.pending == 0 {
		tx.dirty = append(tx.dirty, p)
		tx.touch(p)
		if p.vals == nil {
			p.vals = *valsPool.Get().(*[]parquet.Value)
		}
	}
	p.vals = appendRow(p.vals, gs, r, src, tx.at)
	p.pending++
}

// Write takes the records, quarantine entries, warnings and digests of a
// batch. In a sink, records of units the lake already holds are dropped.
func (tx *Tx) Write(ctx context.Context, b *event.Batch) error {
	if tx.finished {
		return errors.New("lake: write after the transaction ended")
	}
	var held int64
	once := tx.readOnce(b.Object)
	if tx.sink && !once {
		held = tx.l.heldUnits(b.Object)
	}
	src := b.Object
	for i := range b.CloudTrail {
		r := &b.CloudTrail[i]
		if r.Unit < held {
			continue
		}
		addRow(tx, ctTable, ctGetters, r, src, r.RecipientAccountID, r.AWSRegion, r.EventTime)
	}
	for i := range b.VPCFlow {
		r := &b.VPCFlow[i]
		if r.Unit < held {
			continue
		}
		start, _ := r.Start()
		addRow(tx, flowTable, flowGetters, r, src, r.Str(event.FlowAccountID), r.Str(event.FlowRegion), start)
	}
	for i := range b.Findings {
		r := &b.Findings[i]
		if r.Unit < held {
			continue
		}
		addRow(tx, gdTable, gdGetters, r, src, r.AccountID, r.Region, r.UpdatedAt)
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
	if b.Object != "" && !once && b.End > tx.units[b.Object] && b.End > held {
		tx.units[b.Object] = b.End
	}
	return tx.writePending(ctx)
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
	return tx.barrier(ctx, false)
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
	tx.stopEncoders()
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
	killPoint()
	return tx.l.publish(ctx, m)
}

// Rollback discards the transaction's files. After a commit (or a crash
// simulated by a test) it does nothing.
func (tx *Tx) Rollback() error {
	if tx.finished || tx.l.isCrashed() {
		tx.finished = true
		tx.stopEncoders()
		return nil
	}
	tx.finished = true
	ctx := context.Background()
	var errs []error
	if tx.jobs != nil {
		_ = tx.barrier(ctx, true)
		tx.stopEncoders()
	}
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
