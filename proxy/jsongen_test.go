package proxy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf16"
)

// rtNode is a generated JSON value: its text as sent and, inside, the
// markers that identify its leaves.
type rtNode struct {
	raw    string
	object bool
	array  bool
	keys   []string // object member names, unescaped
	kids   []*rtNode
	marks  []string // a leaf's identifying texts: raw and unescaped
}

// rtGen makes JSON documents from a seeded source. Every string and number
// leaf carries a marker unique in the run, so a leak is found by searching
// the bytes the upstream received.
type rtGen struct {
	r *rand.Rand
	n int
}

func (g *rtGen) value(depth int) *rtNode {
	switch k := g.r.IntN(10); {
	case depth >= 4 || k < 4:
		return g.leaf()
	case k < 7:
		return g.object(depth)
	default:
		return g.array(depth)
	}
}

func (g *rtGen) object(depth int) *rtNode {
	n := &rtNode{object: true}
	var b strings.Builder
	b.WriteByte('{')
	for i := range g.r.IntN(5) {
		key := g.key(i)
		kid := g.value(depth + 1)
		if i > 0 {
			b.WriteString(g.space() + ",")
		}
		b.WriteString(g.space() + rtQuote(key) + g.space() + ":" + g.space() + kid.raw)
		n.keys = append(n.keys, key)
		n.kids = append(n.kids, kid)
	}
	b.WriteString(g.space() + "}")
	n.raw = b.String()
	return n
}

func (g *rtGen) array(depth int) *rtNode {
	n := &rtNode{array: true}
	var b strings.Builder
	b.WriteByte('[')
	for i := range g.r.IntN(4) {
		kid := g.value(depth + 1)
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(g.space() + kid.raw)
		n.kids = append(n.kids, kid)
	}
	b.WriteString(g.space() + "]")
	n.raw = b.String()
	return n
}

// key returns the i-th member name of an object: mostly plain, sometimes
// with characters that field paths must escape, or non-ASCII.
func (g *rtGen) key(i int) string {
	names := []string{"k", "user", "card", "email", "a.b", "st*r", "c,d", `back\slash`, "ключ", "0", "sp ace"}
	return names[g.r.IntN(len(names))] + strconv.Itoa(i)
}

func (g *rtGen) space() string {
	return []string{"", "", "", " ", "\n  ", "\t"}[g.r.IntN(6)]
}

// leaf is a string, number, boolean or null. Strings and numbers carry a
// unique marker.
func (g *rtGen) leaf() *rtNode {
	g.n++
	mark := fmt.Sprintf("pt%dq%c%c%c%c", g.n, 'a'+g.r.IntN(26), 'a'+g.r.IntN(26), 'a'+g.r.IntN(26), 'a'+g.r.IntN(26))
	switch g.r.IntN(8) {
	case 0:
		return &rtNode{raw: []string{"true", "false", "null"}[g.r.IntN(3)]}
	case 1, 2:
		num := fmt.Sprintf("-7%d0%06d.%03de-2", g.n, g.r.IntN(1e6), g.r.IntN(1e3))
		return &rtNode{raw: num, marks: []string{num}}
	}
	extras := []string{"", " é中", " 😀", ` "quoted"`, ` back\slash`, "\nnew line", "\ttab", " <>&'", " \u2028", " \x01"}
	s := mark + extras[g.r.IntN(len(extras))] + extras[g.r.IntN(len(extras))]
	raw := g.escape(s)
	return &rtNode{raw: raw, marks: []string{s, raw[1 : len(raw)-1], mark}}
}

// escape writes s as a JSON string, escaping a random share of what it
// may escape (\uXXXX for any rune, surrogate pairs above U+FFFF).
func (g *rtGen) escape(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteString(`\` + string(c))
		case c < 0x20:
			if c == '\n' && g.r.IntN(2) == 0 {
				b.WriteString(`\n`)
			} else {
				fmt.Fprintf(&b, `\u%04x`, c)
			}
		case g.r.IntN(8) == 0 && c > 0xffff:
			hi, lo := utf16.EncodeRune(c)
			fmt.Fprintf(&b, `\u%04X\u%04x`, hi, lo)
		case g.r.IntN(8) == 0 && c > 0x7f && c <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, c)
		case g.r.IntN(16) == 0 && c == '/':
			b.WriteString(`\/`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rtQuote is a member name as JSON.
func rtQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// paths returns the field paths of every value under n, as segment lists.
func (n *rtNode) paths(prefix []string, out *[][]string) {
	for i, kid := range n.kids {
		seg := strconv.Itoa(i)
		if n.object {
			seg = n.keys[i]
		}
		p := append(append([]string(nil), prefix...), seg)
		*out = append(*out, p)
		kid.paths(p, out)
	}
}

// match returns the values path names: keys of objects by name, elements
// of arrays by index, and anything for a segment "\x00*" (a wildcard; a
// key that is literally * is "*").
func (n *rtNode) match(path []string) []*rtNode {
	if len(path) == 0 {
		return []*rtNode{n}
	}
	var out []*rtNode
	for i, kid := range n.kids {
		name := strconv.Itoa(i)
		if n.object {
			name = n.keys[i]
		}
		if path[0] == "\x00*" || name == path[0] {
			out = append(out, kid.match(path[1:])...)
		}
	}
	return out
}

// allMarks returns the marks of every leaf under n.
func (n *rtNode) allMarks(out []string) []string {
	out = append(out, n.marks...)
	for _, k := range n.kids {
		out = k.allMarks(out)
	}
	return out
}

// rtFieldPath spells a path in X-Qanapi-Fields syntax; wild segments are
// given as "\x00*" so a key that is literally * can be told apart.
func rtFieldPath(segs []string) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		if s == "\x00*" {
			parts[i] = "*"
			continue
		}
		parts[i] = strings.NewReplacer(`\`, `\\`, ".", `\.`, "*", `\*`, ",", `\,`).Replace(s)
	}
	return strings.Join(parts, ".")
}

// rtCase is one generated request: a document, its field list, and what
// must not reach the upstream.
type rtCase struct {
	doc    string
	fields string
	marks  []string
}

// leakCase generates a document and a field list naming some of its
// values (some through *, some absent).
func (g *rtGen) leakCase() rtCase {
	root := g.object(0)
	for len(root.kids) == 0 {
		root = g.object(0)
	}
	var all [][]string
	root.paths(nil, &all)
	var names []string
	var marks []string
	for range 1 + g.r.IntN(4) {
		p := append([]string(nil), all[g.r.IntN(len(all))]...)
		if g.r.IntN(4) == 0 {
			p[g.r.IntN(len(p))] = "\x00*"
		}
		for _, v := range root.match(p) {
			marks = v.allMarks(marks)
		}
		pad := strings.Repeat(" ", g.r.IntN(2))
		names = append(names, pad+rtFieldPath(p)+pad)
	}
	if g.r.IntN(3) == 0 {
		names = append(names, "absent.path")
	}
	return rtCase{doc: root.raw, fields: strings.Join(names, ","), marks: marks}
}
