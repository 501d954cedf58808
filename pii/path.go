package pii

import (
	"strconv"
	"strings"
)

// EscapeKey writes an object key as one segment of the X-Qanapi-Fields
// syntax: a backslash before each '.', ',', '\' and before a key that is
// exactly "*". Callers building the paths that Detect passes to covered
// use it so that both spell a path the same way.
func EscapeKey(key string) string {
	if key == "*" {
		return `\*`
	}
	if !strings.ContainsAny(key, `.,\`) {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if c := key[i]; c == '.' || c == ',' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(key[i])
	}
	return b.String()
}

// segment is one level of a value's path: an object key or an array index.
type segment struct {
	key   string // escaped (EscapeKey)
	index int    // -1 for an object key
}

// pathString joins segs: array indices as decimal digits (the concrete
// path, for covered), or as * when wild (the path of a hint).
func pathString(segs []segment, wild bool) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case s.index < 0:
			b.WriteString(s.key)
		case wild:
			b.WriteByte('*')
		default:
			b.WriteString(strconv.Itoa(s.index))
		}
	}
	return b.String()
}
