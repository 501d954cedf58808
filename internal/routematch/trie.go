package routematch

import (
	"bytes"
	"slices"
	"strings"
	"sync"
)

// Trie finds the first route (by rank: the evaluation order) whose method
// list and path pattern match a request, in time proportional to the
// path's segments rather than to the number of routes. Patterns are
// '/'-separated: a literal segment, '*' (exactly one segment) or '**'
// (any number of segments, including none).
//
// The zero Trie holds no route. Build it with Add, then only call Match:
// a Trie that is no longer added to is safe for concurrent Match calls.
// Match does not allocate.
type Trie struct {
	root  node
	stars int // '**' nodes, numbered by node.star2
	// marks holds *walkMarks for matches when there are too many '**' for
	// the stack array.
	marks sync.Pool
}

type node struct {
	lit        map[string]*node
	star       *node
	doubleStar *node
	// star2 numbers a '**' node (the doubleStar of its parent) among the
	// trie's: a match walks each from a given place in the path once.
	star2 int
	// here are the routes whose pattern ends at this node, by rank.
	here []entry
}

// entry is one route as the trie keeps it: its rank (position in the
// evaluation order) and methods (nil: any).
type entry struct {
	rank    int
	methods []string
}

// Add inserts the route of rank with pattern and methods. Methods are
// compared without regard to ASCII case; nil or empty means any method.
// Ranks are the evaluation order: lower wins.
func (t *Trie) Add(rank int, pattern string, methods []string) {
	if len(methods) == 0 {
		methods = nil
	}
	n := &t.root
	for _, seg := range splitPattern(pattern) {
		switch seg {
		case "*":
			if n.star == nil {
				n.star = new(node)
			}
			n = n.star
		case "**":
			if n.doubleStar == nil {
				n.doubleStar = &node{star2: t.stars}
				t.stars++
			}
			n = n.doubleStar
		default:
			seg = strings.ToLower(seg)
			if n.lit == nil {
				n.lit = map[string]*node{}
			}
			next := n.lit[seg]
			if next == nil {
				next = new(node)
				n.lit[seg] = next
			}
			n = next
		}
	}
	n.here = append(n.here, entry{rank: rank, methods: methods})
	slices.SortFunc(n.here, func(a, b entry) int { return a.rank - b.rank })
}

// splitPattern splits "/a/*/b" into its segments; "/" and "" have none.
func splitPattern(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Match returns the rank of the first route matching method and path (the
// request path after /proxy/{id}, "" or starting with '/'), or -1. A
// trailing slash ends the path: "/posts/" is "/posts" plus an empty last
// segment, which '*' does not match.
//
// Literal segments match without regard to ASCII case, and a segment's
// parameters (";v=2", which Tomcat, Jetty and Spring cut before routing)
// are ignored, so no spelling that an upstream resolves to a route's path
// escapes the route.
func (t *Trie) Match(method, path []byte) int {
	return t.matchForm(method, path, true)
}

// MatchLiteral is Match reading a segment's ";parameters" as part of the
// segment, as servers that give ';' no meaning in a path (Go's, Node's,
// nginx's) read it: "/posts/;v=2" has the last segment ";v=2".
func (t *Trie) MatchLiteral(method, path []byte) int {
	return t.matchForm(method, path, false)
}

func (t *Trie) matchForm(method, path []byte, cutParams bool) int {
	var buf [512]byte
	p := normalize(buf[:0], path, cutParams)
	if len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	if t.stars > 16 {
		return t.matchPooled(method, p)
	}
	var arr [16]mark
	w := walk{gen: 1, marks: arr[:t.stars]}
	return t.root.match(method, p, -1, &w)
}

// matchPooled is the walk with its '**' marks pooled: a trie with more
// '**' than the stack array holds. The marks are not cleared between
// walks: each walk has its own generation.
func (t *Trie) matchPooled(method, p []byte) int {
	w, _ := t.marks.Get().(*walk)
	if w == nil || len(w.marks) != t.stars {
		w = &walk{marks: make([]mark, t.stars)}
	}
	if w.gen++; w.gen == 0 { // wrapped: old marks could pass for this walk's
		clear(w.marks)
		w.gen = 1
	}
	best := t.root.match(method, p, -1, w)
	t.marks.Put(w)
	return best
}

// walk is one match's marks: for each '**' node, the length of the
// longest rest it was tried from, valid when its gen is the walk's.
type walk struct {
	gen   uint32
	marks []mark
}

type mark struct {
	gen uint32
	len int32
}

// Normalize appends path to dst lower-cased (ASCII) and with every
// segment's ";parameters" removed: the form Match compares.
func Normalize(dst, path []byte) []byte {
	return normalize(dst, path, true)
}

func normalize(dst, path []byte, cutParams bool) []byte {
	inParams := false
	for _, c := range path {
		switch {
		case c == '/':
			inParams = false
		case c == ';':
			inParams = cutParams
		}
		if inParams {
			continue
		}
		dst = append(dst, lowerASCII(c))
	}
	return dst
}

// match walks the rest of the path below n and returns the best rank
// found, better than best (or best). w holds, for each '**' node, the
// length of the longest rest it was tried from (see walk).
func (n *node) match(method, rest []byte, best int, w *walk) int {
	if n.doubleStar != nil {
		best = n.doubleStar.matchDoubleStar(method, rest, best, w)
	}
	if len(rest) == 0 {
		return n.best(method, best)
	}
	seg, tail := rest, []byte(nil)
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		seg, tail = rest[:i], rest[i+1:]
		if len(tail) == 0 {
			tail = nil // a trailing slash ends the path
		}
	}
	if n.lit != nil {
		if next := n.lit[string(seg)]; next != nil {
			best = next.match(method, tail, best, w)
		}
	}
	if n.star != nil && len(seg) > 0 {
		best = n.star.match(method, tail, best, w)
	}
	return best
}

// matchDoubleStar tries every split of rest: '**' (this node) takes the
// first k segments, the pattern after it the rest. Tried once from a
// longer rest (of the same path: its suffixes include this one's), it
// has nothing to add: so '/**/a/**/a/**/b' costs time proportional to
// the path's segments times its '**', not to their power.
func (n *node) matchDoubleStar(method, rest []byte, best int, w *walk) int {
	m := &w.marks[n.star2]
	if m.gen == w.gen && int(m.len) >= len(rest) {
		return best
	}
	m.gen, m.len = w.gen, int32(len(rest))
	for {
		best = n.match(method, rest, best, w)
		if len(rest) == 0 {
			return best
		}
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			rest = nil
		} else {
			rest = rest[i+1:]
		}
	}
}

// best returns the better of best and the first route ending here that
// allows method. A route for GET allows HEAD too: upstreams answer HEAD
// with the GET handler (Go's ServeMux, Express, Rails), so a HEAD must not
// escape the GET route's rules (its answer's headers describe the body
// that route's response rule transforms).
func (n *node) best(method []byte, best int) int {
	head := equalFold(method, "HEAD")
	for _, r := range n.here {
		if best >= 0 && r.rank >= best {
			return best
		}
		if r.methods == nil || containsFold(r.methods, method) || head && containsFold(r.methods, methodGet) {
			return r.rank
		}
	}
	return best
}

func containsFold(list []string, m []byte) bool {
	for _, s := range list {
		if equalFold(m, s) {
			return true
		}
	}
	return false
}

// equalFold reports whether b and s are equal without regard to ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// methodGet is GET, the method whose routes HEAD follows (best).
var methodGet = []byte("GET")
