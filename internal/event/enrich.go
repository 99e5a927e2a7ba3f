package event

// Geo is what the GeoIP databases say about one address. The enrichment
// stage shares one Geo value among every record with the same address, so
// a Geo must never be changed once a record points to it.
type Geo struct {
	Country string // ISO 3166-1 alpha-2 code, "" when unknown
	City    string // English city name, "" when unknown
	ASN     uint32 // autonomous system number, 0 when unknown
	ASOrg   string // the autonomous system's organisation, "" when unknown
}

// GeoCountry returns g.Country, "" for a nil g.
func (g *Geo) GeoCountry() string {
	if g == nil {
		return ""
	}
	return g.Country
}

// GeoCity returns g.City, "" for a nil g.
func (g *Geo) GeoCity() string {
	if g == nil {
		return ""
	}
	return g.City
}

// GeoASN returns g.ASN and whether it is known (not nil, not 0).
func (g *Geo) GeoASN() (int64, bool) {
	if g == nil || g.ASN == 0 {
		return 0, false
	}
	return int64(g.ASN), true
}

// GeoASOrg returns g.ASOrg, "" for a nil g.
func (g *Geo) GeoASOrg() string {
	if g == nil {
		return ""
	}
	return g.ASOrg
}

// UserAgent is the classification of a CloudTrail userAgent. Like Geo, one
// value is shared by every record with the same user agent and must not be
// changed.
type UserAgent struct {
	// Class is one of console, aws-cli, sdk-<language>, terraform,
	// cloudformation, aws-service, browser or unknown (docs/enrich.md).
	Class   string
	Family  string // the client: aws-cli, Boto3, aws-sdk-go-v2, Chrome…
	Version string // the client's version, "" when not given
	OS      string // the operating system, "" when not given
}

// UAClass returns u.Class, "" for a nil u.
func (u *UserAgent) UAClass() string {
	if u == nil {
		return ""
	}
	return u.Class
}

// UAFamily returns u.Family, "" for a nil u.
func (u *UserAgent) UAFamily() string {
	if u == nil {
		return ""
	}
	return u.Family
}

// UAVersion returns u.Version, "" for a nil u.
func (u *UserAgent) UAVersion() string {
	if u == nil {
		return ""
	}
	return u.Version
}

// UAOS returns u.OS, "" for a nil u.
func (u *UserAgent) UAOS() string {
	if u == nil {
		return ""
	}
	return u.OS
}
