// Package iana names protocol numbers as IANA's registry does, for the
// protocol_name column of flow logs.
package iana

// ProtocolName returns the IANA keyword for an IP protocol number ("TCP",
// "UDP", "ICMP", "IPv6-ICMP"…), or "" for unassigned numbers.
func ProtocolName(n int64) string {
	if n < 0 || n > 255 {
		return ""
	}
	return protocolNames[n]
}
