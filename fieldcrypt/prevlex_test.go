package fieldcrypt

// The lexer of the previous scanner (see prevscan_test.go), copied as it was.

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Word-at-a-time constants for scanning string bodies.
const (
	prevOnes  = 0x0101010101010101
	prevHighs = 0x8080808080808080
)

// prevSkipSpace returns the index of the first non-whitespace byte at or after i.
func prevSkipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // the common case: no whitespace
	}
	return prevSkipSpaceSlow(b, i)
}

// prevSkipSpaceSlow is prevSkipSpace's loop, kept apart so prevSkipSpace inlines.
func prevSkipSpaceSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// prevNeedsCare reports (as a non-zero value) whether any of the 8 bytes of x
// is a control byte, a quote, a backslash or non-ASCII: the high bit of each
// such byte is set, and of no other (no sum carries from one byte to the
// next), so the lowest flag is the first byte needing care.
func prevNeedsCare(x uint64) uint64 {
	y := x &^ prevHighs                      // each byte below 0x80, so no sum below carries out of it
	q := (y ^ prevOnes*'"') + prevOnes*0x7f  // high bit set where not a quote
	s := (y ^ prevOnes*'\\') + prevOnes*0x7f // where not a backslash
	g := y + prevOnes*(0x80-0x20)            // where not a control byte
	return ^(q&s&g)&prevHighs | x&prevHighs
}

// prevScanString scans the string whose opening quote is at b[i]. It returns
// the index after the closing quote and whether the body holds escapes.
func prevScanString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for {
		i = prevSkipPlain(b, i)
		if i >= len(b) {
			return i, escaped, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			n := prevEscapeLen(b, i)
			if n == 0 {
				return i, escaped, false
			}
			escaped = true
			i += n
		case c < 0x20:
			return i, escaped, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, false
			}
			i += size
		}
	}
}

// prevSkipPlain returns the index of the first byte at or after i that is not
// plain ASCII (see prevNeedsCare), 8 bytes at a time while 8 remain.
func prevSkipPlain(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := prevNeedsCare(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// prevEscapeLen returns the length of the escape sequence at b[i] ('\\'), or 0.
func prevEscapeLen(b []byte, i int) int {
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
			if prevHexVal(h) < 0 {
				return 0
			}
		}
		return 6
	}
	return 0
}

// prevHexVal returns the value of a hex digit, or -1.
func prevHexVal(c byte) rune {
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

// prevScanNumber scans the number starting at b[i] and returns its end.
func prevScanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && prevIsDigit(b[i]):
		i = prevSkipDigits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := prevSkipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := prevSkipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func prevIsDigit(c byte) bool { return c >= '0' && c <= '9' }

func prevSkipDigits(b []byte, i int) int {
	for i < len(b) && prevIsDigit(b[i]) {
		i++
	}
	return i
}

// prevScanLiteral checks that lit (true, false, null) starts at b[i].
func prevScanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// prevAppendUnescaped appends the decoded body of a valid JSON string (without
// quotes) to dst. Invalid surrogates decode to U+FFFD, as encoding/json does.
func prevAppendUnescaped(dst, body []byte) []byte {
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
			r, i = prevDecodeU(body, i)
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, body[i])
		}
	}
	return dst
}

// prevDecodeU decodes the \u escape whose 'u' is at body[i], joining a
// surrogate pair; it returns the rune and the index of its last byte.
func prevDecodeU(body []byte, i int) (rune, int) {
	r := prevHex4(body[i+1 : i+5])
	i += 4
	if utf16.IsSurrogate(r) && i+6 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
		if r2 := utf16.DecodeRune(r, prevHex4(body[i+3:i+7])); r2 != utf8.RuneError {
			return r2, i + 6
		}
	}
	if utf16.IsSurrogate(r) {
		return utf8.RuneError, i
	}
	return r, i
}

// prevHex4 decodes four validated hex digits.
func prevHex4(b []byte) rune {
	return prevHexVal(b[0])<<12 | prevHexVal(b[1])<<8 | prevHexVal(b[2])<<4 | prevHexVal(b[3])
}
