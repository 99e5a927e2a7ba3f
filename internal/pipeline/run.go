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
	"github.com/trawl-project/trawl/internal/schema"
)

// Config controls a run.
type Config struct {
	// Decode configures the built-in decoder, used when Decoder is nil.
	Decode decode.Options
	// Decoder decodes objects; nil means decode.New(Decode).
	Decoder Decoder
	// Processors run on every batch, in order, before it is written.
	Processors []Processor
	// Sinks receive every batch after the store (see Sink).
	Sinks []Sink
	// Workers decoding objects in parallel; 0 means GOMAXPROCS.
	Workers int
	// ChunkUnits is how many units a batch holds at most.
	ChunkUnits int
	// ChunkBytes bounds the record text held in one batch.
	ChunkBytes int
	// TxRows commits the open transaction once it holds this many rows.
	TxRows int
	// TxBytes commits the open transaction once it holds this much record
	// text, so that transactions of large records stay within memory.
	TxBytes int64
	// TxAge commits the open transaction at least this often.
	TxAge time.Duration
	// LedgerBatch is how many listed objects are looked up in the ledger at
	// once, at most.
	LedgerBatch int
	// Force re-reads objects the ledger says are done and unchanged.
	Force bool
	// Progress, if set, is called after each batch is written and at the end
	// (from the writer's goroutine).
	Progress func(Progress)
	// Notice, if set, receives messages about individual objects (skipped,
	// changed, resumed, failed, not listable).
	Notice func(string)
	// Quarantined, if set, is called for each quarantine entry as it is
	// written (from the writer's goroutine).
	Quarantined func(*event.Quarantined)
}

// Progress is a snapshot of a running ingest. Totals grow as the source
// lists objects.
type Progress struct {
	ObjectsTotal, ObjectsDone, ObjectsSkipped int
	BytesTotal, BytesRead                     int64 // object bytes as stored
	Records                                   event.Counts
	Duplicates, Quarantined, Warnings         int64
	Started                                   time.Time
	Final                                     bool
}

// Stored returns the number of records stored, all types together.
func (p Progress) Stored() int64 { return p.Records.Total() }

func (p Progress) clone() Progress {
	p.Records = p.Records.Clone()
	return p
}

// Result sums up a run.
type Result struct {
	Progress
	Elapsed  time.Duration
	Failed   []string // objects that could not be read (retried next run)
	Unlisted []string // entries the source could not list
	Changed  []string // objects ingested again because they changed
}

// DefaultTxRows and DefaultTxAge bound a transaction. DuckDB writes whole
// row groups (122,880 rows) straight to the database file at commit; the
// rest of a commit's rows go through the write-ahead log and are rewritten
// by a later checkpoint, which cost a fifth of an ingest's time with
// 250k-row commits. Four row groups per commit, and a commit at least once
// a minute so that an interruption loses little work.
const (
	DefaultTxRows  = 4 * 122880
	DefaultTxAge   = time.Minute
	DefaultTxBytes = 2 << 30
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
	if c.TxBytes <= 0 {
		c.TxBytes = DefaultTxBytes
	}
	if c.TxAge <= 0 {
		c.TxAge = DefaultTxAge
	}
	if c.LedgerBatch <= 0 {
		c.LedgerBatch = 512
	}
	if c.Notice == nil {
		c.Notice = func(string) {}
	}
	if c.Decoder == nil {
		o := c.Decode
		o.BatchUnits, o.BatchBytes = c.ChunkUnits, c.ChunkBytes
		c.Decoder = decode.New(o)
	}
}

// job is one object to read, and what the ledger knew of it.
type job struct {
	obj   Object
	skip  int64 // units already committed by an earlier run
	prior LedgerEntry
	fresh bool // read from the start
	seen  bool // the ledger knows the object: forget its old quarantine entries
	// check: the ledger says done but the object's size or time differ;
	// compare its bytes with the recorded hash before deciding.
	check bool
	// skipDone: done and unchanged, but part of a stream whose cursor the
	// writer must move past it in order.
	skipDone bool
	acked    atomic.Bool
}

func (j *job) ack(ctx context.Context, err error) {
	if j.obj.Ack != nil && j.acked.CompareAndSwap(false, true) {
		j.obj.Ack(ctx, err)
	}
}

// chunk is a batch of an object's units on its way to the writer.
type chunk struct {
	job       *job
	b         *event.Batch // nil on a final chunk without records
	bytes     int64        // object bytes read since the previous chunk
	final     bool
	sha256    string
	err       error // the object could not be read (a source error)
	unchanged bool  // final: the content is what the ledger recorded
}

// run is the state shared by a run's goroutines.
type run struct {
	cfg Config
	st  Store

	mu  sync.Mutex
	res Result
	// inflight holds the names of objects being read; a second copy of one
	// (a queue delivering a message twice) waits until the first is
	// committed, then is looked up again.
	inflight map[string][]Object
	retry    chan Object
}

func (r *run) progress(f func(p *Result)) {
	r.mu.Lock()
	f(&r.res)
	r.mu.Unlock()
}

// Run ingests the objects of src into st. It returns when src is exhausted
// and everything is committed, or when ctx is cancelled (then with ctx's
// error, after committing what is complete).
func Run(ctx context.Context, st Store, src Source, cfg Config) (Result, error) {
	cfg.defaults()
	start := time.Now()
	r := &run{cfg: cfg, st: st, inflight: map[string][]Object{}, retry: make(chan Object, 64)}
	r.res.Started = start
	r.res.Records = event.Counts{}

	wctx, cancelWorkers := context.WithCancel(ctx)
	defer cancelWorkers()
	listed := make(chan Object, cfg.LedgerBatch)
	listErr := make(chan error, 1)
	go func() { listErr <- r.list(wctx, src, listed) }()

	jobs := make(chan *job)
	planErr := make(chan error, 1)
	var stranded []*job // planned but never handed to a worker
	go func() {
		err := r.plan(wctx, listed, jobs, &stranded)
		close(jobs)
		planErr <- err
	}()

	chunks := make(chan *chunk, cfg.Workers)
	var wg sync.WaitGroup
	for i := 0; i < cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.readObject(wctx, j, chunks)
			}
		}()
	}
	go func() { wg.Wait(); close(chunks) }()

	w := &writer{run: r, objects: map[*job]*objState{}, byName: map[string]*objState{}, pending: Progress{Records: event.Counts{}}}
	werr := w.loop(ctx, chunks)
	cancelWorkers()
	for c := range chunks { // let workers finish
		if c.b != nil {
			event.PutBatch(c.b)
		}
	}
	perr := <-planErr
	lerr := <-listErr
	for o := range listed { // listed, never planned
		if o.Ack != nil {
			o.Ack(context.WithoutCancel(ctx), ErrNotFinished)
		}
	}
	// Objects the run did not finish learn so.
	ackErr := ErrNotFinished
	if werr != nil {
		ackErr = fmt.Errorf("%w: %w", ErrNotFinished, werr)
	}
	for j := range w.objects {
		j.ack(context.WithoutCancel(ctx), ackErr)
	}
	for _, j := range stranded {
		j.ack(context.WithoutCancel(ctx), ackErr)
	}
	r.mu.Lock()
	waiting := r.inflight
	r.inflight = nil
	r.mu.Unlock()
	for _, objs := range waiting {
		for _, o := range objs {
			if o.Ack != nil {
				o.Ack(context.WithoutCancel(ctx), ackErr)
			}
		}
	}
	for {
		select {
		case o := <-r.retry:
			if o.Ack != nil {
				o.Ack(context.WithoutCancel(ctx), ackErr)
			}
			continue
		default:
		}
		break
	}

	r.mu.Lock()
	res := r.res
	res.Progress = res.Progress.clone()
	r.mu.Unlock()
	res.Elapsed = time.Since(start)
	res.Final = true
	if cfg.Progress != nil {
		cfg.Progress(res.Progress)
	}
	switch {
	case werr != nil:
		return res, werr
	case ctx.Err() != nil:
		return res, ctx.Err()
	case perr != nil:
		return res, perr
	case lerr != nil:
		return res, lerr
	}
	return res, nil
}

// list moves objects from the source to the planner.
func (r *run) list(ctx context.Context, src Source, out chan<- Object) error {
	defer close(out)
	for {
		o, err := src.Next(ctx)
		var le *ListError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &le):
			r.cfg.Notice(le.Error())
			r.progress(func(res *Result) { res.Unlisted = append(res.Unlisted, le.Error()) })
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("listing objects: %w", err)
		}
		r.progress(func(res *Result) {
			res.ObjectsTotal++
			if o.Size > 0 {
				res.BytesTotal += o.Size
			}
		})
		select {
		case out <- o:
		case <-ctx.Done():
			if o.Ack != nil {
				o.Ack(context.WithoutCancel(ctx), ErrNotFinished)
			}
			return nil
		}
	}
}

// plan looks listed objects up in the ledger, in groups of whatever is
// listed already (LedgerBatch at most, so a slow listing never waits for a
// full group), and hands those to read to the workers.
func (r *run) plan(ctx context.Context, listed <-chan Object, jobs chan<- *job, stranded *[]*job) error {
	group := make([]Object, 0, r.cfg.LedgerBatch)
	open := true
	for {
		group = group[:0]
		if !open && !r.copiesWaiting() && len(r.retry) == 0 {
			return nil
		}
		// Block for the first object (or a retried copy), then take what is
		// there without waiting.
		var listedCh <-chan Object
		if open {
			listedCh = listed
		}
		select {
		case o, ok := <-listedCh:
			if !ok {
				open = false
				continue
			}
			group = append(group, o)
		case o := <-r.retry:
			group = append(group, o)
		case <-ctx.Done():
			return nil
		}
	fill:
		for len(group) < r.cfg.LedgerBatch {
			select {
			case o, ok := <-listedCh:
				if !ok {
					open, listedCh = false, nil
					break fill
				}
				group = append(group, o)
			case o := <-r.retry:
				group = append(group, o)
			default:
				break fill
			}
		}
		todo, err := r.lookUp(ctx, group)
		if err != nil {
			for _, o := range group {
				if o.Ack != nil {
					o.Ack(context.WithoutCancel(ctx), err)
				}
			}
			return err
		}
		for i, j := range todo {
			select {
			case jobs <- j:
			case <-ctx.Done():
				*stranded = append(*stranded, todo[i:]...)
				return nil
			}
		}
	}
}

// lookUp decides, per object, whether to skip, resume or read it.
func (r *run) lookUp(ctx context.Context, group []Object) ([]*job, error) {
	var names []string
	busy := map[string]bool{} // in flight while the ledger is read
	r.mu.Lock()
	for _, o := range group {
		if !o.NoLedger {
			names = append(names, o.Name)
			if _, ok := r.inflight[o.Name]; ok {
				busy[o.Name] = true
			}
		}
	}
	r.mu.Unlock()
	ledger := map[string]LedgerEntry{}
	if len(names) > 0 {
		var err error
		if ledger, err = r.st.LedgerEntries(ctx, names); err != nil {
			return nil, fmt.Errorf("reading the ledger: %w", err)
		}
	}
	notice := r.cfg.Notice
	var todo []*job
	r.mu.Lock()
	defer r.mu.Unlock()
	// An object committed while the ledger was read has a stale entry: read
	// it again (rarely; holding the lock, so that no other one finishes).
	var stale []string
	for name := range busy {
		if _, ok := r.inflight[name]; !ok {
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		fresh, err := r.st.LedgerEntries(ctx, stale)
		if err != nil {
			return nil, fmt.Errorf("reading the ledger: %w", err)
		}
		for _, name := range stale {
			delete(ledger, name)
			if e, ok := fresh[name]; ok {
				ledger[name] = e
			}
		}
	}
	for _, o := range group {
		if !o.NoLedger {
			if copies, busy := r.inflight[o.Name]; busy {
				r.inflight[o.Name] = append(copies, o)
				continue
			}
		}
		j := &job{obj: o, fresh: true}
		if prior, ok := ledger[o.Name]; ok && !o.NoLedger {
			j.prior, j.seen = prior, true
			same := sameObject(o, prior)
			switch {
			case prior.Status == StatusDone && same && !r.cfg.Force && o.Cursor != nil:
				// The writer moves the stream's cursor past it, in order.
				j.fresh, j.skipDone = false, true
			case prior.Status == StatusDone && same && !r.cfg.Force:
				r.res.ObjectsSkipped++
				r.res.ObjectsDone++
				if o.Size > 0 {
					r.res.BytesRead += o.Size
				}
				if o.Ack != nil {
					o.Ack(ctx, nil)
				}
				continue
			case prior.Status == StatusDone && same && r.cfg.Force:
				forceNotice(notice, o.Name, prior)
			case (prior.Status == StatusPartial || prior.Status == StatusFailed) && same:
				j.skip, j.fresh = prior.Units, false
				notice(fmt.Sprintf("%s: resuming after %d records committed by an earlier run", o.Name, prior.Units))
			case (prior.Status == StatusPartial || prior.Status == StatusFailed) && prior.Units > 0:
				// Its ledger entry has no hash to tell an append from a change.
				r.res.Changed = append(r.res.Changed, o.Name)
				notice(fmt.Sprintf("%s: changed since an interrupted run committed %d of its records; reading it again from the start (CloudTrail and GuardDuty records are de-duplicated, flow-log records from it may be stored twice)", o.Name, prior.Units))
			case prior.Status == StatusDone && !r.cfg.Force && prior.SHA256 != "" && o.ETag == "" &&
				(o.Size < 0 || o.Size >= prior.Size):
				// Same name, other size or time: compare the bytes the ledger
				// hashed before calling it changed (a touch, a copy without
				// -p, an appended log).
				j.check = true
			case prior.Status == StatusDone && !same:
				r.res.Changed = append(r.res.Changed, o.Name)
				if r.cfg.Force && forceNotice(notice, o.Name, prior) {
					break // a touched file is no different with --force
				}
				notice(changedNotice(o.Name, prior))
			}
			if j.fresh && !j.check {
				// Counts restart with the object.
				j.prior = LedgerEntry{First: prior.First}
			}
		}
		if !o.NoLedger {
			r.inflight[o.Name] = nil
		}
		todo = append(todo, j)
	}
	return todo, nil
}

// forceNotice says, for --force on a flow log, that its records are stored
// again: they have no natural key to de-duplicate them by.
func forceNotice(notice func(string), name string, prior LedgerEntry) bool {
	if !strings.Contains(prior.Kinds, event.KindVPCFlow.String()) {
		return false
	}
	notice(fmt.Sprintf("%s: --force: reading it again; flow-log records have no natural key, so the ones it holds are stored a second time (%d records were stored from it)", name, prior.Records))
	return true
}

// finished releases an object's name once its final ledger entry is
// committed; copies of it that arrived meanwhile are looked up again.
func (r *run) finished(ctx context.Context, name string) {
	r.mu.Lock()
	copies := r.inflight[name]
	delete(r.inflight, name)
	r.mu.Unlock()
	for _, o := range copies {
		select {
		case r.retry <- o:
		case <-ctx.Done():
			if o.Ack != nil {
				o.Ack(context.WithoutCancel(ctx), ErrNotFinished)
			}
		}
	}
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

// cursorState orders the positions of one stream: a position is written
// only when every earlier object of the stream is finished too.
type cursorState struct {
	next    int64            // the Seq expected next
	done    map[int64]string // finished objects' positions, by Seq
	value   string           // the position to write
	changed bool
}

// cursorDone records a finished object's position.
func (w *writer) cursorDone(c *Cursor) {
	if w.cursors == nil {
		w.cursors = map[string]*cursorState{}
	}
	s := w.cursors[c.Key]
	if s == nil {
		s = &cursorState{done: map[int64]string{}}
		w.cursors[c.Key] = s
	}
	s.done[c.Seq] = c.Value
	for {
		v, ok := s.done[s.next]
		if !ok {
			return
		}
		delete(s.done, s.next)
		s.next++
		s.value, s.changed = v, true
	}
}

// objState is the writer's view of an object: what is committed and what
// the open transaction adds.
type objState struct {
	entry    LedgerEntry // as of the open transaction
	touched  bool
	finished bool
	err      error // the source error the object ended with
}

type writer struct {
	*run
	objects map[*job]*objState
	byName  map[string]*objState
	cursors map[string]*cursorState

	tx      Tx
	txRows  int
	txBytes int64
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
				return w.commit(ctx)
			}
			if err := w.write(ctx, c); err != nil {
				return err
			}
			if w.txRows >= w.cfg.TxRows || w.txBytes >= w.cfg.TxBytes || time.Since(w.txStart) >= w.cfg.TxAge {
				if err := w.commit(ctx); err != nil {
					return err
				}
			}
		case <-ticker.C:
			if w.tx != nil && (time.Since(w.txStart) >= w.cfg.TxAge || w.copiesWaiting()) {
				if err := w.commit(ctx); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			// Interrupted: keep what is complete. The ledger records partial
			// objects at their last written chunk, so a re-run resumes there.
			return w.commit(ctx)
		}
	}
}

// copiesWaiting reports whether a second copy of an object in flight
// waits for the first to be committed.
func (r *run) copiesWaiting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, copies := range r.inflight {
		if len(copies) > 0 {
			return true
		}
	}
	return false
}

func (w *writer) write(ctx context.Context, c *chunk) error {
	wctx := context.WithoutCancel(ctx) // an interrupt commits what is complete
	if w.tx == nil {
		tx, err := w.st.Begin(wctx)
		if err != nil {
			return err
		}
		w.tx, w.txRows, w.txBytes, w.txStart = tx, 0, 0, time.Now()
	}
	j := c.job
	var perr *processorError
	if errors.As(c.err, &perr) {
		return perr
	}
	s := w.objects[j]
	if s == nil {
		s = &objState{entry: j.prior}
		s.entry.Object = j.obj.Name
		s.entry.Units = j.skip
		w.objects[j] = s
		w.byName[j.obj.Name] = s
		// An object read before (a failed or changed one) may have left
		// quarantine entries; a new object has none to forget.
		if j.fresh && !j.obj.NoLedger && j.seen && !c.unchanged {
			if err := w.tx.ForgetObject(wctx, j.obj.Name); err != nil {
				return err
			}
		}
	}
	e := &s.entry
	if b := c.b; b != nil {
		if err := w.tx.Write(wctx, b); err != nil {
			return err
		}
		for _, sk := range w.cfg.Sinks {
			if err := sk.Write(wctx, b); err != nil {
				return fmt.Errorf("writing to a sink: %w", err)
			}
		}
		if w.cfg.Quarantined != nil {
			for i := range b.Quarantined {
				w.cfg.Quarantined(&b.Quarantined[i])
			}
		}
		n := b.Rows()
		e.Records += int64(n)
		w.pending.Records.Merge(b.Counts())
		e.Quarantined += int64(len(b.Quarantined))
		w.pending.Quarantined += int64(len(b.Quarantined))
		w.pending.Warnings += int64(len(b.Warnings))
		if b.End > e.Units {
			e.Units = b.End
		}
		e.Kinds = mergeKinds(e.Kinds, b.Kinds())
		w.txRows += b.Units()
		w.txBytes += int64(b.Text)
		event.PutBatch(b)
	}
	w.pending.BytesRead += c.bytes
	e.Size, e.ModifiedAt, e.ETag = j.obj.Size, j.obj.ModTime, j.obj.ETag
	if !c.unchanged {
		e.Status = StatusPartial
	}
	if c.final {
		e.Status = StatusDone
		if c.sha256 != "" {
			e.SHA256 = c.sha256
		}
		e.Error = ""
		if c.err != nil {
			// Units up to the failure are stored; a re-run resumes there.
			e.Status = StatusFailed
			e.Error = c.err.Error()
			s.err = c.err
			w.progress(func(res *Result) { res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", j.obj.Name, c.err)) })
		}
		s.finished = true
		w.pending.ObjectsDone++
		if j.obj.Cursor != nil && c.err == nil {
			w.cursorDone(j.obj.Cursor)
		}
		if c.unchanged {
			w.progress(func(res *Result) { res.ObjectsSkipped++ })
		}
	}
	s.touched = true
	if w.cfg.Progress != nil {
		w.cfg.Progress(w.snapshot())
	}
	return nil
}

// snapshot is the progress including the open transaction.
func (w *writer) snapshot() Progress {
	w.mu.Lock()
	p := w.res.Progress.clone()
	w.mu.Unlock()
	add(&p, &w.pending)
	return p
}

func add(p, q *Progress) {
	p.Records.Merge(q.Records)
	p.Duplicates += q.Duplicates
	p.Quarantined += q.Quarantined
	p.Warnings += q.Warnings
	p.BytesRead += q.BytesRead
	p.ObjectsDone += q.ObjectsDone
}

// commit writes what is buffered, flushes every sink, then writes the
// ledger entries of the objects the transaction touched (with their
// duplicates counted) and commits. Objects finished in it are acked.
func (w *writer) commit(ctx context.Context) error {
	if w.tx == nil {
		return nil
	}
	wctx := context.WithoutCancel(ctx)
	dups, err := w.tx.Flush(wctx)
	if err != nil {
		return err
	}
	for k, n := range dups {
		if s := w.byName[k.Source]; s != nil {
			s.entry.Duplicates += n
			s.entry.Records -= n
		}
		w.pending.Records.Add(k.Kind, -n)
		w.pending.Duplicates += n
	}
	for _, sk := range w.cfg.Sinks {
		if err := sk.Flush(wctx); err != nil {
			return fmt.Errorf("flushing a sink: %w", err)
		}
	}
	var entries []LedgerEntry
	for j, s := range w.objects {
		if s.touched && !j.obj.NoLedger {
			entries = append(entries, s.entry)
		}
	}
	for key, cs := range w.cursors {
		if cs.changed {
			entries = append(entries, LedgerEntry{Object: key, Size: -1, Status: StatusCursor, Cursor: cs.value})
		}
	}
	tx := w.tx
	w.tx = nil
	if err := tx.Commit(wctx, entries); err != nil {
		return err
	}
	for _, cs := range w.cursors {
		cs.changed = false
	}
	for j, s := range w.objects {
		s.touched = false
		if s.finished {
			delete(w.objects, j)
			delete(w.byName, j.obj.Name)
			j.ack(wctx, s.err)
			if !j.obj.NoLedger {
				w.finished(ctx, j.obj.Name)
			}
		}
	}
	w.mu.Lock()
	add(&w.res.Progress, &w.pending)
	p := w.res.Progress.clone()
	w.mu.Unlock()
	w.pending = Progress{Records: event.Counts{}}
	if w.cfg.Progress != nil {
		w.cfg.Progress(p)
	}
	return nil
}

func mergeKinds(have string, kinds []event.Kind) string {
	if len(kinds) == 0 {
		return have
	}
	set := map[string]bool{}
	for _, k := range strings.Split(have, ",") {
		if k != "" {
			set[k] = true
		}
	}
	for _, k := range kinds {
		set[k.String()] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
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

var errCanceled = errors.New("canceled")

// readObject decodes one object and sends its batches, ending with a final
// chunk (which carries the error when the object could not be read).
func (r *run) readObject(ctx context.Context, j *job, out chan<- *chunk) {
	var counter *countingReader
	var lastBytes int64
	send := func(c *chunk) error {
		if counter != nil {
			n := counter.n.Load()
			c.bytes = n - lastBytes
			lastBytes = n
		}
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			if c.b != nil {
				event.PutBatch(c.b)
			}
			j.ack(context.WithoutCancel(ctx), ErrNotFinished)
			return errCanceled
		}
	}
	finish := func(err error) {
		c := &chunk{job: j, final: true, err: err}
		if counter != nil && err == nil {
			// Read whatever follows the data (trailing bytes after a JSON
			// document) so the hash covers the whole object.
			_, _ = io.Copy(io.Discard, counter)
			c.sha256 = hex.EncodeToString(counter.h.Sum(nil))
		}
		_ = send(c)
	}
	if j.skipDone {
		_ = send(&chunk{job: j, final: true, unchanged: true})
		return
	}
	if j.check {
		switch same, midLine, err := r.samePrefix(ctx, j); {
		case err != nil && ctx.Err() != nil:
			j.ack(context.WithoutCancel(ctx), ErrNotFinished)
			return
		case err != nil:
			finish(fmt.Errorf("opening: %w", err))
			return
		case same == prefixWhole:
			// The ledger entry written for it keeps the committed units.
			j.skip, j.fresh = j.prior.Units, false
			r.cfg.Notice(fmt.Sprintf("%s: modified time changed but the content is what was ingested; not read again", j.obj.Name))
			_ = send(&chunk{job: j, final: true, unchanged: true})
			return
		case same == prefixAppended && j.prior.Units > 0 && midLine:
			// The earlier read ended inside a line, which the append may
			// complete: read its last record again.
			j.skip, j.fresh = j.prior.Units-1, false
			r.cfg.Notice(fmt.Sprintf("%s: grew since it was ingested, and the earlier read ended inside a line; reading its last record again and what was appended (after %d records)", j.obj.Name, j.skip))
		case same == prefixAppended:
			j.skip, j.fresh = j.prior.Units, false
			r.cfg.Notice(fmt.Sprintf("%s: grew since it was ingested; reading only what was appended (after %d records)", j.obj.Name, j.prior.Units))
		default:
			r.progress(func(res *Result) { res.Changed = append(res.Changed, j.obj.Name) })
			r.cfg.Notice(changedNotice(j.obj.Name, j.prior))
			j.prior = LedgerEntry{First: j.prior.First}
		}
	}
	rc, err := j.obj.Open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			j.ack(context.WithoutCancel(ctx), ErrNotFinished)
			return
		}
		finish(fmt.Errorf("opening: %w", err))
		return
	}
	defer rc.Close()
	counter = &countingReader{r: rc, h: sha256.New()}
	emit := func(b *event.Batch) error {
		schema.Validate(b)
		for _, p := range r.cfg.Processors {
			if err := p.Process(ctx, b); err != nil {
				event.PutBatch(b)
				return &processorError{err}
			}
		}
		return send(&chunk{job: j, b: b})
	}
	derr := r.cfg.Decoder.Decode(ctx, decode.Object{Name: j.obj.Name, Key: j.obj.Key, Skip: j.skip}, counter, emit)
	var perr *processorError
	switch {
	case errors.Is(derr, errCanceled) || ctx.Err() != nil:
		// The writer is gone or stopping; the ledger keeps the last commit.
		j.ack(context.WithoutCancel(ctx), ErrNotFinished)
		return
	case errors.As(derr, &perr):
		_ = send(&chunk{job: j, final: true, err: perr})
	case derr != nil:
		finish(derr)
	default:
		finish(nil)
	}
}

type processorError struct{ err error }

func (e *processorError) Error() string { return "processing: " + e.err.Error() }
func (e *processorError) Unwrap() error { return e.err }

type prefixMatch int

const (
	prefixDiffers  prefixMatch = iota
	prefixWhole                // the object is exactly what was hashed
	prefixAppended             // the object starts with what was hashed
)

// samePrefix compares the first bytes of an object with the hash the
// ledger recorded for it. midLine reports that those bytes end inside a
// line of text (not after a newline; gzip members end anywhere).
func (r *run) samePrefix(ctx context.Context, j *job) (same prefixMatch, midLine bool, err error) {
	rc, err := j.obj.Open(ctx)
	if err != nil {
		return prefixDiffers, false, err
	}
	defer rc.Close()
	h := &edgeHash{Hash: sha256.New()}
	n, err := io.CopyN(h, rc, j.prior.Size)
	if err != nil && !errors.Is(err, io.EOF) {
		return prefixDiffers, false, err
	}
	if n != j.prior.Size || hex.EncodeToString(h.Sum(nil)) != j.prior.SHA256 {
		return prefixDiffers, false, nil
	}
	var one [1]byte
	if m, _ := io.ReadFull(rc, one[:]); m == 0 {
		return prefixWhole, false, nil
	}
	gz := len(h.first) == 2 && h.first[0] == 0x1f && h.first[1] == 0x8b
	return prefixAppended, n > 0 && h.last != '\n' && !gz, nil
}

// edgeHash is a hash that keeps the first two and the last byte written.
type edgeHash struct {
	hash.Hash
	first []byte
	last  byte
}

func (e *edgeHash) Write(p []byte) (int, error) {
	if len(e.first) < 2 {
		e.first = append(e.first, p[:min(len(p), 2-len(e.first))]...)
	}
	if len(p) > 0 {
		e.last = p[len(p)-1]
	}
	return e.Hash.Write(p)
}

// changedNotice says that an ingested object changed and is read again.
func changedNotice(name string, prior LedgerEntry) string {
	return fmt.Sprintf("%s: changed since it was ingested on %s; reading it again (CloudTrail and GuardDuty records are de-duplicated, flow-log records from it may be stored twice)", name, prior.First.Format("2006-01-02 15:04"))
}
