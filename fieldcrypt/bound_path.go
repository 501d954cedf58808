package fieldcrypt

// Bound paths (Params.BindFields). The bound path of a value is the list of
// object keys from the root of the document down to it, array indices left
// out, each key unescaped from JSON and then written with a backslash before
// every '.' and '\', joined with '.'. So in {"items":[{"card":1}]} the card
// binds "items.card", in {"a.b":{"c":1}} the 1 binds "a\.b.c", and a value
// that is the whole document, or an element of a top-level array, binds "".

// notePath records the bound path of the span just added, a value inside
// the open containers stack[:d].
func (s *scanner) notePath(d int) {
	s.pathBuf = s.appendPath(s.pathBuf, d)
	s.pathEnds = append(s.pathEnds, len(s.pathBuf))
}

// path returns the bound path of spans[i], or nil when paths were not
// recorded. It is valid until the scanner is reset.
func (s *scanner) path(i int) []byte {
	if !s.bind {
		return nil
	}
	start := 0
	if i > 0 {
		start = s.pathEnds[i-1]
	}
	return s.pathBuf[start:s.pathEnds[i]]
}

// appendPath appends the bound path of a value inside the open containers
// stack[:d]. The current key of an open object is the last of its keys in
// s.keys: the one just before the keys of the next open object, or the last
// of all for the innermost one (the keys of closed objects are gone).
func (s *scanner) appendPath(dst []byte, d int) []byte {
	first, inner := true, false // inner: an open object was seen
	for j := range d {
		f := &s.stack[j]
		if !f.obj {
			continue
		}
		if inner {
			dst, first = appendPathKey(dst, s.keyAt(s.keys[f.base-1]), first), false
		}
		inner = true
	}
	if inner {
		dst = appendPathKey(dst, s.keyAt(s.keys[len(s.keys)-1]), first)
	}
	return dst
}

// appendPathKey appends '.' (unless first) and key with '.' and '\' escaped.
func appendPathKey(dst, key []byte, first bool) []byte {
	if !first {
		dst = append(dst, '.')
	}
	for _, c := range key {
		if c == '.' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}
