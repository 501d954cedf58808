package fieldcrypt

import "bytes"

// bidxWalk walks a document that is already validated along one index
// rule's path, and records in b.edits, for each object holding the indexed
// key, the insertion of the sibling after the value and the deletion of
// any old sibling. It checks nothing: the document is valid JSON. Its
// helpers are its own (not the scanner's) so that both can change apart.
type bidxWalk struct {
	doc  []byte
	b    *bidxScratch
	r    *indexRule
	rule int32
}

// value walks the value at doc[i] with segs (at least one) left to match
// and returns the index just after the value.
func (w *bidxWalk) value(i int, segs []segment) int {
	doc := w.doc
	switch doc[i] {
	case '{':
		if len(segs) == 1 {
			return w.parent(i, segs[0])
		}
		i++
		for {
			ks, ke, vs, ok := w.member(i)
			if !ok {
				return vs + 1
			}
			var ve int
			if seg := &segs[0]; seg.wild || string(w.key(ks, ke)) == seg.key {
				ve = w.value(vs, segs[1:])
			} else {
				ve = skipJSON(doc, vs)
			}
			j := skipWS(doc, ve)
			if doc[j] == '}' {
				return j + 1
			}
			i = j + 1
		}
	case '[':
		if len(segs) == 1 {
			return skipJSON(doc, i) // no object to put the index in
		}
		i = skipWS(doc, i+1)
		if doc[i] == ']' {
			return i + 1
		}
		for n := 0; ; n++ {
			var ve int
			if seg := &segs[0]; seg.wild || seg.index == n {
				ve = w.value(i, segs[1:])
			} else {
				ve = skipJSON(doc, i)
			}
			j := skipWS(doc, ve)
			if doc[j] == ']' {
				return j + 1
			}
			i = skipWS(doc, j+1)
		}
	}
	return skipJSON(doc, i)
}

// parent walks the object at doc[i] that may hold the indexed key seg and
// records its edits when it does.
func (w *bidxWalk) parent(i int, seg segment) int {
	doc, b := w.doc, w.b
	mark := len(b.edits)
	target, tend := -1, -1
	kept := -1 // the end of the last member kept (or deleted after one kept)
	i++
	for {
		ks, ke, vs, ok := w.member(i)
		if !ok {
			i = vs + 1
			break
		}
		ve := skipJSON(doc, vs)
		j := skipWS(doc, ve)
		more := doc[j] == ','
		key := w.key(ks, ke)
		switch {
		case string(key) == seg.key:
			target, tend, kept = vs, ve, ve
		case len(key) == len(w.r.name) && foldEqual(key, w.r.name):
			switch {
			case kept >= 0:
				b.edits = append(b.edits, bidxEdit{at: kept, end: ve})
				kept = ve
			case more:
				b.edits = append(b.edits, bidxEdit{at: ks, end: skipWS(doc, j+1)})
			default:
				b.edits = append(b.edits, bidxEdit{at: ks, end: ve})
			}
		default:
			kept = ve
		}
		i = j + 1
		if !more {
			break
		}
	}
	if target < 0 {
		b.edits = b.edits[:mark]
		return i
	}
	b.edits = append(b.edits, bidxEdit{at: tend, end: tend, vstart: target, rule: w.rule, ins: true})
	return i
}

// member reads the member of an object that starts at or after doc[i]
// (white space first): its key's quotes at ks and ke-1 and its value at
// vs. At the object's end ok is false and vs is the index of '}'.
func (w *bidxWalk) member(i int) (ks, ke, vs int, ok bool) {
	doc := w.doc
	if i = skipWS(doc, i); doc[i] == '}' {
		return 0, 0, i, false
	}
	ks, ke = i, stringEnd(doc, i)
	vs = skipWS(doc, skipWS(doc, ke)+1)
	return ks, ke, vs, true
}

// key returns the unescaped key whose quotes are at ks and ke-1.
func (w *bidxWalk) key(ks, ke int) []byte {
	k := w.doc[ks+1 : ke-1]
	if !hasBackslash(k) {
		return k
	}
	w.b.key = appendUnescaped(w.b.key[:0], k)
	return w.b.key
}

// skipWS returns the index of the first byte at or after i that is not
// JSON white space.
func skipWS(doc []byte, i int) int {
	for i < len(doc) {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just after the string whose opening quote
// is doc[i].
func stringEnd(doc []byte, i int) int {
	for i++; ; {
		q := bytes.IndexByte(doc[i:], '"')
		i += q
		n := 0 // backslashes before the quote
		for doc[i-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return i + 1
		}
		i++
	}
}

// skipJSON returns the index just after the valid JSON value at doc[i].
func skipJSON(doc []byte, i int) int {
	switch doc[i] {
	case '"':
		return stringEnd(doc, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch doc[i] {
			case '"':
				i = stringEnd(doc, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(doc) {
		switch doc[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
