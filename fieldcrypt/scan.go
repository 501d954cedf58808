package fieldcrypt

import "math/bits"

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
	keys    [][]byte        // keys of the open objects, for duplicate checks
	fps     []uint64        // fingerprint of each key (see keyPrint)
	table   []uint32        // hash table of checkKeys
	decoded []byte          // storage for unescaped keys
	// foldKey: a key equals a named path's segment but for ASCII letter
	// case (see ErrCaseVariantKey).
	foldKey bool

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
	elem  int    // arrays: where the current element starts
	base  int    // objects: the container's first entry in keys and fps
	mark  int    // objects: the length of decoded when it opened
	obj   bool   // an object, not an array
	each  bool   // a target array: every element is a target
}

// reset prepares s for a new document and field list.
func (s *scanner) reset(doc []byte, f Fields, tokens, bind bool) {
	s.doc, s.paths, s.tokens, s.bind = doc, f.paths, tokens, bind
	s.spans, s.keys, s.fps, s.decoded = s.spans[:0], s.keys[:0], s.fps[:0], s.decoded[:0]
	s.foldKey = false
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
func (s *scanner) scan() error {
	var (
		doc           = s.doc
		i, d, start   int
		m             = uint64(1)<<len(s.paths) - 1
		f             *frame
		c             byte
		ok, target    bool
		end           int
		escaped, each bool
		key           []byte
	)
value:
	if i = skipSpace(doc, i); i >= len(doc) {
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
		if i = skipSpace(doc, i+1); i < len(doc) && doc[i] == c+2 { // '}' or ']'
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
		goto value
	case '"':
		if end, _, ok = scanString(doc, i); !ok {
			return ErrInvalidJSON
		}
		if i = end; s.tokens && IsToken(doc[start+1:end-1]) {
			s.spans = append(s.spans, span{start, end})
			if s.bind {
				s.notePath(d)
			}
		}
	case 't':
		i, ok = scanLiteral(doc, i, "true")
	case 'f':
		i, ok = scanLiteral(doc, i, "false")
	case 'n':
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

after:
	if d == 0 {
		if i = skipSpace(doc, i); i != len(doc) {
			return ErrInvalidJSON
		}
		if s.foldKey {
			return ErrCaseVariantKey
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
		m = s.matchIndex(d-1, f.m, f.n)
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
	if i = skipSpace(doc, i); i >= len(doc) || doc[i] != '"' {
		return ErrInvalidJSON
	}
	start = i
	if end, escaped, ok = scanString(doc, start); !ok {
		return ErrInvalidJSON
	}
	if i = skipSpace(doc, end); i >= len(doc) || doc[i] != ':' {
		return ErrInvalidJSON
	}
	i++
	key = doc[start+1 : end-1]
	if escaped {
		n := len(s.decoded)
		s.decoded = appendUnescaped(s.decoded, key)
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
func (s *scanner) matchKey(d int, m uint64, key []byte) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if seg := &s.paths[i].segs[d]; seg.wild || seg.key == string(key) {
			out |= 1 << i
		} else if len(seg.key) == len(key) && foldEqual(key, seg.key) {
			s.foldKey = true
		}
	}
	return out
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

// matchIndex returns the paths of m whose segment at depth d matches index i.
func (s *scanner) matchIndex(d int, m uint64, i int) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if seg := &s.paths[j].segs[d]; seg.wild || seg.index == i {
			out |= 1 << j
		}
	}
	return out
}
