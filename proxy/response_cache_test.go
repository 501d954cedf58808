package proxy

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestKeyDependentCacheHeaders: an answer the response phase transformed
// keeps no line of any header by which a cache would keep it, however
// many the upstream sent, and says private, no-store once.
func TestKeyDependentCacheHeaders(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var tok string
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `{"ssn":`+tok+`}`,
			"Cache-Control: public, max-age=600", "Cache-Control: s-maxage=600",
			"CDN-Cache-Control: public, max-age=600", "Cloudflare-CDN-Cache-Control: max-age=600",
			"Vercel-CDN-Cache-Control: max-age=600", "vercel-cdn-cache-control: max-age=60",
			"Surrogate-Control: max-age=600", "Edge-Control: cache-maxage=600", "X-Accel-Expires: 600",
			"Expires: Wed, 01 Jan 2031 00:00:00 GMT", "ETag: \"1\"", "X-Kept: 1")
	})
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"GET"}, Path: "/people/*",
		Response: &keystore.RoutePhase{Mode: "decrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	key := e.key(p.ID, keystore.KeyInput{})
	tok = e.seal(p.ID, key, `"123-45-6789"`)
	r := e.do("GET", "/proxy/"+p.ID+"/people/1", "", HeaderAuthorization, key)
	if r.status != 200 || !strings.Contains(string(r.body), "123-45-6789") {
		t.Fatalf("GET = %d %s, want the ssn decrypted", r.status, r.body)
	}
	if got := r.header["Cache-Control"]; got != "private, no-store" {
		t.Errorf("Cache-Control = %q, want one line: private, no-store", got)
	}
	for k, v := range r.header {
		switch lk := strings.ToLower(k); {
		case lk == "cache-control", lk == "x-kept", lk == "vary", lk == "content-type", lk == "content-length",
			lk == "date", lk == "server", strings.HasPrefix(lk, "x-qanapi-"), strings.HasPrefix(lk, "ratelimit"), lk == "server-timing":
		default:
			t.Errorf("header %s: %q passed on; want every caching header of the upstream's dropped", k, v)
		}
	}
	if r.header["X-Kept"] != "1" {
		t.Errorf("X-Kept = %q, want the upstream's other headers kept", r.header["X-Kept"])
	}
}
