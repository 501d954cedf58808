package routematch

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// refMatch is the obvious matcher the trie must agree with.
func refMatch(pattern, path string) bool {
	return refSegs(splitPattern(pattern), splitPattern(path))
}

func refSegs(p, s []string) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case "**":
		for k := 0; k <= len(s); k++ {
			if refSegs(p[1:], s[k:]) {
				return true
			}
		}
		return false
	case "*":
		return len(s) > 0 && s[0] != "" && refSegs(p[1:], s[1:])
	}
	return len(s) > 0 && s[0] == p[0] && refSegs(p[1:], s[1:])
}

type testRoute struct {
	pattern string
	methods []string
}

func refFirst(routes []testRoute, method, path string) int {
	for i, r := range routes {
		okMethod := r.methods == nil
		for _, m := range r.methods {
			okMethod = okMethod || strings.EqualFold(m, method)
		}
		if okMethod && refMatch(r.pattern, path) {
			return i
		}
	}
	return -1
}

func TestTrieCases(t *testing.T) {
	routes := []testRoute{
		{"/posts/*", []string{"GET"}},
		{"/posts/**", []string{"POST", "PUT"}},
		{"/users/*/cards/*", nil},
		{"/**/secret", nil},
		{"/", nil},
		{"/a/**/b/**/c", nil},
		{"/**", []string{"DELETE"}},
	}
	var trie Trie
	for i, r := range routes {
		trie.Add(i, r.pattern, r.methods)
	}
	cases := []struct {
		method, path string
		want         int
	}{
		{"GET", "/posts/1", 0},
		{"get", "/posts/1", 0},
		{"GET", "/posts", -1},
		{"POST", "/posts", 1},
		{"POST", "/posts/1/comments", 1},
		{"GET", "/posts/1/comments", -1},
		{"PATCH", "/users/7/cards/9", 2},
		{"PATCH", "/users/7/cards", -1},
		{"GET", "/x/y/secret", 3},
		{"GET", "/secret", 3},
		{"GET", "/", 4},
		{"GET", "", 4},
		{"GET", "/a/b/c", 5},
		{"GET", "/a/x/b/y/z/c", 5},
		{"GET", "/a/x/b/y/z/d", -1},
		{"DELETE", "/anything/at/all", 6},
		{"GET", "/posts/", -1},
	}
	for _, tc := range cases {
		if got := trie.Match([]byte(tc.method), []byte(tc.path)); got != tc.want {
			t.Errorf("match(%s %s) = %d, want %d", tc.method, tc.path, got, tc.want)
		}
		if ref := refFirst(routes, tc.method, tc.path); ref != tc.want {
			t.Errorf("reference(%s %s) = %d, want %d (the table is wrong)", tc.method, tc.path, ref, tc.want)
		}
	}
}

// TestTrieRandom compares the trie with the reference on random
// route sets and paths.
func TestTrieRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", "b", "c", "posts", "1"}
	seg := func(wild bool) string {
		if wild {
			switch rng.IntN(6) {
			case 0:
				return "*"
			case 1:
				return "**"
			}
		}
		return words[rng.IntN(len(words))]
	}
	path := func(wild bool) string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString("/" + seg(wild))
		}
		return b.String()
	}
	methods := [][]string{nil, {"GET"}, {"POST", "PUT"}}
	for round := range 300 {
		var routes []testRoute
		var trie Trie
		for i := range 1 + rng.IntN(12) {
			r := testRoute{path(true), methods[rng.IntN(len(methods))]}
			routes = append(routes, r)
			trie.Add(i, r.pattern, r.methods)
		}
		for range 50 {
			m, p := []string{"GET", "POST", "DELETE"}[rng.IntN(3)], path(false)
			if got, want := trie.Match([]byte(m), []byte(p)), refFirst(routes, m, p); got != want {
				t.Fatalf("round %d: routes %v: match(%s %s) = %d, want %d", round, routes, m, p, got, want)
			}
		}
	}
}

func BenchmarkMatch1000(b *testing.B) {
	var trie Trie
	for i := range 1000 {
		trie.Add(i, "/svc"+strconv.Itoa(i)+"/items/*/detail", []string{"GET"})
	}
	trie.Add(1000, "/**", nil)
	method, path := []byte("GET"), []byte("/svc517/items/42/detail")
	b.ReportAllocs()
	for b.Loop() {
		if trie.Match(method, path) != 517 {
			b.Fatal("wrong route")
		}
	}
}

// TestMatchAllocs pins Match to no allocation: the data plane calls it on
// every request.
func TestMatchAllocs(t *testing.T) {
	var trie Trie
	trie.Add(0, "/posts/**", []string{"POST"})
	trie.Add(1, "/users/*/cards/*", nil)
	method, path := []byte("POST"), []byte("/users/7/cards/9")
	if n := testing.AllocsPerRun(100, func() { trie.Match(method, path) }); n != 0 {
		t.Errorf("Match allocations = %v, want 0", n)
	}
}

func TestEmptyMethodsMeansAny(t *testing.T) {
	var trie Trie
	trie.Add(0, "/a", []string{})
	if got := trie.Match([]byte("PATCH"), []byte("/a")); got != 0 {
		t.Errorf("Match(PATCH /a) with methods [] = %d, want 0", got)
	}
}

// TestMatchSpellings: spellings an upstream resolves to a route's path
// (another letter case, segment parameters) match the route too.
func TestMatchSpellings(t *testing.T) {
	var tr Trie
	tr.Add(0, "/posts/**", []string{"POST"})
	tr.Add(1, "/Users/*/Cards", nil)
	for _, p := range []string{"/posts", "/Posts", "/POSTS/", "/posts;x=1", "/posts%3B", "/posts;jsessionid=9/7", "/POSTS;a/b;c"} {
		want := 0
		if p == "/posts%3B" {
			want = -1 // an escaped ';' is part of the segment's name
		}
		if got := tr.Match([]byte("post"), []byte(p)); got != want {
			t.Errorf("Match(POST %s) = %d, want %d", p, got, want)
		}
	}
	if got := tr.Match([]byte("GET"), []byte("/users;v=1/7/CARDS")); got != 1 {
		t.Errorf("Match(GET /users;v=1/7/CARDS) = %d, want 1", got)
	}
}

func TestMatchLiteral(t *testing.T) {
	var tr Trie
	tr.Add(0, "/posts/*", nil)
	tr.Add(1, "/users/*/cards", nil)
	for _, c := range []struct {
		path         string
		cut, literal int
	}{
		{"/posts/7", 0, 0},
		{"/posts/;x", -1, 0},          // the segment is empty once its parameters are cut
		{"/posts/7;v=2", 0, 0},        // "7;v=2" is one segment either way
		{"/users;v=1/7/cards", 1, -1}, // "users;v=1" is not "users" to a literal reader
		{"/USERS/7/Cards;a", 1, -1},
	} {
		if got := tr.Match([]byte("GET"), []byte(c.path)); got != c.cut {
			t.Errorf("Match(%s) = %d, want %d", c.path, got, c.cut)
		}
		if got := tr.MatchLiteral([]byte("GET"), []byte(c.path)); got != c.literal {
			t.Errorf("MatchLiteral(%s) = %d, want %d", c.path, got, c.literal)
		}
	}
	method, path := []byte("GET"), []byte("/posts/;x")
	if n := testing.AllocsPerRun(100, func() { tr.MatchLiteral(method, path) }); n != 0 {
		t.Errorf("MatchLiteral allocations = %v, want 0", n)
	}
}

// TestDoubleStarsOnALongPath: several '**' against a path of hundreds of
// segments match as they should. Each '**' is walked once from a given
// place, so this takes microseconds; tried every way, it took minutes.
func TestDoubleStarsOnALongPath(t *testing.T) {
	var tr Trie
	tr.Add(0, "/**/a/**/a/**/a/**/b", nil)
	tr.Add(1, "/**/a/**/a/**/a/**/c", []string{"PUT"})
	long := strings.Repeat("/a", 600)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", long, -1},
		{"GET", long + "/b", 0},
		{"GET", long + "/c", -1},
		{"PUT", long + "/c", 1},
		{"GET", "/a/a/b", -1},
		{"GET", "/x/a/y/a/z/a/w/b", 0},
	} {
		if got := tr.Match([]byte(c.method), []byte(c.path)); got != c.want {
			t.Errorf("Match(%s %.40s…) = %d, want %d", c.method, c.path, got, c.want)
		}
	}
	method, path := []byte("GET"), []byte(strings.Repeat("/a", 200)+"/b") // under 512 bytes
	if n := testing.AllocsPerRun(10, func() { tr.Match(method, path) }); n != 0 {
		t.Errorf("Match allocations = %v, want 0", n)
	}
}

// TestManyDoubleStars: a trie with more '**' than the stack array holds
// matches as one with few.
func TestManyDoubleStars(t *testing.T) {
	var tr Trie
	for i := range 40 {
		tr.Add(i, "/**/x"+strconv.Itoa(i)+"/**/y", nil)
	}
	long := strings.Repeat("/a", 300)
	for _, c := range []struct {
		path string
		want int
	}{
		{long + "/x7" + long + "/y", 7},
		{"/x39/y", 39},
		{long + "/x7" + long, -1},
		{"/x40/y", -1},
	} {
		for range 3 { // the pooled marks are reused
			if got := tr.Match([]byte("GET"), []byte(c.path)); got != c.want {
				t.Errorf("Match(%.30s…) = %d, want %d", c.path, got, c.want)
			}
		}
	}
}
