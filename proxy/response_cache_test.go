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
			strings.Repeat("A", 80)+"-CDN-Cache-Control: max-age=600", "Cache Control: max-age=600",
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

// TestResponseEncryptClassScope: the tokens a response phase mints are of
// no classification, so a key limited to other classifications may not
// mint them, as it may not through a request.
func TestResponseEncryptClassScope(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `{"ssn":"123-45-6789"}`)
	})
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateClassification(p.ID, keystore.ClassificationInput{Slug: "pii"}); err != nil {
		t.Fatal(err)
	}
	piiOnly := e.key(p.ID, keystore.KeyInput{Classifications: []string{"pii"}})
	withNone := e.key(p.ID, keystore.KeyInput{Classifications: []string{"pii", keystore.NoClassification}})
	respEnc := []string{HeaderResponseFields, "ssn", HeaderResponseMode, "encrypt"}
	rtErrorShape(t, "encrypting a request as none with a pii-only key",
		e.do("POST", "/proxy/"+p.ID+"/x", `{"ssn":"1"}`, HeaderAuthorization, piiOnly, HeaderFields, "ssn"), 403, "permission_denied")
	before := len(up.requests())
	rtErrorShape(t, "encrypting an answer with a pii-only key",
		e.do("GET", "/proxy/"+p.ID+"/x", "", append([]string{HeaderAuthorization, piiOnly}, respEnc...)...), 403, "permission_denied")
	if len(up.requests()) != before {
		t.Error("the refused request reached the upstream")
	}
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/routed", Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	rtErrorShape(t, "a response encrypt rule with a pii-only key",
		e.do("GET", "/proxy/"+p.ID+"/routed", "", HeaderAuthorization, piiOnly), 403, "permission_denied")
	r := e.do("GET", "/proxy/"+p.ID+"/routed", "", HeaderAuthorization, withNone)
	if r.status != 200 || !strings.Contains(string(r.body), `"ssn":"qanapi:bm9uZQ:`) {
		t.Errorf("a response encrypt rule with a key allowed none = %d %s, want the ssn sealed as none", r.status, r.body)
	}
}
