package pii

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Limits of one Detect call.
const (
	// MaxBytes is the longest document Detect reads.
	MaxBytes = 1 << 20
	// MaxDepth is the deepest nesting of arrays and objects: a document of
	// 32 nested arrays is read, one of 33 is ErrTooDeep.
	MaxDepth = 32
	// MaxValues is the most values (objects, arrays and scalars, object
	// keys not counted) one document may hold.
	MaxValues = 10_000
)

// Detect returns the hints of doc, a JSON document: values that look like
// personal data or secrets and that covered does not claim, one Hint per
// path and kind, in document order.
//
// covered is called with the concrete path of each value, outermost first
// (containers included), in the X-Qanapi-Fields syntax with object keys
// escaped by EscapeKey and array indices as decimal digits (items.0.card);
// the whole document has the path "". A value it claims is skipped with
// everything inside it. Nil covers nothing.
//
// Values that are sdproxy tokens (qanapi:…:$) are already protected and
// give no hint. A value gives at most one hint from its content when it is
// wholly of one kind, or one per kind found inside free text; a value or
// container with no such hint inside it gives a field_name hint when its
// name says what it holds (see docs/preview.md for every rule).
//
// On error (ErrTooLarge, ErrTooDeep, ErrTooManyValues, ErrInvalidJSON)
// Detect returns no hints.
func Detect(doc []byte, covered func(path string) bool) ([]Hint, error) {
	if len(doc) > MaxBytes {
		return nil, fmt.Errorf("pii.Detect: %w (%d bytes, at most %d)", ErrTooLarge, len(doc), MaxBytes)
	}
	w := &walker{dec: json.NewDecoder(bytes.NewReader(doc)), covered: covered, seen: map[hintKey]bool{}}
	w.dec.UseNumber()
	tok, err := w.next()
	if err != nil {
		return nil, err
	}
	if _, err := w.value(tok, "", 0); err != nil {
		return nil, err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return nil, w.syntaxError()
	}
	return w.hints, nil
}

// walker is one Detect call.
type walker struct {
	dec     *json.Decoder
	covered func(string) bool
	path    []segment
	values  int
	hints   []Hint
	seen    map[hintKey]bool
}

type hintKey struct{ path, kind string }

// next reads the next token; a syntax error never quotes the document.
func (w *walker) next() (json.Token, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, w.syntaxError()
	}
	return tok, nil
}

func (w *walker) syntaxError() error {
	return fmt.Errorf("pii.Detect: %w near byte %d", ErrInvalidJSON, w.dec.InputOffset())
}

// value examines the value that starts with tok, named name ("" for an
// array element or the document), at depth levels inside the document.
// claimed reports whether the value, or anything inside it, was covered
// or hinted.
func (w *walker) value(tok json.Token, name string, depth int) (claimed bool, err error) {
	if w.values++; w.values > MaxValues {
		return false, fmt.Errorf("pii.Detect: %w (at most %d)", ErrTooManyValues, MaxValues)
	}
	if w.covered != nil && w.covered(pathString(w.path, false)) {
		return true, w.skip(tok, depth)
	}
	var t valueType
	switch v := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return false, fmt.Errorf("pii.Detect: %w (at most %d levels)", ErrTooDeep, MaxDepth)
		}
		var n int
		if v == '{' {
			claimed, n, err = w.object(depth + 1)
		} else {
			claimed, n, err = w.array(depth + 1)
		}
		if err != nil || n == 0 {
			return claimed, err
		}
		t = typeContainer
	case string:
		f, protected := classifyString(v, name)
		if protected {
			return true, nil
		}
		if strings.TrimSpace(v) == "" {
			return false, nil // holds nothing
		}
		w.add(f)
		claimed, t = len(f) > 0, typeString
	case json.Number:
		f := classifyNumber(string(v))
		w.add(f)
		claimed, t = len(f) > 0, typeNumber
	default: // true, false, null: nothing to protect
		return false, nil
	}
	if !claimed && name != "" {
		if kind, what, ok := nameKind(name, t); ok {
			w.add([]finding{{KindFieldNamePrefix + kind, "field name suggests " + what}})
			claimed = true
		}
	}
	return claimed, nil
}

// object examines the members of an object whose '{' was read; n is how
// many it has.
func (w *walker) object(depth int) (claimed bool, n int, err error) {
	for ; ; n++ {
		tok, err := w.next()
		if err != nil {
			return false, n, err
		}
		key, ok := tok.(string)
		if !ok { // '}'
			return claimed, n, nil
		}
		if tok, err = w.next(); err != nil {
			return false, n, err
		}
		w.path = append(w.path, segment{key: EscapeKey(key), index: -1})
		c, err := w.value(tok, key, depth)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return false, n, err
		}
		claimed = claimed || c
	}
}

// array examines the elements of an array whose '[' was read.
func (w *walker) array(depth int) (claimed bool, n int, err error) {
	for ; ; n++ {
		tok, err := w.next()
		if err != nil {
			return false, n, err
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			return claimed, n, nil
		}
		w.path = append(w.path, segment{index: n})
		c, err := w.value(tok, "", depth)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return false, n, err
		}
		claimed = claimed || c
	}
}

// skip reads past the value that starts with tok, still counting values
// and levels against the limits.
func (w *walker) skip(tok json.Token, depth int) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= MaxDepth {
		return fmt.Errorf("pii.Detect: %w (at most %d levels)", ErrTooDeep, MaxDepth)
	}
	for obj := d == '{'; ; {
		tok, err := w.next()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			return nil
		}
		if obj { // tok is a key
			if tok, err = w.next(); err != nil {
				return err
			}
		}
		if w.values++; w.values > MaxValues {
			return fmt.Errorf("pii.Detect: %w (at most %d)", ErrTooManyValues, MaxValues)
		}
		if err := w.skip(tok, depth+1); err != nil {
			return err
		}
	}
}

// add records findings at the current path, once per path and kind.
func (w *walker) add(fs []finding) {
	if len(fs) == 0 {
		return
	}
	p := pathString(w.path, true)
	for _, f := range fs {
		k := hintKey{p, f.kind}
		if !w.seen[k] {
			w.seen[k] = true
			w.hints = append(w.hints, Hint{Path: p, Kind: f.kind, Reason: f.reason})
		}
	}
}
