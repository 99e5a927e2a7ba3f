package event

import "sync"

// Batch is a group of consecutive units (records and quarantine entries) of
// one object, in the form every pipeline stage shares: decoders fill it,
// processors (enrichers, streaming rules) read or change it in order, and
// sinks write it. A batch is owned by one stage at a time.
type Batch struct {
	// Object names the input the units came from (the rows' source).
	Object string

	CloudTrail  []CloudTrail
	VPCFlow     []VPCFlow
	Findings    []Finding
	Digests     []Digest
	Quarantined []Quarantined
	Warnings    []Warning
	// Hits are the streaming rules' matches on this batch's records,
	// written with them in one transaction.
	Hits []Hit

	// End is the number of units of the object decoded up to the end of
	// this batch, counting units an earlier run committed and this run
	// skipped. The ledger records it, so a re-run resumes after it.
	End int64
	// Text is the size of the record text the batch holds, in bytes.
	Text int
}

// Rows returns the number of records in the batch, all types together.
func (b *Batch) Rows() int {
	return len(b.CloudTrail) + len(b.VPCFlow) + len(b.Findings) + len(b.Digests)
}

// Units returns the number of records and quarantine entries.
func (b *Batch) Units() int { return b.Rows() + len(b.Quarantined) }

// Counts returns the number of records of each type.
func (b *Batch) Counts() Counts {
	c := Counts{}
	c.Add(KindCloudTrail, int64(len(b.CloudTrail)))
	c.Add(KindVPCFlow, int64(len(b.VPCFlow)))
	c.Add(KindGuardDuty, int64(len(b.Findings)))
	c.Add(KindCloudTrailDigest, int64(len(b.Digests)))
	return c
}

// Kinds returns the log types the batch holds records of.
func (b *Batch) Kinds() []Kind {
	var ks []Kind
	for _, k := range Kinds {
		if b.count(k) > 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

func (b *Batch) count(k Kind) int {
	switch k {
	case KindCloudTrail:
		return len(b.CloudTrail)
	case KindVPCFlow:
		return len(b.VPCFlow)
	case KindGuardDuty:
		return len(b.Findings)
	case KindCloudTrailDigest:
		return len(b.Digests)
	}
	return 0
}

// Reset empties the batch for reuse, keeping its capacity but dropping
// references to record text.
func (b *Batch) Reset() {
	clear(b.CloudTrail)
	clear(b.VPCFlow)
	clear(b.Findings)
	clear(b.Digests)
	clear(b.Quarantined)
	clear(b.Warnings)
	clear(b.Hits)
	*b = Batch{
		CloudTrail:  b.CloudTrail[:0],
		VPCFlow:     b.VPCFlow[:0],
		Findings:    b.Findings[:0],
		Digests:     b.Digests[:0],
		Quarantined: b.Quarantined[:0],
		Warnings:    b.Warnings[:0],
		Hits:        b.Hits[:0],
	}
}

// Kinds lists the record types, in the order tables and summaries show them.
var Kinds = []Kind{KindCloudTrail, KindCloudTrailDigest, KindVPCFlow, KindGuardDuty}

// Counts holds a number per log type.
type Counts map[Kind]int64

// Add adds n to kind k.
func (c Counts) Add(k Kind, n int64) {
	if n != 0 {
		c[k] += n
	}
}

// Merge adds every count of o.
func (c Counts) Merge(o Counts) {
	for k, n := range o {
		c.Add(k, n)
	}
}

// Total returns the sum over all types.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Clone returns a copy.
func (c Counts) Clone() Counts {
	o := make(Counts, len(c))
	for k, v := range c {
		o[k] = v
	}
	return o
}

// Warning reports a value that could not be stored as it was: it was
// replaced (by NULL or a readable form) and the record kept. Warnings are
// counted and stored in the ingest_warning table.
type Warning struct {
	Object string
	Kind   Kind
	Record int64  // unit index of the record in the object
	Field  string // the record field, e.g. "end" or "eventTime"
	Reason string
}

var batches = sync.Pool{New: func() any { return new(Batch) }}

// GetBatch returns an empty batch, reusing one given back with PutBatch.
// Reuse matters: a fresh batch of 4,096 flow records is 2 MB of memory that
// costs more to fault in than decoding the records.
func GetBatch() *Batch { return batches.Get().(*Batch) }

// PutBatch empties b and makes it available to GetBatch. Nothing may use b
// or the record slices it held afterwards.
func PutBatch(b *Batch) {
	b.Reset()
	batches.Put(b)
}
