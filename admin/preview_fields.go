package admin

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/pii"
)

// The preview finds the values a field list names the way fieldcrypt's
// scanner does (fieldcrypt does not expose the spans it finds), over a
// decoded tree: TestPreviewMatchesEncrypt checks both agree.

// jsonNode is one value of a decoded body, object members in document
// order.
type jsonNode struct {
	kind byte   // '{', '[', '"' (a string) or 0 (another scalar)
	str  string // a string's value
	keys []string
	kids []*jsonNode
}

// decodeTree decodes doc, which fieldcrypt.Validate accepted, counting its
// values against pii.MaxValues.
func decodeTree(doc []byte) (*jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	count := 0
	var value func(tok json.Token) (*jsonNode, error)
	value = func(tok json.Token) (*jsonNode, error) {
		if count++; count > pii.MaxValues {
			return nil, errPreviewTooManyValues
		}
		switch v := tok.(type) {
		case string:
			return &jsonNode{kind: '"', str: v}, nil
		case json.Delim:
			n := &jsonNode{kind: byte(v)}
			for {
				t, err := dec.Token()
				if err != nil {
					return nil, err
				}
				if d, ok := t.(json.Delim); ok && (d == '}' || d == ']') {
					return n, nil
				}
				if n.kind == '{' {
					n.keys = append(n.keys, t.(string))
					if t, err = dec.Token(); err != nil {
						return nil, err
					}
				}
				kid, err := value(t)
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, kid)
			}
		}
		return &jsonNode{}, nil
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return value(tok)
}

// fieldPath is one parsed path of a field list.
type fieldPath struct {
	name string
	segs []fieldSeg
	of   int // the named path this is a spelling of: its own index for a named one
}

type fieldSeg struct {
	key   string // unescaped
	index int    // the array index the key spells, or -1
	wild  bool
}

// parseFieldPaths parses the canonical names of f (fieldcrypt.Fields.Names)
// (a backslash makes the next character literal), and after them the other
// spellings f seals of those that name keys with dots (Fields.Spellings:
// profile.email for profile\.email), each with the index of its own.
func parseFieldPaths(f fieldcrypt.Fields) []fieldPath {
	names := f.Names()
	out := make([]fieldPath, len(names))
	for i, name := range names {
		out[i] = fieldPath{name: name, segs: parseCanonical(name), of: i}
	}
	for i, sp := range f.Spellings() {
		for _, name := range sp {
			out = append(out, fieldPath{name: name, segs: parseCanonical(name), of: i})
		}
	}
	return out
}

func parseCanonical(name string) []fieldSeg {
	var segs []fieldSeg
	var key strings.Builder
	escaped := false
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			k := key.String()
			if k == "*" && !escaped {
				segs = append(segs, fieldSeg{index: -1, wild: true})
			} else {
				segs = append(segs, fieldSeg{key: k, index: arrayIndex(k)})
			}
			key.Reset()
			escaped = false
			continue
		}
		if name[i] == '\\' && i+1 < len(name) {
			i++
			escaped = true
		}
		key.WriteByte(name[i])
	}
	return segs
}

// arrayIndex returns the array index key spells (decimal digits, no
// leading zero, at most 9), or -1, as fieldcrypt reads it.
func arrayIndex(key string) int {
	if key == "" || len(key) > 9 || (len(key) > 1 && key[0] == '0') {
		return -1
	}
	n, err := strconv.Atoi(key)
	if err != nil || n < 0 || key[0] == '+' || key[0] == '-' {
		return -1
	}
	return n
}

// target is one value a field list would transform.
type target struct {
	concrete string // indices as digits (pii.Detect's covered paths)
	display  string // indices as *
	node     *jsonNode
}

// step is one level of a value's concrete path.
type step struct {
	key   string // escaped with pii.EscapeKey
	index int    // -1 for an object key
}

// matchFields returns the values of root that paths name, as fieldcrypt
// finds them: a value at the end of a path is a target, an array there has
// each element a target instead, and nothing inside a target is matched
// again. reached reports, per path, whether it ended on any value (an
// empty array included).
func matchFields(root *jsonNode, paths []fieldPath) (targets []target, reached []bool) {
	reached = make([]bool, len(paths))
	active := make([]int, len(paths))
	for i := range paths {
		active[i] = i
	}
	var walk func(n *jsonNode, active []int, d int, at []step)
	walk = func(n *jsonNode, active []int, d int, at []step) {
		ends := false
		for _, p := range active {
			if len(paths[p].segs) == d {
				ends, reached[p] = true, true
			}
		}
		switch {
		case ends && n.kind == '[':
			for i, kid := range n.kids {
				targets = append(targets, newTarget(append(at, step{index: i}), kid))
			}
			return
		case ends:
			targets = append(targets, newTarget(at, n))
			return
		}
		for i, kid := range n.kids {
			var next []int
			for _, p := range active {
				if len(paths[p].segs) > d && segMatches(paths[p].segs[d], n, i) {
					next = append(next, p)
				}
			}
			if len(next) > 0 {
				s := step{index: i}
				if n.kind == '{' {
					s = step{key: pii.EscapeKey(n.keys[i]), index: -1}
				}
				walk(kid, next, d+1, append(at, s))
			}
		}
	}
	walk(root, active, 0, nil)
	return targets, reached
}

// segMatches reports whether seg names the i-th member or element of n.
func segMatches(seg fieldSeg, n *jsonNode, i int) bool {
	if seg.wild {
		return true
	}
	if n.kind == '{' {
		return seg.key == n.keys[i]
	}
	return seg.index == i
}

func newTarget(at []step, n *jsonNode) target {
	return target{concrete: joinSteps(at, false), display: joinSteps(at, true), node: n}
}

// joinSteps writes a path in the X-Qanapi-Fields syntax, indices as * when
// wild, as pii.Detect spells the paths it passes to covered.
func joinSteps(at []step, wild bool) string {
	var b strings.Builder
	for i, s := range at {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case s.index < 0:
			b.WriteString(s.key)
		case wild:
			b.WriteByte('*')
		default:
			b.WriteString(strconv.Itoa(s.index))
		}
	}
	return b.String()
}

// exists reports whether the path (no wildcard: a required path) names a
// value of root, as the proxy's check of required paths does.
func exists(root *jsonNode, p fieldPath) bool {
	n := root
	for _, seg := range p.segs {
		found := false
		for i := range n.kids {
			if !seg.wild && segMatches(seg, n, i) {
				n, found = n.kids[i], true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
