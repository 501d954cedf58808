package fieldcrypt

// The single-loop scanner as it was before the bloom-filtered duplicate
// check, one-word keys and the borrow-based needsCare (names prefixed
// "prev"), kept as the oracle of FuzzScanPrev: the live scanner must refuse
// exactly what it refuses, with the same error, and find the same spans and
// bound paths. Unlike the recursive reference of refscan_test.go it shares
// nothing with the live lexer (prevlex_test.go is its own copy), so changes
// there are checked too.

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// prevScanner validates a document in one pass and, while doing so, records the
// spans of the values named by a field list (or, in tokens mode, of every
// string that is a token) and, with bind, their bound paths (bound_path.go).
// Spans come out sorted and disjoint: once a value is a target, nothing
// inside it is matched again (the outer path wins).
//
// The pass is one loop over an explicit stack of open containers rather
// than a recursive descent: it costs one function call per string instead of
// several per value, which is most of the time on typical bodies.
type prevScanner struct {
	doc     []byte
	paths   []path
	ends    [MaxDepth + 1]uint64 // ends[d]: paths whose last segment is at depth d
	tokens  bool                 // record every token string (DecryptAll)
	bind    bool                 // record the bound path of each span
	spans   []span
	stack   [MaxDepth]prevFrame // the open containers, outermost first
	keys    [][]byte            // keys of the open objects, for duplicate checks
	fps     []uint64            // fingerprint of each key (see prevKeyPrint)
	table   []uint32            // hash table of checkKeys
	decoded []byte              // storage for unescaped keys
	// foldKey: a key equals a named path's segment but for ASCII letter
	// case (see ErrCaseVariantKey).
	foldKey bool
	dotKey  bool // see ErrDottedKey
	// strict, inArray: as the live scanner's (ErrFieldInArray).
	strict, inArray bool

	// With bind, the bound path of spans[i] is
	// pathBuf[pathEnds[i-1]:pathEnds[i]] (see path).
	pathBuf  []byte
	pathEnds []int
}

// prevFrame is one open array or object.
type prevFrame struct {
	m     uint64 // the paths matched down to this container
	start int    // where the container starts if it is a target, else -1
	n     int    // arrays: index of the current element
	elem  int    // arrays: where the current element starts
	base  int    // objects: the container's first entry in keys and fps
	mark  int    // objects: the length of decoded when it opened
	obj   bool   // an object, not an array
	each  bool   // a target array: every element is a target
}

// reset prepares s for a new document and field list.
func (s *prevScanner) reset(doc []byte, f Fields, tokens, bind bool) {
	s.doc, s.paths, s.tokens, s.bind = doc, f.paths, tokens, bind
	s.spans, s.keys, s.fps, s.decoded = s.spans[:0], s.keys[:0], s.fps[:0], s.decoded[:0]
	s.foldKey, s.dotKey, s.strict, s.inArray = false, false, false, false
	s.pathBuf, s.pathEnds = s.pathBuf[:0], s.pathEnds[:0]
	s.ends = [MaxDepth + 1]uint64{}
	for i, p := range f.paths {
		s.ends[len(p.segs)] |= 1 << i
	}
}

// scan validates the whole document and collects the target spans. It is
// one function with three states, joined by goto so that no value costs a
// call of its own:
//   - value: scan one value at depth d (the number of open containers),
//     with the paths of m matched so far;
//   - after: consume separators and closing brackets after a value;
//   - member: scan an object member's key and colon.
func (s *prevScanner) scan() error {
	var (
		doc           = s.doc
		i, d, start   int
		m             = uint64(1)<<len(s.paths) - 1
		f             *prevFrame
		c             byte
		ok, target    bool
		end           int
		escaped, each bool
		key           []byte
	)
value:
	if i = prevSkipSpace(doc, i); i >= len(doc) {
		return ErrInvalidJSON
	}
	start, c = i, doc[i]
	target, each = m&s.ends[d] != 0, false
	if target {
		m, each, target = 0, c == '[', c != '['
	}
	switch c {
	case '{', '[':
		if d >= MaxDepth {
			return ErrTooDeep
		}
		f = &s.stack[d]
		f.m, f.start, f.n, f.obj, f.each = m, -1, 0, c == '{', each
		if target {
			f.start = start
		}
		if i = prevSkipSpace(doc, i+1); i < len(doc) && doc[i] == c+2 { // '}' or ']'
			i++
			if target {
				s.spans = append(s.spans, span{start, i})
				if s.bind {
					s.notePath(d)
				}
			}
			goto after // an empty container is a value like any other
		}
		d++
		if f.obj {
			f.base, f.mark = len(s.keys), len(s.decoded)
			goto member
		}
		f.elem, m = i, s.matchIndex(d-1, f.m, 0)
		s.noteElement(d-1, f.m, i)
		goto value
	case '"':
		if end, _, ok = prevScanString(doc, i); !ok {
			return ErrInvalidJSON
		}
		if i = end; s.tokens && IsToken(doc[start+1:end-1]) {
			s.spans = append(s.spans, span{start, end})
			if s.bind {
				s.notePath(d)
			}
		}
	case 't':
		i, ok = prevScanLiteral(doc, i, "true")
	case 'f':
		i, ok = prevScanLiteral(doc, i, "false")
	case 'n':
		i, ok = prevScanLiteral(doc, i, "null")
	default:
		i, ok = prevScanNumber(doc, i)
	}
	if !ok {
		return ErrInvalidJSON
	}
	if target {
		s.spans = append(s.spans, span{start, i})
		if s.bind {
			s.notePath(d)
		}
	}

after:
	if d == 0 {
		if i = prevSkipSpace(doc, i); i != len(doc) {
			return ErrInvalidJSON
		}
		if s.foldKey {
			return ErrCaseVariantKey
		}
		if s.dotKey {
			return ErrDottedKey
		}
		if s.inArray {
			return ErrFieldInArray
		}
		return nil
	}
	f = &s.stack[(d-1)&(MaxDepth-1)] // d <= MaxDepth
	if f.each {
		s.spans = append(s.spans, span{f.elem, i})
		if s.bind {
			s.notePath(d)
		}
	}
	if i = prevSkipSpace(doc, i); i >= len(doc) {
		return ErrInvalidJSON
	}
	switch c = doc[i]; {
	case c == ',' && f.obj:
		i++
		goto member
	case c == ',':
		f.n++
		i = prevSkipSpace(doc, i+1)
		f.elem = i
		m = s.matchIndex(d-1, f.m, f.n)
		s.noteElement(d-1, f.m, i)
		goto value
	case c == '}' && f.obj:
		if err := s.checkKeys(f.base); err != nil {
			return err
		}
		s.keys, s.fps, s.decoded = s.keys[:f.base], s.fps[:f.base], s.decoded[:f.mark]
	case c == ']' && !f.obj:
	default:
		return ErrInvalidJSON
	}
	i++
	d--
	if f.start >= 0 {
		s.spans = append(s.spans, span{f.start, i})
		if s.bind {
			s.notePath(d)
		}
	}
	goto after

member: // f is the object, at depth d-1
	if i = prevSkipSpace(doc, i); i >= len(doc) || doc[i] != '"' {
		return ErrInvalidJSON
	}
	start = i
	if end, escaped, ok = prevScanString(doc, start); !ok {
		return ErrInvalidJSON
	}
	if i = prevSkipSpace(doc, end); i >= len(doc) || doc[i] != ':' {
		return ErrInvalidJSON
	}
	i++
	key = doc[start+1 : end-1]
	if escaped {
		n := len(s.decoded)
		s.decoded = prevAppendUnescaped(s.decoded, key)
		key = s.decoded[n:]
	}
	if err := s.noteKey(f.base, key); err != nil {
		return err
	}
	if m = 0; f.m != 0 {
		m = s.matchKey(d-1, f.m, key)
	}
	goto value
}

// matchKey returns the paths of m whose segment at depth d matches key.
func (s *prevScanner) matchKey(d int, m uint64, key []byte) uint64 {
	var out uint64
	var named bool
	var raised []*path                                  // paths that find key dotted
	exact, exactPlain := map[int]bool{}, map[int]bool{} // families; paths (by index) matching key exactly, no dotted key below
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		p := &s.paths[i]
		if seg := &p.segs[d]; seg.wild || seg.key == string(key) {
			out |= 1 << i
			ends := s.ends[d+1]&(1<<i) != 0
			named = named || !seg.wild && ends
			if !seg.wild {
				exact[p.fam] = true
				exactPlain[i] = d+1 >= p.plainFrom
			}
			if seg.wild && s.strict && !ends && bytes.IndexByte(key, '.') > 0 && dottedKey(key, p.segs[d:]) {
				raised = append(raised, p)
			}
		} else if len(seg.key) == len(key) && prevFoldEqual(key, seg.key) {
			s.foldKey = true
		} else if (!isASCII(key) || !seg.ascii) && caseVariant(key, seg.key) {
			s.foldKey = true // the rule for non-ASCII keys, shared with the live scanner
		} else if k, n := norm.NFD.String(string(key)), norm.NFD.String(seg.key); (!isASCII(key) || !seg.ascii) &&
			(k == n || caseVariant([]byte(k), n) || caseVariant([]byte(norm.NFC.String(string(key))), seg.key)) {
			s.foldKey = true // canonically equivalent, or so but for case (the live scanner decomposes each key once)
		} else if k, n := stripWordSeps(string(key)), stripWordSeps(seg.key); k == n || caseVariant([]byte(k), n) {
			s.foldKey = true // the same words with other separators (the live scanner skips them as it compares)
		} else if k, n := stripWordSeps(norm.NFD.String(string(key))), stripWordSeps(norm.NFD.String(seg.key)); (!isASCII(key) || !seg.ascii) &&
			(k == n || caseVariant([]byte(k), n) || bytes.Contains(key, dotAbove) && caseVariant([]byte(stripWordSeps(norm.NFC.String(string(key)))), stripWordSeps(seg.key))) {
			s.foldKey = true // and in another normalisation
		} else if z := bytes.IndexByte(key, 0); z >= 0 && func() bool {
			k, n := stripWordSeps(string(key[:z])), stripWordSeps(seg.key)
			return k == n || caseVariant([]byte(k), n)
		}() {
			s.foldKey = true // what comes before a NUL, as C-string parsers read the key
		} else if s.strict && bytes.IndexByte(key, '.') > 0 && dottedKey(key, p.segs[d:]) { // ungated
			raised = append(raised, p) // shared with the live scanner
		}
	}
	for _, p := range raised {
		excused := p.fam >= 0 && exact[p.fam]
		for j := range 64 {
			excused = excused || p.origins&(1<<j) != 0 && exactPlain[j]
		}
		if !named && !excused {
			s.dotKey = true
		}
	}
	return out
}

// prevFoldEqual reports whether b and s are equal under ASCII case folding.
func prevFoldEqual(b []byte, s string) bool {
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// noteElement, strict, notes an object or array element at doc[at] of an array at
// depth d where a path of m names a key that no * twin covers.
func (s *prevScanner) noteElement(d int, m uint64, at int) {
	if !s.strict {
		return
	}
	if at = prevSkipSpace(s.doc, at); at >= len(s.doc) || s.doc[at] != '{' && s.doc[at] != '[' {
		return
	}
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if seg := &s.paths[j].segs[d]; !seg.wild && seg.index < 0 && s.paths[j].covered&(1<<d) == 0 {
			s.inArray = true
		}
	}
}

// matchIndex returns the paths of m whose segment at depth d matches index i.
func (s *prevScanner) matchIndex(d int, m uint64, i int) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if seg := &s.paths[j].segs[d]; seg.wild || seg.index == i {
			out |= 1 << j
		}
	}
	return out
}

// prevLinearKeys is the object size up to which duplicate keys are found as
// they come, by comparing each key with the previous prevOnes; the keys of a
// larger object are checked all at once when it closes (see checkKeys).
const prevLinearKeys = 16

// prevKeySeed seeds the hash of checkKeys; being random per process, it leaves
// no way to choose keys that collide.
var prevKeySeed = maphash.MakeSeed()

// noteKey records the unescaped key of the object whose keys start at base,
// comparing it with its siblings while the object is small. Fingerprints
// make most comparisons a single integer compare.
func (s *prevScanner) noteKey(base int, key []byte) error {
	fp := prevKeyPrint(key)
	if base <= len(s.fps) && len(s.fps)-base < prevLinearKeys {
		for j, f := range s.fps[base:] {
			if f == fp && bytes.Equal(s.keys[base+j], key) {
				return ErrDuplicateKey
			}
		}
	}
	s.keys = append(s.keys, key)
	s.fps = append(s.fps, fp)
	return nil
}

// prevKeyPrint returns a fingerprint of key: equal keys have equal prints, and
// keys of up to 7 bytes have distinct prints.
func prevKeyPrint(k []byte) uint64 {
	n := uint64(len(k))
	switch {
	case len(k) >= 8:
		return binary.LittleEndian.Uint64(k) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[len(k)-8:]), 23) ^ n<<56
	case len(k) >= 4:
		return uint64(binary.LittleEndian.Uint32(k)) | uint64(binary.LittleEndian.Uint32(k[len(k)-4:]))<<24 | n<<56
	case len(k) > 0:
		return uint64(k[0]) | uint64(k[len(k)/2])<<8 | uint64(k[len(k)-1])<<16 | n<<56
	}
	return 0
}

// checkKeys finds duplicates among the keys of a large object, whose keys
// start at base, with an open-addressing hash set: linear time, whatever
// the keys. It reuses fps[base:] for the keys' full hashes.
func (s *prevScanner) checkKeys(base int) error {
	keys := s.keys[base:]
	if len(keys) <= prevLinearKeys {
		return nil
	}
	hashes := s.fps[base:]
	size := 1 << bits.Len(uint(2*len(keys)-1)) // a power of two >= 2n
	if cap(s.table) < size {
		s.table = make([]uint32, size)
	}
	table := s.table[:size]
	clear(table)
	mask := uint64(size - 1)
	for j, k := range keys {
		h := maphash.Bytes(prevKeySeed, k)
		hashes[j] = h
		for p := h & mask; ; p = (p + 1) & mask {
			e := table[p]
			if e == 0 {
				table[p] = uint32(j + 1)
				break
			}
			if hashes[e-1] == h && bytes.Equal(keys[e-1], k) {
				return ErrDuplicateKey
			}
		}
	}
	return nil
}

// notePath records the bound path of the span just added, a value inside
// the open containers stack[:d].
func (s *prevScanner) notePath(d int) {
	s.pathBuf = s.appendPath(s.pathBuf, d)
	s.pathEnds = append(s.pathEnds, len(s.pathBuf))
}

// path returns the bound path of spans[i], or nil when paths were not
// recorded. It is valid until the prevScanner is reset.
func (s *prevScanner) path(i int) []byte {
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
func (s *prevScanner) appendPath(dst []byte, d int) []byte {
	first, inner := true, false // inner: an open object was seen
	for j := range d {
		f := &s.stack[j]
		if !f.obj {
			continue
		}
		if inner {
			dst, first = prevAppendPathKey(dst, s.keys[f.base-1], first), false
		}
		inner = true
	}
	if inner {
		dst = prevAppendPathKey(dst, s.keys[len(s.keys)-1], first)
	}
	return dst
}

// prevAppendPathKey appends '.' (unless first) and key with '.' and '\' escaped.
func prevAppendPathKey(dst, key []byte, first bool) []byte {
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

// stripWordSeps is s without the word separators sepVariant skips:
// NUL, '_', '-', white space (Unicode's and U+FEFF), and dots but the
// first and last byte.
func stripWordSeps(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '.' && (i == 0 || i == len(s)-1):
		case r == 0 || r == '_' || r == '-' || r == '.' || unicode.IsSpace(r) || r == '\ufeff':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
