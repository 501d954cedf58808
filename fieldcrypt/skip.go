package fieldcrypt

import (
	"encoding/binary"
	"math/bits"
)

// Classes of the first byte of a value, for skip's dispatch (one indexed
// load and a jump table rather than a chain of comparisons).
const (
	clsInvalid = iota
	clsString
	clsOpen // '{' or '['
	clsTrue
	clsFalse
	clsNull
	clsNumber // '-' or a digit
	clsSpace
)

var valueClass = [256]byte{
	'"': clsString, '{': clsOpen, '[': clsOpen, 't': clsTrue, 'f': clsFalse, 'n': clsNull,
	'-': clsNumber, '0': clsNumber, '1': clsNumber, '2': clsNumber, '3': clsNumber, '4': clsNumber,
	'5': clsNumber, '6': clsNumber, '7': clsNumber, '8': clsNumber, '9': clsNumber,
	' ': clsSpace, '\t': clsSpace, '\n': clsSpace, '\r': clsSpace,
}

// skip validates the array or object that opens at doc[i], a value inside
// d open containers in which no path can match and nothing is recorded (no
// field and not in tokens mode), and returns the index after it. It checks
// what scan checks, in the same order, so it refuses the same documents
// with the same error; it leaves out what scan does for paths and spans.
// Most of a large body that names a few fields is read here.
//
// The common cases are read by skipHot, which calls nothing, so that its
// state stays in registers; skip does what skipHot stops for and sends it
// on from where it stopped.
func (s *scanner) skip(i, d int) (int, error) {
	var (
		doc     = s.doc
		top, at = d, atOpen
		ev      int
		ok      bool
	)
	for {
		switch i, d, ev = s.skipHot(i, d, top, at); ev {
		case hotDone:
			return i, nil
		case hotTooDeep:
			return i, ErrTooDeep
		case hotString:
			if i, _, ok = scanStringFrom(doc, i); !ok {
				return i, ErrInvalidJSON
			}
			at = atAfter
		case hotNumber:
			if i, ok = scanNumber(doc, i); !ok {
				return i, ErrInvalidJSON
			}
			at = atAfter
		case hotKey:
			var e keyEntry
			if i = skipSpace(doc, i); i >= len(doc) || doc[i] != '"' {
				return i, ErrInvalidJSON
			}
			if e, _, i, ok = s.longKey(i); !ok {
				return i, ErrInvalidJSON
			}
			if i = skipSpace(doc, i); i >= len(doc) || doc[i] != ':' {
				return i, ErrInvalidJSON
			}
			if err := s.addKey(&s.stack[d-1], e); err != nil {
				return i + 1, err
			}
			i, at = i+1, atValue
		case hotAddKey:
			if err := s.addKey(&s.stack[d-1], s.pending); err != nil {
				return i, err
			}
			at = atValue
		case hotCheckKeys:
			f := &s.stack[d-1]
			if err := s.checkKeys(f.base); err != nil {
				return i, err
			}
			s.keys, s.decoded = s.keys[:f.base], s.decoded[:f.mark]
			i, at = i+1, atClosed
		default:
			return i, ErrInvalidJSON
		}
	}
}

// addKey checks that e is not a duplicate of a key of the object f and
// appends it to the keys.
func (s *scanner) addKey(f *frame, e keyEntry) error {
	if kb := keyBits(e.fp); f.bloom&kb != kb {
		f.bloom |= kb
	} else if err := s.findKey(f.base, s.keyAt(e), e.fp); err != nil {
		return err
	}
	s.keys = append(s.keys, e)
	return nil
}

// What skipHot stops for.
const (
	hotDone      = iota // the container ended: i is after it
	hotInvalid          // ErrInvalidJSON
	hotTooDeep          // ErrTooDeep
	hotString           // a string value needs care from doc[i] (see scanStringFrom)
	hotNumber           // a number at doc[i] that is not plain (see scanNumber)
	hotKey              // a member's key, at or after doc[i], that is not short and plain
	hotAddKey           // s.pending, the key of a member whose value is at or after doc[i], to add
	hotCheckKeys        // doc[i] closes an object of more than linearKeys keys
)

// Where skipHot starts.
const (
	atOpen   = iota // doc[i] opens a container
	atValue         // a value starts at or after doc[i]
	atAfter         // a value ended before doc[i]
	atMember        // a member starts at or after doc[i]
	atClosed        // a container ended before doc[i]
)

// skipHot is skip's loop over the common cases: d containers are open, of
// which top were open when skip began. It returns the index and depth it
// stopped at and why.
//
// It is one function whose states are joined by goto:
//   - open: doc[i] opens a container;
//   - value: scan one value;
//   - closed: a container ended;
//   - after: consume a separator or a closing bracket after a value;
//   - member: scan an object member's key and colon.
func (s *scanner) skipHot(i, d, top, at int) (int, int, int) {
	var (
		doc = s.doc
		f   *frame
		c   byte
		obj bool // f is an object
	)
	switch at {
	case atOpen:
		goto open
	case atClosed:
		goto closed
	}
	f = &s.stack[(d-1)&(MaxDepth-1)] // 0 < d <= MaxDepth
	obj = f.obj
	switch at {
	case atValue:
		goto value
	case atAfter:
		goto after
	}
	goto member

open: // doc[i] is '{' or '['
	if d >= MaxDepth {
		return i, d, hotTooDeep
	}
	f = &s.stack[d]
	d++
	obj = doc[i] == '{'
	f.obj = obj
	if obj {
		f.base, f.mark, f.bloom = len(s.keys), len(s.decoded), 0
		if i = skipSpace(doc, i+1); i < len(doc) && doc[i] == '}' {
			i++
			goto closed
		}
		goto member
	}
	if i = skipSpace(doc, i+1); i < len(doc) && doc[i] == ']' {
		i++
		goto closed
	}

value:
	if i >= len(doc) {
		return i, d, hotInvalid
	}
	switch c = doc[i]; valueClass[c] {
	case clsString:
		j := skipPlain(doc, i+1)
		if j >= len(doc) || doc[j] != '"' {
			return j, d, hotString
		}
		i = j + 1
		goto after
	case clsOpen:
		goto open
	case clsNumber:
		// An integer or a fraction without sign, leading zero or
		// exponent ("12", "3.25") is read here, the others by
		// scanNumber.
		j, plain := digitsEnd(doc, i+1), c-'1' < 9
		if j < len(doc) && doc[j] == '.' {
			k := digitsEnd(doc, j+1)
			j, plain = k, plain && k > j+1
		}
		if !plain || j < len(doc) && doc[j]|0x20 == 'e' {
			return i, d, hotNumber
		}
		i = j
		goto after
	case clsTrue:
		if i+4 > len(doc) || binary.LittleEndian.Uint32(doc[i:i+4:i+4]) != 't'|'r'<<8|'u'<<16|'e'<<24 {
			return i, d, hotInvalid
		}
		i += 4
		goto after
	case clsFalse:
		if i+5 > len(doc) || binary.LittleEndian.Uint32(doc[i+1:i+5:i+5]) != 'a'|'l'<<8|'s'<<16|'e'<<24 {
			return i, d, hotInvalid
		}
		i += 5
		goto after
	case clsNull:
		if i+4 > len(doc) || binary.LittleEndian.Uint32(doc[i:i+4:i+4]) != 'n'|'u'<<8|'l'<<16|'l'<<24 {
			return i, d, hotInvalid
		}
		i += 4
		goto after
	case clsSpace:
		i = skipSpaceSlow(doc, i)
		goto value
	}
	return i, d, hotInvalid

closed: // a container ended; f, if any, is its parent again
	if d--; d == top {
		return i, d, hotDone
	}
	f = &s.stack[(d-1)&(MaxDepth-1)] // 0 < d <= MaxDepth
	obj = f.obj

after:
	if i >= len(doc) {
		return i, d, hotInvalid
	}
	switch c = doc[i]; {
	case c == ',':
		i++
		if obj {
			goto member
		}
		goto value
	case c == '}' && obj:
		if len(s.keys)-f.base > linearKeys {
			return i, d, hotCheckKeys
		}
		s.keys, s.decoded = s.keys[:f.base], s.decoded[:f.mark]
		i++
		goto closed
	case c == ']' && !obj:
		i++
		goto closed
	case valueClass[c] == clsSpace:
		i = skipSpaceSlow(doc, i)
		goto after
	}
	return i, d, hotInvalid

member: // f is the object
	// The common case: a short plain key and its closing quote in one
	// word (see keyPrint for its print), and the colon right after.
	if i+10 <= len(doc) && doc[i] == '"' {
		x := binary.LittleEndian.Uint64(doc[i+1 : i+9 : i+9])
		if m := needsCare(x); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if x>>(8*n&63)&0xff == '"' && doc[i+n+2] == ':' {
				e := keyEntry{i + 1, n, x&(1<<(8*n&63)-1) | uint64(n)<<56}
				i += n + 3
				// Without a call: a key whose bloom bits are new, while
				// keys has room.
				kb, k := keyBits(e.fp), len(s.keys)
				if f.bloom&kb == kb || k == cap(s.keys) {
					s.pending = e
					return i, d, hotAddKey
				}
				f.bloom |= kb
				s.keys = s.keys[:k+1]
				s.keys[k] = e
				goto value
			}
		}
	}
	return i, d, hotKey
}

// digitsEnd returns the index of the first byte at or after i that is not
// a decimal digit, 8 bytes at a time while 8 remain. In a word, the first
// byte that is not a digit is the lowest with its high bit set in x-'0'
// (a byte below '0'), x+0x46 (a byte from '9'+1 to 0x7f) or x (non-ASCII):
// below it, digits neither borrow nor carry.
func digitsEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i : i+8 : i+8])
		if m := ((x - ones*'0') | (x + ones*0x46) | x) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}
