package routematch

import "strings"

// PlainPath reports whether a raw path means the same to any server as
// its normalised form: only URI path characters and well-formed escapes,
// no empty segment, and no dot (plain or escaped) starting a segment,
// after a slash or an escaped one. The data plane forwards such a path
// as it was sent, and reads an escaped slash in it both ways; the admin
// preview must decide the same, so both call this.
func PlainPath(p []byte) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if i+1 < len(p) && (p[i+1] == '/' || dotStart(p[i+1:])) {
				return false
			}
		case c == '%':
			if i+2 >= len(p) || !IsHex(p[i+1]) || !IsHex(p[i+2]) {
				return false
			}
			// An escaped slash starts a segment too, to an upstream that
			// decodes before routing (Starlette, Werkzeug): no dot
			// segment after it either ("/users%2F..%2Fcards").
			if p[i+1] == '2' && p[i+2]|0x20 == 'f' && dotStart(p[i+3:]) {
				return false
			}
			i += 2
		case !PathChar(c):
			return false
		}
	}
	return true
}

// dotStart reports whether b starts with a dot, plain or escaped (%2e).
func dotStart(b []byte) bool {
	return len(b) > 0 && b[0] == '.' || len(b) >= 3 && b[0] == '%' && b[1] == '2' && b[2]|0x20 == 'e'
}

// PathChar reports whether c may stand unescaped in a URI path segment
// (RFC 3986 pchar, without the escape).
func PathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// IsHex reports whether c is a hexadecimal digit.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
