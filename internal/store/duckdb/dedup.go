package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// ctDedup decides which CloudTrail events of a batch need a look-up in the
// table to find duplicates. An event can only be stored already if
//
//   - it falls in the time range of the events that were in the table when
//     this process first wrote to it (a re-ingest, or logs that overlap), or
//   - an event with the same key was written by this process before, which a
//     Bloom filter of the keys written answers with no false negatives.
//
// A first ingest, or a daily ingest of new logs, then checks nothing in the
// database but the filter's rare false positives.
type ctDedup struct {
	mu       sync.Mutex
	loaded   bool
	oldMin   time.Time
	oldMax   time.Time
	oldAny   bool // timed events were stored before
	oldNulls bool // events without a time were stored before
	seed     maphash.Seed
	filters  []*bloom
}

// load reads the time range of the events already stored.
func (d *ctDedup) load(ctx context.Context, conn *sql.Conn) error {
	if d.loaded {
		return nil
	}
	var lo, hi sql.NullTime
	var nulls int64
	err := conn.QueryRowContext(ctx, `SELECT min(event_time), max(event_time), count(*) FILTER (WHERE event_time IS NULL) FROM cloudtrail_base`).Scan(&lo, &hi, &nulls)
	if err != nil {
		return fmt.Errorf("reading the stored events' time range: %w", err)
	}
	d.oldAny, d.oldMin, d.oldMax = lo.Valid, lo.Time, hi.Time
	d.oldNulls = nulls > 0
	d.seed = maphash.MakeSeed()
	d.loaded = true
	return nil
}

func (d *ctDedup) hash(k ctKey) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(k.id)
	var b [8]byte
	for i := range b {
		b[i] = byte(uint64(k.ts) >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

// mayExist reports whether the event with key k and time t might be stored.
func (d *ctDedup) mayExist(k ctKey, t time.Time, h uint64) bool {
	if t.IsZero() {
		if d.oldNulls {
			return true
		}
	} else if d.oldAny && !t.Before(d.oldMin) && !t.After(d.oldMax) {
		return true
	}
	for _, f := range d.filters {
		if f.has(h) {
			return true
		}
	}
	return false
}

// add records keys written by this process.
func (d *ctDedup) add(h uint64) {
	if n := len(d.filters); n == 0 || d.filters[n-1].full() {
		// Each filter holds 1M keys at a 1% false-positive rate (1.2 MB).
		d.filters = append(d.filters, newBloom(1<<20, 0.01))
	}
	d.filters[len(d.filters)-1].add(h)
}

// bloom is a Bloom filter over 64-bit hashes (double hashing).
type bloom struct {
	bits     []uint64
	m        uint64
	k        int
	n, limit int
}

func newBloom(capacity int, fp float64) *bloom {
	m := uint64(math.Ceil(-float64(capacity) * math.Log(fp) / (math.Ln2 * math.Ln2)))
	m = (m + 63) &^ 63
	k := int(math.Round(float64(m) / float64(capacity) * math.Ln2))
	return &bloom{bits: make([]uint64, m/64), m: m, k: max(k, 1), limit: capacity}
}

func (b *bloom) full() bool { return b.n >= b.limit }

func (b *bloom) add(h uint64) {
	h1, h2 := h, h>>32|h<<32
	for i := 0; i < b.k; i++ {
		p := (h1 + uint64(i)*h2) % b.m
		b.bits[p/64] |= 1 << (p % 64)
	}
	b.n++
}

func (b *bloom) has(h uint64) bool {
	h1, h2 := h, h>>32|h<<32
	for i := 0; i < b.k; i++ {
		p := (h1 + uint64(i)*h2) % b.m
		if b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}
