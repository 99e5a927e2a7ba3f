// Package geobuild writes small MaxMind-format databases (a GeoLite2-City
// and a GeoLite2-ASN look-alike) from a list of networks. Tests, the
// benchmark (tools/bench) and the demo use it to have real .mmdb files
// without shipping any.
package geobuild

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Net is one network and what the databases say of it. Empty parts are
// left out of the records (a Net without Country is not in the City
// database; one without ASN is not in the ASN database).
type Net struct {
	Prefix  netip.Prefix
	Country string // ISO code
	City    string
	ASN     uint32
	ASOrg   string
}

// Files are the paths Write created.
type Files struct {
	City string // GeoLite2-City.mmdb
	ASN  string // GeoLite2-ASN.mmdb
}

// Write creates dir/GeoLite2-City.mmdb and dir/GeoLite2-ASN.mmdb from nets.
// Later networks override earlier ones where they overlap, so a list can
// put broad ranges first and exceptions after. Reserved networks (such as
// documentation ranges) are allowed.
func Write(dir string, nets []Net) (Files, error) {
	city, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		return Files{}, fmt.Errorf("new City tree: %w", err)
	}
	asn, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		return Files{}, fmt.Errorf("new ASN tree: %w", err)
	}
	for _, n := range nets {
		ipn := &net.IPNet{IP: net.IP(n.Prefix.Addr().AsSlice()), Mask: net.CIDRMask(n.Prefix.Bits(), n.Prefix.Addr().BitLen())}
		if n.Country != "" {
			rec := mmdbtype.Map{
				"country":            mmdbtype.Map{"iso_code": mmdbtype.String(n.Country), "names": mmdbtype.Map{"en": mmdbtype.String(n.Country)}},
				"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(n.Country)},
			}
			if n.City != "" {
				rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(n.City)}}
			}
			if err := city.Insert(ipn, rec); err != nil {
				return Files{}, fmt.Errorf("inserting %s into the City database: %w", n.Prefix, err)
			}
		}
		if n.ASN != 0 {
			rec := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(n.ASN)}
			if n.ASOrg != "" {
				rec["autonomous_system_organization"] = mmdbtype.String(n.ASOrg)
			}
			if err := asn.Insert(ipn, rec); err != nil {
				return Files{}, fmt.Errorf("inserting %s into the ASN database: %w", n.Prefix, err)
			}
		}
	}
	f := Files{City: filepath.Join(dir, "GeoLite2-City.mmdb"), ASN: filepath.Join(dir, "GeoLite2-ASN.mmdb")}
	if err := writeTree(city, f.City); err != nil {
		return Files{}, err
	}
	if err := writeTree(asn, f.ASN); err != nil {
		return Files{}, err
	}
	return f, nil
}

func writeTree(t *mmdbwriter.Tree, path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := t.WriteTo(fh); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
