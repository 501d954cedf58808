package fieldcrypt

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A key's loose signature is the same for every spelling of it that the
// case checks would take for it: in another letter case (caseVariant) or
// another normalisation (canonVariant), or both. It hashes, for each rune
// of the key, the fold classes (foldClass) of its full canonical
// decomposition's runes, leaving out combining marks without a case
// relation. The decomposition makes it the same for a key composed or
// not (NFC, NFD), and leaving the marks out makes the order they are
// decomposed in (canonical reordering) not matter. It needs no
// normalisation of the key, only a table lookup per rune, so matchKey
// normalises a key that is not ASCII only when its loose signature is
// one of the named keys': a body of long accented keys that are no named
// key's costs a hash of each, not their normal forms.
//
// TestLooseSigSound checks, over all of Unicode, that the runes of a fold
// class decompose to the same classes, that the marks it keeps all have
// one combining class (so reordering never moves one past another), and
// that each rune's signature is its normal forms'.

// looseLimit: from here on every rune stands for itself (none has a
// decomposition, a case relation or a combining class).
const looseLimit = 0x30000

// looseTable maps each rune below looseLimit whose loose contribution is
// not itself alone, by page of 256 runes, to: looseSkip (a mark left
// out), one rune (the class of its single kept rune), or, with
// looseMany set, the position (low 16 bits) and count (next 8 bits) of
// its classes in runes.
type looseTable struct {
	page  [looseLimit >> 8]uint16 // 0: every rune of the page stands for itself
	pages [][256]uint32           // pages[0] is unused
	runes []rune
}

const (
	looseSkip = 1 << 31
	looseMany = 1 << 30
)

var looseTab = sync.OnceValue(func() *looseTable {
	t := &looseTable{pages: make([][256]uint32, 1)}
	for r := rune(0); r < looseLimit; r++ {
		if 0xAC00 <= r && r <= 0xD7A3 {
			continue // Hangul syllables: decomposed by looseSig itself
		}
		c := looseContrib(r)
		var v uint32
		switch {
		case len(c) == 1 && c[0] == r:
			continue
		case len(c) == 0:
			v = looseSkip
		case len(c) == 1:
			v = uint32(c[0])
		default:
			if len(t.runes) > 0xffff || len(c) > 0xff {
				panic("fieldcrypt: loose signature table overflows")
			}
			v = looseMany | uint32(len(c))<<16 | uint32(len(t.runes))
			t.runes = append(t.runes, c...)
		}
		p := t.page[r>>8]
		if p == 0 {
			p = uint16(len(t.pages))
			t.pages = append(t.pages, [256]uint32{})
			for i := range t.pages[p] {
				t.pages[p][i] = uint32(r&^0xff) + uint32(i) // itself, unless set
			}
			t.page[r>>8] = p
		}
		t.pages[p][r&0xff] = v
	}
	return t
})

// looseContrib returns the classes rune r adds to a loose signature,
// from its full canonical decomposition: each rune's fold class, less
// the combining marks (combining class not 0) whose class is their own.
// (The table is built from it; looseSig reads the table.)
func looseContrib(r rune) []rune {
	var out []rune
	d := norm.NFD.String(string(r))
	for _, x := range d {
		c := foldClass(x)
		if x == cgj || c == x && !classRoots()[x] && norm.NFD.PropertiesString(string(x)).CCC() != 0 {
			continue
		}
		out = append(out, c)
	}
	return out
}

// classRoots holds the runes that are the least of a fold class of more
// than one (foldClass(r) == r for them too).
var classRoots = sync.OnceValue(func() map[rune]bool {
	roots := map[rune]bool{}
	for _, c := range foldClasses() {
		roots[c] = true
	}
	return roots
})

// cgj, the combining grapheme joiner, is left out too: the normalisers
// insert it into runs of more than 30 marks (Unicode's Stream-Safe Text
// Format), so a normal form may hold one its key does not.
const cgj = '\u034f'

// looseSig is the loose signature of b. Bytes that are not UTF-8 count as
// utf8.RuneError, as caseVariant decodes them.
func looseSig(b []byte) uint64 {
	h := uint64(14695981039346656037)
	var t *looseTable
	for len(b) > 0 {
		if c := b[0]; c < utf8.RuneSelf {
			b = b[1:]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A' // foldClass of ASCII
			}
			h = (h ^ uint64(c)) * 1099511628211
			continue
		}
		var r rune
		if c := b[0]; c >= 0xc2 && c < 0xe0 && len(b) > 1 && b[1]&0xc0 == 0x80 {
			r, b = rune(c&0x1f)<<6|rune(b[1]&0x3f), b[2:] // two bytes, as most accented letters: decoded here
		} else {
			var n int
			r, n = utf8.DecodeRune(b)
			b = b[n:]
		}
		switch {
		case r >= looseLimit:
			h = (h ^ uint64(r)) * 1099511628211
		case 0xAC00 <= r && r <= 0xD7A3: // Hangul: L V (T), no case
			s := r - 0xAC00
			h = (h ^ uint64(0x1100+s/588)) * 1099511628211
			h = (h ^ uint64(0x1161+s%588/28)) * 1099511628211
			if s%28 != 0 {
				h = (h ^ uint64(0x11A7+s%28)) * 1099511628211
			}
		default:
			if t == nil {
				t = looseTab()
			}
			p := t.page[r>>8]
			if p == 0 {
				h = (h ^ uint64(r)) * 1099511628211
				continue
			}
			switch v := t.pages[p][r&0xff]; {
			case v&looseSkip != 0:
			case v&looseMany != 0:
				at, n := v&0xffff, v>>16&0xff
				for _, c := range t.runes[at : at+n] {
					h = (h ^ uint64(c)) * 1099511628211
				}
			default:
				h = (h ^ uint64(v)) * 1099511628211
			}
		}
	}
	return h
}
