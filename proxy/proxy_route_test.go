package proxy

import (
	"bytes"
	"compress/gzip"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

func TestProxyErrors(t *testing.T) {
	e := newRTEnv(t, rtOptions{maxBody: 4 << 10, timeout: 50 * time.Millisecond})
	up := e.upstream("up.test:80", nil)
	slow := e.upstream("slow.test:80", func(int, *fasthttp.Request) []byte {
		<-e.stop // blocks past the timeout; released on cleanup
		return nil
	})
	p := e.project("http://up.test/api", "http://up.test", "https://dest.test")
	other := e.project("http://up.test/other")
	mustClass(t, e.store, p.ID, "pii")
	key := e.key(p.ID, keystore.KeyInput{})
	encOnly := e.key(p.ID, keystore.KeyInput{Permissions: []string{"encrypt"}})
	otherKey := e.key(other.ID, keystore.KeyInput{})
	expiry := e.clock.Now().Add(time.Hour)
	expired := e.key(p.ID, keystore.KeyInput{ExpiresAt: &expiry})
	revoked := e.key(p.ID, keystore.KeyInput{})
	if _, err := e.store.RevokeKey(p.ID, rtKeyID(revoked)); err != nil {
		t.Fatal(err)
	}
	flipped := []byte(key)
	swapChar(flipped, len(flipped)-10)
	limited := e.projectIn(keystore.ProjectInput{RateLimit: &keystore.RateLimit{RequestsPerSecond: 0.25, Burst: 1}})
	limKey := e.key(limited.ID, keystore.KeyInput{})
	down := e.project("http://down.test")
	downKey := e.key(down.ID, keystore.KeyInput{})
	slowP := e.project("http://slow.test")
	slowKey := e.key(slowP.ID, keystore.KeyInput{})

	plain := e.seal(p.ID, key, `"123-45-6789"`)
	pii := e.seal(p.ID, key, `"123-45-6789"`, HeaderClassification, "pii")
	foreign := e.seal(other.ID, otherKey, `"123-45-6789"`)
	tampered := []byte(plain)
	swapChar(tampered, len(tampered)-8)
	e.clock.Advance(2 * time.Hour) // expired is now past its expiry

	auth := func(k string, more ...string) []string { return append([]string{HeaderAuthorization, k}, more...) }
	dec := func(more ...string) []string {
		return auth(key, append([]string{HeaderMode, "decrypt", HeaderFields, "ssn"}, more...)...)
	}
	enc := auth(key, HeaderFields, "ssn")
	pp := "/proxy/" + p.ID + "/things"
	deep := strings.Repeat(`{"a":`, 40) + `"x"` + strings.Repeat("}", 40)
	large := `{"ssn":"123-45-6789","pad":"` + strings.Repeat("x", 5<<10) + `"}`
	cases := []struct {
		name, method, path, body string
		headers                  []string
		prep                     func()
		status                   int
		code                     string
	}{
		{name: "no key", path: pp, status: 401, code: "unauthorized"},
		{name: "malformed key", path: pp, headers: auth("garbage"), status: 401, code: "unauthorized"},
		{name: "bad checksum", path: pp, headers: auth(string(flipped)), status: 401, code: "unauthorized"},
		{name: "unknown key", path: pp, headers: auth(rtForeignKey(t)), status: 401, code: "unauthorized"},
		{name: "revoked key", path: pp, headers: auth(revoked), status: 401, code: "unauthorized"},
		{name: "expired key", path: pp, headers: auth(expired), status: 401, code: "unauthorized"},
		{name: "other project's key", path: pp, headers: auth(otherKey), status: 401, code: "unauthorized"},
		{name: "unknown project", path: "/proxy/prj_000000000000/things", headers: auth(key), status: 401, code: "unauthorized"},
		{name: "empty project", path: "/proxy//things", headers: auth(key), status: 401, code: "unauthorized"},
		{name: "decrypt with encrypt-only key", path: pp, body: `{"ssn":` + plain + `}`, headers: auth(encOnly, HeaderMode, "decrypt", HeaderFields, "ssn"), status: 403, code: "permission_denied"},
		{name: "classification mismatch", path: pp, body: `{"ssn":` + pii + `}`, headers: dec(HeaderClassification, "phi"), status: 403, code: "classification_mismatch"},
		{name: "destination other host", path: pp, headers: auth(key, HeaderDestination, "http://evil.test/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination other port", path: pp, headers: auth(key, HeaderDestination, "http://up.test:8080/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination other scheme", path: pp, headers: auth(key, HeaderDestination, "https://up.test/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination https on port 80", path: pp, headers: auth(key, HeaderDestination, "https://up.test:80/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination with credentials", path: pp, headers: auth(key, HeaderDestination, "http://user:pw@up.test/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination with credentials of another host", path: pp, headers: auth(key, HeaderDestination, "http://up.test@evil.test/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination relative", path: pp, headers: auth(key, HeaderDestination, "/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination other scheme name", path: pp, headers: auth(key, HeaderDestination, "ftp://up.test/x"), status: 403, code: "destination_not_allowed"},
		{name: "destination with a space", path: pp, headers: auth(key, HeaderDestination, "http://up.test/a b"), status: 403, code: "destination_not_allowed"},
		{name: "invalid mode", path: pp, headers: auth(key, HeaderMode, "shred"), status: 400, code: "invalid_mode"},
		{name: "invalid classification", path: pp, headers: auth(key, HeaderClassification, "Not A Slug"), status: 400, code: "invalid_classification"},
		{name: "invalid json", path: pp, body: `{"ssn":`, headers: enc, status: 400, code: "invalid_json"},
		{name: "trailing garbage", path: pp, body: `{"ssn":"1"} x`, headers: enc, status: 400, code: "invalid_json"},
		{name: "too deep", path: pp, body: deep, headers: enc, status: 400, code: "invalid_json"},
		{name: "duplicate key", path: pp, body: `{"ssn":"1","ssn":"2"}`, headers: enc, status: 400, code: "invalid_json"},
		{name: "invalid fields", path: pp, body: `{"ssn":"1"}`, headers: auth(key, HeaderFields, "a..b"), status: 400, code: "invalid_fields"},
		{name: "empty field", path: pp, body: `{"ssn":"1"}`, headers: auth(key, HeaderFields, "ssn,,a"), status: 400, code: "invalid_fields"},
		{name: "body too large", path: pp, body: large, headers: enc, status: 413, code: "body_too_large"},
		{name: "compressed, unsupported coding", path: pp, body: `{"ssn":"1"}`, headers: auth(key, HeaderFields, "ssn", "Content-Encoding", "zstd"), status: 415, code: "unsupported_content_encoding"},
		{name: "compressed, not in its coding", path: pp, body: `{"ssn":"1"}`, headers: auth(key, HeaderFields, "ssn", "Content-Encoding", "gzip"), status: 400, code: "invalid_request"},
		{name: "not a token", path: pp, body: `{"ssn":"123-45-6789"}`, headers: dec(), status: 422, code: "not_a_token"},
		{name: "tampered token", path: pp, body: `{"ssn":` + string(tampered) + `}`, headers: dec(), status: 422, code: "decrypt_failed"},
		{name: "other project's token", path: pp, body: `{"ssn":` + foreign + `}`, headers: dec(), status: 422, code: "decrypt_failed"},
		{
			name: "rate limited", path: "/proxy/" + limited.ID, headers: auth(limKey),
			prep: func() {
				if r := e.do("GET", "/proxy/"+limited.ID, "", HeaderAuthorization, limKey); r.status != 200 {
					t.Fatalf("first request of the bucket = %d %s, want 200", r.status, r.body)
				}
			},
			status: 429, code: "rate_limited",
		},
		{name: "upstream unreachable", method: "POST", path: "/proxy/" + down.ID + "/x", body: `{}`, headers: auth(downKey), status: 502, code: "upstream_unreachable"},
		{name: "upstream timeout", method: "POST", path: "/proxy/" + slowP.ID + "/x", body: `{}`, headers: auth(slowKey), status: 504, code: "upstream_timeout"},
		{name: "upstream timeout of a GET", path: "/proxy/" + slowP.ID + "/x", headers: auth(slowKey), status: 504, code: "upstream_timeout"},
		{name: "unknown path", path: "/nope", status: 404, code: "not_found"},
		{name: "unknown path with a key", path: "/proxyfoo/" + p.ID, headers: auth(key), status: 404, code: "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.method == "" {
				tc.method = "GET"
				if tc.body != "" {
					tc.method = "POST"
				}
			}
			if tc.prep != nil {
				tc.prep()
			}
			before, slowBefore := up.wireLen(), len(slow.requests())
			r := e.do(tc.method, tc.path, tc.body, tc.headers...)
			what := tc.method + " " + tc.name
			rtErrorShape(t, what, r, tc.status, tc.code)
			if tc.status == 429 {
				if n, err := strconv.Atoi(r.header["Retry-After"]); err != nil || n < 1 {
					t.Errorf("%s Retry-After = %q, want whole seconds >= 1", what, r.header["Retry-After"])
				}
			}
			if got := up.wireSince(before); len(got) > 0 {
				t.Errorf("%s: the upstream received %q, want nothing", what, got)
			}
			if tc.code == "upstream_timeout" {
				if n := len(slow.requests()) - slowBefore; n != 1 {
					t.Errorf("%s: the slow upstream received %d requests, want 1 (a timeout is not retried)", what, n)
				}
			}
			if bytes.Contains(r.body, []byte("123-45-6789")) {
				t.Errorf("%s error body %s contains a field value", what, r.body)
			}
		})
	}
}

// TestProxyUnauthorizedIdentical checks that every authentication failure
// gives the same answer, byte for byte apart from the request id.
func TestProxyUnauthorizedIdentical(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	other := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	otherKey := e.key(other.ID, keystore.KeyInput{})
	expiry := e.clock.Now().Add(time.Minute)
	expired := e.key(p.ID, keystore.KeyInput{ExpiresAt: &expiry})
	revoked := e.key(p.ID, keystore.KeyInput{})
	if _, err := e.store.RevokeKey(p.ID, rtKeyID(revoked)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	flipped := []byte(key)
	swapChar(flipped, len(flipped)-10)
	cases := []struct{ name, path, key string }{
		{"missing", "/proxy/" + p.ID + "/x", ""},
		{"malformed", "/proxy/" + p.ID + "/x", "qk_nope"},
		{"bad checksum", "/proxy/" + p.ID + "/x", string(flipped)},
		{"unknown", "/proxy/" + p.ID + "/x", rtForeignKey(t)},
		{"revoked", "/proxy/" + p.ID + "/x", revoked},
		{"expired", "/proxy/" + p.ID + "/x", expired},
		{"other project", "/proxy/" + p.ID + "/x", otherKey},
		{"unknown project", "/proxy/prj_000000000000/x", key},
		{"bare unknown project", "/proxy/prj_000000000000", key},
	}
	var first, firstHeaders, firstName string
	for _, tc := range cases {
		var h []string
		if tc.key != "" {
			h = []string{HeaderAuthorization, tc.key}
		}
		r := e.do("POST", tc.path, `{"ssn":"1"}`, append(h, HeaderFields, "ssn")...)
		rtErrorShape(t, tc.name, r, 401, "unauthorized")
		id := r.header[HeaderRequestID]
		body := strings.Replace(string(r.body), id, "ID", 1)
		var names []string
		for k := range r.header {
			if k != "Date" {
				names = append(names, k+"="+strings.Replace(r.header[k], id, "ID", 1))
			}
		}
		slices.Sort(names)
		headers := strings.Join(names, "\n")
		if first == "" {
			first, firstHeaders, firstName = body, headers, tc.name
			continue
		}
		if body != first {
			t.Errorf("401 body for %s = %q, want %q as for %s", tc.name, body, first, firstName)
		}
		if headers != firstHeaders {
			t.Errorf("401 headers for %s = %q, want %q as for %s", tc.name, headers, firstHeaders, firstName)
		}
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
}

func TestProxyDuplicateHeaders(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test", "http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	cases := []struct {
		name    string
		headers []string
		want    string // the header named in the message
	}{
		{"fields twice", []string{"X-Qanapi-Fields: ssn", "X-Qanapi-Fields: name"}, HeaderFields},
		{"fields empty then set", []string{"X-Qanapi-Fields:", "X-Qanapi-Fields: ssn"}, HeaderFields},
		{"mode in two cases", []string{"X-Qanapi-Mode: encrypt", "x-qanapi-mode: decrypt"}, HeaderMode},
		{"mode upper case twice", []string{"X-QANAPI-MODE: encrypt", "X-QANAPI-MODE: encrypt"}, HeaderMode},
		{"key twice", []string{"x-qanapi-authorization: " + key}, HeaderAuthorization},
		{"classification twice", []string{"X-Qanapi-Classification: pii", "X-Qanapi-Classification: phi"}, HeaderClassification},
		{"destination twice", []string{"X-Qanapi-Destination: http://up.test/a", "X-QaNaPi-DeStInAtIoN: http://up.test/b"}, HeaderDestination},
		{"geofence twice", []string{"X-Qanapi-Geofence: eu", "X-Qanapi-Geofence: us"}, HeaderGeofence},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := []string{rtStatusLine("POST", "/proxy/"+p.ID+"/x"), "Host: sdproxy", HeaderAuthorization + ": " + key, "Content-Type: application/json"}
			lines = append(lines, tc.headers...)
			lines = append(lines, "Content-Length: 13", "", `{"ssn":"123"}`)
			before := up.wireLen()
			r := e.raw(lines...)
			rtErrorShape(t, tc.name, r, 400, "invalid_request")
			if !bytes.Contains(r.body, []byte(tc.want)) {
				t.Errorf("%s body = %s, want it to name %s", tc.name, r.body, tc.want)
			}
			if n := up.wireLen() - before; n != 0 {
				t.Errorf("%s: the upstream received %d bytes, want none", tc.name, n)
			}
		})
	}
}

func TestProxyMethodPathQuery(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	respond := func(_ int, req *fasthttp.Request) []byte {
		if req.Header.IsHead() {
			return []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n")
		}
		return rtOK(0, req)
	}
	up := e.upstream("up.test:80", respond)
	root := e.upstream("root.test:80", respond)
	api := e.project("http://up.test/api")
	bare := e.project("http://root.test")
	apiKey := e.key(api.ID, keystore.KeyInput{})
	bareKey := e.key(bare.ID, keystore.KeyInput{})
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "POST"} {
		t.Run(method, func(t *testing.T) {
			body := ""
			if method == "PUT" || method == "PATCH" || method == "POST" {
				body = `{"name":"Ann","n":1}`
			}
			r := e.do(method, "/proxy/"+api.ID+"/a/b?x=1&y=2", body, HeaderAuthorization, apiKey)
			got := up.last(t)
			if r.status != 200 || got.method != method || got.uri != "/api/a/b?x=1&y=2" || string(got.body) != body {
				t.Errorf("%s /proxy/{p}/a/b?x=1&y=2 = %d, upstream got %s %s %q, want 200 and %s /api/a/b?x=1&y=2 %q",
					method, r.status, got.method, got.uri, got.body, method, body)
			}
			if method != "HEAD" && string(r.body) != `{"upstream":"ok"}` {
				t.Errorf("%s answer body = %s, want the upstream's", method, r.body)
			}
			if method == "HEAD" && (len(r.body) != 0 || r.header["Content-Length"] != "17" || r.header["Connection"] == "close") {
				t.Errorf("HEAD answer = %q %q, want no body, the upstream's Content-Length 17 and a kept connection", r.header, r.body)
			}
		})
	}
	cases := []struct {
		name, path, key string
		up              *rtUpstream
		want            string // request target at the upstream
	}{
		{"base path", "/proxy/" + api.ID + "/a/b?x=1&y=2", apiKey, up, "/api/a/b?x=1&y=2"},
		{"no base path", "/proxy/" + bare.ID + "/a/b?x=1&y=2", bareKey, root, "/a/b?x=1&y=2"},
		{"root with base path", "/proxy/" + api.ID + "/", apiKey, up, "/api/"},
		{"root", "/proxy/" + bare.ID + "/", bareKey, root, "/"},
		{"root with query", "/proxy/" + bare.ID + "/?q=a%20b", bareKey, root, "/?q=a%20b"},
		{"trailing slash kept", "/proxy/" + api.ID + "/a/", apiKey, up, "/api/a/"},
		{"escaped space", "/proxy/" + api.ID + "/files/a%20b", apiKey, up, "/api/files/a%20b"},
		{"escaped question mark stays in the path", "/proxy/" + api.ID + "/q%3Fadmin=1", apiKey, up, "/api/q%3Fadmin=1"},
		{"escaped hash stays in the path", "/proxy/" + api.ID + "/a%23b?x=1", apiKey, up, "/api/a%23b?x=1"},
		{"escaped slash kept", "/proxy/" + api.ID + "/repos/a%2Fb", apiKey, up, "/api/repos/a%2Fb"},
		{"dot segments resolved", "/proxy/" + api.ID + "/a/./b/../c", apiKey, up, "/api/a/c"},
		{"empty segments removed", "/proxy/" + api.ID + "//a//b", apiKey, up, "/api/a/b"},
		{"dot file", "/proxy/" + api.ID + "/.well-known/x%20y", apiKey, up, "/api/.well-known/x%20y"},
		{"encoded project id", "/proxy/" + strings.Replace(api.ID, "p", "%70", 1) + "/a%2Fb", apiKey, up, "/api/a/b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, "", HeaderAuthorization, tc.key)
			got := tc.up.last(t)
			if r.status != 200 || got.uri != tc.want {
				t.Errorf("GET %s = %d %s, upstream got %s, want 200 and %s", tc.path, r.status, r.body, got.uri, tc.want)
			}
			if len(got.header["X-Injected"]) > 0 {
				t.Errorf("GET %s: the upstream got header X-Injected, want it inside the escaped path", tc.path)
			}
		})
	}
	t.Run("raw non-ASCII path", func(t *testing.T) {
		r := e.raw(rtStatusLine("GET", "/proxy/"+api.ID+"/caf\xc3\xa9"), "Host: sdproxy", HeaderAuthorization+": "+apiKey, "", "")
		if got := up.last(t); r.status != 200 || got.uri != "/api/caf%C3%A9" {
			t.Errorf("GET /proxy/{p}/café = %d, upstream got %s, want 200 and /api/caf%%C3%%A9", r.status, got.uri)
		}
	})
	t.Run("absolute-form request target", func(t *testing.T) {
		r := e.raw(rtStatusLine("GET", "http://sdproxy/proxy/"+api.ID+"/a%2Fb?x=1"), "Host: sdproxy", HeaderAuthorization+": "+apiKey, "", "")
		if got := up.last(t); r.status != 200 || got.uri != "/api/a%2Fb?x=1" {
			t.Errorf("GET http://sdproxy/proxy/{p}/a%%2Fb?x=1 = %d, upstream got %s, want 200 and /api/a%%2Fb?x=1", r.status, got.uri)
		}
	})
	t.Run("encoded dot-dot cannot leave the project", func(t *testing.T) {
		before := up.wireLen()
		r := e.do("GET", "/proxy/"+api.ID+"/%2e%2e/%2e%2e/admin", "", HeaderAuthorization, apiKey)
		if r.status != 404 && r.status != 401 || up.wireLen() != before {
			t.Errorf("GET /proxy/{p}/%%2e%%2e/%%2e%%2e/admin = %d %s, upstream got %d bytes, want 401 or 404 and nothing", r.status, r.body, up.wireLen()-before)
		}
	})
}

// TestProxyBarePath checks that /proxy/{p} without a trailing path never
// reaches the upstream but answers 200 with the transformed body.
func TestProxyBarePath(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, path := range []string{"/proxy/" + p.ID, "/proxy/" + p.ID + "?x=1"} {
		for _, method := range []string{"POST", "PUT"} {
			r := e.do(method, path, `{"ssn":"123-45-6789","name":"Ann"}`, HeaderAuthorization, key, HeaderFields, "ssn", "Content-Type", "application/vnd.api+json")
			ssn := jsonField(t, r.body, "ssn")
			if r.status != 200 || !tokenRE.Match(ssn) || string(jsonField(t, r.body, "name")) != `"Ann"` {
				t.Errorf("%s %s = %d %s, want 200 with ssn sealed and name as it was", method, path, r.status, r.body)
			}
			if ct := r.header["Content-Type"]; ct != "application/vnd.api+json" {
				t.Errorf("%s %s Content-Type = %q, want the request's", method, path, ct)
			}
			if r.header["Ratelimit-Limit"] == "" || r.header[HeaderRequestID] == "" {
				t.Errorf("%s %s headers = %v, want RateLimit-* and %s", method, path, r.header, HeaderRequestID)
			}
		}
	}
	r := e.do("GET", "/proxy/"+p.ID, "", HeaderAuthorization, key)
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("GET /proxy/{p} = %d %q, want 200 and an empty body", r.status, r.body)
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
}

// TestProxyRevocation checks that a revoked key fails on the very next
// request.
func TestProxyRevocation(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	if r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key); r.status != 200 {
		t.Fatalf("before revocation = %d %s, want 200", r.status, r.body)
	}
	if _, err := e.store.RevokeKey(p.ID, rtKeyID(key)); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key)
	rtErrorShape(t, "GET after RevokeKey", r, 401, "unauthorized")
	if n := len(up.requests()); n != 1 {
		t.Errorf("the upstream received %d requests, want 1 (none after the revocation)", n)
	}
}

// rtLeakCases are written by hand: escapes, unicode, numbers, wildcards,
// arrays, overlapping paths.
var rtLeakCases = []rtCase{
	{`{"ssn":"123-45-6789","name":"Ann"}`, "ssn", []string{"123-45-6789"}},
	{`{"user":{"email":"ann@secret.example","tags":["vip-secret-tag"]}}`, "user.email, user.tags", []string{"ann@secret.example", "vip-secret-tag"}},
	{`{"items":[{"card":"4111111111111111"},{"card":"5500005555555559"},{"x":1}]}`, "items.*.card", []string{"4111111111111111", "5500005555555559"}},
	{`{"s":"\"quoted\" \\ back\/slash \u00e9t\u00e9 \ud83d\ude00"}`, "s", []string{`"quoted" \ back/slash été 😀`, `\"quoted\" \\ back\/slash \u00e9t\u00e9 \ud83d\ude00`, `quoted`, `été`}},
	{`{"n":-12345.678e+90,"m":123456789012345678901234567890}`, "n,m", []string{"-12345.678e+90", "123456789012345678901234567890"}},
	{`{"a":{"b":{"c":"deep-secret-value"}},"a.b":"dotted-secret-key"}`, `a, a.b.c, a\.b`, []string{"deep-secret-value", "dotted-secret-key"}},
	{`{"arr":[["nested-one","nested-two"],{"o":"nested-three"}]}`, "arr", []string{"nested-one", "nested-two", "nested-three"}},
	{`{"*":"star-key-secret","list":[0,"index-one-secret"]}`, `\*,list.1`, []string{"star-key-secret", "index-one-secret"}},
	{`{"obj":{"x":"obj-secret-x","y":[true,null,"obj-secret-y"]}}`, "*", []string{"obj-secret-x", "obj-secret-y"}},
	{`{"k":"ключ-секрет-значение"}`, "k", []string{"ключ-секрет-значение", `\u043a\u043b`}},
}

// TestProxyNoLeak is the no-leak property: on an encrypt request, no byte
// sequence of a named field's plaintext reaches the upstream (request
// line, headers, body), and decrypting what the upstream got gives back
// the document exactly. A body that cannot be transformed sends nothing
// upstream at all.
func TestProxyNoLeak(t *testing.T) {
	const maxBody = 16 << 10
	e := newRTEnv(t, rtOptions{maxBody: maxBody})
	up := e.upstream("up.test:80", nil)
	dest := e.upstream("dest.test:80", nil)
	p := e.project("http://up.test/api", "http://dest.test")
	key := e.key(p.ID, keystore.KeyInput{})
	g := &rtGen{r: rand.New(rand.NewPCG(1, 2))}
	cases := append([]rtCase(nil), rtLeakCases...)
	for range 300 {
		cases = append(cases, g.leakCase())
	}
	modes := []string{"", "encrypt", "ENCRYPT", " Encrypt "}
	inArray := 0
	defer func() {
		t.Logf("%d of %d random cases refused with field_in_array", inArray, len(cases)-len(rtLeakCases))
		if inArray > (len(cases)-len(rtLeakCases))/2 {
			t.Errorf("%d of %d random cases refused with field_in_array: too few exercise the transform", inArray, len(cases)-len(rtLeakCases))
		}
	}()
	for i, tc := range cases {
		name := "case " + strconv.Itoa(i)
		target, headers := up, []string{HeaderAuthorization, key, HeaderFields, tc.fields}
		if m := modes[i%len(modes)]; m != "" {
			headers = append(headers, HeaderMode, m)
		}
		if i%5 == 4 {
			target, headers = dest, append(headers, HeaderDestination, "http://dest.test/in?src="+strconv.Itoa(i))
		}
		before := target.wireLen()
		r := e.do("POST", "/proxy/"+p.ID+"/ingest?src=app", tc.doc, headers...)
		if r.status == 400 && r.header[HeaderErrorCode] == "field_in_array" && i >= len(rtLeakCases) {
			// A random path that names a key where the document has an
			// array of objects: refused, and nothing sent.
			if target.wireLen() != before {
				t.Fatalf("%s: refused with field_in_array, yet the upstream received bytes", name)
			}
			inArray++
			continue
		}
		if r.status != 200 {
			t.Fatalf("%s: POST %s with fields %q = %d %s, want 200", name, tc.doc, tc.fields, r.status, r.body)
		}
		wire := target.wireSince(before)
		for _, m := range tc.marks {
			if bytes.Contains(wire, []byte(m)) {
				t.Fatalf("%s: the upstream received %q of a named field (fields %q, doc %s):\n%s", name, m, tc.fields, tc.doc, wire)
			}
		}
		got := target.last(t).body
		back := e.do("POST", "/proxy/"+p.ID, string(got), HeaderAuthorization, key, HeaderFields, tc.fields, HeaderMode, "decrypt")
		if back.status != 200 || string(back.body) != tc.doc {
			t.Fatalf("%s: decrypt(what the upstream got) = %d %s, want 200 %s (fields %q)", name, back.status, back.body, tc.doc, tc.fields)
		}
	}
	// Compressed bodies are decoded, transformed and forwarded decoded:
	// no plaintext of a named field, no Content-Encoding upstream.
	for i, tc := range cases[:60] {
		before := up.wireLen()
		r := e.do("POST", "/proxy/"+p.ID+"/ingest", gzipString(tc.doc), HeaderAuthorization, key, HeaderFields, tc.fields, "Content-Encoding", "gzip")
		if r.status == 400 && r.header[HeaderErrorCode] == "field_in_array" && i >= len(rtLeakCases) {
			if up.wireLen() != before {
				t.Fatalf("case %d gzip: refused with field_in_array, yet the upstream received bytes", i)
			}
			continue
		}
		if r.status != 200 {
			t.Fatalf("case %d gzip: POST = %d %s, want 200", i, r.status, r.body)
		}
		wire := up.wireSince(before)
		for _, m := range tc.marks {
			if bytes.Contains(wire, []byte(m)) {
				t.Fatalf("case %d gzip: the upstream received %q of a named field:\n%s", i, m, wire)
			}
		}
		if h := up.last(t).header.Get("Content-Encoding"); h != "" {
			t.Errorf("case %d gzip: forwarded with Content-Encoding %q, want the body decoded and no coding", i, h)
		}
		back := e.do("POST", "/proxy/"+p.ID, string(up.last(t).body), HeaderAuthorization, key, HeaderFields, tc.fields, HeaderMode, "decrypt")
		if back.status != 200 || back.body == nil || string(back.body) != tc.doc {
			t.Fatalf("case %d gzip: decrypt(what the upstream got) = %d %s, want %s", i, back.status, back.body, tc.doc)
		}
	}
	// Bodies that cannot be transformed: nothing reaches the upstream.
	for i, tc := range cases[:60] {
		pad := `{"pad":"` + strings.Repeat("p", maxBody) + `",` + tc.doc[1:]
		bad := []struct {
			what, body string
			headers    []string
			status     int
		}{
			{"truncated", tc.doc[:len(tc.doc)-1], nil, 400},
			{"trailing garbage", tc.doc + `x`, nil, 400},
			{"too deep", strings.Repeat(`{"w":`, 33) + tc.doc + strings.Repeat("}", 33), nil, 400},
			{"duplicate key", `{"dup":1,"dup":2,` + tc.doc[1:], nil, 400},
			{"unsupported coding", tc.doc, []string{"Content-Encoding", "compress"}, 415},
			{"not in its coding", tc.doc, []string{"Content-Encoding", "br"}, 400},
			{"too large once decoded", gzipString(pad), []string{"Content-Encoding", "gzip"}, 413},
			{"too large", pad, nil, 413},
		}
		if tc.doc == "{}" {
			bad = bad[:0]
		}
		for _, b := range bad {
			before, destBefore, dials := up.wireLen(), dest.wireLen(), len(e.dialed())
			h := append([]string{HeaderAuthorization, key, HeaderFields, tc.fields, "Content-Type", "application/json"}, b.headers...)
			if i%2 == 1 {
				h = append(h, HeaderDestination, "http://dest.test/in")
			}
			r := e.do("POST", "/proxy/"+p.ID+"/ingest", b.body, h...)
			if r.status != b.status {
				t.Errorf("case %d %s: POST = %d %s, want %d", i, b.what, r.status, r.body, b.status)
			}
			if up.wireLen() != before || dest.wireLen() != destBefore || len(e.dialed()) != dials {
				t.Errorf("case %d %s: the upstream received %q, want nothing", i, b.what, up.wireSince(before))
			}
		}
	}
}

func gzipString(s string) string {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(s))
	zw.Close()
	return gz.String()
}

// TestProxyServerBodyLimit sends a body over the server's own limit
// (fasthttp refuses it before the handler): the answer is the same JSON
// 413 and nothing is forwarded. (That ServerErrorHandler's answers carry
// no request id is checked by TestAdminServerErrors.)
func TestProxyServerBodyLimit(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	r := e.raw(rtStatusLine("POST", "/proxy/"+p.ID+"/x"), "Host: sdproxy", HeaderAuthorization+": "+key, HeaderFields+": ssn",
		"Content-Type: application/json", "Content-Length: "+rtItoa(len(body)), "", body)
	if r.status != 413 || r.code() != "body_too_large" {
		t.Errorf("POST over the server's limit = %d %s %s, want 413 body_too_large", r.status, r.code(), r.body)
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
}
