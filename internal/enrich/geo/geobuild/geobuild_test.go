package geobuild_test

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/trawl-project/trawl/internal/enrich/geo"
	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
)

// TestSynthetic writes the synthetic databases and reads them back: the
// generator's pools resolve to the operators it names, every public IPv4
// address to something.
func TestSynthetic(t *testing.T) {
	f, err := geobuild.Write(t.TempDir(), geobuild.Synthetic())
	if err != nil {
		t.Fatal(err)
	}
	d, err := geo.Open(geo.Paths{City: f.City, ASN: f.ASN})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for ip, want := range map[string]string{
		"81.2.69.142":      "GB London 20712",
		"185.220.101.7":    "DE Berlin 60729",
		"3.80.12.1":        "",
		"2a02:c7c:1:2::3":  "GB Manchester 5607",
		"2600:1f18:1::1":   "US Ashburn 14618",
		"198.51.100.1":     "-",
		"10.1.2.3":         "-",
		"45.155.205.10":    "NL Amsterdam 209588",
		"100.100.100.100":  "-",
		"223.255.255.255":  "",
		"2001:8a0:abcd::1": "PT Lisbon 3243",
	} {
		g := d.Lookup(netip.MustParseAddr(ip))
		switch {
		case want == "-":
			if g != nil {
				t.Errorf("%s: %+v, want none", ip, g)
			}
		case g == nil || g.Country == "" || g.ASN == 0:
			t.Errorf("%s: %+v, want a country and an ASN", ip, g)
		case want != "" && g.Country+" "+g.City+" "+strconv.FormatUint(uint64(g.ASN), 10) != want:
			t.Errorf("%s: %+v, want %s", ip, g, want)
		}
	}
}
