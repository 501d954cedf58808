package fieldcrypt

import (
	"fmt"
	"strings"
)

// MaxFields is the largest number of distinct paths one Fields holds.
const MaxFields = 64

// Fields is a parsed, validated list of field paths. The zero value names no
// field. A Fields is immutable and safe to share between goroutines.
//
// Path syntax (header X-Qanapi-Fields or a JSON array of paths):
//   - a dot separates nesting levels: user.email;
//   - a segment that is exactly * matches any key of an object or any index
//     of an array at that level: items.*.card;
//   - a segment of decimal digits (no leading zero) also matches that index
//     of an array: items.0.card;
//   - a backslash makes the next character literal; only \. \* \, \\ \[ \]
//     \$ \# \/ and \@ are allowed: a\.b is the single key "a.b", \* is the key "*";
//   - the notations of other path languages, which would name keys nobody
//     has, are refused unless escaped: brackets (items[0].card), a * that
//     is not a whole segment (**, card*), a first segment $ or @ (JSONPath's
//     $.ssn), a segment # or starting #( (gjson's items.#.card and queries)
//     and a leading / (JSON Pointer). StoredFields reads paths without this
//     check;
//   - spaces and tabs around a path are trimmed; spaces inside are kept;
//   - empty paths and empty segments are refused (ErrInvalidFields), as are
//     more than MaxFields distinct paths or paths of more than MaxDepth
//     segments. A path listed twice counts once.
type Fields struct {
	paths []path
}

// path is one parsed field path.
type path struct {
	name string    // canonical spelling
	segs []segment // one per nesting level
	// covered: bit d is set when another path is this one with a *
	// inserted at depth d (items.card and items.*.card): the elements of
	// an array there are that path's (see ErrFieldInArray).
	covered uint64
}

// segment is one level of a path.
type segment struct {
	key   string // unescaped object key
	index int    // array index named by key, or -1
	wild  bool   // an unescaped *
	ascii bool   // key is ASCII
}

// ParseFields parses a comma-separated list of paths, as sent in the
// X-Qanapi-Fields header: "a, user.email ,items.*.card". A comma inside a
// key is written \,. An empty string is refused: callers decide what a
// missing header means.
func ParseFields(s string) (Fields, error) {
	var f Fields
	for {
		entry, rest, more := cutUnescaped(s, ',')
		if err := f.add(entry, true); err != nil {
			return Fields{}, err
		}
		if !more {
			return f, nil
		}
		s = rest
	}
}

// FieldsFromList parses a list of paths, as sent in the "fields" array of
// the direct API. Each element is one path with the ParseFields syntax,
// except that a comma needs no escape. An empty list gives the zero Fields.
func FieldsFromList(list []string) (Fields, error) { return fromList(list, true) }

// StoredFields is FieldsFromList for paths stored before the notations of
// other path languages were refused (a route's fields): it reads them as
// it did then, every character a key's, so that a rule keeps applying.
func StoredFields(list []string) (Fields, error) { return fromList(list, false) }

func fromList(list []string, strict bool) (Fields, error) {
	var f Fields
	for _, entry := range list {
		if err := f.add(entry, strict); err != nil {
			return Fields{}, err
		}
	}
	return f, nil
}

// Len returns the number of distinct paths.
func (f Fields) Len() int { return len(f.paths) }

// AppendListNames appends to dst, comma-separated, the paths of f as they
// apply to a document whose top level is an array: a path that starts with
// a key is named under "*." (that key in every element: an array has no
// keys of its own), one that starts with * or an index is kept as it is.
// ParseFields reads the list back to as many paths as f has.
func AppendListNames(dst []byte, f Fields) []byte {
	for i, p := range f.paths {
		if i > 0 {
			dst = append(dst, ',')
		}
		if s := p.segs[0]; !s.wild && s.index < 0 {
			dst = append(dst, "*."...)
		}
		dst = append(dst, p.name...)
	}
	return dst
}

// ForList returns the paths of f for a document whose top level is an
// array (see AppendListNames).
func (f Fields) ForList() (Fields, error) {
	if len(f.paths) == 0 {
		return f, nil
	}
	return ParseFields(string(AppendListNames(nil, f)))
}

// Names returns the canonical spelling of each path, in the order given,
// for the event log. The slice is the caller's.
func (f Fields) Names() []string {
	names := make([]string, len(f.paths))
	for i, p := range f.paths {
		names[i] = p.name
	}
	return names
}

// add parses one path and appends it unless already present.
func (f *Fields) add(entry string, strict bool) error {
	entry = strings.Trim(entry, " \t")
	segs, err := parsePath(entry, strict)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidFields, entry, err)
	}
	name := canonicalName(segs)
	for _, p := range f.paths {
		if p.name == name {
			return nil
		}
	}
	if len(f.paths) == MaxFields {
		return fmt.Errorf("%w: more than %d paths", ErrInvalidFields, MaxFields)
	}
	p := path{name: name, segs: segs}
	for i := range f.paths {
		if d, ok := wildTwin(segs, f.paths[i].segs); ok {
			p.covered |= 1 << d
		}
		if d, ok := wildTwin(f.paths[i].segs, segs); ok {
			f.paths[i].covered |= 1 << d
		}
	}
	f.paths = append(f.paths, p)
	return nil
}

// wildTwin reports whether b is a with a * inserted at depth d, before a
// key segment (items.*.card for items.card, *.ssn for ssn): where a meets
// an array at depth d, b names what a would in each element.
func wildTwin(a, b []segment) (d int, ok bool) {
	if len(b) != len(a)+1 {
		return 0, false
	}
	for d = 0; d < len(a) && a[d] == b[d]; d++ {
	}
	if d == len(a) || a[d].wild || !b[d].wild {
		return 0, false
	}
	for i := d; i < len(a); i++ {
		if a[i] != b[i+1] {
			return 0, false
		}
	}
	return d, true
}

// cutUnescaped splits s around the first sep not escaped by a backslash.
func cutUnescaped(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
