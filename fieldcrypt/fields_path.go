package fieldcrypt

import (
	"errors"
	"strings"
)

// parsePath splits one trimmed path into segments. strict also refuses
// the notations of other path languages (see foreignSyntax), which would
// otherwise name a key nobody has and transform nothing; paths already
// stored (routes written before the check) are read without it.
func parsePath(s string, strict bool) ([]segment, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	if strict && s[0] == '/' {
		return nil, errors.New(`JSON Pointer is not path syntax here: write user.email for /user/email (\/ for a key that starts with /)`)
	}
	var segs []segment
	var key strings.Builder
	escaped := false  // the current segment holds an escape
	escFirst := false // its first character is escaped
	star := false     // the current segment holds an unescaped *
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			k := key.String()
			if strict && !escFirst { // #(a\.b==1) is still a query
				if err := foreignSyntax(k, len(segs) == 0); err != nil {
					return nil, err
				}
			}
			if strict && star && (escaped || k != "*") {
				return nil, errors.New(`* stands for one whole segment (items.*.card); ** and partial globs are not path syntax (\* for a literal *)`)
			}
			seg, err := newSegment(k, escaped)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			key.Reset()
			escaped, escFirst, star = false, false, false
			continue
		}
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) || !strings.ContainsRune(escapable, rune(s[i+1])) {
				return nil, errors.New(`bad escape: only \. \* \, \\ \[ \] \$ \# \/ \@ are allowed`)
			}
			i++
			c = s[i]
			escaped, escFirst = true, escFirst || key.Len() == 0
		case c == '*':
			star = true
		case strict && (c == '[' || c == ']'):
			return nil, errors.New(`brackets are not path syntax here: write items.0.card or items.*.card for items[0].card or items[*].card (\[ \] for a key with brackets)`)
		}
		key.WriteByte(c)
	}
	if len(segs) > MaxDepth {
		return nil, errors.New("more segments than MaxDepth")
	}
	return segs, nil
}

// escapable are the characters a backslash may escape.
const escapable = `.*,\[]$#/@`

// foreignSyntax refuses a segment, written without escapes, that is the
// notation of another path language: JSONPath's root $ (VGS and others
// write $.ssn) or current node @, and gjson's # for every element of an
// array or #(…) query.
func foreignSyntax(k string, first bool) error {
	switch {
	case first && (k == "$" || k == "@"):
		return errors.New(`JSONPath is not path syntax here: write ssn for $.ssn or @.ssn and items.*.card for $.items[*].card (\$ or \@ for a key named so)`)
	case k == "#" || strings.HasPrefix(k, "#("):
		return errors.New(`# is not path syntax here: write items.*.card for items.#.card; queries such as #(…) have no equivalent (\# for a key that starts with #)`)
	}
	return nil
}

// newSegment builds a segment from its unescaped key.
func newSegment(key string, escaped bool) (segment, error) {
	if key == "" {
		return segment{}, errors.New("empty segment")
	}
	if key == "*" && !escaped {
		return segment{index: -1, wild: true}, nil
	}
	return segment{key: key, index: arrayIndex(key), ascii: isASCII([]byte(key))}, nil
}

// arrayIndex returns the array index spelled by key, or -1.
func arrayIndex(key string) int {
	if len(key) > 9 || (len(key) > 1 && key[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return -1
		}
		n = n*10 + int(key[i]-'0')
	}
	return n
}

// canonicalName spells segments back with the minimal escapes that the
// strict parse reads back to the same segments.
func canonicalName(segs []segment) string { return spell(segs, true) }

// indexKeyPath spells segments as canonical names were spelt before the
// notations of other path languages needed escapes (only . , \ and a key
// that is exactly *): blind-index keys are derived from it, and a changed
// spelling would orphan the indexes already stored for such a key.
func indexKeyPath(segs []segment) string { return spell(segs, false) }

func spell(segs []segment, strict bool) string {
	var b strings.Builder
	for i, seg := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case seg.wild:
			b.WriteByte('*')
		case seg.key == "*":
			b.WriteString(`\*`)
		default:
			for j := 0; j < len(seg.key); j++ {
				c := seg.key[j]
				if c == '.' || c == ',' || c == '\\' || strict && (c == '*' || c == '[' || c == ']' ||
					j == 0 && (c == '#' && (len(seg.key) == 1 || seg.key[1] == '(') || i == 0 && len(seg.key) == 1 && (c == '$' || c == '@') || i == 0 && c == '/')) {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
