package proxy

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestEncryptedAnswerValidators: with a response rule that encrypts, the
// upstream's answer holds the plaintext, so nothing derived from that
// plaintext may reach the client: not a digest of the body on the sealed
// answer, not the ETag or digest of a HEAD (or 304, or 204) answer, and
// no conditional request may turn the upstream's ETag into an oracle
// (304 when a guessed ETag of the plaintext matches, 200 otherwise).
func TestEncryptedAnswerValidators(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	const plainTag = `"md5-of-the-plaintext"`
	up := e.upstream("up.test:80", func(n int, req *fasthttp.Request) []byte {
		switch {
		case string(req.Header.Peek("If-None-Match")) == plainTag || string(req.Header.Peek("If-Match")) == "*x":
			return rtAnswer(304, "application/json", "", "ETag: "+plainTag, "Cache-Control: public, max-age=600")
		case req.Header.IsHead():
			return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\nETag: " + plainTag +
				"\r\nContent-MD5: bWQ1\r\nDigest: sha-256=abc\r\nCache-Control: public, max-age=600\r\nLast-Modified: Wed, 01 Jan 2025 00:00:00 GMT\r\n\r\n")
		case string(req.Header.Method()) == "PUT":
			return rtAnswer(204, "application/json", "", "ETag: "+plainTag, "Content-Digest: sha-256=:YWJj:")
		}
		return rtAnswer(200, "application/json", `{"ssn":"123-45-6789"}`, "ETag: "+plainTag, "Content-MD5: bWQ1",
			"Digest: sha-256=abc", "Content-Digest: sha-256=:YWJj:", "Repr-Digest: sha-256=:YWJj:", "X-Kept: 1")
	})
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/people/*",
		Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	key := e.key(p.ID, keystore.KeyInput{})
	path := "/proxy/" + p.ID + "/people/1"
	derived := []string{"Etag", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest", "Last-Modified"}
	check := func(what string, r response) {
		t.Helper()
		for _, h := range derived {
			if v, ok := r.header[h]; ok {
				t.Errorf("%s: %s: %q passed on, a value derived from the plaintext answer", what, h, v)
			}
		}
		if r.header["Cache-Control"] != "private, no-store" || !strings.Contains(r.header["Vary"], HeaderAuthorization) {
			t.Errorf("%s: Cache-Control %q, Vary %q; want private, no-store and Vary: %s, as the GET's", what,
				r.header["Cache-Control"], r.header["Vary"], HeaderAuthorization)
		}
	}

	r := e.do("GET", path, "", HeaderAuthorization, key)
	if r.status != 200 || !strings.Contains(string(r.body), `"ssn":"qanapi:`) || r.header["X-Kept"] != "1" {
		t.Fatalf("GET = %d %q %s, want the ssn sealed and other headers kept", r.status, r.header, r.body)
	}
	check("GET", r)
	check("HEAD", e.do("HEAD", path, "", HeaderAuthorization, key))
	check("PUT answered 204", e.do("PUT", path, "", HeaderAuthorization, key))

	n := len(up.requests())
	r = e.do("GET", path, "", HeaderAuthorization, key, "If-None-Match", plainTag)
	if r.status == 304 {
		t.Errorf("GET If-None-Match: <ETag of the plaintext> = 304: an oracle for guesses of the plaintext")
	}
	check("GET If-None-Match", r)
	r = e.do("GET", path, "", HeaderAuthorization, key, "If-Match", "*x")
	if r.status == 304 {
		t.Errorf("GET If-Match forwarded: the upstream's preconditions are an oracle")
	}
	for _, q := range up.requests()[n:] {
		for _, h := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
			if v := q.header.Get(h); v != "" {
				t.Errorf("the upstream got %s: %s on a %s whose answer the rule encrypts", h, v, q.method)
			}
		}
	}
}

// TestValidatorsKeptWhenNothingTransforms: an answer the response phase
// leaves to the upstream (a key that may not decrypt gets the tokens as
// they are) keeps its validators, and a write's preconditions still go
// upstream (If-Match guards against lost updates).
func TestValidatorsKeptWhenNothingTransforms(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", func(n int, req *fasthttp.Request) []byte {
		if string(req.Header.Peek("If-None-Match")) == `"t"` {
			return rtAnswer(304, "application/json", "", `ETag: "t"`)
		}
		return rtAnswer(200, "application/json", `{"ssn":"qanapi:x"}`, `ETag: "t"`)
	})
	p := e.project("http://up.test/api")
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/people/*",
		Response: &keystore.RoutePhase{Mode: "decrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	encOnly := e.key(p.ID, keystore.KeyInput{Permissions: []string{"encrypt"}})
	path := "/proxy/" + p.ID + "/people/1"
	if r := e.do("HEAD", path, "", HeaderAuthorization, encOnly); r.header["Etag"] != `"t"` {
		t.Errorf("HEAD with a key that decrypts nothing: ETag %q, want the upstream's", r.header["Etag"])
	}
	if r := e.do("GET", path, "", HeaderAuthorization, encOnly, "If-None-Match", `"t"`); r.status != 304 {
		t.Errorf("GET If-None-Match with a key that decrypts nothing = %d, want the upstream's 304", r.status)
	}
	full := e.key(p.ID, keystore.KeyInput{})
	e.do("PUT", path, `{"a":1}`, HeaderAuthorization, full, "If-Match", `"t"`)
	if got := up.last(t).header.Get("If-Match"); got != `"t"` {
		t.Errorf("PUT If-Match reached the upstream as %q, want it kept on a write", got)
	}
}
