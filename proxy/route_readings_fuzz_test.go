package proxy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/internal/routematch"
)

// FuzzRouteRank: routeRank never panics, and a path with nothing to read
// two ways gets exactly the trie's match.
func FuzzRouteRank(f *testing.F) {
	for _, s := range [][2]string{
		{"/posts/7", "/posts/7"}, {"/posts/a/b", "/posts/a%2Fb"}, {"/posts/;x", "/posts/;x"},
		{"/po\u017fts/7#x", ""}, {"/posts%2F7", "/posts%252F7"}, {"/a/a/a/a/b", ""},
	} {
		f.Add(s[0], s[1])
	}
	var tr routematch.Trie
	for i, p := range []string{"/posts/*", "/posts/*/*", "/docs", "/p/a", "/p/*", "/**/a/**/b", "/x/**"} {
		tr.Add(i, p, nil)
	}
	method := []byte("GET")
	f.Fuzz(func(t *testing.T, path, raw string) {
		var rawB []byte
		if raw != "" {
			rawB = []byte(raw)
		}
		rank, ok := routeRank(&tr, method, []byte(path), rawB)
		if rank < -1 || rank > 6 {
			t.Fatalf("routeRank(%q, %q) = %d", path, raw, rank)
		}
		plain := !strings.ContainsAny(path, ";?#%") && ascii([]byte(path)) && !hasEscapedSlash(rawB)
		if want := tr.Match(method, []byte(path)); plain && (!ok || rank != want) {
			t.Fatalf("routeRank(%q, %q) = %d, %v; want the trie's %d", path, raw, rank, ok, want)
		}
	})
}

// FuzzUnderUpstream: what underUpstream keeps of a Location is its end,
// starting a path, query or fragment, so the rewritten line is
// /proxy/{id} and the rest of what the upstream sent.
func FuzzUnderUpstream(f *testing.F) {
	for _, s := range []string{"http://up.test/api/x", `http:\\up.test\api\x`, "//up.test/api", "/api?x", "https://u@UP.TEST.:443/api#f", "/\\evil.test/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		rest, ok := underUpstream([]byte(loc), "http://up.test/api")
		if !ok {
			return
		}
		if !bytes.HasSuffix([]byte(loc), rest) || !endsSegment(rest) {
			t.Fatalf("underUpstream(%q) = %q: not an end of it that starts a path, query or fragment", loc, rest)
		}
	})
}
