// Package enrich is the enrichment stage of the ingest pipeline: it adds
// GeoIP data (country, city, AS number and organisation) to CloudTrail
// source addresses and to both addresses of VPC flow records, and a
// classification to CloudTrail user agents. See docs/enrich.md.
package enrich

import (
	"context"
	"hash/maphash"

	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/enrich/useragent"
	"github.com/trawl-project/trawl/internal/event"
)

// Enricher is a pipeline.Processor that enriches the CloudTrail and VPC
// flow records of every batch in place. It is safe for several workers at
// once: the lookups it makes are cached in shared, locked caches.
type Enricher struct {
	geo  *geo.DB               // nil: no geo enrichment
	ua   *useragent.Classifier // nil: no user agent classification
	seed maphash.Seed
}

// New returns an Enricher using db (nil for none) and ua (nil for none).
func New(db *geo.DB, ua *useragent.Classifier) *Enricher {
	return &Enricher{geo: db, ua: ua, seed: maphash.MakeSeed()}
}

// Active reports whether the Enricher does anything.
func (e *Enricher) Active() bool { return e != nil && (e.geo != nil || e.ua != nil) }

// Process enriches b's CloudTrail and flow records.
func (e *Enricher) Process(_ context.Context, b *event.Batch) error {
	if e.geo != nil || e.ua != nil {
		e.cloudTrail(b.CloudTrail)
	}
	if e.geo != nil {
		e.flows(b.VPCFlow)
	}
	return nil
}

func (e *Enricher) cloudTrail(recs []event.CloudTrail) {
	// Consecutive events often share an address and a user agent: the
	// previous answer is reused without a cache look-up.
	var lastIP, lastUA string
	var lastGeo *event.Geo
	var lastClass *event.UserAgent
	for i := range recs {
		r := &recs[i]
		if e.geo != nil && r.SourceIP != "" {
			if r.SourceIP != lastIP {
				lastIP, lastGeo = r.SourceIP, e.geo.LookupString(r.SourceIP)
			}
			r.SrcGeo = lastGeo
		}
		if e.ua != nil && r.UserAgent != "" {
			if r.UserAgent != lastUA {
				lastUA, lastClass = r.UserAgent, e.ua.Classify(r.UserAgent)
			}
			r.UA = lastClass
		}
	}
}

func (e *Enricher) flows(recs []event.VPCFlow) {
	// A batch holds the records of one network interface's log, so a few
	// addresses come back again and again: a small memo on the stack
	// answers them without parsing the address or touching the shared
	// cache's locks.
	var memo addrMemo
	memo.seed = e.seed
	for i := range recs {
		r := &recs[i]
		if s := r.Str(event.FlowSrcAddr); s != "" {
			r.SrcGeo = memo.lookup(e.geo, s)
		}
		if s := r.Str(event.FlowDstAddr); s != "" {
			r.DstGeo = memo.lookup(e.geo, s)
		}
	}
}

// addrMemo is a direct-mapped memo of addresses and their answers.
type addrMemo struct {
	seed    maphash.Seed
	entries [memoSize]struct {
		addr string
		geo  *event.Geo
	}
}

const memoSize = 256

func (m *addrMemo) lookup(db *geo.DB, s string) *event.Geo {
	ent := &m.entries[maphash.String(m.seed, s)%memoSize]
	if ent.addr == s {
		return ent.geo
	}
	g := db.LookupString(s)
	ent.addr, ent.geo = s, g
	return g
}
