// Package pipeline runs an ingest. A source yields objects one at a time;
// a planner looks them up in the ledger in bounded groups; workers decode
// them into batches that processors transform or observe in order; one
// writer hands the batches to the store (and to any further sinks) and
// commits them in large transactions, together with the ledger entries of
// the objects they came from. Each object is acknowledged once its rows are
// durably committed. A crash loses at most the open transaction, and a
// re-run resumes every object after its last committed unit, so nothing is
// lost or stored twice.
//
// See docs/architecture.md for the data path and the contracts.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trawl-project/trawl/internal/decode"
	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/ledger"
)

// Object is one input to ingest.
type Object struct {
	Name    string    // the ledger key and the rows' source: an absolute path or s3://bucket/key
	Key     string    // a path used as a log-type hint ("…/CloudTrail/…")
	Size    int64     // -1 when unknown
	ModTime time.Time // zero when unknown
	ETag    string
	// NoLedger marks inputs that cannot be read twice (stdin): they are
	// never skipped, and no ledger entry is written for them.
	NoLedger bool
	Open     func(ctx context.Context) (io.ReadCloser, error)
	// Ack, if set, is called exactly once, from the pipeline's goroutines:
	// with nil after the commit that holds the object's final ledger entry
	// (or at once when the ledger says the object is done and unchanged),
	// with the error when the object could not be read, and with
	// ErrNotFinished when the run ended before the object did. A source of
	// queue messages deletes a message on nil and leaves it otherwise.
	Ack func(ctx context.Context, err error)
	// Cursor, if set, is the position a stream source (a CloudWatch Logs
	// stream, an API's time window) reaches with this object, usually a
	// chunk of events. It is written to the ledger in the same transaction
	// as the rows, once this object and every earlier one of the same Key
	// (by Seq) are finished, skipped ones included. A transaction may hold
	// rows of objects past the cursor (an earlier object still being
	// read), so for records without a natural key (flow logs) the objects
	// should also have ledger entries (not NoLedger) with names the source
	// can cut again the same way: a restart from the cursor then skips or
	// resumes them instead of storing their rows twice.
	Cursor *Cursor
}

// Cursor is a stream source's position after an object.
type Cursor struct {
	Key   string // the ledger key of the stream, e.g. cwl://group/stream
	Seq   int64  // 0, 1, 2… per Key within a run: the order of the objects
	Value string // the position, as the source reads it back
}

// StatusCursor marks ledger entries that hold a stream's position.
const StatusCursor = ledger.StatusCursor

// ErrNotFinished is given to Ack for objects a run did not finish: it was
// interrupted or failed before their last unit was committed. What was
// committed stays; a later run resumes after it.
var ErrNotFinished = errors.New("the run ended before the object was finished")

// Source yields the objects of an ingest one at a time. Next returns io.EOF
// when there are no more; a *ListError reports one entry that could not be
// listed, and the run goes on. Next is called from one goroutine.
type Source interface {
	Next(ctx context.Context) (Object, error)
}

// ListError reports an entry of a listing that cannot be ingested (a
// missing path, a broken symlink, a denied prefix). The run reports it and
// goes on with the rest.
type ListError struct {
	Name string
	Err  error
}

func (e *ListError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }

func (e *ListError) Unwrap() error { return e.Err }

// Decoder turns one object into batches; *decode.Decoder implements it.
type Decoder interface {
	Decode(ctx context.Context, obj decode.Object, r io.Reader, emit decode.Emit) error
}

// Processor transforms or observes batches between decoding and the sinks:
// enrichers, streaming rules. Processors run in the order configured, on
// the decoding workers, so several batches may be in Process at once. A
// processor may change or drop records; it must not keep the batch (or
// slices of it) after returning. An error stops the run.
type Processor interface {
	Process(ctx context.Context, b *event.Batch) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, b *event.Batch) error

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, b *event.Batch) error { return f(ctx, b) }

// Ledger statuses.
const (
	StatusDone    = ledger.StatusDone
	StatusPartial = ledger.StatusPartial
	StatusFailed  = ledger.StatusFailed
)

// LedgerEntry records what is known of one input object.
type LedgerEntry = ledger.Entry

// DupKey counts duplicates of one log type from one source.
type DupKey = ledger.DupKey

// Store is the transactional store an ingest writes to, holding the ledger
// (store/duckdb). Rows, quarantine entries and ledger entries written in one
// Tx become visible together or not at all: that is what makes a re-run
// resume exactly where the last commit ended.
type Store interface {
	// LedgerEntries returns the entries that exist for the given objects.
	LedgerEntries(ctx context.Context, objects []string) (map[string]LedgerEntry, error)
	// Begin starts a write transaction.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is a write transaction, used from one goroutine.
//
// Records may be buffered until Flush or Commit. Records that are already
// stored (CloudTrail events by id and time, GuardDuty versions by id and
// updatedAt, digests by object) are dropped and counted as duplicates of
// their source; Flush reports those counts.
type Tx interface {
	// Write takes the records, quarantine entries and warnings of a batch.
	// The batch may be reused once Write returns.
	Write(ctx context.Context, b *event.Batch) error
	// ForgetObject removes what an earlier, abandoned read of an object left
	// in the quarantine and warnings, before the object is read again from
	// its start.
	ForgetObject(ctx context.Context, object string) error
	// Flush writes buffered records and returns the number of records
	// dropped as duplicates since the previous Flush, per source and type.
	Flush(ctx context.Context) (duplicates map[DupKey]int64, err error)
	// Commit writes the ledger entries and commits everything.
	Commit(ctx context.Context, ledger []LedgerEntry) error
	Rollback() error
}

// Sink is a further, non-transactional destination (a Parquet lake, a
// search cluster). It gets exactly-once from two rules: the writer flushes
// every sink before it commits the ledger entries of the rows it gave it,
// so a row is durable in every sink before its object counts as done; and a
// sink is idempotent by record key, so rows written again after a crash
// between its flush and the commit replace themselves. The keys:
// CloudTrail (EventID, EventTime), findings (ID, UpdatedAt), digests
// (Object), flow records (Object, Unit). Sinks see records before the
// store's de-duplication.
type Sink interface {
	Write(ctx context.Context, b *event.Batch) error
	// Flush makes everything written so far durable.
	Flush(ctx context.Context) error
}

// BeginTx calls begin (a store's own Begin, which returns its concrete
// transaction type) and returns the transaction as a Tx; on an error the
// Tx is a nil interface, not a typed nil.
func BeginTx[T Tx](ctx context.Context, begin func(context.Context) (T, error)) (Tx, error) {
	tx, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx, nil
}

// StoreOf adapts a store whose Begin returns its own transaction type to
// the Store interface.
func StoreOf[T Tx](s interface {
	LedgerEntries(ctx context.Context, objects []string) (map[string]LedgerEntry, error)
	Begin(ctx context.Context) (T, error)
}) Store {
	return storeOf[T]{s}
}

type storeOf[T Tx] struct {
	s interface {
		LedgerEntries(ctx context.Context, objects []string) (map[string]LedgerEntry, error)
		Begin(ctx context.Context) (T, error)
	}
}

func (a storeOf[T]) LedgerEntries(ctx context.Context, objects []string) (map[string]LedgerEntry, error) {
	return a.s.LedgerEntries(ctx, objects)
}

func (a storeOf[T]) Begin(ctx context.Context) (Tx, error) { return BeginTx(ctx, a.s.Begin) }
