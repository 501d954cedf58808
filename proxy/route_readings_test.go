package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/internal/routematch"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestRouteReadings: a path that an upstream may split or cut differently
// from sdproxy (an escaped slash, a segment of only ";parameters") still
// gets its route's rules, against a real net/http ServeMux upstream,
// which routes on the path as sent and keeps ';' in a segment.
func TestRouteReadings(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var mu sync.Mutex
	var stored []string
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/users/{id}/profile", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		stored = append(stored, r.PathValue("id")+" "+string(b))
		mu.Unlock()
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /api/partners/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","ssn":"123-45-6789"}`))
	})
	e.httpUpstream("up.test:80", mux)
	p := e.project("http://up.test/api")
	for _, in := range []keystore.RouteInput{
		{Methods: []string{"PUT"}, Path: "/users/*/profile", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}},
		{Methods: []string{"GET"}, Path: "/partners/*", Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}},
	} {
		if _, err := e.store.CreateRoute(p.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	key := e.key(p.ID, keystore.KeyInput{})
	for _, id := range []string{"42", "4%2F2", "4%2f2", ";x", "%3Bx", ";", "42;jsessionid=9"} {
		r := e.do("PUT", "/proxy/"+p.ID+"/users/"+id+"/profile", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key)
		if r.status != 200 {
			t.Errorf("PUT /users/%s/profile = %d %s, want 200", id, r.status, r.body)
			continue
		}
		mu.Lock()
		last := stored[len(stored)-1]
		mu.Unlock()
		if strings.Contains(last, "123-45-6789") || !strings.Contains(last, `"ssn":"qanapi:`) {
			t.Errorf("PUT /users/%s/profile: the upstream stored %s, want the ssn encrypted", id, last)
		}
		r = e.do("GET", "/proxy/"+p.ID+"/partners/"+id, "", HeaderAuthorization, key)
		if r.status != 200 || strings.Contains(string(r.body), "123-45-6789") {
			t.Errorf("GET /partners/%s = %d %s, want 200 with the ssn encrypted", id, r.status, r.body)
		}
	}

	// Two routes, one per reading: neither can be applied alone.
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"PUT"}, Path: "/users/*/*/profile", Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"card"}}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := len(stored)
	mu.Unlock()
	for _, id := range []string{"4%2F2", "a%2fb"} {
		r := e.do("PUT", "/proxy/"+p.ID+"/users/"+id+"/profile", `{"ssn":"123-45-6789","card":"4111"}`, HeaderAuthorization, key)
		rtErrorShape(t, "PUT /users/"+id+"/profile with a route for each reading", r, 400, "invalid_path")
	}
	mu.Lock()
	after := len(stored)
	mu.Unlock()
	if after != before {
		t.Errorf("the upstream got %d refused requests", after-before)
	}
	// One segment either way: the first route, as before.
	if r := e.do("PUT", "/proxy/"+p.ID+"/users/7/profile", `{"ssn":"123-45-6789","card":"4111"}`, HeaderAuthorization, key); r.status != 200 {
		t.Errorf("PUT /users/7/profile = %d %s, want 200", r.status, r.body)
	}
}

func TestRouteRankReadings(t *testing.T) {
	var tr routematch.Trie
	tr.Add(0, "/posts/*", nil)
	tr.Add(1, "/posts/*/*", nil)
	tr.Add(2, "/docs", nil)
	tr.Add(3, "/p/a", nil)
	tr.Add(4, "/p/*", nil)
	for _, c := range []struct {
		path, raw string
		rank      int
		ok        bool
	}{
		{"/posts/7", "/posts/7", 0, true},
		{"/posts/a/b", "/posts/a/b", 1, true},
		{"/posts/a/b", "/posts/a%2Fb", -1, false}, // 1 decoded, 0 as sent
		{"/posts/a/b", "", 1, true},               // forwarded decoded: one reading
		{"/posts/;x", "/posts/;x", 0, true},       // none once cut, "/posts/*" kept
		{"/posts/;x/7", "/posts/;x/7", 1, true},   // an empty segment cut
		{"/p/a;v=1", "/p/a;v=1", -1, false},       // "/p/a" cut, "/p/*" kept
		{"/p/a;v=1", "", -1, false},               // forwarded decoded: still both
		{"/docs;jsessionid=1", "/docs;jsessionid=1", 2, true},
		{"/poſts/7", "", 0, true},        // ſ: S to Java's equalsIgnoreCase
		{"/doKs", "", -1, true},          // the Kelvin sign is k: /doks
		{"/Pİ/a", "", -1, true},          // İ is i: /pi/a, no route
		{"/p/ıd", "/p/%C4%B1d", 4, true}, // dotless ı is I: /p/Id, "/p/*" either way
		{"/p/ȧ", "", 4, true},           // a combining dot stays: not /p/a

		{"/posts/7#/x", "/posts/7%23/x", 1, true}, // cut at '#' only fills a gap: /posts/*/*
		{"/posts%2F7", "/posts%252F7", 0, true},   // decoded twice: /posts/7
		{"/p/a%2Fb", "/p/a%252Fb", 4, true},       // "/p/*" first; decoded twice only fills a gap
		{"/posts/7?/x/y", "/posts/7%3F/x/y", 0, true},
		{"/docs#x", "/docs%23x", 2, true}, // "/docs" to a server that parses it again

		{"/docs/a/b", "/docs%2Fa%2Fb", -1, true}, // no reading matches
	} {
		var raw []byte
		if c.raw != "" {
			raw = []byte(c.raw)
		}
		if rank, ok := routeRank(&tr, []byte("GET"), []byte(c.path), raw); rank != c.rank && c.ok || ok != c.ok {
			t.Errorf("routeRank(%s, raw %s) = %d, %v, want %d, %v", c.path, c.raw, rank, ok, c.rank, c.ok)
		}
	}
	method := []byte("GET")
	for _, p := range [][2]string{{"/posts/a/b;x", "/posts/a%2Fb;x"}, {"/poſts/7#x", ""}} {
		path, raw := []byte(p[0]), []byte(p[1])
		if n := testing.AllocsPerRun(100, func() { routeRank(&tr, method, path, raw) }); n != 0 {
			t.Errorf("routeRank(%s) allocations = %v, want 0", path, n)
		}
	}
}

// TestRouteReadingsDecodeAgain: a dot segment behind an escaped slash is
// not forwarded as sent (an upstream that decodes without resolving dots
// would route /users/../cards to /users/{id}/cards), and a path escaped
// twice gets the rule of its twice-decoded reading.
func TestRouteReadingsDecodeAgain(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"PUT"}, Path: "/users/*/cards",
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"number"}}}); err != nil {
		t.Fatal(err)
	}
	key := e.key(p.ID, keystore.KeyInput{})
	for _, c := range []struct{ path, uri string }{
		{"/users%2F..%2Fcards", "/api/cards"},
		{"/users%2f%2e%2e%2fcards", "/api/cards"},
		{"/a/b%2F.%2Fc", "/api/a/b/c"},
	} {
		if r := e.do("PUT", "/proxy/"+p.ID+c.path, `{"number":"4111"}`, HeaderAuthorization, key); r.status != 200 {
			t.Fatalf("PUT %s = %d %s", c.path, r.status, r.body)
		}
		if got := up.last(t).uri; got != c.uri {
			t.Errorf("PUT %s reached the upstream as %s, want %s (resolved, as sdproxy matched it)", c.path, got, c.uri)
		}
	}
	if r := e.do("PUT", "/proxy/"+p.ID+"/users/7%252Fcards", `{"number":"4111"}`, HeaderAuthorization, key); r.status != 200 {
		t.Fatalf("PUT /users/7%%252Fcards = %d %s", r.status, r.body)
	}
	if got := up.last(t); strings.Contains(string(got.body), "4111") {
		t.Errorf("PUT /users/7%%252Fcards: the upstream got %s, want the number encrypted", got.body)
	}
}
