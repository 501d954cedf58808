package fieldcrypt

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxDepth is the deepest nesting of arrays and objects accepted: a document
// of 32 nested arrays is valid, one of 33 is ErrTooDeep.
const MaxDepth = 32

// span is the byte range [start, end) of one value to transform.
type span struct{ start, end int }

// scanner validates a document in one pass and, while doing so, records the
// spans of the values named by a field list (or, in tokens mode, of every
// string that is a token) and, with bind, their bound paths (bound_path.go).
// Spans come out sorted and disjoint: once a value is a target, nothing
// inside it is matched again (the outer path wins).
//
// The pass is one loop over an explicit stack of open containers rather
// than a recursive descent: it costs one function call per string instead of
// several per value, which is most of the time on typical bodies.
type scanner struct {
	doc     []byte
	paths   []path
	ends    [MaxDepth + 1]uint64 // ends[d]: paths whose last segment is at depth d
	tokens  bool                 // record every token string (DecryptAll)
	bind    bool                 // record the bound path of each span
	spans   []span
	stack   [MaxDepth]frame // the open containers, outermost first
	keys    []keyEntry      // keys of the open objects, for duplicate checks
	table   []uint32        // hash table of checkKeys
	decoded []byte          // storage for unescaped keys
	nfd     []byte          // a key decomposed to NFD (canonVariant)
	nfc     []byte          // a key composed to NFC (canonVariant)
	norm    norm.Iter       // decomposes it without allocating
	pending keyEntry        // a key skipHot leaves to skip
	forms   keyForms        // matchKey's, of the key it matches (reset per key: cheaper than a zeroed local)
	// keyNUL: where the key being matched has a NUL (an escaped one:
	// JSON has no raw control characters), -1 when it has none.
	keyNUL int
	// foldKey: a key equals a named path's segment but for letter case,
	// normalisation or word separators (see ErrCaseVariantKey).
	foldKey bool
	// dotKey: encrypting, a key with dots spells a named path (see
	// ErrDottedKey).
	dotKey bool
	// strict: refuse an object or an array in an array where a path names
	// a key (encrypting; see ErrFieldInArray); inArray: one was found.
	strict, inArray bool

	// With bind, the bound path of spans[i] is
	// pathBuf[pathEnds[i-1]:pathEnds[i]] (see path).
	pathBuf  []byte
	pathEnds []int
}

// frame is one open array or object.
type frame struct {
	m     uint64 // the paths matched down to this container
	start int    // where the container starts if it is a target, else -1
	n     int    // arrays: index of the current element
	next  int    // arrays: the next index a path of m names (see matchIndex)
	wild  uint64 // arrays: the paths of m that match any index
	elem  int    // arrays: where the current element starts
	base  int    // objects: the container's first entry in keys
	mark  int    // objects: the length of decoded when it opened
	bloom uint64 // objects: two bits per key seen (see keyBits)
	obj   bool   // an object, not an array
	each  bool   // a target array: every element is a target
	cross bool   // arrays, strict: a path of m names a key here
}

// reset prepares s for a new document and field list.
func (s *scanner) reset(doc []byte, f Fields, tokens, bind bool) {
	s.doc, s.paths, s.tokens, s.bind = doc, f.paths, tokens, bind
	s.spans, s.keys, s.decoded = s.spans[:0], s.keys[:0], s.decoded[:0]
	s.foldKey, s.dotKey, s.strict, s.inArray = false, false, false, false
	s.pathBuf, s.pathEnds = s.pathBuf[:0], s.pathEnds[:0]
	s.ends = [MaxDepth + 1]uint64{}
	for i, p := range f.paths {
		s.ends[len(p.segs)] |= 1 << i
	}
}

// scan validates the whole document and collects the target spans. It is
// one function with four states, joined by goto so that no value costs a
// call of its own (long strings, numbers and long or escaped keys aside):
//   - value: scan one value at depth d (the number of open containers),
//     with the paths of m matched so far;
//   - closed: a container just ended, make f its parent's frame again;
//   - after: consume separators and closing brackets after a value in f,
//     the innermost open container (f stays valid across scalar values);
//   - member: scan an object member's key and colon.
//
// An array or object in which no path can match, outside tokens mode, is
// read by skip (skip.go), which validates it the same way without the
// bookkeeping: most of a large body with a few named fields, all of a body
// that is only validated.
func (s *scanner) scan() error {
	var (
		doc         = s.doc
		i, d, start int
		m           = uint64(1)<<len(s.paths) - 1
		f           *frame
		c           byte
		ok, target  bool
		each        bool
		key         []byte
		e           keyEntry
	)
value:
	if i = skipSpace(doc, i); i >= len(doc) {
		return ErrInvalidJSON
	}
	start, c = i, doc[i]
	target, each = false, false
	if m != 0 && m&s.ends[d] != 0 {
		m, each, target = 0, c == '[', c != '['
	}
	switch { // in order: strings first, the most common values
	case c == '"':
		// Most strings are short and plain: wordAt (inlined) finds the
		// closing quote without a call.
		if _, n := wordAt(doc, i+1); i+1+n < len(doc) && doc[i+1+n] == '"' {
			i, ok = i+n+2, true
		} else if i, _, ok = scanStringFrom(doc, i+1+n); !ok {
			return ErrInvalidJSON
		}
		if s.tokens && IsToken(doc[start+1:i-1]) {
			s.spans = append(s.spans, span{start, i})
			if s.bind {
				s.notePath(d)
			}
		}
	case (c == '{' || c == '[') && m == 0 && !each && !s.tokens:
		// Nothing inside can match or be recorded: skip validates it
		// without the bookkeeping.
		var err error
		if i, err = s.skip(i, d); err != nil {
			return err
		}
		if target {
			s.spans = append(s.spans, span{start, i})
			if s.bind {
				s.notePath(d)
			}
		}
		goto after // f is unchanged
	case c == '{' || c == '[':
		if d >= MaxDepth {
			return ErrTooDeep
		}
		f = &s.stack[d]
		f.m, f.start, f.n, f.obj, f.each, f.cross = m, -1, 0, c == '{', each, false
		if target {
			f.start = start
		}
		if i = skipSpace(doc, i+1); i < len(doc) && doc[i] == c+2 { // '}' or ']'
			i++
			if target {
				s.spans = append(s.spans, span{start, i})
				if s.bind {
					s.notePath(d)
				}
			}
			goto closed // an empty container is a value like any other
		}
		d++
		if f.obj {
			f.base, f.mark, f.bloom = len(s.keys), len(s.decoded), 0
			goto member
		}
		f.elem, f.wild, f.next, m = i, 0, math.MaxInt, 0
		if f.m != 0 {
			m = s.matchIndex(d-1, f)
			if f.cross && i < len(doc) && (doc[i] == '{' || doc[i] == '[') {
				s.inArray = true
			}
		}
		goto value
	case c == 't':
		i, ok = scanLiteral(doc, i, "true")
	case c == 'f':
		i, ok = scanLiteral(doc, i, "false")
	case c == 'n':
		i, ok = scanLiteral(doc, i, "null")
	default:
		i, ok = scanNumber(doc, i)
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
	goto after // f is unchanged

closed: // a container ended: its parent, if any, is f again
	if d > 0 {
		f = &s.stack[(d-1)&(MaxDepth-1)] // d <= MaxDepth
	}

after: // f is the innermost open container, if d > 0
	if d == 0 {
		if i = skipSpace(doc, i); i != len(doc) {
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
	if f.each {
		s.spans = append(s.spans, span{f.elem, i})
		if s.bind {
			s.notePath(d)
		}
	}
	if i = skipSpace(doc, i); i >= len(doc) {
		return ErrInvalidJSON
	}
	switch c = doc[i]; {
	case c == ',' && f.obj:
		i++
		goto member
	case c == ',':
		f.n++
		i = skipSpace(doc, i+1)
		f.elem = i
		if f.cross && i < len(doc) && (doc[i] == '{' || doc[i] == '[') {
			s.inArray = true
		}
		if m = f.wild; f.n >= f.next {
			m = s.matchIndex(d-1, f)
		}
		goto value
	case c == '}' && f.obj:
		if len(s.keys)-f.base <= linearKeys {
			// findKey checked them as they came
		} else if err := s.checkKeys(f.base); err != nil {
			return err
		}
		s.keys, s.decoded = s.keys[:f.base], s.decoded[:f.mark]
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
	goto closed

member: // f is the object, at depth d-1
	if i = skipSpace(doc, i); i >= len(doc) || doc[i] != '"' {
		return ErrInvalidJSON
	}
	// A short plain key, the common case, is read as one word, and its
	// print is that word masked (see keyPrint).
	s.keyNUL = -1
	if x, n := wordAt(doc, i+1); n < 8 && i+1+n < len(doc) && doc[i+1+n] == '"' {
		e = keyEntry{i + 1, n, x&(1<<(8*n)-1) | uint64(n)<<56}
		key, i = doc[i+1:i+1+n], i+n+2
	} else if e, key, i, ok = s.longKey(i); !ok {
		return ErrInvalidJSON
	}
	if i = skipSpace(doc, i); i >= len(doc) || doc[i] != ':' {
		return ErrInvalidJSON
	}
	i++
	// Duplicates: the siblings are compared only when the key's bits are
	// already set in the object's bloom (and the object is small, see
	// findKey); most keys cost a multiply and an append.
	if bits := keyBits(e.fp); f.bloom&bits != bits {
		f.bloom |= bits
	} else if err := s.findKey(f.base, key, e.fp); err != nil {
		return err
	}
	s.keys = append(s.keys, e)
	if m = 0; f.m != 0 {
		m = s.matchKey(d-1, f.m, key)
	}
	goto value
}

// longKey scans the key whose opening quote is at doc[i] when it is not a
// short plain one, and returns its entry, the key unescaped and the index
// after its closing quote.
func (s *scanner) longKey(i int) (e keyEntry, key []byte, end int, ok bool) {
	end, escaped, ok := scanString(s.doc, i)
	if !ok {
		return e, nil, end, false
	}
	// The capacity lets keyPrint read a short key as one word, without
	// going past the end of doc.
	key, e.at = s.doc[i+1:end-1:len(s.doc)], i+1
	if escaped {
		n := len(s.decoded)
		s.decoded = appendUnescaped(s.decoded, key)
		key, e.at = s.decoded[n:], ^n
		s.keyNUL = bytes.IndexByte(key, 0) // only an escape can put one there
	}
	e.n, e.fp = len(key), keyPrint(key)
	return e, key, end, true
}

// matchKey returns the paths of m whose segment at depth d matches key.
func (s *scanner) matchKey(d int, m uint64, key []byte) uint64 {
	var out uint64
	var known, ascii bool // whether key is ASCII, once needed
	forms := &s.forms     // key normalised and its signatures, once needed
	forms.made, forms.hasLoose, forms.hasSep, forms.hasFirst, forms.dot = false, false, false, false, 0
	var dotted, named bool                  // key spells a path of m (see dottedKey); a path names key itself
	var raised, exactFam, exactPlain uint64 // paths of a family that find key dotted; families and paths that match it exactly
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		p := &s.paths[i]
		seg := &p.segs[d]
		switch {
		case seg.wild:
			out |= 1 << i
			// A * takes the whole key here, but a store that expands
			// dots would take only its first piece (bob.ssn for *.ssn).
			if s.strict && s.ends[d+1]&(1<<i) == 0 && bytes.IndexByte(key, '.') > 0 && dottedKey(key, p.segs[d:]) {
				dotted, raised = dottedOf(p, i, dotted, raised)
			}
		case seg.key == string(key):
			out |= 1 << i
			named = named || s.ends[d+1]&(1<<i) != 0 // sealed whole here
			if p.fam >= 0 {
				exactFam |= 1 << p.fam
			}
			if d+1 >= p.plainFrom {
				exactPlain |= 1 << i
			}
		case len(seg.key) == len(key) && foldEqual(key, seg.key):
			s.foldKey = true
		default:
			if nul := s.keyNUL; nul >= 0 && sepVariant(key[:nul], seg.key) {
				// A parser that keeps keys as C strings reads only
				// what comes before the NUL: "title\u0000x" is title.
				s.foldKey = true
				continue
			}
			if !known {
				known, ascii = true, isASCII(key)
			}
			// Most keys begin with another letter than the named one:
			// then neither can be the other with other separators.
			sep := len(key) == 0 || !lettersDiffer(key[0], seg.key[0])
			if !s.foldKey && ((!ascii || !seg.ascii) && s.variant(key, ascii, forms, seg) || sep && forms.maySep(key, seg) && forms.sepOf(key) == seg.sep && sepVariant(key, seg.key)) {
				s.foldKey = true
			} else if s.strict && (len(key) > len(seg.key) && key[len(seg.key)] == '.' || sep && forms.maySep(key, seg) && forms.dotted(key)) && dottedKey(key, p.segs[d:]) {
				dotted, raised = dottedOf(p, i, dotted, raised)
			}
		}
	}
	for ; raised != 0 && !dotted; raised &= raised - 1 {
		p := &s.paths[bits.TrailingZeros64(raised)]
		dotted = (p.fam < 0 || exactFam&(1<<p.fam) == 0) && p.origins&exactPlain == 0
	}
	// Encrypting (only then can it leak), unless a path that ends here
	// names the dotted key itself (a\.b with a.b): then it is sealed whole.
	// A spelling of a named path (see path.fam, path.origins) raises it
	// only when no other spelling of its family, which has them all,
	// follows the key (a\.b.c with {"a.b": …} under a.b.c's a, b), and no
	// named path it spells matches the key exactly with no dotted key
	// below it.
	if dotted && !named {
		s.dotKey = true
	}
	return out
}

// dottedOf records that path p (index i) finds a key dotted: in raised
// when p is in a family or a spelling (matchKey decides once every path
// has been seen), else in dotted.
func dottedOf(p *path, i int, dotted bool, raised uint64) (bool, uint64) {
	if p.fam >= 0 || p.origins != 0 {
		return dotted, raised | 1<<i
	}
	return true, raised
}

// dottedKey reports whether key, which is not segs[0]'s key, spells two
// or more of segs joined by dots (profile.email where the path goes on
// from profile to email), or all of them and more (profile.email.x, or
// email.x or email. for email): stores that expand dotted keys (MongoDB's
// updates, Elasticsearch) would put its value at or under the named
// field, in plaintext. Segments compare as matchKey's do, ASCII letter
// case aside, or, for a key without dots, as sepVariant compares a piece
// between dots (profile.taxId for profile.tax_id: a Rails app that
// underscores keys before a MongoDB update); a * takes one dot-free,
// non-empty piece.
func dottedKey(key []byte, segs []segment) bool {
	rest := key
	for n, seg := range segs {
		if seg.wild {
			j := bytes.IndexByte(rest, '.')
			if j < 0 {
				j = len(rest)
			}
			if j == 0 {
				return false
			}
			rest = rest[j:]
		} else if k := len(seg.key); len(rest) >= k && foldEqual(rest[:k], seg.key) && (len(rest) == k || rest[k] == '.') {
			rest = rest[k:]
		} else if j := pieceEnd(rest); j > 0 && strings.IndexByte(seg.key, '.') < 0 && sepVariant(rest[:j], seg.key) {
			rest = rest[j:] // the piece is the key with other separators or letter case (profile.taxId)
		} else {
			return false
		}
		if len(rest) == 0 {
			return n >= 1 // two segments or more
		}
		if rest[0] != '.' {
			return false
		}
		rest = rest[1:] // a key under the path's end may be empty (email. for email)
		if len(rest) == 0 && n+1 < len(segs) {
			return false
		}
	}
	return true // the whole path, and a key under it
}

// pieceEnd returns the index of the first dot in b, or len(b).
func pieceEnd(b []byte) int {
	if j := bytes.IndexByte(b, '.'); j >= 0 {
		return j
	}
	return len(b)
}

// isASCII reports whether b holds only ASCII bytes.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// sepVariant reports whether key, which is not name, is name with other
// word separators, or none, in any letter case (as caseVariant compares
// letters): "userSsn", "USER-SSN" or "user__ssn" for "user_ssn".
// Decoders and middleware that convert key styles read them as one key:
// Swift's .convertFromSnakeCase ("user_ssn" and "userSsn" both decode to
// userSsn), Rails apps that underscore incoming keys (olive_branch),
// JavaScript servers that camelise them (humps splits on '_', '-' and
// JavaScript's white space, camelcase-keys on '.' too), Jackson and .NET
// naming policies. The separators (isWordSep, isSepRune) count anywhere
// in the key, leading ones included (humps turns "_ssn" into "ssn"). It
// stops at the first letter that differs; callers compare sepSig first,
// so that a key is read once, not once per name sharing a long
// beginning with it.
func sepVariant(key []byte, name string) bool {
	i, j := 0, 0
	for {
		for i < len(key) {
			n := sepLen(key, i)
			if n == 0 {
				break
			}
			i += n
		}
		for j < len(name) {
			n := sepLenString(name, j)
			if n == 0 {
				break
			}
			j += n
		}
		if i == len(key) || j == len(name) {
			return i == len(key) && j == len(name)
		}
		x, y := key[i], name[j]
		if x < utf8.RuneSelf && y < utf8.RuneSelf {
			if x != y && lowerASCII(x) != lowerASCII(y) {
				return false
			}
			i, j = i+1, j+1
			continue
		}
		r1, n1 := utf8.DecodeRune(key[i:])
		r2, n2 := utf8.DecodeRuneInString(name[j:])
		if !foldRune(r1, r2) && unicode.ToUpper(r1) != unicode.ToUpper(r2) && unicode.ToLower(r1) != unicode.ToLower(r2) {
			return false
		}
		i, j = i+n1, j+n2
	}
}

// sepLen returns the length of the word separator at b[i], or 0. A dot
// separates words only inside a key, not at either end: "email." and
// ".email" are left to the checks of dotted keys (dottedKey), which
// stores that expand dots need.
func sepLen(b []byte, i int) int {
	if c := b[i]; c < utf8.RuneSelf {
		if isWordSep(c) && (c != '.' || i > 0 && i < len(b)-1) {
			return 1
		}
		return 0
	}
	if r, n := utf8.DecodeRune(b[i:]); isSepRune(r) {
		return n
	}
	return 0
}

// sepLenString is sepLen for a string.
func sepLenString(s string, i int) int {
	if c := s[i]; c < utf8.RuneSelf {
		if isWordSep(c) && (c != '.' || i > 0 && i < len(s)-1) {
			return 1
		}
		return 0
	}
	if r, n := utf8.DecodeRuneInString(s[i:]); isSepRune(r) {
		return n
	}
	return 0
}

// lettersDiffer reports whether a and b, the first bytes of two keys, are
// ASCII and no separators, and differ but for letter case: then the keys
// are no sepVariant of each other (nor is one dottedKey's piece for the
// other), as firstClass would say at more cost.
func lettersDiffer(a, b byte) bool {
	return a|b < utf8.RuneSelf && !isWordSep(a) && !isWordSep(b) && lowerASCII(a) != lowerASCII(b)
}

// maySep reports whether key, whose forms are f, may be a sepVariant of
// seg's key, by their first letters: most keys are not, and this costs a
// byte or two, once per key.
func (f *keyForms) maySep(key []byte, seg *segment) bool {
	if !f.hasFirst {
		f.first, f.hasFirst = firstClass(key), true
	}
	return f.first == seg.first
}

// firstClass returns the fold class (foldClass) of b's first rune that is
// no word separator (sepLen), or -1 when b is all separators: if
// sepVariant(a, b), firstClass(a) == firstClass(b), as the first runes it
// compares are related by case.
func firstClass(b []byte) rune {
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf && !isWordSep(c) {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A' // foldClass of ASCII
			}
			return rune(c)
		}
		if n := sepLen(b, i); n > 0 {
			i += n
			continue
		}
		r, _ := utf8.DecodeRune(b[i:])
		return foldClass(r)
	}
	return -1
}

// cutNUL returns key up to its first NUL, or all of it.
func cutNUL(key []byte) []byte {
	if i := bytes.IndexByte(key, 0); i >= 0 {
		return key[:i]
	}
	return key
}

// isWordSep reports whether the ASCII byte c separates words in a key
// (sepVariant): '_', '-', '.' (inside a key: sepLen) and white space.
// The signatures that gate sepVariant (sepSig, looseSig) leave out every
// dot, which only makes them agree more often.
func isWordSep(c byte) bool {
	switch c {
	// NUL too: a parser that keeps keys as C strings ends "title\u0000" at
	// it and reads title.
	case 0, '_', '-', '.', ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// isSepRune reports whether r, not ASCII, separates words in a key: the
// white space of Unicode and of JavaScript's \s (which adds U+FEFF).
func isSepRune(r rune) bool {
	if r < 0x1680 { // the first white space past Latin-1: most letters and marks end here
		return r == 0x85 || r == 0xa0
	}
	return unicode.IsSpace(r) || r == '\ufeff'
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// caseVariant reports whether b and s, not both ASCII, are the same
// letters but for case as some decoder that matches keys without regard
// to case sees them: Unicode simple folding (Go's encoding/json: "ſsn"
// is "ssn", the Kelvin sign "K" is "k"), or the upper or lower case
// mapping of each letter (.NET's OrdinalIgnoreCase: "ıd" is "ID").
func caseVariant(b []byte, s string) bool {
	for len(b) > 0 && len(s) > 0 {
		x, n := utf8.DecodeRune(b)
		y, m := utf8.DecodeRuneInString(s)
		b, s = b[n:], s[m:]
		if !foldRune(x, y) && unicode.ToUpper(x) != unicode.ToUpper(y) && unicode.ToLower(x) != unicode.ToLower(y) {
			return false
		}
	}
	return len(b) == 0 && len(s) == 0
}

// canonVariant reports whether key, which is not seg's key, is
// canonically equivalent to it: the same text in another Unicode
// normalisation ("cafe\u0301" for "caf\u00e9"). Swift's strings, and so
// its JSON decoders' keys, compare so; such an upstream would read the key
// as the named field, in plaintext. Decomposed, the two are also compared
// as caseVariant compares ("CAFE" and U+0301 for "café"; "J" and U+030C
// for "ǰ", which has no capital of its own), for matchers that fold case
// and compare canonically (Swift's lowercased()). Not covered: full case
// folding (ß for ss) and code points collators ignore (a soft hyphen). f
// holds the key's forms (makeForms).
func canonVariant(key []byte, f *keyForms, seg *segment) bool {
	if f.nfc != nil && f.sigC == seg.sig && caseVariant(f.nfc, seg.key) {
		return true
	}
	k := f.nfd
	if len(k) == len(key) && seg.nfd == seg.key && string(k) == string(key) {
		return false // both as caseVariant compared them
	}
	return string(k) == seg.nfd || f.sigD == seg.sigD && caseVariant(k, seg.nfd)
}

// variant reports whether key, which is neither seg's key nor equal to it
// but for ASCII case, and which is not ASCII or seg's is not, is a
// variant of it (caseVariant, canonVariant). The key is normalised only
// when its loose signature is seg's (loosesig.go), and compared rune by
// rune only where fold signatures agree (foldsig.go).
func (s *scanner) variant(key []byte, ascii bool, f *keyForms, seg *segment) bool {
	if !f.hasLoose {
		f.loose, f.hasLoose = looseSig(key), true
	}
	if f.loose != seg.loose {
		return false
	}
	if !f.made {
		s.makeForms(key, ascii, f)
	}
	// And both at once: separators, and another normalisation (Swift's
	// .convertFromSnakeCase compares canonically: "caFe\u0301" for
	// "ca_fé").
	return f.sig == seg.sig && caseVariant(key, seg.key) || canonVariant(key, f, seg) ||
		sepVariant(f.nfd, seg.nfd) || f.nfc != nil && sepVariant(f.nfc, seg.key)
}

// makeForms fills f for key: its fold signature, its NFD form and that
// form's signature, and its NFC form when it holds U+0307. Each key's
// forms are made at most once per match, in buffers the scanner keeps; a
// key already in NFD (all ASCII ones) is used as it is.
func (s *scanner) makeForms(key []byte, ascii bool, f *keyForms) {
	f.made, f.nfd = true, key
	if !ascii && norm.NFD.QuickSpan(key) != len(key) {
		s.nfd = s.normalize(s.nfd, norm.NFD, key)
		f.nfd = s.nfd
	}
	f.sig = foldSig(key)
	f.sigD = f.sig
	if len(f.nfd) != len(key) || string(f.nfd) != string(key) {
		f.sigD = foldSig(f.nfd)
	}
	// I and U+0307 compose to İ, which lower-cases to i: only composed
	// does "I\u0307d" read as "id" (Go's ToLower of NFC, Java's in a
	// Turkish locale).
	if !ascii && bytes.Contains(key, dotAbove) {
		s.nfc = s.normalize(s.nfc, norm.NFC, key)
		f.nfc = s.nfc
		f.sigC = foldSig(f.nfc)
	}
}

// keyForms are the forms of one key the case checks compare, made once
// matchKey needs them (made): nfd, nfc when the key holds U+0307, and
// their fold signatures.
type keyForms struct {
	made            bool
	nfd, nfc        []byte
	sig, sigD, sigC uint64
	loose           uint64 // looseSig of the key, once hasLoose
	hasLoose        bool
	sep             uint64 // sepSig of the key, once hasSep
	hasSep          bool
	first           rune // firstClass of the key, once hasFirst
	hasFirst        bool
	dot             int8 // whether the key holds a dot after its first byte: 0 unknown, 1 no, 2 yes
}

// dotted reports whether key, whose forms f are, holds a dot after its
// first byte, looked for once per key.
func (f *keyForms) dotted(key []byte) bool {
	if f.dot == 0 {
		f.dot = 1
		if bytes.IndexByte(key, '.') > 0 {
			f.dot = 2
		}
	}
	return f.dot == 2
}

// sepOf returns the sepSig of key, whose forms f are.
func (f *keyForms) sepOf(key []byte) uint64 {
	if !f.hasSep {
		f.sep, f.hasSep = sepSig(key), true
	}
	return f.sep
}

var dotAbove = []byte("\u0307")

// normalize appends key in form f to dst[:0], with the scanner's
// iterator: without allocating.
func (s *scanner) normalize(dst []byte, f norm.Form, key []byte) []byte {
	return normalizeInto(&s.norm, dst, f, key)
}

// normalizeInto appends key in form f to dst[:0] with the iterator it.
func normalizeInto(it *norm.Iter, dst []byte, f norm.Form, key []byte) []byte {
	dst = dst[:0]
	for it.Init(f, key); !it.Done(); {
		dst = append(dst, it.Next()...)
	}
	return dst
}

// foldEqual reports whether b and s are equal under ASCII case folding.
func foldEqual(b []byte, s string) bool {
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

// matchIndex returns the paths of f.m whose segment at depth d matches the
// index f.n of the array f. It also sets f.wild, the paths that match every
// index, and f.next, the next index that a path names (MaxInt if none):
// until the array reaches it, f.wild is the answer, without a call.
func (s *scanner) matchIndex(d int, f *frame) uint64 {
	out, next := uint64(0), math.MaxInt
	f.wild = 0
	for m := f.m; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		switch seg := &s.paths[j].segs[d]; {
		case seg.wild:
			f.wild |= 1 << j
			out |= 1 << j
		case seg.index == f.n:
			out |= 1 << j
		case seg.index > f.n:
			next = min(next, seg.index)
		case seg.index < 0 && s.strict && s.paths[j].covered&(1<<d) == 0:
			f.cross = true // a key: no element matches, yet one may hold it
		}
	}
	f.next = next
	return out
}
