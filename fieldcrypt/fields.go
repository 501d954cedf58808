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
//     \$ \# \/ \@ \? \- \( \{ \" \' and \` are allowed: a\.b is the single key "a.b",
//     \* is the key "*";
//   - the notations of other path languages, which would name keys nobody
//     has, are refused unless escaped: brackets (items[0].card), a * that
//     is not a whole segment (**, card*), a first segment $ or @ (JSONPath's
//     $.ssn), a segment # or starting #( (gjson's items.#.card and queries),
//     a ? (gjson's glob), a negative index (items.-1), a function call
//     (items.last()), Laravel's {first} and {last}, kubectl's {.a.b}, a
//     name in quotes ("ssn", user."first-name"), and a leading / or #/
//     (JSON Pointer). StoredFields reads paths without this check;
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
	// nested: not named, but a spelling of a named path that names a key
	// with dots, split at some or all of them (profile.email for
	// profile\.email; see add).
	nested bool
	// fam is the index of the named path this one spells (itself, when
	// named) when every spelling of it is in the list, else -1: a key
	// that one spelling matches exactly and another finds dotted is then
	// no ambiguity (see matchKey).
	fam int
	// origins: of a spelling, the named paths it spells (bits by index);
	// plainFrom: the depth from which no key of segs holds a dot. A key
	// that a named path matches exactly, with no dotted key after it, is
	// no ambiguity for the spellings of that path (see matchKey).
	origins   uint64
	plainFrom int
}

// maxSpelledDots bounds the dots in the keys of one path for which every
// spelling (2^dots) is listed; a path with more gets only its nested
// spelling, and keys that spell it other ways are refused as ambiguous.
const maxSpelledDots = 4

// segment is one level of a path.
type segment struct {
	key   string // unescaped object key
	index int    // array index named by key, or -1
	wild  bool   // an unescaped *
	ascii bool   // key is ASCII
	nfd   string // key in Unicode's NFD (canonical decomposition): key when ASCII
	sig   uint64 // foldSig of key, and of nfd
	sigD  uint64
	loose uint64 // looseSig of key
	sep   uint64 // sepSig of key
	// first is firstClass of key: a key whose own differs is no
	// sepVariant of key, without computing its sepSig.
	first rune
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

// Len returns the number of distinct paths named.
func (f Fields) Len() int {
	n := 0
	for _, p := range f.paths {
		if !p.nested {
			n++
		}
	}
	return n
}

// AppendListNames appends to dst, comma-separated, the paths of f as they
// apply to a document whose top level is an array: a path that starts with
// a key is named under "*." (that key in every element: an array has no
// keys of its own), one that starts with * or an index is kept as it is.
// ParseFields reads the list back to as many paths as f has.
func AppendListNames(dst []byte, f Fields) []byte {
	first := true
	for _, p := range f.paths {
		if p.nested {
			continue // parsing the list back adds it again
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
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
	names := make([]string, 0, len(f.paths))
	for _, p := range f.paths {
		if !p.nested {
			names = append(names, p.name)
		}
	}
	return names
}

// Spellings returns, for each path Names returns and in the same order,
// the canonical names of the other spellings of it that f seals too (a
// path that names keys with dots, profile\.email: profile.email; see add),
// for callers that show what f transforms. A spelling that is named
// itself is not one.
func (f Fields) Spellings() [][]string {
	var out [][]string
	for i, p := range f.paths {
		if p.nested {
			continue
		}
		var sp []string
		for _, q := range f.paths {
			if q.nested && q.origins&(1<<i) != 0 {
				sp = append(sp, q.name)
			}
		}
		out = append(out, sp)
	}
	return out
}

// add parses one path and appends it unless already present. A path that
// names a key with dots (profile\.email) also brings its other spellings,
// split at some or all of the dots (profile.email, not named): stores that
// expand dotted keys (MongoDB, Elasticsearch) hold {"profile": {"email":
// …}} where the key "profile.email" names, so the value there is sealed
// and opened too. Every spelling counts towards MaxFields.
func (f *Fields) add(entry string, strict bool) error {
	entry = strings.Trim(entry, " \t")
	segs, err := parsePath(entry, strict)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidFields, entry, err)
	}
	spellings, complete := otherSpellings(segs)
	fam := -1
	if complete && len(spellings) > 0 {
		fam = len(f.paths) // the named path's index
	}
	if added, err := f.addSegs(segs, false, fam, 0); err != nil || !added {
		return err // there already, with its spellings if it has any
	}
	origin := uint64(1) << (len(f.paths) - 1)
	for _, sp := range spellings {
		if _, err := f.addSegs(sp, true, fam, origin); err != nil {
			return err
		}
	}
	return nil
}

// addSegs appends the path of segs unless already present (added false).
// A path named that was there as a spelling of another becomes named, and
// one that two families spell belongs to neither.
func (f *Fields) addSegs(segs []segment, nested bool, fam int, origins uint64) (added bool, err error) {
	name := canonicalName(segs)
	for i, p := range f.paths {
		if p.name == name {
			if p.nested || nested { // not one path named twice
				f.paths[i].nested = p.nested && nested
				f.paths[i].origins |= origins
				if p.fam != fam {
					f.paths[i].fam = -1
				}
			}
			return false, nil
		}
	}
	if len(f.paths) == MaxFields {
		return false, fmt.Errorf("%w: more than %d paths (a path that names keys with dots counts once for each way of spelling it nested)", ErrInvalidFields, MaxFields)
	}
	p := path{name: name, segs: segs, nested: nested, fam: fam, origins: origins}
	for d, seg := range segs {
		if !seg.wild && strings.Contains(seg.key, ".") {
			p.plainFrom = d + 1
		}
	}
	for i := range f.paths {
		if d, ok := wildTwin(segs, f.paths[i].segs); ok {
			p.covered |= 1 << d
		}
		if d, ok := wildTwin(f.paths[i].segs, segs); ok {
			f.paths[i].covered |= 1 << d
		}
	}
	f.paths = append(f.paths, p)
	return true, nil
}

// otherSpellings returns the spellings of a path whose keys hold dots,
// each split at some or all of them (profile\.email: profile.email; a
// piece is a key, never a *), leaving out any with an empty piece (a., a..b:
// no store spells those nested) or deeper than MaxDepth. With more than
// maxSpelledDots dots only the spelling split at every dot is returned,
// and complete is false.
func otherSpellings(segs []segment) (out [][]segment, complete bool) {
	dots := 0
	for _, seg := range segs {
		if !seg.wild {
			dots += strings.Count(seg.key, ".")
		}
	}
	if dots == 0 {
		return nil, true
	}
	masks := []uint{1<<dots - 1} // bit j: split at the j-th dot
	if complete = dots <= maxSpelledDots; complete {
		masks = masks[:0]
		for m := uint(1); m < 1<<dots; m++ {
			masks = append(masks, m)
		}
	}
	for _, m := range masks {
		if sp, ok := splitAt(segs, m); ok {
			out = append(out, sp)
		}
	}
	return out, complete
}

// splitAt returns segs with their keys split at the dots whose bits are set
// in mask (numbered across the path); ok is false when a piece is empty or
// the path deeper than MaxDepth.
func splitAt(segs []segment, mask uint) (out []segment, ok bool) {
	j := 0 // the dot's number across the path
	piece := func(key string) bool {
		s, err := newSegment(key, true)
		out = append(out, s)
		return err == nil
	}
	for _, seg := range segs {
		if seg.wild || !strings.Contains(seg.key, ".") {
			out = append(out, seg)
			continue
		}
		start := 0
		for i := 0; i < len(seg.key); i++ {
			if seg.key[i] != '.' {
				continue
			}
			j++
			if mask&(1<<(j-1)) == 0 {
				continue
			}
			if !piece(seg.key[start:i]) {
				return nil, false
			}
			start = i + 1
		}
		if !piece(seg.key[start:]) {
			return nil, false
		}
	}
	return out, len(out) <= MaxDepth
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

// FirstKey returns the first key of path i (of Len and the spellings
// besides, i < NumPaths), unescaped, and false when it is * (any key).
// It does not allocate.
func (f Fields) FirstKey(i int) (string, bool) {
	seg := &f.paths[i].segs[0]
	return seg.key, !seg.wild
}

// NumPaths is the number of paths f matches, spellings included.
func (f Fields) NumPaths() int { return len(f.paths) }
