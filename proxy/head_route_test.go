package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestHeadFollowsGetRoute: upstreams answer HEAD with the GET handler
// (Go's ServeMux, Express, Rails), so a route for GET must cover HEAD:
// otherwise a HEAD escapes the GET route's response rule and its answer
// carries the upstream's ETag and digests of the plaintext the rule
// encrypts, and the Cache-Control that lets a shared cache keep it.
func TestHeadFollowsGetRoute(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", func(n int, req *fasthttp.Request) []byte {
		if req.Header.IsHead() {
			return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\nETag: \"md5-of-plaintext\"\r\nContent-MD5: bWQ1\r\nCache-Control: public, max-age=600\r\n\r\n")
		}
		return rtAnswer(200, "application/json", `{"ssn":"123-45-6789"}`, `ETag: "md5-of-plaintext"`)
	})
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"GET"}, Path: "/people/*",
		Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	key := e.key(p.ID, keystore.KeyInput{})
	for _, method := range []string{"HEAD", "head"} {
		r := e.do(method, "/proxy/"+p.ID+"/people/1", "", HeaderAuthorization, key)
		if r.header["Etag"] != "" || r.header["Content-Md5"] != "" || r.header["Cache-Control"] != "private, no-store" {
			t.Errorf("%s on a GET route = %d %q: the upstream's validators and caching passed, the route's response rule did not apply", method, r.status, r.header)
		}
		if got := up.last(t).header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("%s on a GET route went upstream with Accept-Encoding %q, want identity (the response phase's)", method, got)
		}
	}
	// A route that names HEAD itself, or no method, is unchanged; a HEAD
	// still does not match a route for POST only.
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"POST"}, Path: "/orders/*",
		Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("HEAD", "/proxy/"+p.ID+"/orders/1", "", HeaderAuthorization, key); r.header["Etag"] == "" {
		t.Errorf("HEAD on a POST-only route = %q, want no route applied (the upstream's ETag kept)", r.header)
	}
}
