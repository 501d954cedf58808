package fieldcrypt

import (
	"errors"
	"strings"
)

// parsePath splits one trimmed path into segments.
func parsePath(s string) ([]segment, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	var segs []segment
	var key strings.Builder
	escaped := false // the current segment holds an escape
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			seg, err := newSegment(key.String(), escaped)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			key.Reset()
			escaped = false
			continue
		}
		c := s[i]
		if c == '\\' {
			if i+1 == len(s) || !strings.ContainsRune(`.*,\`, rune(s[i+1])) {
				return nil, errors.New(`bad escape: only \. \* \, \\ are allowed`)
			}
			i++
			c = s[i]
			escaped = true
		}
		key.WriteByte(c)
	}
	if len(segs) > MaxDepth {
		return nil, errors.New("more segments than MaxDepth")
	}
	return segs, nil
}

// newSegment builds a segment from its unescaped key.
func newSegment(key string, escaped bool) (segment, error) {
	if key == "" {
		return segment{}, errors.New("empty segment")
	}
	if key == "*" && !escaped {
		return segment{index: -1, wild: true}, nil
	}
	return segment{key: key, index: arrayIndex(key), ascii: isASCII([]byte(key))}, nil
}

// arrayIndex returns the array index spelled by key, or -1.
func arrayIndex(key string) int {
	if len(key) > 9 || (len(key) > 1 && key[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return -1
		}
		n = n*10 + int(key[i]-'0')
	}
	return n
}

// canonicalName spells segments back with the minimal escapes.
func canonicalName(segs []segment) string {
	var b strings.Builder
	for i, seg := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case seg.wild:
			b.WriteByte('*')
		case seg.key == "*":
			b.WriteString(`\*`)
		default:
			for j := 0; j < len(seg.key); j++ {
				if c := seg.key[j]; c == '.' || c == ',' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(seg.key[j])
			}
		}
	}
	return b.String()
}
