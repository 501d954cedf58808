package fieldcrypt

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
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
	if strict && strings.HasPrefix(s, "{.") && strings.HasSuffix(s, "}") {
		return nil, errors.New(`kubectl's JSONPath is not path syntax here: write user.email for {.user.email} (\{ for a key that starts with {)`)
	}
	if strict && len(s) > 1 && isQuote(s[0]) && s[len(s)-1] == s[0] && s[len(s)-2] != '\\' {
		return nil, quotedError(s)
	}
	var segs []segment
	var key strings.Builder
	escaped := false  // the current segment holds an escape
	escFirst := false // its first character is escaped
	escParen := false // it holds an escaped (
	quoted := false   // it starts with an unescaped quote, and its last character so far is the same quote, unescaped
	star := false     // the current segment holds an unescaped *
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			k := key.String()
			if strict && !escFirst { // #(a\.b==1) is still a query
				if err := foreignSyntax(k, len(segs) == 0); err != nil {
					return nil, err
				}
			}
			if strict && !escParen && isCall(k) {
				return nil, fmt.Errorf(`%s is a function of other path languages, not path syntax here: name the key or element itself (\( for a key that ends in ())`, k)
			}
			if strict && quoted && len(k) > 1 {
				return nil, quotedError(k)
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
			escaped, escFirst, escParen, quoted, star = false, false, false, false, false
			continue
		}
		c := s[i]
		// c, unescaped here (an escape is handled below), is a quote that
		// opens the segment or closes what the same quote opened.
		quoted = isQuote(c) && (key.Len() == 0 || key.String()[0] == c && !escFirst)
		switch {
		case c == '\\':
			if i+1 == len(s) || !strings.ContainsRune(escapable, rune(s[i+1])) {
				return nil, errors.New("bad escape: only \\. \\* \\, \\\\ \\[ \\] \\$ \\# \\/ \\@ \\? \\- \\( \\{ \\\" \\' \\` are allowed")
			}
			i++
			c = s[i]
			escaped, escFirst, escParen, quoted = true, escFirst || key.Len() == 0, escParen || c == '(', false
		case c == '*':
			star = true
		case strict && c == '?':
			return nil, errors.New(`? is a glob of other path languages (ssn? for ssn1), not path syntax here: name each key, or every key with * (\? for a key with ?)`)
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
const escapable = ".*,\\[]$#/@?-({\"'`"

// foreignSyntax refuses a segment, written without escapes, that is the
// notation of another path language: JSONPath's root $ (VGS and others
// write $.ssn) or current node @, gjson's # for every element of an
// array or #(…) query, Laravel's {first} and {last}, and a negative
// index.
func foreignSyntax(k string, first bool) error {
	switch {
	case first && strings.HasPrefix(k, "#/"):
		return errors.New(`a JSON Pointer fragment is not path syntax here: write user.email for #/user/email (\# for a key that starts with #)`)
	case first && (k == "$" || k == "@"):
		return errors.New(`JSONPath is not path syntax here: write ssn for $.ssn or @.ssn and items.*.card for $.items[*].card (\$ or \@ for a key named so)`)
	case k == "#" || strings.HasPrefix(k, "#("):
		return errors.New(`# is not path syntax here: write items.*.card for items.#.card; queries such as #(…) have no equivalent (\# for a key that starts with #)`)
	case k == "{first}" || k == "{last}":
		return fmt.Errorf(`%s is Laravel's, not path syntax here: name the element (items.0) or every element (items.*) (\{ for a key that starts with {)`, k)
	case isNegative(k):
		return fmt.Errorf(`%s counts from an array's end in other path languages, not here: name the element from the start (items.0) or every element (items.*) (\- for a key that starts with -)`, k)
	}
	return nil
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func quotedError(k string) error {
	return fmt.Errorf(`quotes are not path syntax here: write the key as it is, user.first-name for user."first-name" or ssn for %s (\%c for a key that starts with %c)`, k, k[0], k[0])
}

// isNegative reports whether k spells a negative array index (-1), which
// sjson, JMESPath and Python read from the end and this syntax as a key.
func isNegative(k string) bool { return len(k) > 1 && k[0] == '-' && arrayIndex(k[1:]) >= 0 }

// isCall reports whether k is written as a function call of another path
// language, a name and "()": JSONPath's length() or last(), min().
func isCall(k string) bool {
	name, ok := strings.CutSuffix(k, "()")
	if !ok || name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// newSegment builds a segment from its unescaped key.
func newSegment(key string, escaped bool) (segment, error) {
	if key == "" {
		return segment{}, errors.New("empty segment")
	}
	if key == "*" && !escaped {
		return segment{index: -1, wild: true}, nil
	}
	seg := segment{key: key, index: arrayIndex(key), ascii: isASCII([]byte(key)), nfd: key}
	seg.sig, seg.loose, seg.sep, seg.first = foldSig([]byte(key)), looseSig([]byte(key)), sepSig([]byte(key)), firstClass([]byte(key))
	seg.sigD = seg.sig
	if !seg.ascii {
		seg.nfd = norm.NFD.String(key)
		seg.sigD = foldSig([]byte(seg.nfd))
	}
	return seg, nil
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
				if c == '.' || c == ',' || c == '\\' || strict && (c == '*' || c == '[' || c == ']' || c == '?' ||
					j == 0 && (c == '#' && (len(seg.key) == 1 || seg.key[1] == '(' || seg.key[1] == '/') || i == 0 && len(seg.key) == 1 && (c == '$' || c == '@') || i == 0 && c == '/') ||
					j == 0 && (c == '-' && isNegative(seg.key) || c == '{' && (seg.key == "{first}" || seg.key == "{last}" || i == 0 && len(seg.key) == 1) || isQuote(c)) || c == '(' && j == len(seg.key)-2 && isCall(seg.key)) {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}
