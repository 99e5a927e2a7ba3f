// Package geo looks up the country, city and autonomous system of IP
// addresses in MaxMind-format databases (.mmdb: GeoLite2 / GeoIP2 City,
// Country and ASN, or compatible ones such as DB-IP's lite databases).
// Any subset of the three may be configured. Lookups are cached: flow logs
// repeat the same addresses over and over.
package geo

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/trawl-project/trawl/internal/event"
)

// Paths names the database files; an empty path leaves that part out.
type Paths struct {
	City    string // a City database: country and city
	Country string // a Country database: country (unused when City is set)
	ASN     string // an ASN database: AS number and organisation
}

// Empty reports whether no database is named.
func (p Paths) Empty() bool { return p.City == "" && p.Country == "" && p.ASN == "" }

// DB answers lookups from the configured databases. It is safe for
// concurrent use.
type DB struct {
	place *maxminddb.Reader // City or Country database, nil when none
	city  bool              // place is a City database
	asn   *maxminddb.Reader
	cache cache

	mu      sync.Mutex
	interns map[event.Geo]*event.Geo // one shared value per distinct answer
}

// Open opens the databases of p. A missing, unreadable or corrupt file,
// or a database of the wrong kind (an ASN database given as City), is an
// error naming the file.
func Open(p Paths) (*DB, error) {
	if p.Empty() {
		return nil, errors.New("no GeoIP database given")
	}
	d := &DB{interns: map[event.Geo]*event.Geo{}}
	d.cache.init()
	var err error
	switch {
	case p.City != "":
		d.place, err = open(p.City, "City", "City")
		d.city = true
	case p.Country != "":
		d.place, err = open(p.Country, "Country", "Country", "City")
		if err == nil && strings.Contains(d.place.Metadata.DatabaseType, "City") {
			d.city = true
		}
	}
	if err != nil {
		return nil, err
	}
	if p.ASN != "" {
		if d.asn, err = open(p.ASN, "ASN", "ASN", "ISP"); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// open opens one database file and checks that its type names one of kinds.
func open(path, role string, kinds ...string) (*maxminddb.Reader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("GeoIP %s database: %w", role, err)
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("GeoIP %s database %s: not a readable MaxMind database: %w", role, path, err)
	}
	t := r.Metadata.DatabaseType
	for _, k := range kinds {
		if strings.Contains(t, k) {
			return r, nil
		}
	}
	r.Close()
	return nil, fmt.Errorf("GeoIP %s database %s: it is a %q database, not a %s one", role, path, t, role)
}

// Close releases the databases.
func (d *DB) Close() error {
	var errs []error
	for _, r := range []*maxminddb.Reader{d.place, d.asn} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

// Describe says which databases are in use, for a log line.
func (d *DB) Describe() string {
	var parts []string
	if d.place != nil {
		parts = append(parts, d.place.Metadata.DatabaseType)
	}
	if d.asn != nil {
		parts = append(parts, d.asn.Metadata.DatabaseType)
	}
	return strings.Join(parts, ", ")
}

// LookupString looks up s if it is an IP address (CloudTrail's
// sourceIPAddress is often a service name); nil otherwise.
func (d *DB) LookupString(s string) *event.Geo {
	if len(s) < 2 || len(s) > 45 || !(s[0] >= '0' && s[0] <= '9' || s[0] >= 'a' && s[0] <= 'f' || s[0] >= 'A' && s[0] <= 'F' || s[0] == ':') {
		return nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return nil
	}
	return d.Lookup(addr)
}

// Lookup returns what the databases know of addr, nil when nothing (not in
// them, or not a public address). The result is shared: do not change it.
func (d *DB) Lookup(addr netip.Addr) *event.Geo {
	addr = addr.Unmap()
	if !Public(addr) {
		return nil
	}
	if g, ok := d.cache.get(addr); ok {
		return g
	}
	g := d.lookup(addr)
	d.cache.put(addr, g)
	return g
}

// placeRecord holds the fields read from a City or Country database.
type placeRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
}

// countryRecord is placeRecord without the city, for Country databases.
type countryRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// lookup reads addr from the databases, uncached. A database that fails
// to decode a record (a corrupt file) gives no data for that address.
func (d *DB) lookup(addr netip.Addr) *event.Geo {
	var g event.Geo
	if d.place != nil {
		res := d.place.Lookup(addr)
		if res.Found() {
			if d.city {
				var rec placeRecord
				if res.Decode(&rec) == nil {
					g.Country, g.City = rec.Country.ISOCode, rec.City.Names.En
					if g.Country == "" {
						g.Country = rec.RegisteredCountry.ISOCode
					}
				}
			} else {
				var rec countryRecord
				if res.Decode(&rec) == nil {
					g.Country = rec.Country.ISOCode
					if g.Country == "" {
						g.Country = rec.RegisteredCountry.ISOCode
					}
				}
			}
		}
	}
	if d.asn != nil {
		res := d.asn.Lookup(addr)
		if res.Found() {
			var rec asnRecord
			if res.Decode(&rec) == nil {
				g.ASN, g.ASOrg = rec.Number, rec.Org
			}
		}
	}
	if g == (event.Geo{}) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.interns[g]; ok {
		return p
	}
	if len(d.interns) >= maxInterned {
		clear(d.interns)
	}
	p := &g
	d.interns[g] = p
	return p
}

// maxInterned bounds the distinct answers kept for sharing.
const maxInterned = 1 << 16

// cache maps addresses to answers (nil included), in shards that each
// hold up to shardSize entries and are emptied when full: simple, and
// addresses that matter come back at once.
type cache struct {
	seed   maphash.Seed
	shards [numShards]shard
}

const (
	numShards = 32
	shardSize = 8192
)

type shard struct {
	mu sync.RWMutex
	m  map[netip.Addr]*event.Geo
	_  [40]byte // keep shards on separate cache lines
}

func (c *cache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].m = make(map[netip.Addr]*event.Geo, 256)
	}
}

func (c *cache) shard(addr netip.Addr) *shard {
	return &c.shards[maphash.Comparable(c.seed, addr)%numShards]
}

func (c *cache) get(addr netip.Addr) (*event.Geo, bool) {
	s := c.shard(addr)
	s.mu.RLock()
	g, ok := s.m[addr]
	s.mu.RUnlock()
	return g, ok
}

func (c *cache) put(addr netip.Addr, g *event.Geo) {
	s := c.shard(addr)
	s.mu.Lock()
	if len(s.m) >= shardSize {
		clear(s.m)
	}
	s.m[addr] = g
	s.mu.Unlock()
}

// Database file names FindDir looks for, best first.
var (
	cityNames    = []string{"GeoLite2-City.mmdb", "GeoIP2-City.mmdb", "dbip-city-lite.mmdb"}
	countryNames = []string{"GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb", "dbip-country-lite.mmdb"}
	asnNames     = []string{"GeoLite2-ASN.mmdb", "GeoIP2-ISP.mmdb", "dbip-asn-lite.mmdb"}
)

// FindDir returns the databases found in dir by their usual names
// (GeoLite2-City.mmdb, GeoLite2-Country.mmdb, GeoLite2-ASN.mmdb, the
// GeoIP2 and DB-IP lite equivalents). A directory with none of them is an
// error listing what was looked for.
func FindDir(dir string) (Paths, error) {
	if _, err := os.Stat(dir); err != nil {
		return Paths{}, fmt.Errorf("GeoIP directory: %w", err)
	}
	find := func(names []string) string {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
		return ""
	}
	p := Paths{City: find(cityNames), ASN: find(asnNames)}
	if p.City == "" {
		p.Country = find(countryNames)
	}
	if p.Empty() {
		all := append(append(append([]string(nil), cityNames...), countryNames...), asnNames...)
		return p, fmt.Errorf("GeoIP directory %s holds none of %s", dir, strings.Join(all, ", "))
	}
	return p, nil
}
