package fieldcrypt

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

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
	// orphans: record only the old siblings of objects that do not hold
	// the indexed key (see plan), as deletions.
	orphans bool
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
// records its edits when it does: the insertion after the key's value,
// and each old sibling as a member deletion (bidxEdit.del) that plan turns
// into byte ranges once every rule has walked, since two rules may delete
// neighbouring members of one object.
func (w *bidxWalk) parent(i int, seg segment) int {
	doc, b := w.doc, w.b
	mark := len(b.edits)
	target, tend := -1, -1
	last := -1 // the end of the previous member's value; -1 before the first
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
			target, tend = vs, ve
		case equalFoldKey(key, w.r.name) || !isASCII(key) && sameNameNFD(key, w.r.name):
			// Any key that folds to the name, in Unicode as decoders that
			// match keys without regard to case do (ſ is s, K is k), or
			// is it in another normalisation (Swift): a planted one would
			// be read as the index.
			next := -1
			if more {
				next = skipWS(doc, j+1)
			}
			b.edits = append(b.edits, bidxEdit{at: ks, end: ve, prev: last, next: next, del: true})
		}
		last = ve
		i = j + 1
		if !more {
			break
		}
	}
	if (target < 0) != w.orphans {
		b.edits = b.edits[:mark]
		return i
	}
	if !w.orphans {
		b.edits = append(b.edits, bidxEdit{at: tend, end: tend, vstart: target, rule: w.rule, ins: true})
	}
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

// sameNameNFD reports whether key, which is not ASCII, and name are the
// same decomposed (NFD), exactly or as caseVariant compares, or composed
// (NFC) as caseVariant compares: the rules the scanner applies to named
// keys (canonVariant, makeForms). It allocates, for keys that are not
// ASCII in objects that hold an indexed key only.
func sameNameNFD(key []byte, name string) bool {
	k, n := norm.NFD.Bytes(key), norm.NFD.String(name)
	return string(k) == n || caseVariant(k, n) || caseVariant(norm.NFC.Bytes(key), name)
}

// equalFoldKey reports whether key and name are equal under Unicode case
// folding (strings.EqualFold's rule), without converting key to a string.
func equalFoldKey(key []byte, name string) bool {
	for len(key) > 0 && len(name) > 0 {
		r1, n1 := utf8.DecodeRune(key)
		r2, n2 := utf8.DecodeRuneInString(name)
		key, name = key[n1:], name[n2:]
		if !foldRune(r1, r2) {
			return false
		}
	}
	return len(key) == 0 && len(name) == 0
}

// foldRune reports whether r1 and r2 are equal under Unicode simple case
// folding.
func foldRune(r1, r2 rune) bool {
	if r1 == r2 {
		return true
	}
	if r2 < r1 {
		r1, r2 = r2, r1
	}
	if r2 < utf8.RuneSelf { // ASCII: only the letter case differs
		return 'A' <= r1 && r1 <= 'Z' && r2 == r1+'a'-'A'
	}
	r := unicode.SimpleFold(r1)
	for r != r1 && r < r2 {
		r = unicode.SimpleFold(r)
	}
	return r == r2
}
