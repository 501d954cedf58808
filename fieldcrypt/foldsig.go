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

// foldClass returns the least rune of r's class (foldClasses).
func foldClass(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A' // with K, S, I and their non-ASCII kin, whose least rune is the capital
		}
		return r
	}
	if c, ok := foldClasses()[r]; ok {
		return c
	}
	return r
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
