package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

func TestUnderUpstream(t *testing.T) {
	for _, c := range []struct {
		loc, upstream, rest string
		ok                  bool
	}{
		{"http://up.test/api/users/1", "http://up.test/api", "/users/1", true},
		{"HTTP://UP.test/api/users/1?x=1", "http://up.test/api/", "/users/1?x=1", true},
		{"http://up.test/api", "http://up.test/api", "", true},
		{"http://up.test/api?next=1", "http://up.test/api", "?next=1", true},
		{"//up.test/api/x", "http://up.test/api", "/x", true},
		{"/api/x#top", "http://up.test/api", "/x#top", true},
		{"/login", "http://up.test", "/login", true},
		{"http://up.test/login", "http://up.test", "/login", true},
		{"http://up.test.example/api/x", "http://up.test/api", "", false}, // another host
		{"http://up.test:81/api/x", "http://up.test/api", "", false},
		{"http://up.test/apix", "http://up.test/api", "", false},
		{"/other", "http://up.test/api", "", false},
		{"//evil.test/api/x", "http://up.test/api", "", false},
		{"/\\evil.test/api", "http://up.test", "", false}, // //evil.test to a browser
		{"users/1", "http://up.test/api", "", false},      // relative to the request: already under /proxy/{id}
		{"https://elsewhere.test/", "http://up.test", "", false},
		{"http://up.test:80/api/x", "http://up.test/api", "/x", true},
		{"https://up.test/api/x", "http://up.test/api", "/x", true}, // TLS ended in front of it
		{"https://up.test:8443/api/x", "http://up.test/api", "", false},
		{"http://up.test:8080/x", "http://up.test:8080", "/x", true},
		{"http://up.test/x", "http://up.test:8080", "", false},
		{"http://UP.TEST./api/x", "http://up.test/api", "/x", true},
		{"http://u:p@up.test/api/x", "http://up.test/api", "/x", true},
		{"http://up.test@evil.test/api/x", "http://up.test/api", "", false},
		{"http:\\\\up.test\\api\\x", "http://up.test/api", "\\x", true},
		{"/\\up.test/api/x", "http://up.test/api", "/x", true},
		{"ftp://up.test/api/x", "http://up.test/api", "", false},
		{"users:1", "http://up.test/api", "", false},
	} {
		rest, ok := underUpstream([]byte(c.loc), c.upstream)
		if ok != c.ok || string(rest) != c.rest {
			t.Errorf("underUpstream(%q, %q) = %q, %v, want %q, %v", c.loc, c.upstream, rest, ok, c.rest, c.ok)
		}
	}
}

// TestRedirectRelocated: a redirect to a place under the project's
// upstream comes back as the same place under /proxy/{id}, so that a
// client following a 307 sends its request (its key, the fields in
// plaintext) through sdproxy again, not to the upstream.
func TestRedirectRelocated(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var status int
	var loc string
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(status, "application/json", `{}`, "Location: "+loc, "Content-Location: "+loc)
	})
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, c := range []struct {
		status   int
		loc, out string
	}{
		{307, "http://up.test/api/users/1", "/proxy/" + p.ID + "/users/1"},
		{308, "/api/users/1?v=2", "/proxy/" + p.ID + "/users/1?v=2"},
		{301, "http://up.test/api", "/proxy/" + p.ID + "/"},
		{201, "http://up.test/api/users/2", "/proxy/" + p.ID + "/users/2"},
		{302, "https://login.example/", "https://login.example/"},
		{302, `http:\\up.test\api\users\1`, "/proxy/" + p.ID + "/users/1"},
		{200, "http://up.test/api/users/1", "http://up.test/api/users/1"}, // not a redirect: as sent
	} {
		status, loc = c.status, c.loc
		r := e.do("POST", "/proxy/"+p.ID+"/users", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key, HeaderFields, "ssn")
		if r.status != c.status || r.header["Location"] != c.out || r.header["Content-Location"] != c.out {
			t.Errorf("%d Location %s: got %d Location %q Content-Location %q, want %q", c.status, c.loc, r.status, r.header["Location"], r.header["Content-Location"], c.out)
		}
	}
}

// TestNoMadeUpContentType: a request or an answer without a Content-Type
// is forwarded without one (fasthttp would add application/octet-stream
// to the request and text/plain to the answer).
func TestNoMadeUpContentType(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	withType := false
	up := e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		if withType {
			return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		}
		return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	})
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.raw("POST /proxy/"+p.ID+"/x HTTP/1.1", "Host: s", HeaderAuthorization+": "+key, "Content-Length: 5", "", "hello")
	if r.status != 200 || r.header["Content-Type"] != "" {
		t.Errorf("answer without a Content-Type = %d, Content-Type %q; want none", r.status, r.header["Content-Type"])
	}
	if got := up.last(t).header.Get("Content-Type"); got != "" {
		t.Errorf("request without a Content-Type reached the upstream with %q", got)
	}
	withType = true
	r = e.raw("POST /proxy/"+p.ID+"/x HTTP/1.1", "Host: s", HeaderAuthorization+": "+key, "Content-Type: text/csv", "Content-Length: 5", "", "hello")
	if r.header["Content-Type"] != "application/json" || up.last(t).header.Get("Content-Type") != "text/csv" {
		t.Errorf("Content-Types sent were not kept: answer %q, request %q", r.header["Content-Type"], up.last(t).header.Get("Content-Type"))
	}
}

// TestRedirectEveryLocationLine: each Location line is rewritten, not
// only the first a client may not follow.
func TestRedirectEveryLocationLine(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(307, "application/json", `{}`, "Location: https://elsewhere.test/", "Location: http://up.test/api/x")
	})
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("POST", "/proxy/"+p.ID+"/users", `{}`, HeaderAuthorization, key)
	if want := "https://elsewhere.test/\n/proxy/" + p.ID + "/x"; r.status != 307 || r.header["Location"] != want {
		t.Errorf("307 with two Location lines = %d %q, want %q", r.status, r.header["Location"], want)
	}
}

// TestDestinationRedirectUnlinked: a destination's redirect (or 201)
// loses the Location and Content-Location lines that name the
// destination itself by an absolute or scheme-relative URL: a client
// following a 307 there would send its key and the plaintext of the
// fields sdproxy encrypted straight to the destination, and sdproxy
// cannot bring it back through itself. Relative places, other origins
// and answers that are not redirects keep them.
func TestDestinationRedirectUnlinked(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var status int
	var loc string
	e.upstream("up.test:80", nil)
	e.upstream("dest.test:443", nil)
	e.upstream("dest.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(status, "application/json", `{}`, "Location: "+loc, "Content-Location: "+loc)
	})
	p := e.project("http://up.test/api", "http://dest.test")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, c := range []struct {
		status   int
		loc, out string
	}{
		{307, "http://dest.test/v2/collect", ""},
		{308, "HTTP://DEST.TEST:80/v2/collect?x=1", ""},
		{302, "//dest.test/login", ""},
		{302, `http:\\dest.test\v2`, ""},
		{201, "http://dest.test/items/2", ""},
		{307, "/v2/collect", "/v2/collect"},                           // relative: to the proxy itself
		{302, "https://login.example/", "https://login.example/"},     // another origin, as for upstreams
		{307, "https://dest.test/v2", ""},                             // the same host, TLS in front of it
		{307, "http://dest.test:8080/v2", "http://dest.test:8080/v2"}, // another port: another origin
		{200, "http://dest.test/v2/collect", "http://dest.test/v2/collect"},
	} {
		status, loc = c.status, c.loc
		r := e.do("POST", "/proxy/"+p.ID+"/x", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key, HeaderFields, "ssn",
			HeaderDestination, "http://dest.test/collect")
		if r.status != c.status || r.header["Location"] != c.out || r.header["Content-Location"] != c.out {
			t.Errorf("%d Location %s: got %d Location %q Content-Location %q, want %q", c.status, c.loc, r.status, r.header["Location"], r.header["Content-Location"], c.out)
		}
	}
}
