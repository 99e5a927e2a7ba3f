package enrich

import (
	"fmt"

	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/enrich/useragent"
)

// Settings say what to enrich: the GeoIP databases (files, or a directory
// holding them by their usual names) and whether to classify user agents.
type Settings struct {
	GeoIP     geo.Paths
	GeoIPDir  string // used for the parts GeoIP leaves empty
	UserAgent bool
}

// GeoOff is the notice given once when no GeoIP database is configured.
const GeoOff = "geo enrichment is off: no GeoIP database configured (enrich.geoip in trawl.yaml, or --geoip-dir)"

// Open opens what s names. It returns the Enricher (nil when nothing is
// enabled), a notice to show once (GeoOff, or which databases are used),
// and a close function for the databases. A missing or corrupt database
// file is an error naming it.
func Open(s Settings) (e *Enricher, notice string, closeFn func() error, err error) {
	closeFn = func() error { return nil }
	p := s.GeoIP
	if s.GeoIPDir != "" {
		found, err := geo.FindDir(s.GeoIPDir)
		if err != nil {
			return nil, "", closeFn, err
		}
		if p.City == "" && p.Country == "" {
			p.City, p.Country = found.City, found.Country
		}
		if p.ASN == "" {
			p.ASN = found.ASN
		}
	}
	var db *geo.DB
	if p.Empty() {
		notice = GeoOff
	} else {
		if db, err = geo.Open(p); err != nil {
			return nil, "", closeFn, err
		}
		closeFn = db.Close
		notice = fmt.Sprintf("geo enrichment is on: %s", db.Describe())
	}
	var ua *useragent.Classifier
	if s.UserAgent {
		ua = useragent.New()
	}
	if db == nil && ua == nil {
		return nil, notice, closeFn, nil
	}
	return New(db, ua), notice, closeFn, nil
}
