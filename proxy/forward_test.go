package proxy

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestForwardRequestHeaders checks what reaches the upstream: no
// X-Qanapi-* header in any letter case, no hop-by-hop header nor one named
// in Connection; every other header unchanged; X-Forwarded-* set;
// Content-Length of the transformed body.
func TestForwardRequestHeaders(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api")
	mustClass(t, e.store, p.ID, "pii")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789","name":"Ann"}`
	chunked := strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
	cases := []struct {
		name  string
		lines []string // headers of the request, without the status line, Host and body
		body  string   // as framed on the wire
	}{
		{"content-length", []string{"Content-Length: " + strconv.Itoa(len(body))}, body},
		{"chunked", []string{"Transfer-Encoding: chunked", "Trailer: X-Checksum", "TE: trailers"}, chunked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := []string{
				rtStatusLine("POST", "/proxy/"+p.ID+"/people?src=app"),
				"Host: sdproxy.example",
				"X-Qanapi-Authorization: " + key,
				"x-qanapi-fields: ssn",
				"X-QANAPI-MODE: encrypt",
				"x-QaNaPi-geofence: eu-west",
				"X-Qanapi-Classification: pii",
				"Connection: keep-alive, X-Drop-Me",
				"Connection: x-drop-me-too",
				"X-Drop-Me: drop-value",
				"X-Drop-Me-Too: drop-too-value",
				"Keep-Alive: timeout=5",
				"Proxy-Authorization: Basic cHJveHk6c2VjcmV0",
				"Proxy-Connection: keep-alive",
				"Upgrade: websocket",
				"Authorization: Bearer upstream-token",
				"Cookie: session=abc; theme=dark",
				"User-Agent: client/1.0",
				"Accept: application/json",
				"X-Custom: keep-me",
				"X-Multi: one",
				"X-Multi: two",
				"X-Forwarded-For: 198.51.100.1",
				"X-Forwarded-For: 198.51.100.2",
				"X-Forwarded-Proto: https",
				"X-Forwarded-Host: spoofed.example",
				"Content-Type: application/json",
			}
			lines = append(append(lines, tc.lines...), "", tc.body)
			r := e.raw(lines...)
			if r.status != 200 {
				t.Fatalf("POST = %d %s, want 200", r.status, r.body)
			}
			got := up.last(t)
			wire := strings.ToLower(string(up.wireSince(0)))
			for _, banned := range []string{"x-qanapi", "custom-value", "eu-west", key, "keep-alive", "timeout=5",
				"proxy-authorization", "cHJveHk6c2VjcmV0", "websocket", "x-drop-me", "drop-value", "drop-too-value",
				"transfer-encoding", "trailer", "x-checksum", "\r\nte:", "\r\nupgrade:", "\r\nconnection:", "123-45-6789"} {
				if strings.Contains(wire, strings.ToLower(banned)) {
					t.Errorf("the upstream received %q, want it stripped; wire:\n%s", banned, wire)
				}
			}
			want := map[string][]string{
				"Authorization":     {"Bearer upstream-token"},
				"Cookie":            {"session=abc; theme=dark"},
				"User-Agent":        {"client/1.0"},
				"Accept":            {"application/json"},
				"X-Custom":          {"keep-me"},
				"X-Multi":           {"one", "two"},
				"Content-Type":      {"application/json"},
				"X-Forwarded-For":   {"198.51.100.1, 198.51.100.2, 203.0.113.7"},
				"X-Forwarded-Proto": {"http"},
				"X-Forwarded-Host":  {"sdproxy.example"},
				"Content-Length":    {strconv.Itoa(len(got.body))},
			}
			for name, values := range want {
				if g := got.header[name]; strings.Join(g, "\n") != strings.Join(values, "\n") {
					t.Errorf("upstream header %s = %q, want %q", name, g, values)
				}
			}
			if got.host != "up.test" {
				t.Errorf("upstream Host = %q, want up.test", got.host)
			}
			ssn := jsonField(t, got.body, "ssn")
			if !tokenRE.Match(ssn) || string(jsonField(t, got.body, "name")) != `"Ann"` {
				t.Errorf("upstream body = %s, want ssn sealed and name unchanged", got.body)
			}
		})
	}
}

// TestForwardResponse checks that the upstream's answer comes back as it
// is: status, body, headers but hop-by-hop ones.
func TestForwardResponse(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	const body = `{"id":7,"ssn":"kept as the upstream sent it"}`
	cases := []struct {
		name   string
		answer string
		status int
		body   string
	}{
		{"created", "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\nX-Up: yes\r\nSet-Cookie: a=b; Path=/\r\nSet-Cookie: c=d\r\nCache-Control: no-store\r\nServer: upstream/2\r\n" +
			"Connection: keep-alive, X-Resp-Drop\r\nConnection: X-Resp-Drop-Too\r\nX-Resp-Drop: gone\r\nX-Resp-Drop-Too: gone\r\n" +
			"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nX-Qanapi-Request-Id: upstream-id\r\n" +
			"X-Qanapi-Error-Code: decrypt_failed\r\nx-qanapi-untransformed: 0\r\nX-Qanapi-Anything: spoofed\r\n" +
			"RateLimit-Limit: 5\r\nRatelimit-Remaining: 4\r\nRATELIMIT-RESET: 9\r\n\r\n" + body, 201, body},
		{"chunked error", "HTTP/1.1 418 I'm a teapot\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Up: yes\r\n" +
			"Set-Cookie: a=b; Path=/\r\nSet-Cookie: c=d\r\nCache-Control: no-store\r\nServer: upstream/2\r\nConnection: X-Resp-Drop, X-Resp-Drop-Too\r\n" +
			"X-Resp-Drop: gone\r\nX-Resp-Drop-Too: gone\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n", 418, body},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host := "up" + strconv.Itoa(i) + ".test"
			e.upstream(host+":80", func(int, *fasthttp.Request) []byte { return []byte(tc.answer) })
			p := e.project("http://" + host)
			r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, e.key(p.ID, keystore.KeyInput{}))
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("GET = %d %s, want %d %s", r.status, r.body, tc.status, tc.body)
			}
			want := map[string]string{
				"X-Up": "yes", "Set-Cookie": "a=b; Path=/\nc=d", "Cache-Control": "no-store",
				"Server": "upstream/2", "Content-Type": "application/json", "Content-Length": strconv.Itoa(len(tc.body)),
			}
			for k, v := range want {
				if r.header[k] != v {
					t.Errorf("answer header %s = %q, want %q", k, r.header[k], v)
				}
			}
			for _, k := range []string{"X-Resp-Drop", "X-Resp-Drop-Too", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Transfer-Encoding"} {
				if v, ok := r.header[k]; ok {
					t.Errorf("answer header %s = %q, want it stripped", k, v)
				}
			}
			// No X-Qanapi-* header of the upstream's reaches the client
			// (a spoofed X-Qanapi-Error-Code would mislead it).
			for k, v := range r.header {
				if strings.HasPrefix(strings.ToLower(k), "x-qanapi-") && k != HeaderRequestID {
					t.Errorf("answer header %s = %q, want every upstream X-Qanapi-* header dropped", k, v)
				}
			}
			// The proxy's own headers, once: an upstream's copies are dropped.
			id := r.header[HeaderRequestID]
			if !strings.HasPrefix(id, "req_") || r.header["Ratelimit-Limit"] != "1048576" ||
				r.header["Ratelimit-Remaining"] == "" || r.header["Ratelimit-Reset"] == "" || strings.Contains(r.header["Ratelimit-Reset"], "\n") {
				t.Errorf("answer headers = %q, want the proxy's %s and RateLimit-*, once each", r.header, HeaderRequestID)
			}
		})
	}
}

// TestForwardDestination checks that an allowed X-Qanapi-Destination gets
// the request at exactly its URL, with default ports compared as such.
func TestForwardDestination(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	plain := e.upstream("dest.test:80", nil)
	alt := e.upstream("dest.test:8443", nil)
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api", "http://dest.test", "https://secure.test", "http://dest.test:8443")
	key := e.key(p.ID, keystore.KeyInput{})
	cases := []struct {
		name, dest string
		up         *rtUpstream
		want       string
	}{
		{"full URL", "http://dest.test/v2/people?id=1&x=%20", plain, "/v2/people?id=1&x=%20"},
		{"explicit default port", "http://dest.test:80/a", plain, "/a"},
		{"upper-case scheme and host", "HTTP://DEST.test/b", plain, "/b"},
		{"no path", "http://dest.test", plain, "/"},
		{"other allowed port", "http://dest.test:8443/c", alt, "/c"},
		{"spaces around", "  http://dest.test/d  ", plain, "/d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/proxy/"+p.ID+"/ignored", `{"ssn":"1"}`, HeaderAuthorization, key, HeaderDestination, tc.dest)
			got := tc.up.last(t)
			if r.status != 200 || got.uri != tc.want || got.method != "POST" {
				t.Errorf("POST with %s %q = %d %s, destination got %s %s, want 200 and POST %s", HeaderDestination, tc.dest, r.status, r.body, got.method, got.uri, tc.want)
			}
		})
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the project's upstream received %d bytes, want none: a destination replaces it", n)
	}
	// https://secure.test and https://secure.test:443 are the same origin:
	// both pass the allow-list and dial port 443 (no fake listens there,
	// so the answer is 502, never 403).
	for _, dest := range []string{"https://secure.test/x", "https://secure.test:443/x", "HTTPS://Secure.Test/x"} {
		r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key, HeaderDestination, dest)
		if r.status == 403 {
			t.Errorf("GET with %s %q = 403 %s, want it allowed", HeaderDestination, dest, r.body)
		}
		if d := e.dialed(); d[len(d)-1] != "secure.test:443" {
			t.Errorf("GET with %s %q dialled %v, want secure.test:443 last", HeaderDestination, dest, d)
		}
	}
}

// TestParseTargetMatchesOrigin checks that the proxy's origin of a URL is
// the one keystore.Origin stores for the allow-list, so the comparison is
// exact for every spelling.
func TestParseTargetMatchesOrigin(t *testing.T) {
	for _, u := range []string{
		"http://h", "http://h/", "http://h:80", "https://h", "https://h:443/x", "http://H.Example.COM/x",
		"http://h:8080/a?b#c", "https://h:8443", "http://[::1]/x", "http://[::1]:8080/x", "http://127.0.0.1:9/x",
		"http://h?x=1", "http://h#frag", "https://xn--caf-dma.example/",
	} {
		_, tg, ok := parseTarget(nil, []byte(u))
		want, wantOK := keystore.Origin(u)
		if ok != wantOK || string(tg.origin) != want {
			t.Errorf("parseTarget(%q) origin = %q %v, want %q %v as keystore.Origin", u, tg.origin, ok, want, wantOK)
		}
	}
	for _, u := range []string{"", "h", "/x", "ftp://h/", "http://", "http:///x", "http://u@h/", "http://u:p@h/", "http://h/a b", "http://h/\x01", "http://h/caf\xc3\xa9"} {
		if _, tg, ok := parseTarget(nil, []byte(u)); ok {
			t.Errorf("parseTarget(%q) = %q true, want false", u, tg.origin)
		}
	}
}

// TestForwardRetry checks that a request that is not idempotent is never
// sent twice, while an idempotent one may be retried once.
func TestForwardRetry(t *testing.T) {
	cases := []struct {
		method   string
		status   int // answer when the first attempt's connection is closed
		attempts int
	}{
		{"POST", 502, 1},
		{"PATCH", 502, 1},
		{"GET", 200, 2},
		{"PUT", 200, 2},
		{"DELETE", 200, 2},
	}
	for _, tc := range cases {
		t.Run(tc.method, func(t *testing.T) {
			e := newRTEnv(t, rtOptions{})
			up := e.upstream("flaky.test:80", func(n int, req *fasthttp.Request) []byte {
				if n == 1 {
					return nil // close the connection without answering
				}
				return rtOK(n, req)
			})
			p := e.project("http://flaky.test")
			r := e.do(tc.method, "/proxy/"+p.ID+"/orders", `{"amount":1}`, HeaderAuthorization, e.key(p.ID, keystore.KeyInput{}))
			if r.status != tc.status {
				t.Errorf("%s = %d %s, want %d", tc.method, r.status, r.body, tc.status)
			}
			if tc.status == 502 {
				rtErrorShape(t, tc.method, r, 502, "upstream_unreachable")
			}
			if n := len(up.requests()); n != tc.attempts {
				t.Errorf("%s reached the upstream %d times, want %d", tc.method, n, tc.attempts)
			}
		})
	}
	t.Run("GET twice closed", func(t *testing.T) {
		e := newRTEnv(t, rtOptions{})
		up := e.upstream("down.test:80", func(int, *fasthttp.Request) []byte { return nil })
		p := e.project("http://down.test")
		r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, e.key(p.ID, keystore.KeyInput{}))
		rtErrorShape(t, "GET", r, 502, "upstream_unreachable")
		if n := len(up.requests()); n != 2 {
			t.Errorf("GET reached the upstream %d times, want 2 (one retry)", n)
		}
	})
}

// TestForwardUnnormalisedNames runs the handler on a request whose header
// names were not normalised (a server with DisableHeaderNamesNormalizing):
// lower-case X-Qanapi-* headers must still be read, and never forwarded.
func TestForwardUnnormalisedNames(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.DisableNormalizing()
	req.Header.SetMethod("POST")
	req.SetRequestURI("/proxy/" + p.ID + "/x")
	req.Header.SetHost("sdproxy")
	req.Header.Set("x-qanapi-authorization", key)
	req.Header.Set("x-qanapi-fields", "ssn")
	req.Header.Set("x-qanapi-geofence", "eu-west")
	req.Header.SetContentType("application/json")
	req.SetBodyString(`{"ssn":"123-45-6789"}`)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, nil)
	e.data.Handler(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("Handler = %d %s, want 200", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	wire := bytes.ToLower(up.wireSince(0))
	if bytes.Contains(wire, []byte("x-qanapi")) || bytes.Contains(wire, []byte("123-45-6789")) {
		t.Errorf("the upstream received %s, want no x-qanapi header and ssn sealed", wire)
	}
	var got map[string]string
	if err := json.Unmarshal(up.last(t).body, &got); err != nil || !tokenRE.MatchString(got["ssn"]) {
		t.Errorf("upstream body = %s, want ssn sealed", up.last(t).body)
	}
}

// TestUpstreamClientsEvicted: as a project moves between upstreams and
// destinations, the clients and parsed URLs of ones no longer used are
// dropped once idle for 2 × IdleConnTimeout, so the maps do not grow.
func TestUpstreamClientsEvicted(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	const n = 5
	for i := range n {
		e.upstream("up"+strconv.Itoa(i)+".test:80", nil)
	}
	p := e.project("http://up0.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	for i := range n {
		up := "http://up" + strconv.Itoa(i) + ".test/api"
		if _, err := e.store.UpdateProject(p.ID, keystore.ProjectInput{Upstream: &up}); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key); r.status != 200 {
			t.Fatalf("GET through %s = %d %s, want 200", up, r.status, r.body)
		}
		if i < n-1 {
			e.clock.Advance(4 * time.Minute) // past 2 × the default 90 s idle time
		}
	}
	if c, u := e.data.upstreams.size(); c != 1 || u != 1 {
		t.Errorf("after moving through %d upstreams, %d clients and %d parsed URLs kept, want 1 and 1 (the one in use)", n, c, u)
	}
	// One still in use within the window is kept.
	e.clock.Advance(time.Minute)
	up := "http://up0.test/api"
	e.store.UpdateProject(p.ID, keystore.ProjectInput{Upstream: &up})
	if r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key); r.status != 200 {
		t.Fatalf("GET = %d %s, want 200", r.status, r.body)
	}
	if c, u := e.data.upstreams.size(); c != 2 || u != 2 {
		t.Errorf("with two upstreams used within the idle window, %d clients and %d parsed URLs kept, want 2 and 2", c, u)
	}
}
