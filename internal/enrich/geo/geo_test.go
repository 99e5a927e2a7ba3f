package geo

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trawl-project/trawl/internal/enrich/geo/geobuild"
	"github.com/trawl-project/trawl/internal/event"
)

// testNets are public ranges (the ones MaxMind's own test databases use)
// plus a documentation and a private range that the databases know but
// that must get no geo data.
var testNets = []geobuild.Net{
	{Prefix: netip.MustParsePrefix("81.2.69.0/24"), Country: "GB", City: "London", ASN: 20712, ASOrg: "Andrews & Arnold Ltd"},
	{Prefix: netip.MustParsePrefix("81.2.69.192/28"), Country: "GB", City: "Boxford"},
	{Prefix: netip.MustParsePrefix("216.160.83.56/29"), Country: "US", City: "Milton", ASN: 209, ASOrg: "CenturyLink"},
	{Prefix: netip.MustParsePrefix("89.160.20.112/28"), Country: "SE", City: "Linköping", ASN: 29518, ASOrg: "Bredband2 AB"},
	{Prefix: netip.MustParsePrefix("1.128.0.0/11"), ASN: 1221, ASOrg: "Telstra Pty Ltd"},                // ASN only
	{Prefix: netip.MustParsePrefix("2.125.160.216/29"), Country: "GB"},                                  // country only
	{Prefix: netip.MustParsePrefix("2a02:c7c::/32"), Country: "GB", ASN: 5607, ASOrg: "Sky UK Limited"}, // IPv6
	{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Country: "ZZ", City: "Nowhere", ASN: 64500, ASOrg: "DOC"},
	{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Country: "ZZ", ASN: 64501, ASOrg: "PRIVATE"},
}

func testDB(t testing.TB) (*DB, geobuild.Files) {
	t.Helper()
	f, err := geobuild.Write(t.TempDir(), testNets)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(Paths{City: f.City, ASN: f.ASN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, f
}

func geoString(g *event.Geo) string {
	if g == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s/%s/%d/%s", g.Country, g.City, g.ASN, g.ASOrg)
}

func TestLookup(t *testing.T) {
	d, _ := testDB(t)
	for _, tc := range []struct{ ip, want string }{
		{"81.2.69.142", "GB/London/20712/Andrews & Arnold Ltd"},
		{"81.2.69.195", "GB/Boxford/20712/Andrews & Arnold Ltd"}, // the more specific City network, the broader ASN one
		{"216.160.83.60", "US/Milton/209/CenturyLink"},
		{"89.160.20.120", "SE/Linköping/29518/Bredband2 AB"},
		{"1.130.0.1", "//1221/Telstra Pty Ltd"},
		{"2.125.160.217", "GB//0/"},
		{"2a02:c7c:1234::1", "GB//5607/Sky UK Limited"},
		{"::ffff:81.2.69.142", "GB/London/20712/Andrews & Arnold Ltd"}, // IPv4-mapped
		{"8.8.8.8", "<nil>"},                                           // not in the databases
		{"203.0.113.5", "<nil>"},                                       // documentation: none, though the database knows it
		{"10.1.2.3", "<nil>"},                                          // private
		{"127.0.0.1", "<nil>"},
		{"169.254.169.254", "<nil>"},
		{"100.64.1.1", "<nil>"},
		{"224.0.0.251", "<nil>"},
		{"fe80::1", "<nil>"},
		{"2001:db8::1", "<nil>"},
		{"s3.amazonaws.com", "<nil>"},
		{"AWS Internal", "<nil>"},
		{"cloudtrail.amazonaws.com", "<nil>"},
		{"", "<nil>"},
		{"81.2.69.142, 10.0.0.1", "<nil>"}, // a list is not an address
	} {
		// Twice: the second answer comes from the cache.
		for range 2 {
			if got := geoString(d.LookupString(tc.ip)); got != tc.want {
				t.Errorf("%q: %s, want %s", tc.ip, got, tc.want)
			}
		}
	}
	// Equal answers share one value.
	if a, b := d.LookupString("81.2.69.142"), d.LookupString("81.2.69.143"); a != b {
		t.Errorf("two addresses with the same answer got two values")
	}
}

func TestPublic(t *testing.T) {
	for ip, want := range map[string]bool{
		"1.1.1.1": true, "3.80.1.1": true, "100.63.255.255": true, "100.64.0.0": false, "100.127.255.255": false,
		"100.128.0.0": true, "172.15.255.255": true, "172.16.0.1": false, "172.31.255.255": false, "172.32.0.0": true,
		"192.0.2.1": false, "192.0.3.1": true, "198.18.0.1": false, "198.20.0.1": true, "198.51.100.1": false,
		"203.0.113.1": false, "203.0.114.1": true, "240.0.0.1": false, "255.255.255.255": false, "0.1.2.3": false,
		"2600:1f18::1": true, "2001:db8::1": false, "fd00::1": false, "::1": false, "::": false, "ff02::1": false,
		"2002:c000:0204::1": false, "2001:4860::1": true, "3fff::1": false, "::ffff:10.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Public(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	_, f := testDB(t)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "GeoLite2-City.mmdb")
	if err := os.WriteFile(corrupt, []byte("this is not a MaxMind database, only text"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope.mmdb")
	for _, tc := range []struct {
		p    Paths
		want string
	}{
		{Paths{City: missing}, missing},
		{Paths{City: corrupt}, corrupt},
		{Paths{ASN: f.City}, f.City + `: it is a "GeoLite2-City" database, not a ASN one`},
		{Paths{City: f.ASN}, f.ASN},
		{Paths{City: f.City, ASN: missing}, missing},
		{Paths{}, "no GeoIP database"},
	} {
		d, err := Open(tc.p)
		if err == nil {
			d.Close()
			t.Errorf("%+v: no error", tc.p)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %q does not say %q", tc.p, err, tc.want)
		}
	}
	// A City database also serves as the Country database.
	d, err := Open(Paths{Country: f.City})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := geoString(d.LookupString("81.2.69.142")); got != "GB/London/0/" {
		t.Errorf("City database as Country: %s", got)
	}
}

func TestFindDir(t *testing.T) {
	_, f := testDB(t)
	p, err := FindDir(filepath.Dir(f.City))
	if err != nil {
		t.Fatal(err)
	}
	if p != (Paths{City: f.City, ASN: f.ASN}) {
		t.Errorf("FindDir: %+v", p)
	}
	empty := t.TempDir()
	if _, err := FindDir(empty); err == nil || !strings.Contains(err.Error(), "GeoLite2-City.mmdb") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := FindDir(filepath.Join(empty, "missing")); err == nil {
		t.Error("missing directory: no error")
	}
}

// TestConcurrent looks up from many goroutines at once, with a cache too
// small to hold everything, and checks every answer against an uncached
// lookup. (Run with -race to check the cache's locking.)
func TestConcurrent(t *testing.T) {
	d, _ := testDB(t)
	var addrs []netip.Addr
	for i := range 3000 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{81, 2, 69, byte(i)}), netip.AddrFrom4([4]byte{1, 128 + byte(i%32), byte(i / 7), byte(i)}))
	}
	want := make([]string, len(addrs))
	for i, a := range addrs {
		want[i] = geoString(d.lookup(a))
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 20 {
				for i := range addrs {
					j := (i*7 + w*131 + r) % len(addrs)
					if got := geoString(d.Lookup(addrs[j])); got != want[j] {
						t.Errorf("%s: %s, want %s", addrs[j], got, want[j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkLookupCached(b *testing.B) {
	d, _ := testDB(b)
	ips := []string{"81.2.69.142", "216.160.83.60", "1.130.0.1", "10.0.0.1", "2a02:c7c::1", "8.8.8.8"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.LookupString(ips[i%len(ips)])
	}
}

func BenchmarkLookupUncached(b *testing.B) {
	d, _ := testDB(b)
	addrs := []netip.Addr{netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("216.160.83.60"), netip.MustParseAddr("1.130.0.1"), netip.MustParseAddr("2a02:c7c::1")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.lookup(addrs[i%len(addrs)])
	}
}

func BenchmarkLookupCachedParallel(b *testing.B) {
	d, _ := testDB(b)
	ips := []string{"81.2.69.142", "216.160.83.60", "1.130.0.1", "10.0.0.1", "2a02:c7c::1", "8.8.8.8"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			d.LookupString(ips[i%len(ips)])
			i++
		}
	})
}
