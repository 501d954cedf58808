package fieldcrypt

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bidxWalk walks a document that is already validated, once, along the
// paths of every index rule it is given, and records in b.edits, for
// each object holding a rule's indexed key, the insertion of the sibling
// after the value and the deletion of any old sibling. It checks
// nothing: the document is valid JSON. Its helpers are its own (not the
// scanner's) so that both can change apart.
//
// One walk serves every rule: a subtree no rule's path enters is skipped
// once, however many rules there are (64 paths with their spellings
// would otherwise skip a large document 64 times).
type bidxWalk struct {
	doc   []byte
	b     *bidxScratch
	rules []indexRule // Index.rules
	// orphans: the rules whose old siblings are also wanted from objects
	// that do not hold their key (findEdits), in b.orph.
	orphans uint64
}

// bidxAt is a rule the walk follows and how many of its path's segments
// the value being walked is under.
type bidxAt struct{ rule, depth int32 }

// bidxParent is a rule whose indexed key the object being walked may
// hold: where its value is (vs < 0 until found).
type bidxParent struct {
	rule   int32
	vs, ve int
}

// bidxCand is an old sibling found in an object being walked, of the
// rule b.par[par], or (par -1) a key with dots that spells a sibling's
// path from there (indexRule.dotted), kept as an orphan.
type bidxCand struct {
	e   bidxEdit
	par int
}

// last reports whether a is at its path's last segment: the value walked
// is the object that may hold its indexed key.
func (w *bidxWalk) last(a bidxAt) bool { return int(a.depth) == len(w.rules[a.rule].segs)-1 }

// walk walks the document from its first value with the rules act (each
// at depth 0).
func (w *bidxWalk) walk(act []bidxAt) {
	if len(act) > 0 {
		w.value(skipWS(w.doc, 0), act)
	}
}

// value walks the value at doc[i] for the rules act and returns the
// index just after the value. The lists of rules for the values inside
// are built on b.act above act, and taken off again.
func (w *bidxWalk) value(i int, act []bidxAt) int {
	doc, b := w.doc, w.b
	switch doc[i] {
	case '{':
		return w.object(i, act)
	case '[':
		i = skipWS(doc, i+1)
		if doc[i] == ']' {
			return i + 1
		}
		for n := 0; ; n++ {
			mark := len(b.act)
			for _, a := range act {
				// A rule at its last segment has no object here to
				// put an index in.
				if seg := &w.rules[a.rule].segs[a.depth]; !w.last(a) && (seg.wild || seg.index == n) {
					b.act = append(b.act, bidxAt{a.rule, a.depth + 1})
				}
			}
			var ve int
			if len(b.act) > mark {
				ve = w.value(i, b.act[mark:])
			} else {
				ve = skipJSON(doc, i)
			}
			b.act = b.act[:mark]
			j := skipWS(doc, ve)
			if doc[j] == ']' {
				return j + 1
			}
			i = skipWS(doc, j+1)
		}
	}
	return skipJSON(doc, i)
}

// object walks the object at doc[i]. For each rule at its last segment
// it finds the indexed key's value and the old siblings (keys that are
// the rule's sibling name in another letter case, normalisation or with
// other separators: OldSibling), and keys with dots that spell a
// sibling's path from here (indexRule.dotted), and
// records them once the object ends: the insertion after the value, and
// each old sibling as a member deletion (bidxEdit.del) that plan turns
// into byte ranges once every rule has walked, since two rules may delete
// neighbouring members of one object. Members that other rules' paths
// enter are walked with those rules; the rest are skipped.
func (w *bidxWalk) object(i int, act []bidxAt) int {
	doc, b, rules := w.doc, w.b, w.rules
	pmark, cmark := len(b.par), len(b.cand)
	for _, a := range act {
		if w.last(a) {
			b.par = append(b.par, bidxParent{rule: a.rule, vs: -1})
		}
	}
	pend := len(b.par)
	last := -1 // the end of the previous member's value; -1 before the first
	i++
	for {
		ks, ke, vs, ok := w.member(i)
		if !ok {
			i = vs + 1
			break
		}
		key := w.key(ks, ke) // b.key, which the walk inside overwrites: used up first
		amark, mine := len(b.act), len(b.cand)
		var sep uint64                  // key's sepSig, once hasSep
		hasSep, dots := false, int8(-1) // dots: whether key holds a dot, once known (0 or 1)
		for _, a := range act {
			if w.last(a) {
				continue
			}
			r := &rules[a.rule]
			if seg := &r.segs[a.depth]; seg.wild || string(key) == seg.key {
				b.act = append(b.act, bidxAt{a.rule, a.depth + 1})
			} else if r.dotted != nil {
				if dots < 0 {
					dots = 0
					if bytes.IndexByte(key, '.') > 0 {
						dots = 1
					}
				}
				if dots == 1 && sepOf(key, &sep, &hasSep) == r.dottedSep[a.depth] && sepVariant(key, r.dotted[a.depth]) {
					b.cand = append(b.cand, bidxCand{bidxEdit{at: ks, prev: last, rule: a.rule, del: true}, -1})
				}
			}
		}
		target := false
		var loose uint64 // key's looseSig when it is not ASCII: only then can it be a name's other normalisation
		var first rune   // key's firstClass, when some rule may hold its sibling here
		nonASCII := false
		nul := -1 // where key has a NUL (see cutNUL)
		if pend > pmark {
			if nonASCII = !isASCII(key); nonASCII {
				loose = looseSig(key)
			}
			first = firstClass(key)
			nul = bytes.IndexByte(key, 0)
		}
		var forms siblingForms
		for k := pmark; k < pend; k++ {
			p := &b.par[k]
			r := &rules[p.rule]
			switch {
			case string(key) == r.segs[len(r.segs)-1].key:
				p.vs, target = vs, true
			case first == r.first && sepOf(key, &sep, &hasSep) == r.sep && sepVariant(key, r.name) ||
				nonASCII && loose == r.loose && b.sameNameNFD(key, r, &forms) ||
				nul >= 0 && sepVariant(key[:nul], r.name):
				// Any key that folds to the name, in Unicode as decoders
				// that match keys without regard to case do (ſ is s, K
				// is k), or with other word separators (emailBidx), or is
				// it in another normalisation (Swift): a planted one would
				// be read as the index (OldSibling).
				b.cand = append(b.cand, bidxCand{bidxEdit{at: ks, prev: last, rule: p.rule, del: true}, k})
			}
		}
		var ve int
		if len(b.act) > amark {
			ve = w.value(vs, b.act[amark:])
		} else {
			ve = skipJSON(doc, vs)
		}
		b.act = b.act[:amark]
		j := skipWS(doc, ve)
		more := doc[j] == ','
		next := -1
		if more {
			next = skipWS(doc, j+1)
		}
		for k := mine; k < len(b.cand); k++ {
			b.cand[k].e.end, b.cand[k].e.next = ve, next
		}
		if target {
			for k := pmark; k < pend; k++ {
				if b.par[k].vs == vs {
					b.par[k].ve = ve
				}
			}
		}
		last = ve
		i = j + 1
		if !more {
			break
		}
	}
	// A rule's old siblings are deleted where its key is; an orphan's
	// are kept for findEdits where it is not.
	for _, c := range b.cand[cmark:] {
		if c.par < 0 {
			b.orph = append(b.orph, c.e)
			continue
		}
		switch p := b.par[c.par]; {
		case p.vs >= 0:
			b.edits = append(b.edits, c.e)
		case w.orphans&(1<<p.rule) != 0:
			b.orph = append(b.orph, c.e)
		}
	}
	for _, p := range b.par[pmark:pend] {
		if p.vs >= 0 {
			b.edits = append(b.edits, bidxEdit{at: p.ve, end: p.ve, vstart: p.vs, rule: p.rule, ins: true})
		}
	}
	b.par, b.cand = b.par[:pmark], b.cand[:cmark]
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

// sepOf returns sepSig(key), computed once into *sep (*has).
func sepOf(key []byte, sep *uint64, has *bool) uint64 {
	if !*has {
		*sep, *has = sepSig(key), true
	}
	return *sep
}

// OldSibling reports whether an index whose sibling is named name
// replaces a member whose key is key, as EncryptIndexed does: key is name
// in another letter case (Unicode's), with other word separators, or in
// another normalisation, or any of these followed by a NUL and more (a
// parser that keeps keys as C strings reads only what comes before it).
// For previews of what an indexed request does.
func OldSibling(key, name string) bool {
	k := []byte(key)
	if sepVariant(k, name) || sepVariant(cutNUL(k), name) {
		return true
	}
	var b bidxScratch
	var f siblingForms
	r := indexRule{name: name, nameNFD: norm.NFD.String(name)}
	return !isASCII(k) && looseSig(k) == looseSig([]byte(name)) && b.sameNameNFD(k, &r, &f)
}

// siblingForms are a key's normal forms, made once per member of an
// object (sameNameNFD), in the scratch's buffers.
type siblingForms struct {
	made     bool
	nfd, nfc []byte
}

// sameNameNFD reports whether key, which is not ASCII, and r's name are
// the same decomposed (NFD), exactly or as caseVariant compares, or
// composed (NFC, for a key holding U+0307) as caseVariant compares: the
// rules the scanner applies to named keys (canonVariant, makeForms).
func (b *bidxScratch) sameNameNFD(key []byte, r *indexRule, f *siblingForms) bool {
	if !f.made {
		f.made = true
		b.nfdKey = normalizeInto(&b.iter, b.nfdKey, norm.NFD, key)
		f.nfd, f.nfc = b.nfdKey, nil
		if bytes.Contains(key, dotAbove) {
			b.nfcKey = normalizeInto(&b.iter, b.nfcKey, norm.NFC, key)
			f.nfc = b.nfcKey
		}
	}
	return string(f.nfd) == r.nameNFD || caseVariant(f.nfd, r.nameNFD) || f.nfc != nil && caseVariant(f.nfc, r.name)
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
