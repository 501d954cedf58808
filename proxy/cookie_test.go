package proxy

import (
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestCookieForwardedAsSent: the Cookie header reaches the upstream as
// the client sent it, though fasthttp would rewrite it (quotes dropped,
// a quoted ';' losing the cookie), with the rest of the request as
// usual: the upstream's Host, the fields encrypted, X-Forwarded-For.
func TestCookieForwardedAsSent(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var mu sync.Mutex
	var raw, uri, host, body string
	e.upstream("up.test:80", func(_ int, req *fasthttp.Request) []byte {
		mu.Lock()
		defer mu.Unlock()
		raw, uri, host, body = string(req.Header.RawHeaders()), string(req.RequestURI()), string(req.Host()), string(req.Body())
		return rtOK(0, req)
	})
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, c := range []struct {
		name  string
		lines []string
		want  string // the Cookie line the upstream gets; "" none
	}{
		{"plain", []string{"Cookie: a=1; b=2"}, "Cookie: a=1; b=2"},
		{"quoted", []string{`Cookie: JSESSIONID="quoted"; c="q;x"`}, `Cookie: JSESSIONID="quoted"; c="q;x"`},
		{"no space", []string{"Cookie: a=1;b=2;"}, "Cookie: a=1;b=2;"},
		{"two lines", []string{`Cookie: a="1"`, "Cookie: b=2"}, `Cookie: a="1"; b=2`},
		{"with Connection", []string{`Cookie: t="x y"`, "Connection: X-Hop", "X-Hop: 1"}, `Cookie: t="x y"`},
		{"none", nil, ""},
		{"a trailing NBSP", []string{"Cookie: a=\"1\"; b=2\u00a0"}, "Cookie: a=\"1\"; b=2\u00a0"},
		{"an empty line", []string{"Cookie: ", `Cookie: b="2"`}, `Cookie: b="2"`},
	} {
		req := []string{"POST /proxy/" + p.ID + "/users?x=1 HTTP/1.1", "Host: s", HeaderAuthorization + ": " + key, HeaderFields + ": ssn",
			"Content-Type: application/json", "Content-Length: 21"}
		req = append(append(req, c.lines...), "", `{"ssn":"123-45-6789"}`)
		r := e.raw(req...)
		if r.status != 200 {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
			continue
		}
		mu.Lock()
		got := raw
		if c.want == "" && strings.Contains(strings.ToLower(got), "cookie:") || c.want != "" && strings.Count(got, "Cookie:") != 1 || !strings.Contains(got, c.want+"\r\n") {
			t.Errorf("%s: the upstream got\n%s\nwant the line %q once", c.name, got, c.want)
		}
		if uri != "/api/users?x=1" || host != "up.test" || !strings.Contains(body, `"ssn":"qanapi:`) ||
			!strings.Contains(got, "X-Forwarded-For: ") || strings.Contains(got, "X-Hop") || strings.Contains(got, "Host: h\r\n") {
			t.Errorf("%s: the upstream got %s %s (Host %s), body %s, headers\n%s", c.name, "POST", uri, host, body, got)
		}
		mu.Unlock()
	}
}

// TestCookieEdges: a folded Cookie line keeps its continuation (as
// fasthttp joins it), and a Cookie that Connection names hop-by-hop is
// dropped whatever its spelling.
func TestCookieEdges(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	var mu sync.Mutex
	var raw string
	e.upstream("up.test:80", func(_ int, req *fasthttp.Request) []byte {
		mu.Lock()
		raw = string(req.Header.RawHeaders())
		mu.Unlock()
		return rtOK(0, req)
	})
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	got := func() string { mu.Lock(); defer mu.Unlock(); return raw }
	start := []string{"GET /proxy/" + p.ID + "/x HTTP/1.1", "Host: s", HeaderAuthorization + ": " + key}
	for _, fold := range []string{`Cookie: a="1"`, "Cookie: a=1"} {
		r := e.raw(append(start, fold, " b=2", "X-After: 1", "", "")...)
		if r.status != 200 {
			t.Fatalf("folded %q: %d %s", fold, r.status, r.body)
		}
		if !strings.Contains(got(), "b=2") || !strings.Contains(got(), "X-After: 1") {
			t.Errorf("folded %q: the upstream got\n%s\nwant the continuation b=2 kept", fold, got())
		}
	}
	for _, c := range []string{"a=1", `a="1"`} {
		if r := e.raw(append(start, "Connection: Cookie", "Cookie: "+c, "", "")...); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if strings.Contains(strings.ToLower(got()), "cookie:") {
			t.Errorf("Connection: Cookie with Cookie %s: the upstream got\n%s\nwant no Cookie", c, got())
		}
	}
}

// TestSetCookieLineLarge: a Cookie line over bufio's 4 KiB (the server
// reads 16 KiB of headers) is set as it is.
func TestSetCookieLineLarge(t *testing.T) {
	cookie := `s="` + strings.Repeat("v", 5000) + `"; c="q;x"`
	var h fasthttp.RequestHeader
	if !setCookieLine(&h, []byte(cookie)) {
		t.Fatal("setCookieLine refused a 5 KB Cookie")
	}
	if got := string(h.Header()); !strings.Contains(got, "Cookie: "+cookie+"\r\n") {
		t.Errorf("header = %.200q…, want the Cookie line as given", got)
	}
}
