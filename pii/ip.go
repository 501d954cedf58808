package pii

import (
	"net/netip"
	"strings"
)

// ipReason reports whether s is an IP address, alone or with a port: an
// IPv4 address in dotted-quad form (so no version string such as 1.2.3)
// or an IPv6 address. Addresses that name no host are left out: the
// unspecified and loopback addresses, and IPv4 addresses starting 0. or
// 255. (netmasks, broadcast).
func ipReason(s string) (string, bool) {
	if !ipChars(s) {
		return "", false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return "", false
		}
		a = ap.Addr()
	}
	if a.IsUnspecified() || a.IsLoopback() {
		return "", false
	}
	if a.Is4() {
		if b := a.As4(); b[0] == 0 || b[0] == 255 {
			return "", false
		}
		return reasonIPv4, true
	}
	return reasonIPv6, true
}

// ipChars reports whether s could be an address, with a port or a zone:
// at most 64 bytes, a '.' or ':', only hex digits and .:[] before any '%'.
func ipChars(s string) bool {
	if len(s) < 3 || len(s) > 64 || !strings.ContainsAny(s, ".:") {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			return true
		case !isHex(c) && c != '.' && c != ':' && c != '[' && c != ']':
			return false
		}
	}
	return true
}
