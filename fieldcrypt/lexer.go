package fieldcrypt

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Word-at-a-time constants for scanning string bodies.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // the common case: no whitespace
	}
	return skipSpaceSlow(b, i)
}

// skipSpaceSlow is skipSpace's loop, kept apart so skipSpace inlines.
// After a newline it skips the indentation's spaces 8 at a time.
func skipSpaceSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\r', '\t':
			i++
		case '\n':
			i++
			for i+8 <= len(b) {
				// The first byte that is not a space ends the run (8: none).
				n := bits.TrailingZeros64(binary.LittleEndian.Uint64(b[i:i+8:i+8])^ones*' ') >> 3
				if i += n; n < 8 {
					break
				}
			}
		default:
			return i
		}
	}
	return i
}

// needsCare reports (as a non-zero value) whether any of the 8 bytes of x
// is a control byte, a quote, a backslash or non-ASCII, and the lowest set
// bit, a byte's high bit, marks the first of them. Each term flags the
// bytes it is about exactly; a borrow out of such a byte can flag bytes
// above it, which the first flag makes irrelevant:
//   - (x^'"')-1 per byte: 0xff for a quote, high bit for non-ASCII;
//   - the same for a backslash;
//   - x-0x20 per byte: high bit for a control byte (and for some non-ASCII);
//   - x: high bit for non-ASCII.
func needsCare(x uint64) uint64 {
	q := (x ^ ones*'"') - ones
	s := (x ^ ones*'\\') - ones
	c := x - ones*0x20
	return (q | s | c | x) & highs
}

// scanString scans the string whose opening quote is at b[i]. It returns
// the index after the closing quote and whether the body holds escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	return scanStringFrom(b, i+1)
}

// scanStringFrom scans a string body from b[i] (all the bytes before it
// are plain, see needsCare), 8 bytes at a time with skipPlain, and escapes
// and non-ASCII UTF-8 a byte or a rune at a time. It returns what
// scanString returns.
func scanStringFrom(b []byte, i int) (end int, escaped, ok bool) {
	for {
		if i = skipPlain(b, i); i >= len(b) {
			return i, escaped, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			n := escapeLen(b, i)
			if n == 0 {
				return i, escaped, false
			}
			escaped = true
			i += n
		case c < 0x20:
			return i, escaped, false
		case c < utf8.RuneSelf:
			i++
		case c >= 0xc2 && c < 0xe0 && i+1 < len(b) && b[i+1]&0xc0 == 0x80:
			i += 2 // a valid two-byte sequence (most accented letters), checked here
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, false
			}
			i += size
		}
	}
}

// wordAt returns the 8 bytes from b[i] as a little-endian word and the
// number n of plain bytes they start with (see needsCare): b[i+n] is the
// first byte that needs care, or n is 8. With fewer than 8 bytes left it
// returns 0, 0. It inlines, so that a short string costs the scanner no
// call: unless b[i+n] is its closing quote, scanStringFrom goes on from
// there.
func wordAt(b []byte, i int) (x uint64, n int) {
	if i+8 > len(b) {
		return 0, 0
	}
	x = binary.LittleEndian.Uint64(b[i : i+8 : i+8])
	return x, bits.TrailingZeros64(needsCare(x)) >> 3 // 64>>3 if no flag
}

// skipPlain returns the index of the first byte at or after i that is not
// plain ASCII (see needsCare), 8 bytes at a time while 8 remain.
func skipPlain(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := needsCare(binary.LittleEndian.Uint64(b[i : i+8 : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// escapeLen returns the length of the escape sequence at b[i] ('\\'), or 0.
func escapeLen(b []byte, i int) int {
	if i+1 >= len(b) {
		return 0
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if i+6 > len(b) {
			return 0
		}
		for _, h := range b[i+2 : i+6] {
			if hexVal(h) < 0 {
				return 0
			}
		}
		return 6
	}
	return 0
}

// hexVal returns the value of a hex digit, or -1.
func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// scanNumber scans the number starting at b[i] and returns its end. Each
// byte is looked at once, with one bounds check.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case isDigit(c):
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && b[i]|0x20 == 'e' { // 'e' or 'E'
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanLiteral checks that lit (true, false, null) starts at b[i].
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// appendUnescaped appends the decoded body of a valid JSON string (without
// quotes) to dst. Invalid surrogates decode to U+FFFD, as encoding/json does.
func appendUnescaped(dst, body []byte) []byte {
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch body[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			var r rune
			r, i = decodeU(body, i)
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, body[i])
		}
	}
	return dst
}

// decodeU decodes the \u escape whose 'u' is at body[i], joining a
// surrogate pair; it returns the rune and the index of its last byte.
func decodeU(body []byte, i int) (rune, int) {
	r := hex4(body[i+1 : i+5])
	i += 4
	if utf16.IsSurrogate(r) && i+6 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
		if r2 := utf16.DecodeRune(r, hex4(body[i+3:i+7])); r2 != utf8.RuneError {
			return r2, i + 6
		}
	}
	if utf16.IsSurrogate(r) {
		return utf8.RuneError, i
	}
	return r, i
}

// hex4 decodes four validated hex digits.
func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}
