package geo

import "net/netip"

// special are the IANA special-purpose address blocks (the IPv4 and IPv6
// Special-Purpose Address Registries, plus multicast and the IPv4 class E
// block) together with private, loopback, link-local, CGNAT and
// documentation ranges. Addresses in them get no geo data: a GeoIP database
// knows nothing true about them, and test databases built with
// IncludeReservedNetworks could otherwise make documentation addresses
// look like real places.
var special = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (CGNAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation (TEST-NET-1)
		"192.31.196.0/24", // AS112-v4
		"192.52.193.0/24", // AMT
		"192.88.99.0/24",  // deprecated 6to4 relay anycast
		"192.168.0.0/16",  // private
		"192.175.48.0/24", // direct delegation AS112
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation (TEST-NET-2)
		"203.0.113.0/24",  // documentation (TEST-NET-3)
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255
		"::/127",          // unspecified and loopback
		"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing SIDs
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"ff00::/8",        // multicast
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// Public reports whether addr may have geo data: it is valid and in none
// of the special-purpose blocks. IPv4-mapped IPv6 addresses are judged as
// the IPv4 address they hold.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	if addr.Is4() {
		b := addr.As4()
		switch b[0] {
		case 0, 10, 127:
			return false
		case 100, 169, 172, 192, 198, 203:
			// checked against the list below
		default:
			if b[0] >= 224 {
				return false
			}
			return true
		}
	}
	for _, p := range special {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}
