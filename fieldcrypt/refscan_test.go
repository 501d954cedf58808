package fieldcrypt

// The recursive scanner as it was before the single-loop rewrite (names
// prefixed "ref"), kept as the oracle of FuzzValidate: the new scanner must
// give the same error and the same spans for every input. It shares the
// lexer (strings, numbers, literals) with the live scanner; the lexer is
// checked against encoding/json.Valid by the same fuzz target.

import (
	"bytes"
	"math/bits"
	"slices"
)

// refLocate runs the reference scanner and returns its spans and error.
func refLocate(doc []byte, f Fields, tokens bool) ([]refSpan, error) {
	var s refScanner
	s.reset(doc, f, tokens)
	err := s.scan()
	return s.spans, err
}

// refMaxDepth is the deepest nesting of arrays and objects accepted: a document
// of 32 nested arrays is valid, one of 33 is ErrTooDeep.
const refMaxDepth = 32

// refLinearKeys is the object size up to which duplicate keys are found by
// comparing each key with the previous ones; larger objects are sorted.
const refLinearKeys = 16

// refSpan is the byte range [start, end) of one value to transform.
type refSpan struct{ start, end int }

// refScanner validates a document in one pass and, while doing so, records the
// spans of the values named by a field list (or, in tokens mode, of every
// string that is a token). Spans come out sorted and disjoint: once a value
// is a target, nothing inside it is matched again (the outer path wins).
type refScanner struct {
	doc     []byte
	pos     int
	paths   []path
	ends    [refMaxDepth + 1]uint64 // ends[d]: paths whose last segment is at depth d
	tokens  bool                    // record every token string (DecryptAll)
	spans   []refSpan
	keys    [][]byte // keys of the open objects, for duplicate checks
	decoded []byte   // storage for unescaped keys
}

// reset prepares s for a new document and field list.
func (s *refScanner) reset(doc []byte, f Fields, tokens bool) {
	s.doc, s.pos, s.paths, s.tokens = doc, 0, f.paths, tokens
	s.spans, s.keys, s.decoded = s.spans[:0], s.keys[:0], s.decoded[:0]
	s.ends = [refMaxDepth + 1]uint64{}
	for i, p := range f.paths {
		s.ends[len(p.segs)] |= 1 << i
	}
}

// scan validates the whole document and collects the target spans.
func (s *refScanner) scan() error {
	all := uint64(1)<<len(s.paths) - 1
	if err := s.value(0, all); err != nil {
		return err
	}
	if s.pos = skipSpace(s.doc, s.pos); s.pos != len(s.doc) {
		return ErrInvalidJSON
	}
	return nil
}

// value scans the value at s.pos, at nesting depth d, with the paths of m
// matched so far.
func (s *refScanner) value(d int, m uint64) error {
	if s.pos = skipSpace(s.doc, s.pos); s.pos >= len(s.doc) {
		return ErrInvalidJSON
	}
	if m&s.ends[d] == 0 {
		return s.plain(d, m)
	}
	if s.doc[s.pos] == '[' {
		return s.array(d, 0, true)
	}
	start := s.pos
	if err := s.plain(d, 0); err != nil {
		return err
	}
	s.spans = append(s.spans, refSpan{start, s.pos})
	return nil
}

// plain scans the value at s.pos, which is not itself a target.
func (s *refScanner) plain(d int, m uint64) error {
	var ok bool
	switch c := s.doc[s.pos]; c {
	case '{':
		return s.object(d, m)
	case '[':
		return s.array(d, m, false)
	case '"':
		return s.str()
	case 't':
		s.pos, ok = scanLiteral(s.doc, s.pos, "true")
	case 'f':
		s.pos, ok = scanLiteral(s.doc, s.pos, "false")
	case 'n':
		s.pos, ok = scanLiteral(s.doc, s.pos, "null")
	default:
		s.pos, ok = scanNumber(s.doc, s.pos)
	}
	if !ok {
		return ErrInvalidJSON
	}
	return nil
}

// str scans a string value; in tokens mode it records it if it is a token.
func (s *refScanner) str() error {
	start := s.pos
	end, _, ok := scanString(s.doc, start)
	if !ok {
		return ErrInvalidJSON
	}
	s.pos = end
	if s.tokens && IsToken(s.doc[start+1:end-1]) {
		s.spans = append(s.spans, refSpan{start, end})
	}
	return nil
}

// array scans an array at depth d. With each set, every element is a target.
func (s *refScanner) array(d int, m uint64, each bool) error {
	if d >= refMaxDepth {
		return ErrTooDeep
	}
	s.pos = skipSpace(s.doc, s.pos+1)
	if s.pos < len(s.doc) && s.doc[s.pos] == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		s.pos = skipSpace(s.doc, s.pos)
		start := s.pos
		if err := s.value(d+1, s.matchIndex(d, m, i)); err != nil {
			return err
		}
		if each {
			s.spans = append(s.spans, refSpan{start, s.pos})
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// object scans an object at depth d, refusing duplicate keys.
func (s *refScanner) object(d int, m uint64) error {
	if d >= refMaxDepth {
		return ErrTooDeep
	}
	base, mark := len(s.keys), len(s.decoded)
	err := s.members(d, m, base)
	s.keys, s.decoded = s.keys[:base], s.decoded[:mark]
	return err
}

// members scans the members of an object whose '{' is at s.pos.
func (s *refScanner) members(d int, m uint64, base int) error {
	s.pos = skipSpace(s.doc, s.pos+1)
	if s.pos < len(s.doc) && s.doc[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.key(base)
		if err != nil {
			return err
		}
		if err := s.value(d+1, s.matchKey(d, m, key)); err != nil {
			return err
		}
		if done, err := s.next('}'); err != nil {
			return err
		} else if done {
			return s.checkKeys(base)
		}
	}
}

// next consumes the separator after a member: ',' (more to come) or close.
func (s *refScanner) next(close byte) (done bool, err error) {
	if s.pos = skipSpace(s.doc, s.pos); s.pos >= len(s.doc) {
		return false, ErrInvalidJSON
	}
	switch s.doc[s.pos] {
	case ',':
		s.pos++
		return false, nil
	case close:
		s.pos++
		return true, nil
	}
	return false, ErrInvalidJSON
}

// key scans a member's key and its colon, returning the unescaped key.
func (s *refScanner) key(base int) ([]byte, error) {
	if s.pos = skipSpace(s.doc, s.pos); s.pos >= len(s.doc) || s.doc[s.pos] != '"' {
		return nil, ErrInvalidJSON
	}
	start := s.pos
	end, escaped, ok := scanString(s.doc, start)
	if !ok {
		return nil, ErrInvalidJSON
	}
	if s.pos = skipSpace(s.doc, end); s.pos >= len(s.doc) || s.doc[s.pos] != ':' {
		return nil, ErrInvalidJSON
	}
	s.pos++
	key := s.doc[start+1 : end-1]
	if escaped {
		n := len(s.decoded)
		s.decoded = appendUnescaped(s.decoded, key)
		key = s.decoded[n:]
	}
	return key, s.noteKey(base, key)
}

// noteKey records key, comparing it with its siblings in small objects.
func (s *refScanner) noteKey(base int, key []byte) error {
	if siblings := s.keys[base:]; len(siblings) < refLinearKeys {
		for _, k := range siblings {
			if bytes.Equal(k, key) {
				return ErrDuplicateKey
			}
		}
	}
	s.keys = append(s.keys, key)
	return nil
}

// checkKeys finds duplicates among the keys of a large object by sorting.
func (s *refScanner) checkKeys(base int) error {
	keys := s.keys[base:]
	if len(keys) <= refLinearKeys {
		return nil
	}
	slices.SortFunc(keys, bytes.Compare)
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(keys[i-1], keys[i]) {
			return ErrDuplicateKey
		}
	}
	return nil
}

// matchKey returns the paths of m whose segment at depth d matches key.
func (s *refScanner) matchKey(d int, m uint64, key []byte) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if seg := &s.paths[i].segs[d]; seg.wild || seg.key == string(key) {
			out |= 1 << i
		}
	}
	return out
}

// matchIndex returns the paths of m whose segment at depth d matches index i.
func (s *refScanner) matchIndex(d int, m uint64, i int) uint64 {
	var out uint64
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if seg := &s.paths[j].segs[d]; seg.wild || seg.index == i {
			out |= 1 << j
		}
	}
	return out
}
