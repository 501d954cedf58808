package fieldcrypt

import (
	"slices"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A key's loose signature is the same for every spelling of it that the
// case checks would take for it: in another letter case (caseVariant) or
// another normalisation (canonVariant), or both. It needs no
// normalisation of the key, only a table lookup per rune, so matchKey
// normalises a key that is not ASCII only when its loose signature is one
// of the named keys': a body of long accented keys that are no named
// key's costs a hash of each, not their normal forms.
//
// It reads each rune as the runes of its full canonical decomposition,
// each as an item of one of three kinds:
//   - a starter (combining class 0) is hashed in sequence, as its fold
//     class (foldClass);
//   - a combining mark without a case relation is added to a sum of the
//     marks since the last starter, which is hashed in sequence before
//     the next starter and at the end: a sum, because canonical
//     reordering may change the marks' order between two starters, never
//     which marks are there;
//   - the runes of a fold class that holds a mark (ι and U+0345, the
//     iota subscript) are hashed in sequence without ending the marks'
//     sum, since U+0345 moves among marks.
//
// Left out are U+034F, which the normalisers insert into long runs of
// marks (Unicode's Stream-Safe Text Format), and the marks that one rune
// of a fold class has in its decomposition and another does not (U+0307:
// İ lower-cases to i), found by a fixed point when the table is built.
// TestLooseSigSound checks over all of Unicode that the runes of a fold
// class read as the same items, and that each rune's signature is its
// normal forms'; TestLooseSigStrings, the same for random strings and
// their case variants.

// looseLimit: from here on every rune is a starter of its own (none has a
// decomposition, a case relation or a combining class).
const looseLimit = 0x30000

// A loose item is a rune (low 21 bits) and its kind.
const (
	looseSeq     = 0       // a starter
	looseNoFlush = 1 << 29 // a rune of a fold class that holds a mark
	looseMark    = 2 << 29 // a mark, summed
	looseKind    = 3 << 29
	looseMany    = 1 << 31 // a table value: count (bits 16-23) and position (low 16 bits) in items
)

// looseTable maps each rune below looseLimit whose items are not itself
// as a starter, by page of 256 runes, to one item, or (looseMany) to its
// items in items (a count of 0 for none).
type looseTable struct {
	page  [looseLimit >> 8]uint16 // 0: every rune of the page is a starter of its own
	pages [][256]uint32           // pages[0] is unused
	items []uint32
}

var looseTab = sync.OnceValue(func() *looseTable {
	t := &looseTable{pages: make([][256]uint32, 1)}
	b := looseBuild()
	for r := rune(0); r < looseLimit; r++ {
		if 0xAC00 <= r && r <= 0xD7A3 || !utf8.ValidRune(r) {
			continue // Hangul syllables: decomposed by looseSig itself
		}
		it := b.items(r)
		var v uint32
		switch {
		case len(it) == 1 && it[0] == uint32(r):
			continue
		case len(it) == 1:
			v = it[0]
		default:
			if len(t.items) > 0xffff || len(it) > 0xff {
				panic("fieldcrypt: loose signature table overflows")
			}
			v = looseMany | uint32(len(it))<<16 | uint32(len(t.items))
			t.items = append(t.items, it...)
		}
		p := t.page[r>>8]
		if p == 0 {
			p = uint16(len(t.pages))
			t.pages = append(t.pages, [256]uint32{})
			for i := range t.pages[p] {
				t.pages[p][i] = uint32(r&^0xff) + uint32(i) // a starter of its own, unless set
			}
			t.page[r>>8] = p
		}
		t.pages[p][r&0xff] = v
	}
	return t
})

// Prepare builds the tables the checks of keys that are not ASCII use
// (foldTab, looseTab: about 30 ms and 2 MB of garbage, once): otherwise
// the first such key a process meets builds them, and requests that
// meet one meanwhile wait.
func Prepare() {
	foldTab()
	looseTab()
}

// looseBuilder computes the items of runes (see looseSig).
type looseBuilder struct {
	roots      map[rune]bool // the least rune of each fold class of more than one
	markClass  map[rune]bool // the fold classes that hold a mark
	unstable   map[rune]bool // marks left out: runes of one class disagree on them
	buf        [utf8.UTFMax]byte
	decomposed []rune
}

// cgj, the combining grapheme joiner, is left out: the normalisers insert
// it into runs of more than 30 marks.
const cgj = '\u034f'

func looseBuild() *looseBuilder {
	b := &looseBuilder{roots: map[rune]bool{}, markClass: map[rune]bool{}, unstable: map[rune]bool{}}
	classes := map[rune][]rune{}
	for r, c := range foldClasses() {
		b.roots[c] = true
		classes[c] = append(classes[c], r)
	}
	for c := range classes {
		classes[c] = append(classes[c], c)
	}
	for _, members := range classes {
		for _, r := range members {
			if b.ccc(r) != 0 {
				b.markClass[foldClass(r)] = true
			}
		}
	}
	// The fixed point: a mark that some rune of a class has in its
	// decomposition and another does not is left out everywhere.
	for changed := true; changed; {
		changed = false
		for _, members := range classes {
			first := b.items(members[0])
			for _, r := range members[1:] {
				if slices.Equal(first, b.items(r)) {
					continue
				}
				for _, m := range members {
					for _, x := range b.decompose(m) {
						if b.ccc(x) != 0 && !b.hasCase(x) && !b.unstable[x] {
							b.unstable[x], changed = true, true
						}
					}
				}
				break
			}
		}
	}
	return b
}

func (b *looseBuilder) props(r rune) norm.Properties {
	n := utf8.EncodeRune(b.buf[:], r)
	return norm.NFD.Properties(b.buf[:n])
}

func (b *looseBuilder) ccc(r rune) uint8 { return b.props(r).CCC() }

func (b *looseBuilder) hasCase(r rune) bool { return foldClass(r) != r || b.roots[r] }

// decompose returns r's full canonical decomposition.
func (b *looseBuilder) decompose(r rune) []rune {
	b.decomposed = b.decomposed[:0]
	if 0xAC00 <= r && r <= 0xD7A3 { // Hangul, decomposed by rule
		n := r - 0xAC00
		b.decomposed = append(b.decomposed, 0x1100+n/588, 0x1161+n%588/28)
		if n%28 != 0 {
			b.decomposed = append(b.decomposed, 0x11A7+n%28)
		}
		return b.decomposed
	}
	d := b.props(r).Decomposition()
	if d == nil {
		return append(b.decomposed, r)
	}
	for _, x := range string(d) { // Decomposition is already full
		b.decomposed = append(b.decomposed, x)
	}
	return b.decomposed
}

// items returns r's items (see looseSig).
func (b *looseBuilder) items(r rune) []uint32 {
	var out []uint32
	for _, x := range b.decompose(r) {
		if x == cgj || b.unstable[x] || isSepRune(x) || x < utf8.RuneSelf && isWordSep(byte(x)) {
			continue // word separators too: sepVariant of normal forms (scanner.variant)
		}
		c := foldClass(x)
		switch {
		case b.ccc(x) != 0 && !b.hasCase(x):
			out = append(out, uint32(x)|looseMark)
		case b.markClass[c]:
			out = append(out, uint32(c)|looseNoFlush)
		default:
			out = append(out, uint32(c))
		}
	}
	return out
}

// looseHash is the state of a loose signature: the hash, and the sum of
// the marks since the last starter.
type looseHash struct{ h, marks uint64 }

func (s *looseHash) add(item uint32) {
	v := uint64(item &^ looseKind)
	switch item & looseKind {
	case looseMark:
		s.marks += (v + 1) * 0x9e3779b97f4a7c15
	case looseNoFlush:
		s.h = (s.h ^ v) * 1099511628211
	default:
		s.flush()
		s.h = (s.h ^ v) * 1099511628211
	}
}

func (s *looseHash) flush() {
	if s.marks != 0 {
		s.h = (s.h ^ s.marks) * 1099511628211
		s.marks = 0
	}
}

// looseSig is the loose signature of b. Bytes that are not UTF-8 count as
// utf8.RuneError, as caseVariant decodes them.
func looseSig(b []byte) uint64 {
	s := looseHash{h: 14695981039346656037}
	var t *looseTable
	for len(b) > 0 {
		if c := b[0]; c < utf8.RuneSelf {
			b = b[1:]
			if isWordSep(c) {
				continue
			}
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A' // foldClass of ASCII
			}
			s.add(uint32(c))
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
			s.add(uint32(r))
		case 0xAC00 <= r && r <= 0xD7A3: // Hangul: L V (T), starters without case
			n := r - 0xAC00
			s.add(uint32(0x1100 + n/588))
			s.add(uint32(0x1161 + n%588/28))
			if n%28 != 0 {
				s.add(uint32(0x11A7 + n%28))
			}
		default:
			if t == nil {
				t = looseTab()
			}
			p := t.page[r>>8]
			if p == 0 {
				s.add(uint32(r))
				continue
			}
			if v := t.pages[p][r&0xff]; v&looseMany == 0 {
				s.add(v)
			} else {
				at, n := v&0xffff, v>>16&0xff
				for _, it := range t.items[at : at+n] {
					s.add(it)
				}
			}
		}
	}
	s.flush()
	return s.h
}
