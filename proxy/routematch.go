package proxy

import (
	"bytes"
	"slices"
	"strings"
)

// routeTrie finds the first route (by order, then creation) whose method
// list and path pattern match a request, in time proportional to the
// path's segments rather than to the number of routes. Patterns are
// '/'-separated: a literal segment, '*' (exactly one segment) or '**'
// (any number of segments, including none). It is built once per change
// of a project's routes and only read afterwards.
type routeTrie struct {
	root trieNode
}

type trieNode struct {
	lit        map[string]*trieNode
	star       *trieNode
	doubleStar *trieNode
	// here are the routes whose pattern ends at this node, by rank.
	here []trieRoute
}

// trieRoute is one route as the trie keeps it: its rank (position in the
// evaluation order) and methods (nil: any).
type trieRoute struct {
	rank    int
	methods []string
}

// add inserts the route of rank with pattern and methods.
func (t *routeTrie) add(rank int, pattern string, methods []string) {
	n := &t.root
	for _, seg := range splitPattern(pattern) {
		switch seg {
		case "*":
			if n.star == nil {
				n.star = new(trieNode)
			}
			n = n.star
		case "**":
			if n.doubleStar == nil {
				n.doubleStar = new(trieNode)
			}
			n = n.doubleStar
		default:
			if n.lit == nil {
				n.lit = map[string]*trieNode{}
			}
			next := n.lit[seg]
			if next == nil {
				next = new(trieNode)
				n.lit[seg] = next
			}
			n = next
		}
	}
	n.here = append(n.here, trieRoute{rank: rank, methods: methods})
	slices.SortFunc(n.here, func(a, b trieRoute) int { return a.rank - b.rank })
}

// splitPattern splits "/a/*/b" into its segments; "/" and "" have none.
func splitPattern(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match returns the rank of the first route matching method and path (the
// request path after /proxy/{id}, "" or starting with '/'), or -1.
func (t *routeTrie) match(method, path []byte) int {
	if len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	return t.root.match(method, path, -1)
}

// match walks the rest of the path below n and returns the best rank
// found, better than best (or best).
func (n *trieNode) match(method, rest []byte, best int) int {
	if n.doubleStar != nil {
		best = n.doubleStar.matchDoubleStar(method, rest, best)
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
			best = next.match(method, tail, best)
		}
	}
	if n.star != nil && len(seg) > 0 {
		best = n.star.match(method, tail, best)
	}
	return best
}

// matchDoubleStar tries every split of rest: '**' (this node) takes the
// first k segments, the pattern after it the rest.
func (n *trieNode) matchDoubleStar(method, rest []byte, best int) int {
	for {
		best = n.match(method, rest, best)
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
// allows method.
func (n *trieNode) best(method []byte, best int) int {
	for _, r := range n.here {
		if best >= 0 && r.rank >= best {
			return best
		}
		if r.methods == nil || containsFold(r.methods, method) {
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
