// Package ledger defines the ingest ledger's entries: what trawl knows of
// every input object it has read. The pipeline decides from them what to
// skip, resume or read again; a store keeps them in the same transaction as
// the rows they account for.
package ledger

import (
	"time"

	"github.com/trawl-project/trawl/internal/event"
)

// Statuses of an entry.
const (
	StatusDone    = "done"    // read to its end; re-runs skip it while unchanged
	StatusPartial = "partial" // Units are committed; a re-run resumes after them
	StatusFailed  = "failed"  // could not be read; a re-run tries again
	// StatusCursor marks the position of a stream source (a CloudWatch Logs
	// stream, an API's time window): Cursor holds it, committed with the
	// rows read up to it.
	StatusCursor = "cursor"
)

// Entry records what is known of one input object.
type Entry struct {
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
	Cursor      string // a stream source's position (StatusCursor)
}

// DupKey counts duplicates of one log type from one source.
type DupKey struct {
	Source string
	Kind   event.Kind
}
