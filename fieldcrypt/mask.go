package fieldcrypt

import "unicode/utf8"

// Mask says how Reveal hides an opened value: it shows at most ShowFirst
// characters at the start and ShowLast at the end and writes Char for each
// of the others, so the mask keeps the value's length in characters.
//
// The characters are those of the decoded string when the plaintext is a
// JSON string ("4111 1111" has 9). A value of any other JSON type (number,
// true, false, null, object, array) is masked whole, as NonStringMaskLen
// mask characters, so neither its content nor its length shows (true and
// false would otherwise differ by length). A string of at most
// ShowFirst+ShowLast characters is masked whole, so a short value is never
// shown entirely. The result is always a JSON string, escaped as JSON
// requires.
//
// The zero Mask hides every character with '*'. A Mask is read-only during
// a call and may be shared.
type Mask struct {
	// ShowFirst is the number of leading characters shown; zero or negative
	// shows none.
	ShowFirst int
	// ShowLast is the number of trailing characters shown; zero or negative
	// shows none.
	ShowLast int
	// Char replaces each hidden character. Zero means '*'; a value that is
	// not a Unicode scalar value is written as U+FFFD.
	Char rune
}

// NonStringMaskLen is how many mask characters stand for a value that is
// not a JSON string.
const NonStringMaskLen = 4

// DefaultMask shows the last 4 characters and hides the others with '*'
// ("4111 1111 1111 1234" becomes "***************1234"). It is the mask of
// a classification that defines none; callers must not modify it.
var DefaultMask = Mask{ShowLast: 4, Char: '*'}

// appendMasked appends the JSON value raw (valid JSON, as opened from a
// token) masked by m, as a JSON string.
func (m *Mask) appendMasked(dst, raw []byte) []byte {
	raw = trimSpace(raw)
	text, quoted := raw, len(raw) >= 2 && raw[0] == '"'
	if quoted {
		text = raw[1 : len(raw)-1]
	} else {
		dst = append(dst, '"')
		for range NonStringMaskLen {
			dst = appendStringRune(dst, m.char())
		}
		return append(dst, '"')
	}
	plain := isPlainASCII(text[skipPlain(text, 0):])
	n := len(text)
	if !plain {
		n = countChars(text, quoted)
	}
	first, last := max(m.ShowFirst, 0), max(m.ShowLast, 0)
	if first >= n || last >= n || first+last >= n {
		first, last = 0, 0
	}
	char := m.char()
	dst = append(dst, '"')
	if plain && char < utf8.RuneSelf && char >= 0x20 && char != '"' && char != '\\' {
		// The common case, one byte per character and no escape: copy.
		dst = append(dst, text[:first]...)
		for range n - first - last {
			dst = append(dst, byte(char))
		}
		return append(append(dst, text[n-last:]...), '"')
	}
	for i, j := 0, 0; j < len(text); i++ {
		var r rune
		if r, j = nextChar(text, j, quoted); i >= first && i < n-last {
			r = char
		}
		dst = appendStringRune(dst, r)
	}
	return append(dst, '"')
}

// isPlainASCII reports whether b holds only printable ASCII other than
// quote and backslash (what skipPlain skips, for the bytes it leaves).
func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// char returns the rune written for each hidden character.
func (m *Mask) char() rune {
	switch {
	case m.Char == 0:
		return '*'
	case !utf8.ValidRune(m.Char):
		return utf8.RuneError
	}
	return m.Char
}

// countChars returns the number of characters of text: the decoded
// characters of a valid JSON string body if quoted, else its runes.
func countChars(text []byte, quoted bool) int {
	if !quoted {
		return utf8.RuneCount(text)
	}
	n := 0
	for j := 0; j < len(text); n++ {
		_, j = nextChar(text, j, true)
	}
	return n
}

// nextChar decodes the character at text[j] and returns it with the index
// of the next one. With quoted, text is the body of a valid JSON string and
// escapes are decoded (an unpaired surrogate gives U+FFFD, as encoding/json
// does); otherwise text is valid UTF-8.
func nextChar(text []byte, j int, quoted bool) (rune, int) {
	c := text[j]
	switch {
	case c >= utf8.RuneSelf:
		r, size := utf8.DecodeRune(text[j:])
		return r, j + size
	case c != '\\' || !quoted:
		return rune(c), j + 1
	}
	switch c = text[j+1]; c {
	case 'b':
		return '\b', j + 2
	case 'f':
		return '\f', j + 2
	case 'n':
		return '\n', j + 2
	case 'r':
		return '\r', j + 2
	case 't':
		return '\t', j + 2
	case 'u':
		r, last := decodeU(text, j+1)
		return r, last + 1
	}
	return rune(c), j + 2 // " \ /
}

// appendStringRune appends r as it must appear inside a JSON string:
// quote, backslash and control characters escaped, anything else as UTF-8.
func appendStringRune(dst []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	switch {
	case r == '"' || r == '\\':
		return append(dst, '\\', byte(r))
	case r == '\n':
		return append(dst, '\\', 'n')
	case r == '\r':
		return append(dst, '\\', 'r')
	case r == '\t':
		return append(dst, '\\', 't')
	case r >= 0 && r < 0x20:
		return append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
	case r >= 0 && r < utf8.RuneSelf:
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}
