// Package pipeline runs an ingest: objects from a source are decoded by a
// pool of workers and written by one writer in large transactions, each
// carrying its rows together with the ledger entries of the objects they
// came from. A crash loses at most the open transaction, and a re-run
// resumes every object after its last committed record, so nothing is lost
// or stored twice.
package pipeline

import (
	"context"
	"io"
	"time"

	"github.com/trawl-project/trawl/internal/event"
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
}

// Ledger statuses.
const (
	StatusDone    = "done"    // read to its end; re-runs skip it while unchanged
	StatusPartial = "partial" // Units are committed; a re-run resumes after them
	StatusFailed  = "failed"  // could not be read; a re-run tries again
)

// LedgerEntry records what is known of one input object.
type LedgerEntry struct {
	Object      string
	Size        int64 // -1 when unknown
	ModifiedAt  time.Time
	ETag        string
	SHA256      string // of the object's bytes as stored (compressed)
	Status      string
	Units       int64 // records and quarantine entries decoded and committed
	Records     int64 // records stored
	Duplicates  int64 // records dropped as already stored
	Quarantined int64
	Kinds       string // log types found, comma-separated
	First       time.Time
	Last        time.Time
	Error       string
}

// DupKey counts duplicates of one log type from one source.
type DupKey struct {
	Source string
	Kind   event.Kind
}

// Store is where an ingest writes. Implementations: store/duckdb.
type Store interface {
	// LedgerEntries returns the entries that exist for the given objects.
	LedgerEntries(ctx context.Context, objects []string) (map[string]LedgerEntry, error)
	// Begin starts a write transaction.
	Begin(ctx context.Context) (Tx, error)
}

// Tx is a write transaction: everything written through it becomes visible
// at Commit, or not at all. A Tx is used from one goroutine.
//
// Records may be buffered until Flush or Commit. Records that are already
// stored (CloudTrail events by id and time, GuardDuty versions by id and
// updatedAt, digests by object) are dropped and counted as duplicates of
// their source; Flush reports those counts.
type Tx interface {
	CloudTrail(source string, recs []event.CloudTrail) error
	VPCFlow(source string, recs []event.VPCFlow) error
	Findings(source string, recs []event.Finding) error
	Digests(source string, ds []event.Digest) error
	Quarantine(qs []event.Quarantined) error
	// ForgetObject removes what an earlier, abandoned read of an object left
	// in the quarantine, before the object is read again from its start.
	ForgetObject(object string) error
	// Flush writes buffered records and returns the number of records
	// dropped as duplicates since the previous Flush, per source and type.
	Flush() (duplicates map[DupKey]int64, err error)
	Ledger(entries []LedgerEntry) error
	Commit() error
	Rollback() error
}
