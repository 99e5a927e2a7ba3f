package iana

import "testing"

func TestProtocolName(t *testing.T) {
	for n, want := range map[int64]string{0: "HOPOPT", 1: "ICMP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE", 50: "ESP", 58: "IPv6-ICMP", 132: "SCTP", 255: "Reserved", 200: "", -1: "", 300: "", 61: ""} {
		if got := ProtocolName(n); got != want {
			t.Errorf("ProtocolName(%d) = %q, want %q", n, got, want)
		}
	}
}
