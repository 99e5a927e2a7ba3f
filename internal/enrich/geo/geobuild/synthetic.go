package geobuild

import (
	"net/netip"
)

// place is a country, city and network operator.
type place struct {
	country, city string
	asn           uint32
	org           string
}

// Places networks are spread over: the operators trawl's generator
// (internal/gen) names, and some large access networks.
var (
	amazon = []place{
		{"US", "Ashburn", 14618, "AMAZON-AES"}, {"US", "Boardman", 16509, "AMAZON-02"}, {"IE", "Dublin", 16509, "AMAZON-02"},
		{"DE", "Frankfurt am Main", 16509, "AMAZON-02"}, {"AU", "Sydney", 16509, "AMAZON-02"}, {"JP", "Tokyo", 16509, "AMAZON-02"},
		{"US", "Columbus", 16509, "AMAZON-02"},
	}
	others = []place{
		{"US", "Los Angeles", 7922, "COMCAST-7922"}, {"US", "Dallas", 7018, "ATT-INTERNET4"}, {"GB", "London", 2856, "British Telecommunications PLC"},
		{"DE", "Berlin", 3320, "Deutsche Telekom AG"}, {"FR", "Paris", 3215, "Orange S.A."}, {"NL", "Amsterdam", 1136, "KPN B.V."},
		{"BR", "São Paulo", 28573, "Claro NXT Telecomunicacoes Ltda"}, {"IN", "Mumbai", 55836, "Reliance Jio Infocomm Limited"},
		{"CN", "Beijing", 4808, "China Unicom Beijing Province Network"}, {"RU", "Moscow", 12389, "PJSC Rostelecom"},
		{"JP", "Osaka", 2516, "KDDI CORPORATION"}, {"KR", "Seoul", 4766, "Korea Telecom"}, {"CA", "Toronto", 812, "ROGERS-COMMUNICATIONS"},
		{"AU", "Melbourne", 1221, "Telstra Limited"}, {"SG", "Singapore", 9506, "Singtel Fibre Broadband"}, {"ZA", "Johannesburg", 37457, "Telkom SA Ltd"},
		{"US", "Mountain View", 15169, "GOOGLE"}, {"US", "Redmond", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"},
	}
)

// Synthetic returns networks covering the whole public IPv4 space in /16s,
// the IPv6 prefixes trawl's generator uses, and, more specific, the
// operators it names (Amazon's EC2 blocks, the MaxMind test addresses of
// its office and home pools, the scanners and the attacker). It is made-up
// data in the shape of GeoLite2's, for the demo and the benchmark: about
// 57,000 networks, so look-ups walk a tree of realistic depth.
func Synthetic() []Net {
	var nets []Net
	add := func(prefix string, p place) {
		nets = append(nets, Net{Prefix: netip.MustParsePrefix(prefix), Country: p.country, City: p.city, ASN: p.asn, ASOrg: p.org})
	}
	awsFirst := map[byte]bool{3: true, 13: true, 18: true, 34: true, 35: true, 44: true, 52: true, 54: true, 63: true}
	for a := 1; a < 224; a++ {
		for b := range 256 {
			pfx := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a), byte(b), 0, 0}), 16)
			h := uint32(a)*2654435761 ^ uint32(b)*40503
			p := others[h%uint32(len(others))]
			if awsFirst[byte(a)] {
				p = amazon[h%uint32(len(amazon))]
			}
			nets = append(nets, Net{Prefix: pfx, Country: p.country, City: p.city, ASN: p.asn, ASOrg: p.org})
		}
	}
	for _, s := range []struct {
		prefix string
		p      place
	}{
		// the generator's office and home addresses (MaxMind's test ranges)
		{"81.2.69.0/24", place{"GB", "London", 20712, "Andrews & Arnold Ltd"}},
		{"89.160.20.0/24", place{"SE", "Linköping", 29518, "Bredband2 AB"}},
		{"216.160.83.0/24", place{"US", "Milton", 209, "CENTURYLINK-US-LEGACY-QWEST"}},
		{"2.125.160.0/24", place{"GB", "Boxford", 5607, "Sky UK Limited"}},
		{"175.16.199.0/24", place{"CN", "Changchun", 4837, "CHINA UNICOM China169 Backbone"}},
		{"67.43.156.0/24", place{"BT", "Thimphu", 35908, "Bhutan Telecom"}},
		// GitHub Actions runners (Azure)
		{"20.57.72.0/24", place{"US", "San Antonio", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"}},
		{"172.183.42.0/24", place{"US", "Des Moines", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"}},
		{"4.175.118.0/24", place{"NL", "Amsterdam", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"}},
		// the attacker, the scanner and background noise
		{"185.220.101.0/24", place{"DE", "Berlin", 60729, "Stiftung Erneuerbare Freiheit"}},
		{"45.155.205.0/24", place{"NL", "Amsterdam", 209588, "Flyservers S.A."}},
		{"167.94.138.0/24", place{"US", "Ann Arbor", 398324, "CENSYS-ARIN-01"}},
		{"71.6.199.0/24", place{"US", "San Diego", 10439, "CARINET"}},
		{"193.163.125.0/24", place{"GB", "London", 211298, "Constantine Cybersecurity Ltd."}},
		{"218.92.0.0/24", place{"CN", "Nanjing", 4134, "CHINANET-BACKBONE"}},
		{"80.94.95.0/24", place{"RO", "Bucharest", 204428, "SS-Net"}},
		{"45.148.10.0/24", place{"NL", "Amsterdam", 48090, "TECHOFF SRV LIMITED"}},
		// IPv6: AWS regions and access networks
		{"2600:1f00::/24", amazon[0]},
		{"2600:1f14::/32", amazon[1]},
		{"2600:1f16::/32", amazon[6]},
		{"2a05:d018::/32", amazon[2]},
		{"2a05:d014::/32", amazon[3]},
		{"2406:da1c::/32", amazon[4]},
		{"2406:da14::/32", amazon[5]},
		{"2a01:4b00::/32", place{"GB", "London", 56478, "Hyperoptic Ltd"}},
		{"2a02:c7c::/32", place{"GB", "Manchester", 5607, "Sky UK Limited"}},
		{"2a00:23c5::/32", place{"GB", "Birmingham", 2856, "British Telecommunications PLC"}},
		{"2600:1700::/28", place{"US", "Dallas", 7018, "ATT-INTERNET4"}},
		{"2601:600::/23", place{"US", "San Jose", 7922, "COMCAST-7922"}},
		{"2a01:e0a::/32", place{"FR", "Paris", 12322, "Free SAS"}},
		{"2001:8a0::/32", place{"PT", "Lisbon", 3243, "MEO - SERVICOS DE COMUNICACOES E MULTIMEDIA S.A."}},
		{"2404:6800::/32", place{"AU", "Sydney", 15169, "GOOGLE"}},
	} {
		add(s.prefix, s.p)
	}
	return nets
}
