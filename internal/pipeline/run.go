package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
)

// Config controls a run.
type Config struct {
	Decode decode.Options
	// Workers decoding objects in parallel; 0 means GOMAXPROCS.
	Workers int
	// ChunkUnits is how many records a worker hands to the writer at a time.
	ChunkUnits int
	// ChunkBytes bounds the text held in one chunk.
	ChunkBytes int
	// TxRows commits the open transaction once it holds this many rows.
	TxRows int
	// TxAge commits the open transaction at least this often.
	TxAge time.Duration
	// Force re-reads objects the ledger says are done and unchanged.
	Force bool
	// Progress, if set, is called after each chunk is written and at the end.
	Progress func(Progress)
	// Notice, if set, receives messages about individual objects (skipped,
	// changed, resumed, failed).
	Notice func(string)
	// Quarantined, if set, is called for each quarantine entry as it is
	// written (from the writer's goroutine).
	Quarantined func(*event.Quarantined)
}

// Progress is a snapshot of a running ingest.
type Progress struct {
	ObjectsTotal, ObjectsDone, ObjectsSkipped int
	BytesTotal, BytesRead                     int64 // object bytes as stored
	Records                                   [5]int64
	Duplicates, Quarantined                   int64
	Started                                   time.Time
	Final                                     bool
}

// Stored returns the number of records stored, all types together.
func (p Progress) Stored() int64 {
	var n int64
	for _, c := range p.Records {
		n += c
	}
	return n
}

// Result sums up a run.
type Result struct {
	Progress
	Elapsed time.Duration
	Failed  []string // objects that could not be read (retried next run)
	Changed []string // objects ingested again because they changed
}

// DefaultTxRows and DefaultTxAge bound a transaction. DuckDB writes whole
// row groups (122,880 rows) straight to the database file at commit; the
// rest of a commit's rows go through the write-ahead log and are rewritten
// by a later checkpoint, which cost a fifth of an ingest's time with
// 250k-row commits. Four row groups per commit, and a commit at least once
// a minute so that an interruption loses little work.
const (
	DefaultTxRows = 4 * 122880
	DefaultTxAge  = time.Minute
)

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.ChunkUnits <= 0 {
		c.ChunkUnits = 4096
	}
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = 8 << 20
	}
	if c.TxRows <= 0 {
		c.TxRows = DefaultTxRows
	}
	if c.TxAge <= 0 {
		c.TxAge = DefaultTxAge
	}
}

// job is one object to read, and what the ledger knew of it.
type job struct {
	obj   Object
	skip  int64 // units already committed by an earlier run
	prior LedgerEntry
	fresh bool // read from the start
	seen  bool // the ledger knows the object: forget its old quarantine entries
}

// chunk is a slice of an object's units on their way to the writer.
type chunk struct {
	job       *job
	end       int64 // units of the object decoded up to the end of this chunk
	ct        []event.CloudTrail
	vpc       []event.VPCFlow
	gd        []event.Finding
	dg        []event.Digest
	q         []event.Quarantined
	kinds     uint8
	bytes     int64 // object bytes read since the previous chunk
	final     bool
	sha256    string
	err       error // the object could not be read (a source error)
	textBytes int
}

func (c *chunk) rows() int { return len(c.ct) + len(c.vpc) + len(c.gd) + len(c.dg) }

// Run ingests objs into st.
func Run(ctx context.Context, st Store, objs []Object, cfg Config) (Result, error) {
	cfg.defaults()
	start := time.Now()
	res := Result{Progress: Progress{ObjectsTotal: len(objs), Started: start}}
	notice := cfg.Notice
	if notice == nil {
		notice = func(string) {}
	}

	names := make([]string, 0, len(objs))
	for _, o := range objs {
		if !o.NoLedger {
			names = append(names, o.Name)
		}
		if o.Size > 0 {
			res.BytesTotal += o.Size
		}
	}
	ledger, err := st.LedgerEntries(ctx, names)
	if err != nil {
		return res, err
	}
	var jobs []*job
	for _, o := range objs {
		j := &job{obj: o, fresh: true}
		if prior, ok := ledger[o.Name]; ok && !o.NoLedger {
			j.prior, j.seen = prior, true
			same := sameObject(o, prior)
			switch {
			case prior.Status == StatusDone && same && !cfg.Force:
				res.ObjectsSkipped++
				res.ObjectsDone++
				if o.Size > 0 {
					res.BytesRead += o.Size
				}
				continue
			case (prior.Status == StatusPartial || prior.Status == StatusFailed) && same:
				j.skip, j.fresh = prior.Units, false
				notice(fmt.Sprintf("%s: resuming after %d records committed by an earlier run", o.Name, prior.Units))
			case prior.Status == StatusDone && !same:
				res.Changed = append(res.Changed, o.Name)
				notice(fmt.Sprintf("%s: changed since it was ingested on %s; reading it again (CloudTrail and GuardDuty records are de-duplicated, flow-log records from it may be stored twice)", o.Name, prior.First.Format("2006-01-02 15:04")))
			}
			if j.fresh {
				// Counts restart with the object.
				j.prior = LedgerEntry{First: prior.First}
			}
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		res.Elapsed = time.Since(start)
		res.Final = true
		if cfg.Progress != nil {
			cfg.Progress(res.Progress)
		}
		return res, nil
	}

	// Workers decode; the writer (this goroutine) stores.
	wctx, cancelWorkers := context.WithCancel(ctx)
	defer cancelWorkers()
	jobCh := make(chan *job)
	chunks := make(chan *chunk, cfg.Workers)
	var wg sync.WaitGroup
	for i := 0; i < cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobCh {
				readObject(wctx, j, cfg, chunks)
			}
		}()
	}
	go func() {
		defer close(jobCh)
		for _, j := range jobs {
			select {
			case jobCh <- j:
			case <-wctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(chunks) }()

	w := &writer{st: st, cfg: cfg, res: &res, objects: map[*job]*objState{}, byName: map[string]*objState{}}
	werr := w.loop(ctx, chunks)
	cancelWorkers()
	for range chunks { // let workers finish
	}
	res.Elapsed = time.Since(start)
	res.Final = true
	if cfg.Progress != nil {
		cfg.Progress(res.Progress)
	}
	if werr != nil {
		return res, werr
	}
	return res, ctx.Err()
}

// sameObject reports whether an object is the one a ledger entry describes.
func sameObject(o Object, e LedgerEntry) bool {
	if o.ETag != "" && e.ETag != "" {
		return o.ETag == e.ETag
	}
	if o.Size >= 0 && e.Size >= 0 && o.Size != e.Size {
		return false
	}
	if !o.ModTime.IsZero() && !e.ModifiedAt.IsZero() {
		return o.ModTime.Equal(e.ModifiedAt)
	}
	return o.Size >= 0 && o.Size == e.Size
}

// objState is the writer's view of an object: what is committed and what
// the open transaction adds.
type objState struct {
	entry    LedgerEntry // as of the open transaction
	touched  bool
	finished bool
}

type writer struct {
	st      Store
	cfg     Config
	res     *Result
	objects map[*job]*objState
	byName  map[string]*objState

	tx      Tx
	txRows  int
	txStart time.Time
	pending Progress // progress of the open transaction, added at commit
}

func (w *writer) loop(ctx context.Context, chunks <-chan *chunk) error {
	defer func() {
		if w.tx != nil {
			_ = w.tx.Rollback()
		}
	}()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case c, ok := <-chunks:
			if !ok {
				return w.commit()
			}
			if err := w.write(ctx, c); err != nil {
				return err
			}
			if w.txRows >= w.cfg.TxRows || time.Since(w.txStart) >= w.cfg.TxAge {
				if err := w.commit(); err != nil {
					return err
				}
			}
		case <-ticker.C:
			if w.tx != nil && time.Since(w.txStart) >= w.cfg.TxAge {
				if err := w.commit(); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			// Interrupted: keep what is complete. The ledger records partial
			// objects at their last written chunk, so a re-run resumes there.
			return w.commit()
		}
	}
}

func (w *writer) write(ctx context.Context, c *chunk) error {
	if w.tx == nil {
		tx, err := w.st.Begin(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		w.tx, w.txRows, w.txStart = tx, 0, time.Now()
	}
	j := c.job
	s := w.objects[j]
	if s == nil {
		s = &objState{entry: j.prior}
		s.entry.Object = j.obj.Name
		s.entry.Units = j.skip
		w.objects[j] = s
		w.byName[j.obj.Name] = s
		// An object read before (a failed or changed one) may have left
		// quarantine entries; a new object has none to forget.
		if j.fresh && !j.obj.NoLedger && j.seen {
			if err := w.tx.ForgetObject(j.obj.Name); err != nil {
				return err
			}
		}
	}
	name := j.obj.Name
	if err := w.tx.CloudTrail(name, c.ct); err != nil {
		return err
	}
	if err := w.tx.VPCFlow(name, c.vpc); err != nil {
		return err
	}
	if err := w.tx.Findings(name, c.gd); err != nil {
		return err
	}
	if err := w.tx.Digests(name, c.dg); err != nil {
		return err
	}
	if err := w.tx.Quarantine(c.q); err != nil {
		return err
	}
	if w.cfg.Quarantined != nil {
		for i := range c.q {
			w.cfg.Quarantined(&c.q[i])
		}
	}
	e := &s.entry
	n := int64(c.rows())
	e.Records += n
	w.pending.Records[event.KindCloudTrail] += int64(len(c.ct))
	w.pending.Records[event.KindVPCFlow] += int64(len(c.vpc))
	w.pending.Records[event.KindGuardDuty] += int64(len(c.gd))
	w.pending.Records[event.KindCloudTrailDigest] += int64(len(c.dg))
	e.Quarantined += int64(len(c.q))
	w.pending.Quarantined += int64(len(c.q))
	w.pending.BytesRead += c.bytes
	e.Units = c.end
	e.Kinds = mergeKinds(e.Kinds, c.kinds)
	e.Size, e.ModifiedAt, e.ETag = j.obj.Size, j.obj.ModTime, j.obj.ETag
	e.Status = StatusPartial
	if c.final {
		e.Status = StatusDone
		e.SHA256 = c.sha256
		e.Error = ""
		if c.err != nil {
			// Units up to the failure are stored; a re-run resumes there.
			e.Status = StatusFailed
			e.Error = c.err.Error()
			w.res.Failed = append(w.res.Failed, fmt.Sprintf("%s: %v", name, c.err))
		}
		s.finished = true
		w.pending.ObjectsDone++
	}
	s.touched = true
	w.txRows += c.rows() + len(c.q)
	if w.cfg.Progress != nil {
		w.cfg.Progress(w.snapshot())
	}
	return nil
}

// snapshot is the progress including the open transaction.
func (w *writer) snapshot() Progress {
	p := w.res.Progress
	for k := range p.Records {
		p.Records[k] += w.pending.Records[k]
	}
	p.Duplicates += w.pending.Duplicates
	p.Quarantined += w.pending.Quarantined
	p.BytesRead += w.pending.BytesRead
	p.ObjectsDone += w.pending.ObjectsDone
	return p
}

// commit writes what is buffered, then the ledger entries of the objects the
// transaction touched (with their duplicates counted), and commits.
func (w *writer) commit() error {
	if w.tx == nil {
		return nil
	}
	dups, err := w.tx.Flush()
	if err != nil {
		return err
	}
	for k, n := range dups {
		if s := w.byName[k.Source]; s != nil {
			s.entry.Duplicates += n
			s.entry.Records -= n
		}
		w.pending.Records[k.Kind] -= n
		w.pending.Duplicates += n
	}
	var entries []LedgerEntry
	for j, s := range w.objects {
		if s.touched && !j.obj.NoLedger {
			entries = append(entries, s.entry)
		}
	}
	if len(entries) > 0 {
		if err := w.tx.Ledger(entries); err != nil {
			return err
		}
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(); err != nil {
		return err
	}
	for j, s := range w.objects {
		s.touched = false
		if s.finished {
			delete(w.objects, j)
			delete(w.byName, j.obj.Name)
		}
	}
	p := &w.res.Progress
	for k := range p.Records {
		p.Records[k] += w.pending.Records[k]
	}
	p.Duplicates += w.pending.Duplicates
	p.Quarantined += w.pending.Quarantined
	p.BytesRead += w.pending.BytesRead
	p.ObjectsDone += w.pending.ObjectsDone
	w.pending = Progress{}
	if w.cfg.Progress != nil {
		w.cfg.Progress(*p)
	}
	return nil
}

func mergeKinds(have string, bits uint8) string {
	set := map[string]bool{}
	for _, k := range strings.Split(have, ",") {
		if k != "" {
			set[k] = true
		}
	}
	for k := event.KindCloudTrail; k <= event.KindGuardDuty; k++ {
		if bits&(1<<k) != 0 {
			set[k.String()] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// collector receives the decoded batches of one object and cuts them into
// chunks for the writer.
type collector struct {
	ctx       context.Context
	job       *job
	cfg       *Config
	out       chan<- *chunk
	cur       *chunk
	counter   *countingReader
	lastBytes int64
	end       int64
}

var errCanceled = errors.New("canceled")

func (c *collector) next() *chunk {
	if c.cur == nil {
		c.cur = &chunk{job: c.job}
	}
	return c.cur
}

func (c *collector) emit(b *event.Batch) error {
	ch := c.next()
	ch.ct = append(ch.ct, b.CloudTrail...)
	ch.vpc = append(ch.vpc, b.VPCFlow...)
	ch.gd = append(ch.gd, b.Findings...)
	ch.dg = append(ch.dg, b.Digests...)
	ch.q = append(ch.q, b.Quarantined...)
	for _, k := range b.Kinds() {
		ch.kinds |= 1 << k
	}
	c.end = b.End
	event.PutBatch(b)
	return c.flush(false)
}

func (c *collector) flush(final bool) error {
	ch := c.next()
	ch.end = c.end
	if ch.end < c.job.skip {
		ch.end = c.job.skip
	}
	ch.final = final
	if c.counter != nil {
		n := c.counter.n.Load()
		ch.bytes = n - c.lastBytes
		c.lastBytes = n
	}
	c.cur = nil
	select {
	case c.out <- ch:
		return nil
	case <-c.ctx.Done():
		return errCanceled
	}
}

// countingReader counts and hashes the bytes of an object as stored.
type countingReader struct {
	r io.Reader
	n atomic.Int64
	h hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.Write(p[:n])
		c.n.Add(int64(n))
	}
	return n, err
}

// readObject decodes one object and sends its chunks, ending with a final
// chunk (which carries the error when the object could not be read).
func readObject(ctx context.Context, j *job, cfg Config, out chan<- *chunk) {
	col := &collector{ctx: ctx, job: j, cfg: &cfg, out: out}
	finish := func(err error) {
		ch := col.next()
		ch.err = err
		if col.counter != nil && err == nil {
			// Read whatever follows the data (trailing bytes after a JSON
			// document) so the hash covers the whole object.
			_, _ = io.Copy(io.Discard, col.counter)
			ch.sha256 = hex.EncodeToString(col.counter.h.Sum(nil))
		}
		_ = col.flush(true)
	}
	rc, err := j.obj.Open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		finish(fmt.Errorf("opening: %w", err))
		return
	}
	defer rc.Close()
	col.counter = &countingReader{r: rc, h: sha256.New()}
	derr := decode.Decode(ctx, decode.Object{Name: j.obj.Name, Key: j.obj.Key, Skip: j.skip}, col.counter, decodeOptions(cfg), col.emit)
	switch {
	case errors.Is(derr, errCanceled) || ctx.Err() != nil:
		return // the writer is gone or stopping; the ledger keeps the last commit
	case derr != nil:
		finish(derr)
	default:
		finish(nil)
	}
}

func decodeOptions(cfg Config) decode.Options {
	o := cfg.Decode
	o.BatchUnits, o.BatchBytes = cfg.ChunkUnits, cfg.ChunkBytes
	return o
}
