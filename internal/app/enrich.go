package app

import (
	"fmt"

	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/enrich"
	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/pipeline"
)

// EnrichSettings converts trawl.yaml's enrich section.
func EnrichSettings(c config.Enrich) enrich.Settings {
	return enrich.Settings{
		GeoIP:     geo.Paths{City: c.GeoIP.City, Country: c.GeoIP.Country, ASN: c.GeoIP.ASN},
		GeoIPDir:  c.GeoIP.Dir,
		UserAgent: c.UserAgent,
	}
}

// OpenEnrichment opens the enrichment stage s describes and says once,
// through notice, whether geo enrichment is on. It returns the processors
// to run first in the pipeline (none when nothing is enabled) and a
// function that closes the databases after the run. A missing or corrupt
// database file is an error naming it.
func OpenEnrichment(s enrich.Settings, notice func(string)) ([]pipeline.Processor, func() error, error) {
	e, msg, closeFn, err := enrich.Open(s)
	if err != nil {
		return nil, closeFn, fmt.Errorf("enrichment: %w", err)
	}
	if notice != nil && msg != "" {
		notice(msg)
	}
	if e == nil {
		return nil, closeFn, nil
	}
	return []pipeline.Processor{e}, closeFn, nil
}
