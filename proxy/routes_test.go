package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// postStore is a fake JSON store upstream: POST /posts keeps the body and
// answers it; GET /posts/{n} answers the n-th body; GET /posts answers
// them all as an array. Its answers can be gzipped on request.
type postStore struct {
	mu    sync.Mutex
	posts []string
	gzip  bool
}

func (s *postStore) respond(_ int, req *fasthttp.Request) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := string(req.URI().Path())
	var body string
	switch {
	case req.Header.IsPost():
		s.posts = append(s.posts, string(req.Body()))
		body = string(req.Body())
	case path == "/api/posts":
		body = "[" + strings.Join(s.posts, ",") + "]"
	case strings.HasPrefix(path, "/api/posts/"):
		i := int(path[len(path)-1] - '1')
		if i < 0 || i >= len(s.posts) {
			return rtAnswer(404, "application/json", `{"error":"not found"}`)
		}
		body = s.posts[i]
	case path == "/api/page":
		return rtAnswer(200, "text/html", "<html>not json</html>")
	default:
		return rtAnswer(404, "application/json", `{"error":"not found"}`)
	}
	if s.gzip {
		return rtAnswer(200, "application/json", gzipString(body), "Content-Encoding: gzip")
	}
	return rtAnswer(200, "application/json", body)
}

func (s *postStore) stored() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.posts, "\n")
}

// routeEnv is a project whose upstream is a postStore, with the demo's
// routes and a key of each kind.
type routeEnv struct {
	*rtEnv
	store                      *postStore
	up                         *rtUpstream
	project                    keystore.Project
	full, masked, encOnly, dec string
	rec                        *auditRecorder
}

func newRouteEnv(t *testing.T) *routeEnv {
	rec := &auditRecorder{}
	e := &routeEnv{rtEnv: newRTEnv(t, rtOptions{events: rec}), store: &postStore{}, rec: rec}
	e.up = e.upstream("up.test:80", e.store.respond)
	e.project = e.rtEnv.project("http://up.test/api")
	for _, in := range []keystore.RouteInput{
		{Methods: []string{"POST", "PUT", "PATCH"}, Path: "/posts/**", Order: 10,
			Request:  &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"title", "body"}, Require: []string{"title"}},
			Response: &keystore.RoutePhase{Mode: "decrypt", Fields: []string{"title", "body"}}},
		{Methods: []string{"GET"}, Path: "/posts/**", Order: 20,
			Response: &keystore.RoutePhase{Mode: "decrypt", Fields: []string{"title", "body"}}},
		{Methods: []string{"GET"}, Path: "/page", Order: 30,
			Response: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"title"}}},
	} {
		if _, err := e.rtEnv.store.CreateRoute(e.project.ID, in); err != nil {
			t.Fatalf("CreateRoute = %v", err)
		}
	}
	e.full = e.key(e.project.ID, keystore.KeyInput{})
	e.masked = e.key(e.project.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecryptMasked}})
	e.encOnly = e.key(e.project.ID, keystore.KeyInput{Permissions: []string{keystore.PermEncrypt}})
	e.dec = e.key(e.project.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecrypt}})
	return e
}

const post1 = `{"userId":1,"title":"Sensitive title","body":"Sensitive body text"}`

// TestRoutesAppChangesOnlyItsBaseURL: a client that sends no X-Qanapi-*
// header but its key stores only ciphertext and reads plaintext back.
func TestRoutesAppChangesOnlyItsBaseURL(t *testing.T) {
	e := newRouteEnv(t)
	r := e.do("POST", "/proxy/"+e.project.ID+"/posts", post1, HeaderAuthorization, e.full, "Content-Type", "application/json")
	if r.status != 200 || string(r.body) != post1 {
		t.Fatalf("POST /posts = %d %s, want 200 and the post back in clear (response rule)", r.status, r.body)
	}
	if s := e.store.stored(); strings.Contains(s, "Sensitive") || strings.Count(s, "qanapi:") != 2 {
		t.Fatalf("the store holds %s, want title and body as tokens only", s)
	}
	if got := e.up.last(t).header.Get("Accept-Encoding"); got != "identity" {
		t.Errorf("Accept-Encoding upstream = %q, want identity when a response rule applies", got)
	}
	r = e.do("GET", "/proxy/"+e.project.ID+"/posts/1", "", HeaderAuthorization, e.full)
	if r.status != 200 || string(r.body) != post1 || r.header[HeaderUntransformed] != "0" {
		t.Errorf("GET /posts/1 = %d %s (untransformed %q), want the post in clear and X-Qanapi-Untransformed: 0", r.status, r.body, r.header[HeaderUntransformed])
	}
	e.do("POST", "/proxy/"+e.project.ID+"/posts", `{"title":"Second","body":"Two"}`, HeaderAuthorization, e.full)
	r = e.do("GET", "/proxy/"+e.project.ID+"/posts", "", HeaderAuthorization, e.full)
	if want := "[" + post1 + `,{"title":"Second","body":"Two"}]`; string(r.body) != want {
		t.Errorf("GET /posts (a list) = %s, want every element decrypted: %s", r.body, want)
	}

	// The events name the route and count the values of each phase.
	routes, _ := e.rtEnv.store.Routes(e.project.ID)
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	want := []recorded{
		{routes[0].ID, 2, 2, 0}, // POST: title and body sealed, and opened in the answer
		{routes[1].ID, 0, 2, 0}, // GET /posts/1
		{routes[0].ID, 2, 2, 0}, // second POST
		{routes[1].ID, 0, 4, 0}, // the list: two posts
	}
	if len(e.rec.recs) != len(want) {
		t.Fatalf("request records = %+v, want %+v", e.rec.recs, want)
	}
	for i, w := range want {
		if e.rec.recs[i] != w {
			t.Errorf("request record %d = %+v, want %+v", i, e.rec.recs[i], w)
		}
	}
}

// TestRoutesResponseFollowsTheKey: decrypt → plaintext, decrypt_masked →
// masked, neither → tokens; a key with only a read permission needs no
// encrypt permission to read.
func TestRoutesResponseFollowsTheKey(t *testing.T) {
	e := newRouteEnv(t)
	e.do("POST", "/proxy/"+e.project.ID+"/posts", post1, HeaderAuthorization, e.full)
	get := func(key string) map[string]any {
		r := e.do("GET", "/proxy/"+e.project.ID+"/posts/1", "", HeaderAuthorization, key)
		if r.status != 200 {
			t.Fatalf("GET with key = %d %s, want 200", r.status, r.body)
		}
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := get(e.dec); m["title"] != "Sensitive title" {
		t.Errorf("decrypt key sees title %v, want plaintext", m["title"])
	}
	if m := get(e.masked); m["title"] != "***********itle" || m["body"] != "***************text" {
		t.Errorf("decrypt_masked key sees %v, want all but the last 4 characters masked", m)
	}
	if m := get(e.encOnly); !strings.HasPrefix(m["title"].(string), "qanapi:") || m["userId"] != 1.0 {
		t.Errorf("encrypt-only key sees %v, want the tokens unchanged", m)
	}
}

// TestRoutesHeadersCannotWeaken: headers add fields but never remove a
// route's or change its mode; required paths are enforced.
func TestRoutesHeadersCannotWeaken(t *testing.T) {
	e := newRouteEnv(t)
	pp := "/proxy/" + e.project.ID + "/posts"
	rtErrorShape(t, "mode decrypt on an encrypt route", e.do("POST", pp, post1, HeaderAuthorization, e.full, HeaderMode, "decrypt"), 400, "route_conflict")
	rtErrorShape(t, "response mode encrypt on a decrypt route", e.do("POST", pp, post1, HeaderAuthorization, e.full, HeaderResponseMode, "encrypt"), 400, "route_conflict")
	rtErrorShape(t, "no title", e.do("POST", pp, `{"body":"x"}`, HeaderAuthorization, e.full), 422, "field_missing")
	rtErrorShape(t, "decrypt-only key on an encrypt route", e.do("POST", pp, post1, HeaderAuthorization, e.dec), 403, "permission_denied")
	if n := len(e.up.requests()); n != 0 {
		t.Fatalf("the upstream received %d requests, want none", n)
	}
	// X-Qanapi-Fields adds userId; the route's fields stay.
	r := e.do("POST", pp, post1, HeaderAuthorization, e.full, HeaderFields, "userId", HeaderMode, "encrypt")
	if r.status != 200 {
		t.Fatalf("POST with an added field = %d %s", r.status, r.body)
	}
	var stored map[string]any
	json.Unmarshal(e.up.last(t).body, &stored)
	for _, f := range []string{"title", "body", "userId"} {
		if s, _ := stored[f].(string); !strings.HasPrefix(s, "qanapi:") {
			t.Errorf("stored %s = %v, want a token", f, stored[f])
		}
	}
}

// TestRoutesUntransformedAndNonTokens: values that are not tokens pass;
// tokens that cannot be opened stay and are counted.
func TestRoutesUntransformedAndNonTokens(t *testing.T) {
	e := newRouteEnv(t)
	foreign := rtForeignKeyToken(t)
	e.store.posts = []string{`{"title":"written before the route","body":` + foreign + `}`}
	r := e.do("GET", "/proxy/"+e.project.ID+"/posts/1", "", HeaderAuthorization, e.full)
	if r.status != 200 || r.header[HeaderUntransformed] != "1" || !strings.Contains(string(r.body), `"written before the route"`) || !strings.Contains(string(r.body), foreign) {
		t.Errorf("GET = %d %s (untransformed %q), want the plain title as it was, the foreign token kept, X-Qanapi-Untransformed: 1", r.status, r.body, r.header[HeaderUntransformed])
	}
}

// rtForeignKeyToken seals a value in another store's project.
func rtForeignKeyToken(t *testing.T) string {
	other := newRTEnv(t, rtOptions{})
	p := other.project("")
	return other.seal(p.ID, other.key(p.ID, keystore.KeyInput{}), `"foreign"`)
}

// TestRoutesResponseEncryptRefusesNonJSON: a response rule that encrypts
// refuses an answer it cannot parse, passing nothing of it on.
func TestRoutesResponseEncryptRefusesNonJSON(t *testing.T) {
	e := newRouteEnv(t)
	r := e.do("GET", "/proxy/"+e.project.ID+"/page", "", HeaderAuthorization, e.full)
	rtErrorShape(t, "GET /page", r, 502, "response_not_transformable")
	if strings.Contains(string(r.body), "not json") || r.header["Content-Type"] != "application/json" {
		t.Errorf("answer = %q %v, want only the JSON error", r.body, r.header)
	}
}

// TestResponseFieldsHeader: without a route, X-Qanapi-Response-Fields
// decrypts an answer for one call.
func TestResponseFieldsHeader(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	tok := e.seal(p.ID, key, `"secret"`)
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `[{"ssn":`+tok+`},{"ssn":"plain"}]`)
	})
	r := e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseFields, "ssn")
	if string(r.body) != `[{"ssn":"secret"},{"ssn":"plain"}]` || r.header[HeaderUntransformed] != "0" {
		t.Errorf("GET with X-Qanapi-Response-Fields = %s, want the list decrypted", r.body)
	}
	r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseFields, "*.ssn")
	if string(r.body) != `[{"ssn":"secret"},{"ssn":"plain"}]` {
		t.Errorf("GET with X-Qanapi-Response-Fields *.ssn = %s, want the list decrypted too", r.body)
	}
	rtErrorShape(t, "response mode alone", e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseMode, "decrypt"), 400, "invalid_mode")
	// A key that may only read masked values reads through the header as
	// through a route: the request names nothing to transform, so it needs
	// no encrypt permission. Naming request fields still does.
	masked := e.key(p.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecryptMasked}})
	r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, masked, HeaderResponseFields, "ssn")
	if r.status != 200 || string(r.body) != `[{"ssn":"**cret"},{"ssn":"plain"}]` {
		t.Errorf("GET with a decrypt_masked key and X-Qanapi-Response-Fields = %d %s, want the list masked", r.status, r.body)
	}
	rtErrorShape(t, "decrypt_masked key naming request fields",
		e.do("POST", "/proxy/"+p.ID+"/people", `{"a":"x"}`, HeaderAuthorization, masked, HeaderFields, "a", HeaderResponseFields, "ssn"), 403, "permission_denied")
}

// TestRoutesCompressed: a gzip request is decoded, encrypted and forwarded
// uncompressed; a gzip answer is decoded and decrypted.
func TestRoutesCompressed(t *testing.T) {
	e := newRouteEnv(t)
	e.store.gzip = true
	r := e.do("POST", "/proxy/"+e.project.ID+"/posts", gzipString(post1), HeaderAuthorization, e.full, "Content-Encoding", "gzip")
	if r.status != 200 || string(r.body) != post1 || r.header["Content-Encoding"] != "" {
		t.Fatalf("gzip POST = %d %q (Content-Encoding %q), want the post in clear, uncompressed", r.status, r.body, r.header["Content-Encoding"])
	}
	if s := e.store.stored(); strings.Contains(s, "Sensitive") || e.up.last(t).header.Get("Content-Encoding") != "" {
		t.Errorf("the store got %s (Content-Encoding %q), want tokens, uncompressed", s, e.up.last(t).header.Get("Content-Encoding"))
	}
	r = e.do("GET", "/proxy/"+e.project.ID+"/posts/1", "", HeaderAuthorization, e.full)
	if r.status != 200 || string(r.body) != post1 || r.header["Content-Encoding"] != "" {
		t.Errorf("GET of a gzip answer = %d %q, want it decoded and decrypted", r.status, r.body)
	}
}

// TestRoutesGzipBomb: a request body that decodes to 64 MiB is refused at
// max_body_bytes, without the memory to hold it.
func TestRoutesGzipBomb(t *testing.T) {
	e := newRouteEnv(t)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte(`{"title":"`))
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := e.do("POST", "/proxy/"+e.project.ID+"/posts", gz.String(), HeaderAuthorization, e.full, "Content-Encoding", "gzip")
	runtime.ReadMemStats(&after)
	rtErrorShape(t, "64 MiB gzip bomb", r, 413, "body_too_large")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("refusing the bomb allocated %d MiB, want far less than what it decodes to (64 MiB)", grew>>20)
	}
	if n := len(e.up.requests()); n != 0 {
		t.Errorf("the upstream received %d requests, want none", n)
	}
}

// TestRoutesCannotBeEscaped: in a project with routes, spellings an
// upstream resolves to a route's path still get its rules, and what would
// send a request past them is refused (from a security review).
func TestRoutesCannotBeEscaped(t *testing.T) {
	e := newRouteEnv(t)
	pp := "/proxy/" + e.project.ID
	for _, path := range []string{"/Posts", "/POSTS/", "/posts;x=1", "/posts%3Bx=1", "/POSTS;jsessionid=1"} {
		before := len(e.up.requests())
		r := e.do("POST", pp+path, post1, HeaderAuthorization, e.full)
		if len(e.up.requests()) > before && strings.Contains(string(e.up.last(t).body), "Sensitive") {
			t.Errorf("POST %s = %d: the upstream received plaintext %s", path, r.status, e.up.last(t).body)
		}
	}
	// A key that equals a route field but for letter case would be read as
	// that field by Go's encoding/json or ASP.NET: refused.
	n0 := len(e.up.requests())
	rtErrorShape(t, "TITLE next to title", e.do("POST", pp+"/posts", `{"title":"x","TITLE":"Sensitive C"}`, HeaderAuthorization, e.full), 400, "ambiguous_field")
	if len(e.up.requests()) != n0 {
		t.Errorf("a refused body reached the upstream")
	}
	dests := []string{"http://up.test"}
	if _, err := e.rtEnv.store.UpdateProject(e.project.ID, keystore.ProjectInput{Destinations: &dests}); err != nil {
		t.Fatal(err)
	}
	n := len(e.up.requests())
	rtErrorShape(t, "destination in a routed project", e.do("POST", pp+"/other", post1, HeaderAuthorization, e.full, HeaderDestination, "http://up.test/api/posts"), 400, "route_conflict")
	rtErrorShape(t, "method override", e.do("GET", pp+"/posts", post1, HeaderAuthorization, e.full, "X-HTTP-Method-Override", "POST"), 400, "route_conflict")
	rtErrorShape(t, "method override with underscores", e.do("GET", pp+"/posts", post1, HeaderAuthorization, e.full, "X_HTTP_Method_Override", "POST"), 400, "route_conflict")
	for _, q := range []string{"_method=PUT", "_METHOD=PUT", "%5Fmethod=PUT", "x=1&_method%5B%5D=PUT", "_method;=PUT", ".method=PUT", "%5B_method%5D=PUT"} {
		rtErrorShape(t, "?"+q, e.do("POST", pp+"/other/7?"+q, post1, HeaderAuthorization, e.full), 400, "route_conflict")
	}
	// Laravel and Symfony also read _method from a POST's JSON body.
	for _, b := range []string{`{"_method":"PUT","title":"Sensitive"}`, `{"title":"Sensitive", "\u005fmethod" : "PUT"}`, `{"_m\u0065thod":"PATCH"}`} {
		rtErrorShape(t, b, e.do("POST", pp+"/other/7", b, HeaderAuthorization, e.full), 400, "route_conflict")
	}
	rtErrorShape(t, "gzip body with _method", e.do("POST", pp+"/other/7", gzipString(`{"_method":"PUT","title":"Sensitive"}`),
		HeaderAuthorization, e.full, "Content-Encoding", "gzip"), 400, "route_conflict")
	r2 := e.raw(rtStatusLine("POST", pp+"/other/7"), "Host: sdproxy.example", HeaderAuthorization+": "+e.full,
		"Content-Encoding: identity", "Content-Encoding: gzip", "Content-Length: "+strconv.Itoa(len(gzipString(`{"_method":"PUT"}`))),
		"", gzipString(`{"_method":"PUT"}`))
	rtErrorShape(t, "Content-Encoding twice", r2, 400, "invalid_request")
	rtErrorShape(t, "BOM before the body", e.do("POST", pp+"/other/7", "\xef\xbb\xbf"+`{"_method":"PUT"}`, HeaderAuthorization, e.full), 400, "route_conflict")
	for _, m := range []string{"post", "Post"} { // Symfony upper-cases the method before it looks
		rtErrorShape(t, m+" with _method", e.do(m, pp+"/other/7", `{"_method":"PUT"}`, HeaderAuthorization, e.full), 400, "route_conflict")
	}
	const form = "application/x-www-form-urlencoded"
	for _, b := range []string{"_method=PUT&title=Sensitive", "title=x&%5Fmethod=PUT", "_METHOD%5B%5D=PUT"} {
		rtErrorShape(t, "form "+b, e.do("POST", pp+"/other/7", b, HeaderAuthorization, e.full, "Content-Type", form), 400, "route_conflict")
	}
	multipart := "--XB\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nPUT\r\n" +
		"--XB\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nSensitive\r\n--XB--\r\n"
	rtErrorShape(t, "multipart _method", e.do("POST", pp+"/other/7", multipart, HeaderAuthorization, e.full,
		"Content-Type", "multipart/form-data; boundary=XB"), 400, "route_conflict")
	rtErrorShape(t, "X-Qanapi header with underscores", e.do("POST", pp+"/other", post1, HeaderAuthorization, e.full, "X_Qanapi_Fields", "title"), 400, "unknown_header")
	rtErrorShape(t, "X-Qanapi header with dots", e.do("POST", pp+"/other", post1, HeaderAuthorization, e.full, "X.Qanapi.Fields", "title"), 400, "unknown_header")
	if len(e.up.requests()) != n {
		t.Errorf("refused requests reached the upstream")
	}
	// Not a top-level member, or not a POST: forwarded as before, a
	// compressed body as it was sent.
	for _, c := range []struct{ method, body, enc string }{
		{"POST", `{"a":{"_method":"PUT"},"note":"_method"}`, ""},
		{"PUT", `{"_method":"PATCH"}`, ""},
		{"POST", gzipString(`{"a":1}`), "gzip"},
		{"POST", "payment_method=card&x=1", "form"},
	} {
		h := []string{HeaderAuthorization, e.full}
		switch c.enc {
		case "form":
			h = append(h, "Content-Type", "application/x-www-form-urlencoded")
		case "gzip":
			h = append(h, "Content-Encoding", c.enc)
		}
		before := len(e.up.requests())
		if r := e.do(c.method, pp+"/other/7", c.body, h...); len(e.up.requests()) == before {
			t.Errorf("%s %q = %d %s, want it forwarded", c.method, c.body, r.status, r.body)
		} else if got := e.up.last(t); string(got.body) != c.body {
			t.Errorf("%s %q reached the upstream as %q", c.method, c.body, got.body)
		}
	}
	// A decrypted answer depends on the key: no shared cache may keep it.
	e.store.posts = nil
	e.do("POST", pp+"/posts", post1, HeaderAuthorization, e.full)
	r := e.do("GET", pp+"/posts/1", "", HeaderAuthorization, e.full)
	if r.header["Cache-Control"] != "private, no-store" || !strings.Contains(r.header["Vary"], HeaderAuthorization) || r.header["Etag"] != "" {
		t.Errorf("decrypted answer headers = %v, want Cache-Control private, no-store, Vary: %s, no ETag", r.header, HeaderAuthorization)
	}
	// Minting tokens through a response rule needs the encrypt permission.
	rtErrorShape(t, "response mode against the route",
		e.do("GET", pp+"/posts/1", "", HeaderAuthorization, e.masked, HeaderResponseFields, "userId", HeaderResponseMode, "encrypt"), 400, "route_conflict")
	rtErrorShape(t, "response encrypt without the encrypt permission",
		e.do("GET", pp+"/unrouted", "", HeaderAuthorization, e.dec, HeaderMode, "decrypt", HeaderResponseFields, "userId", HeaderResponseMode, "encrypt"), 403, "permission_denied")
}

// TestArraysCannotCarryPlaintext: a body that is a list gets the route's
// and the header's fields in every element, as a list answer does; a path
// that names a key where the body has an array of objects is refused
// rather than forwarded with that key in clear (from a security review).
func TestArraysCannotCarryPlaintext(t *testing.T) {
	e := newRouteEnv(t)
	if _, err := e.rtEnv.store.CreateRoute(e.project.ID, keystore.RouteInput{Methods: []string{"POST"}, Path: "/bulk/**", Order: 5,
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"title", "user.email"}}}); err != nil {
		t.Fatal(err)
	}
	pp := "/proxy/" + e.project.ID
	for _, c := range []struct {
		name, path, body string
		hdr              []string
	}{
		{"route, list body", "/bulk", `[{"title":"Sensitive A","user":{"email":"Sensitive B"}},{"title":"Sensitive C"}]`, nil},
		{"header, list body", "/other", `[{"ssn":"Sensitive D"},{"ssn":"Sensitive E"}]`, []string{HeaderFields, "ssn"}},
		{"route and header, list body", "/bulk", `[{"title":"Sensitive F","note":"Sensitive G"}]`, []string{HeaderFields, "note"}},
		{"header with its own * form", "/other", `{"items":[{"card":"Sensitive H"}]}`, []string{HeaderFields, "items.card,items.*.card"}},
		{"header naming elements, 33 paths, list body", "/other", `[{"ssn":"Sensitive M"}]`, []string{HeaderFields, "*.ssn" + manyFields(32)}},
		{"header key with a comma, list body", "/other", `[{"a,b":"Sensitive N"}]`, []string{HeaderFields, `a\,b`}},
	} {
		r := e.do("POST", pp+c.path, c.body, append([]string{HeaderAuthorization, e.full}, c.hdr...)...)
		got := string(e.up.last(t).body)
		if r.status != 200 || strings.Contains(got, "Sensitive") || !strings.Contains(got, "qanapi:") {
			t.Errorf("%s: POST %s = %d %s; the upstream received %s, want every named value sealed", c.name, c.path, r.status, r.body, got)
		}
	}
	n := len(e.up.requests())
	for _, c := range []struct {
		name, path, body string
		hdr              []string
	}{
		{"header path through an array", "/other", `{"items":[{"card":"Sensitive I"}]}`, []string{HeaderFields, "items.card"}},
		{"deeper", "/other", `{"a":[{"b":[{"c":"Sensitive J"}]}]}`, []string{HeaderFields, "a.b.c"}},
		{"route path through an array", "/bulk", `{"user":[{"email":"Sensitive K"}]}`, nil},
		{"route path through a list body's array", "/bulk", `[{"user":[{"email":"Sensitive L"}]}]`, nil},
		{"array of arrays", "/other", `{"items":[[{"card":"Sensitive O"}]]}`, []string{HeaderFields, "items.card"}},
		{"array of arrays, list body", "/other", `[[{"ssn":"Sensitive P"}]]`, []string{HeaderFields, "ssn"}},
	} {
		r := e.do("POST", pp+c.path, c.body, append([]string{HeaderAuthorization, e.full}, c.hdr...)...)
		rtErrorShape(t, c.name, r, 400, "field_in_array")
	}
	if len(e.up.requests()) != n {
		t.Errorf("refused bodies reached the upstream")
	}
}

// manyFields returns ",f0,f1,…" with n paths.
func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(",f" + strconv.Itoa(i))
	}
	return b.String()
}

// TestRequireInEveryElement: a route's require applies in every element of
// a list body, as its fields do.
func TestRequireInEveryElement(t *testing.T) {
	e := newRouteEnv(t) // POST /posts/** requires title
	pp := "/proxy/" + e.project.ID
	r := e.do("POST", pp+"/posts", `[{"title":"Sensitive A","body":"Sensitive B"},{"title":"Sensitive C"}]`, HeaderAuthorization, e.full)
	if got := string(e.up.last(t).body); r.status >= 300 || strings.Contains(got, "Sensitive") || strings.Count(got, "qanapi:") != 3 {
		t.Errorf("POST a list of posts = %d %s; the upstream received %s, want 3 values sealed", r.status, r.body, got)
	}
	n := len(e.up.requests())
	for body, element := range map[string]string{
		`[{"title":"x"},{"body":"Sensitive D"}]`: "element 1 ",
		`[{"title":"x"},"Sensitive E"]`:          "element 1 ",
		`[[{"title":"x"}]]`:                      "element 0 ",
	} {
		r := e.do("POST", pp+"/posts", body, HeaderAuthorization, e.full)
		rtErrorShape(t, body, r, 422, "field_missing")
		if !strings.Contains(string(r.body), element) {
			t.Errorf("POST %s = %s, want it to name %q", body, r.body, element)
		}
	}
	if len(e.up.requests()) != n {
		t.Errorf("refused lists reached the upstream")
	}
}

func TestMayHoldMethodKey(t *testing.T) {
	for body, want := range map[string]bool{
		`{"_method":"PUT"}`:                    true,
		`{"a":1, "_method" :"PUT"}`:            true,
		`{"\u005fmethod":"PUT"}`:               true,
		`{"\u005Fmethod":"PUT"}`:               true,
		`{"_metho\u0064":"PUT"}`:               true,
		`{"_\u006Dethod":"PUT"}`:               true,
		`{"_me\u0074hod":"PUT"}`:               true,
		`{"payment_method":"card"}`:            false,
		`{"name":"Jos\u00e9 Garc\u00eda"}`:     false,
		`{"name":"\u00e9\u00e9\u00e9\u00e9\u0`: false,
		`{}`:                                   false,
	} {
		if got := mayHoldMethodKey([]byte(body)); got != want {
			t.Errorf("mayHoldMethodKey(%s) = %v, want %v", body, got, want)
		}
	}
}

// TestMethodOverrideInUnreadableBodies: in a project with routes, a POST
// whose body sdproxy cannot read for a _method override (a coding it
// does not decode, a corrupt stream, over max_body_bytes decoded) is
// refused rather than forwarded unread, and a compressed form is read
// decoded; a project without routes forwards such bodies as before.
func TestMethodOverrideInUnreadableBodies(t *testing.T) {
	e := newRouteEnv(t)
	pp := "/proxy/" + e.project.ID
	multipart := "--XB\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nPUT\r\n" +
		"--XB\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nSensitive\r\n--XB--\r\n"
	var deflated bytes.Buffer
	zw, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	zw.Write([]byte(multipart))
	zw.Close()
	bomb := gzipString(`{"title":"x","pad":"` + strings.Repeat("0", 11<<20) + `"}`)
	n := len(e.up.requests())
	for _, c := range []struct {
		what, body, enc, ct string
		status              int
		code                string
	}{
		{"gzip multipart with _method", gzipString(multipart), "gzip", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"deflate multipart with _method", deflated.String(), "deflate", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"gzip form with _method", gzipString("_method=PUT&title=Sensitive"), "gzip", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"a coding sdproxy does not decode", `{"_method":"PUT","title":"Sensitive"}`, "zstd", "application/json", 415, "unsupported_content_encoding"},
		{"a corrupt gzip stream", gzipString(`{"_method":"PUT","title":"Sensitive"}`)[:20], "gzip", "application/json", 400, "invalid_request"},
		{"over max_body_bytes decoded", bomb, "gzip", "application/json", 413, "body_too_large"},
		// Found by an attacker review: what one reader or another takes for
		// a _method part or field.
		{"a form starting with {", "{=x&_method=GET", "identity", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"a gzip header naming the override", gzipNamed("&_method=GET&", "title=hello"), "gzip", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"an unquoted name after a { preamble", "{\r\n--XB\r\nContent-Disposition: form-data; name=_method\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"another disposition type", "--XB\r\nContent-Disposition: inline; name=\"_method\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"name given twice", "--XB\r\nContent-Disposition: form-data; name=\"x\"; name=\"_method\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"a parameter Go cannot parse", "--XB\r\nContent-Disposition: form-data; name=\"_method\"; foo\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"two boundaries", "--XA--\r\n--XB\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XA; boundary=XB", 400, "route_conflict"},
		{"a part named in capitals", "--XB\r\nContent-Disposition: form-data; name=\"_METHOD\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"RFC 2231, every letter escaped", "--XB\r\nContent-Disposition: form-data; name*=UTF-8''%5F%6D%65%74%68%6F%64\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"RFC 2231 continuations", "--XB\r\nContent-Disposition: form-data; name*0=\"_me\"; name*1=\"thod\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"a folded header", "--XB\r\nContent-Disposition: form-data;\r\n name=\"_method\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		// Found by a second review: names as PHP and Rack rewrite them, a
		// part named by its Content-ID, other multipart types.
		{"PHP's .method", ".method=PUT", "identity", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"PHP's leading space", "+_method=PUT", "identity", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"Rack's [_method]", "%5B_method%5D=PUT", "identity", "application/x-www-form-urlencoded", 400, "route_conflict"},
		{"a part named .method", "--XB\r\nContent-Disposition: form-data; name=\".method\"\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"single quotes", "--XB\r\nContent-Disposition: form-data; name='_method'\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"an unquoted name and a word", "--XB\r\nContent-Disposition: form-data; name=_method x\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"a name after a quoted value without ;", "--XB\r\nContent-Disposition: form-data; x=\"a\" name=_method\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"a Content-ID", "--XB\r\nContent-ID: _method\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"multipart/mixed", "--XB\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\nPUT\r\n--XB--\r\n", "identity", "multipart/mixed; boundary=XB", 400, "route_conflict"},
		{"a disposition folded past 16 KiB", "--XB\r\nContent-Disposition: form-data; name=\"x\"\r\n" + strings.Repeat(" \n", 10000) + "\r\nmethod\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
		{"an escaped quote", "--XB\r\nContent-Disposition: form-data; name=\"\\_method\"\r\n\r\nGET\r\n--XB--\r\n", "identity", "multipart/form-data; boundary=XB", 400, "route_conflict"},
	} {
		r := e.do("POST", pp+"/other/7", c.body, HeaderAuthorization, e.full, "Content-Encoding", c.enc, "Content-Type", c.ct)
		rtErrorShape(t, c.what, r, c.status, c.code)
	}
	if len(e.up.requests()) != n {
		t.Errorf("refused requests reached the upstream")
	}
	// _method in a value, a file's name or a longer name, not a part's
	// name: forwarded.
	for i, form := range []string{
		"--XB\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nsee _method\r\n--XB--\r\n",
		"--XB\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n_method", // cut short
		"--XB\r\nContent-Disposition: form-data; name=\"payment_method\"\r\n\r\ncard\r\n--XB--\r\n",
		"--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"_method\"\r\n\r\nx\r\n--XB--\r\n",
		"--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nContent-Disposition: form-data; name=\"_method\"\r\n--XB--\r\n",
		"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n_method\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
	} {
		ct := "multipart/form-data; boundary=XB"
		if strings.HasPrefix(form, "----") {
			ct = "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW" // the word twice
		}
		if r := e.do("POST", pp+"/other/7", gzipString(form), HeaderAuthorization, e.full, "Content-Encoding", "gzip",
			"Content-Type", ct); r.status != 200 || len(e.up.requests()) != n+1+i {
			t.Errorf("form %q = %d %s, want it forwarded", form, r.status, r.body)
		}
	}
	// A project without routes: forwarded as sent.
	plain := e.rtEnv.project("http://up.test/api")
	key := e.key(plain.ID, keystore.KeyInput{})
	body := `{"_method":"PUT","title":"t"}`
	before := len(e.up.requests())
	if r := e.do("POST", "/proxy/"+plain.ID+"/other/7", body, HeaderAuthorization, key, "Content-Encoding", "zstd"); len(e.up.requests()) == before {
		t.Errorf("unrouted project: POST in zstd = %d %s, want it forwarded", r.status, r.body)
	} else if got := e.up.last(t); string(got.body) != body {
		t.Errorf("unrouted project: the upstream received %q", got.body)
	}
}

// gzipNamed is s gzipped with name in the gzip header's FNAME field.
func gzipNamed(name, s string) string {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Name = name
	zw.Write([]byte(s))
	zw.Close()
	return gz.String()
}

// TestNestedSpellingSealed: a field that names a key with dots
// (profile\.email) is sealed also where a store that expands dotted keys
// keeps it, {"profile": {"email": …}}.
func TestNestedSpellingSealed(t *testing.T) {
	e := newRouteEnv(t)
	r := e.do("POST", "/proxy/"+e.project.ID+"/other", `{"profile":{"email":"secret@example.com","name":"n"}}`,
		HeaderAuthorization, e.full, HeaderFields, `profile\.email`)
	if r.status != 200 {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	if got := string(e.up.last(t).body); strings.Contains(got, "secret@example.com") || !strings.Contains(got, `"email":"qanapi:`) {
		t.Errorf("the upstream received %s, want profile.email sealed", got)
	}
}
