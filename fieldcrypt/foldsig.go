package fieldcrypt

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The case checks (caseVariant, canonVariant) compare a key with each
// named key at its depth, rune by rune: a body of long keys under many
// long named paths that share their beginnings cost a comparison of the
// whole key per path (an attacker review measured 1.9 MB/s). A key's fold
// signature is computed once, and two strings that caseVariant finds the
// same always have equal signatures, so a comparison runs only when the
// signatures agree.

// foldClasses maps each rune that has a case relation to the least rune
// of its class: the runes joined by simple folding (an orbit), or by a
// common upper or lower case mapping, the relation caseVariant tests per
// rune. A rune not in the map is a class of its own. Built once, from
// unicode.CaseRanges (a few thousand runes), when first needed.
var foldClasses = sync.OnceValue(func() map[rune]rune {
	parent := map[rune]rune{}
	var find func(r rune) rune
	find = func(r rune) rune {
		p, ok := parent[r]
		if !ok || p == r {
			return r
		}
		root := find(p)
		parent[r] = root
		return root
	}
	union := func(a, b rune) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		parent[ra], parent[rb] = ra, ra // the least rune is the root
	}
	for _, cr := range unicode.CaseRanges {
		for r := rune(cr.Lo); r <= rune(cr.Hi); r++ {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				union(r, f)
			}
			union(r, unicode.ToUpper(r))
			union(r, unicode.ToLower(r))
		}
	}
	class := make(map[rune]rune, len(parent))
	for r := range parent {
		if c := find(r); c != r {
			class[r] = c
		}
	}
	return class
})

// foldTable is foldClasses as a table: for each page of 256 runes below
// foldLimit, the index of its page of classes (0: every rune of the page
// is a class of its own). A lookup per rune, where the map took a hash
// and a probe.
type foldTable struct {
	page  [foldLimit >> 8]uint16
	pages [][256]rune // pages[0] is unused
}

// foldLimit: no rune from here on has a case relation.
const foldLimit = 0x20000

var foldTab = sync.OnceValue(func() *foldTable {
	t := &foldTable{pages: make([][256]rune, 1)}
	for r, c := range foldClasses() {
		if r >= foldLimit {
			panic("fieldcrypt: a rune with a case relation past foldLimit")
		}
		p := t.page[r>>8]
		if p == 0 {
			p = uint16(len(t.pages))
			t.pages = append(t.pages, [256]rune{})
			for i := range t.pages[p] {
				t.pages[p][i] = r&^0xff + rune(i)
			}
			t.page[r>>8] = p
		}
		t.pages[p][r&0xff] = c
	}
	return t
})

// foldClass returns the least rune of r's class (foldClasses).
func foldClass(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A' // with K, S, I and their non-ASCII kin, whose least rune is the capital
		}
		return r
	}
	if r >= foldLimit || r < 0 {
		return r
	}
	t := foldTab()
	if p := t.page[r>>8]; p != 0 {
		return t.pages[p][r&0xff]
	}
	return r
}

// sepSig is the fold signature of b without word separators (isWordSep):
// if sepVariant(a, b) then sepSig(a) == sepSig(b), as the runes
// sepVariant takes for each other are in one fold class.
func sepSig(b []byte) uint64 {
	h := uint64(14695981039346656037)
	var t *foldTable
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			b = b[1:]
			if isWordSep(c) {
				continue
			}
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			h = (h ^ uint64(c)) * 1099511628211
			continue
		}
		var r rune
		if c >= 0xc2 && c < 0xe0 && len(b) > 1 && b[1]&0xc0 == 0x80 {
			r, b = rune(c&0x1f)<<6|rune(b[1]&0x3f), b[2:] // two bytes: decoded here
		} else {
			var n int
			r, n = utf8.DecodeRune(b)
			b = b[n:]
		}
		if isSepRune(r) {
			continue
		}
		if r < foldLimit {
			if t == nil {
				t = foldTab()
			}
			if p := t.page[r>>8]; p != 0 {
				r = t.pages[p][r&0xff]
			}
		}
		h = (h ^ uint64(r)) * 1099511628211
	}
	return h
}

// foldSig is the fold signature of b: a hash of its runes' classes,
// runes decoded as caseVariant decodes them. If caseVariant(a, b) then
// foldSig(a) == foldSig(b).
func foldSig(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		h = (h ^ uint64(foldClass(r))) * 1099511628211
	}
	return h
}
