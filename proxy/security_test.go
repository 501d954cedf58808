package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/fieldcrypt"
	"github.com/sdproxy/sdproxy/keystore"
)

// Regression tests of the security review's findings on the data plane.

// TestUnknownQanapiHeader: a misspelt X-Qanapi-* header is refused, naming
// it, and nothing is forwarded (it used to be stripped and ignored, so the
// plaintext went upstream).
func TestUnknownQanapiHeader(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, name := range []string{"X-Qanapi-Field", "x-qanapi-fileds", "X-Qanapi-Fields-Extra", "X-QANAPI-SUBJECTS"} {
		r := e.do("POST", "/proxy/"+p.ID+"/people", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key, name, "ssn")
		rtErrorShape(t, name, r, 400, "unknown_header")
		if !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(name)) {
			t.Errorf("%s: body %s does not name the header", name, r.body)
		}
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
	// Before authentication an unknown header changes nothing: 401.
	r := e.do("POST", "/proxy/"+p.ID+"/people", `{}`, HeaderAuthorization, "qk_bad", "X-Qanapi-Field", "ssn")
	rtErrorShape(t, "bad key", r, 401, "unauthorized")
}

// TestPathTraversalCorpus: nothing a client sends after /proxy/{id} reaches
// the upstream in a form that a Tomcat/Spring/Jetty (..;) or IIS (\)
// upstream resolves outside its base path.
func TestPathTraversalCorpus(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api/v1")
	key := e.key(p.ID, keystore.KeyInput{})
	corpus := []string{
		"/..;/..;/admin", "/..%3B/..%3B/admin", "/..%3b/admin", "/..%5C..%5Cadmin", "/..%5c..%5cadmin",
		"/..\\..\\admin", "/x\\..\\..\\admin", "/.;/admin", "/.%3B/admin", "/%2e%2e;/admin", "/%2E%2E%3B/admin",
		"/.%2e;/admin", "/x/..;/..;/admin", "/..;jsessionid=1/admin", "/..%2F..%2Fadmin", "/%2e%2e/%2e%2e/admin",
		"/../../admin", "/./../admin", "/x/../../../admin", "/%252e%252e%253b/admin", "/..%00/admin", "/..%u002f",
		"/..%c0%af..%c0%afadmin", "/x;/../admin", "/...;/admin",
	}
	refused, forwarded := 0, 0
	for _, path := range corpus {
		n := len(up.requests())
		r := e.raw(rtStatusLine("GET", "/proxy/"+p.ID+path), "Host: sdproxy", HeaderAuthorization+": "+key, "", "")
		if len(up.requests()) == n {
			refused++
			if r.status < 400 {
				t.Errorf("GET %s = %d, not forwarded, want an error", path, r.status)
			}
			continue
		}
		forwarded++
		uri := up.last(t).uri
		if !strings.HasPrefix(uri, "/api/v1/") || unsafeForUpstream(uri) {
			t.Errorf("GET %s reached the upstream as %q, which an upstream may resolve outside /api/v1", path, uri)
		}
	}
	t.Logf("%d refused, %d forwarded safely", refused, forwarded)
	// The refusal names the problem; plain paths with parameters still pass.
	r := e.raw(rtStatusLine("GET", "/proxy/"+p.ID+"/..;/admin"), "Host: sdproxy", HeaderAuthorization+": "+key, "", "")
	rtErrorShape(t, "..;", r, 400, "invalid_path")
	for _, path := range []string{"/orders%00", "/orders%0a/1", "/orders%09", "/orders%7F", "/or%1fders", "/x%0D%0AX-Injected:%20yes",
		"/orders%C2%85", "/orders%C2%A0", "/orders%E2%80%8B", "/orders%E2%80%A8", "/orders%EF%BB%BF", "/orders%E3%80%80"} {
		n := len(up.requests())
		r = e.raw(rtStatusLine("GET", "/proxy/"+p.ID+path), "Host: sdproxy", HeaderAuthorization+": "+key, "", "")
		rtErrorShape(t, path, r, 400, "invalid_path")
		if len(up.requests()) != n {
			t.Errorf("GET %s reached the upstream", path)
		}
	}
	r = e.do("GET", "/proxy/"+p.ID+"/caf%C3%A9s/%E6%97%A5", "", HeaderAuthorization, key)
	if r.status != 200 {
		t.Errorf("GET /cafés/日 = %d %s, want other letters forwarded", r.status, r.body)
	}
	r = e.do("GET", "/proxy/"+p.ID+"/orders;v=2/7", "", HeaderAuthorization, key)
	if got := up.last(t).uri; r.status != 200 || got != "/api/v1/orders;v=2/7" {
		t.Errorf("GET /orders;v=2/7 = %d, upstream got %q, want 200 and the path as sent", r.status, got)
	}
}

// unsafeForUpstream reports whether a request target holds a dot segment
// (plain, with parameters, or escaped) or a backslash (plain or escaped).
func unsafeForUpstream(uri string) bool {
	path, _, _ := strings.Cut(uri, "?")
	low := strings.ToLower(path)
	if strings.Contains(low, "\\") || strings.Contains(low, "%5c") {
		return true
	}
	for _, seg := range strings.Split(low, "/") {
		seg = strings.ReplaceAll(seg, "%2e", ".")
		seg, _, _ = strings.Cut(seg, ";")
		seg, _, _ = strings.Cut(seg, "%3b")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// TestPreAuthBodyLimit: a request without a valid key that declares a large
// body is answered 401 once its first limits.unauth_body_bytes (4 KiB)
// are in, without the server waiting for, reading or reserving the rest;
// a valid key may send it.
func TestPreAuthBodyLimit(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("")
	key := e.key(p.ID, keystore.KeyInput{})
	ref := e.do("POST", "/proxy/"+p.ID, `{"a":1}`, HeaderAuthorization, "qk_nope")

	for _, tc := range []struct{ name, auth, length string }{
		{"no key", "", "Content-Length: 10485760"},
		{"bad key", HeaderAuthorization + ": qk_0000000000000_" + strings.Repeat("a", 38), "Content-Length: 10485760"},
		{"bad key, chunked", HeaderAuthorization + ": nope", "Transfer-Encoding: chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.ln.DialWithLocalAddr(rtClientAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			head := rtStatusLine("POST", "/proxy/"+p.ID) + "\r\nHost: sdproxy\r\nContent-Type: application/json\r\n" + tc.length + "\r\n"
			if tc.auth != "" {
				head += tc.auth + "\r\n"
			}
			io.WriteString(c, head+"\r\n")
			if strings.Contains(tc.length, "chunked") {
				io.WriteString(c, "1000\r\n"+strings.Repeat("x", 0x1000)+"\r\n1000\r\n"+strings.Repeat("x", 0x1000)+"\r\n")
			} else {
				io.WriteString(c, `{"a":"`+strings.Repeat("x", 4<<10)) // 4 KiB of the declared 10 MiB
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			if err := resp.Read(bufio.NewReader(c)); err != nil {
				t.Fatalf("no answer within 5s without the rest of the body: %v (the server is waiting for the declared body)", err)
			}
			got := rtCopyResponse(resp)
			rtErrorShape(t, tc.name, got, 401, "unauthorized")
			if a, b := strings.Replace(string(got.body), got.header[HeaderRequestID], "ID", 1), strings.Replace(string(ref.body), ref.header[HeaderRequestID], "ID", 1); a != b {
				t.Errorf("401 before the body = %s, want the handler's 401 byte for byte: %s", a, b)
			}
		})
	}
	t.Run("valid key", func(t *testing.T) {
		body := `{"a":"` + strings.Repeat("x", 60<<10) + `"}` // past the 4 KiB read before the key, within max_body_bytes
		r := e.do("POST", "/proxy/"+p.ID, body, HeaderAuthorization, key)
		if r.status != 200 || len(r.body) != len(body) {
			t.Errorf("POST of %d bytes with a valid key = %d (%d bytes), want 200 and the body back", len(body), r.status, len(r.body))
		}
	})
}

// auditRecorder is an AuditLog and EventSink that keeps what it gets.
type auditRecorder struct {
	mu   sync.Mutex
	evs  []events.Event
	reqs []int // statuses of submitted request records
	recs []recorded
}

// recorded is what a test checks of a submitted request record.
type recorded struct {
	route                        string
	reqValues, respValues, untrf int
}

func (a *auditRecorder) Record(e events.Event)    { a.mu.Lock(); a.evs = append(a.evs, e); a.mu.Unlock() }
func (a *auditRecorder) Acquire() *events.Request { return new(events.Request) }
func (a *auditRecorder) Submit(r *events.Request) {
	a.mu.Lock()
	a.reqs = append(a.reqs, r.Status)
	a.recs = append(a.recs, recorded{r.RouteID, r.RequestValues, r.ResponseValues, r.Untransformed})
	a.mu.Unlock()
}

// TestAuthFailuresLimitedAndSummarised: each client IP may fail only so
// many authentications before it is answered 429 (valid keys included,
// until its bucket refills), and failures reach the event log as one
// auth.failed summary per IP and project, never one event each.
func TestAuthFailuresLimitedAndSummarised(t *testing.T) {
	rec := &auditRecorder{}
	e := newRTEnv(t, rtOptions{events: rec, audit: rec, authFail: AuthFailureOptions{PerSecond: 1, Burst: 5}})
	p := e.project("")
	key := e.key(p.ID, keystore.KeyInput{})
	for i := range 5 {
		r := e.do("POST", "/proxy/"+p.ID, `{}`, HeaderAuthorization, "qk_bad_"+strconv.Itoa(i))
		rtErrorShape(t, "failure "+strconv.Itoa(i+1), r, 401, "unauthorized")
	}
	r := e.do("POST", "/proxy/"+p.ID, `{}`, HeaderAuthorization, "qk_bad")
	rtErrorShape(t, "sixth failure", r, 429, "rate_limited")
	if r.header["Retry-After"] != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header["Retry-After"])
	}
	r = e.do("POST", "/proxy/"+p.ID, `{}`, HeaderAuthorization, key)
	rtErrorShape(t, "valid key from the blocked IP", r, 429, "rate_limited")

	// Another address is not affected.
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/proxy/" + p.ID)
	req.Header.Set(HeaderAuthorization, key)
	req.SetBodyString(`{}`)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(198, 51, 100, 9), Port: 1}, nil)
	e.data.Handler(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Errorf("valid key from another IP = %d %s, want 200", ctx.Response.StatusCode(), ctx.Response.Body())
	}

	e.clock.Advance(2 * time.Second)
	if r := e.do("POST", "/proxy/"+p.ID, `{}`, HeaderAuthorization, key); r.status != 200 {
		t.Errorf("valid key after the bucket refilled = %d %s, want 200", r.status, r.body)
	}

	rec.mu.Lock()
	statuses := append([]int(nil), rec.reqs...)
	rec.mu.Unlock()
	if len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 200 {
		t.Errorf("request records = %v, want only the two authenticated requests [200 200] (no 401, no refused-IP 429 one by one)", statuses)
	}
	e.data.authFail.Flush(rec, e.clock.Now())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.evs) != 1 {
		t.Fatalf("summaries = %+v, want one auth.failed for the IP and project", rec.evs)
	}
	s := rec.evs[0]
	if s.Type != events.TypeAuthFailed || s.ProjectID != p.ID || s.Details["client_ip"] != "203.0.113.7" || s.Details["count"] != "6" {
		t.Errorf("summary = %+v, want auth.failed of %s from 203.0.113.7 with count 6 (the requests refused for the IP before any key check are not failures)", s, p.ID)
	}
	if got := e.data.AuthFailures(); got != 6 {
		t.Errorf("AuthFailures() = %d, want 6", got)
	}
}

// TestAmplificationRefused: a body whose named field is a long array of
// tiny values cannot make the proxy seal without bound: past
// limits.max_values it is 413 too_many_values, past the output cap 413
// body_too_large, and nothing is forwarded either way.
func TestAmplificationRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{maxBody: 1 << 20, maxValues: 1000, maxOutput: 64 << 10})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	array := func(n int) string { return `{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}` }

	r := e.do("POST", "/proxy/"+p.ID+"/x", array(1001), HeaderAuthorization, key, HeaderFields, "a")
	rtErrorShape(t, "1001 values", r, 413, "too_many_values")
	// Two values fit the count, but their tokens (60 KiB of plaintext, base64) do not fit 64 KiB.
	r = e.do("POST", "/proxy/"+p.ID+"/x", `{"a":["`+strings.Repeat("x", 40<<10)+`","`+strings.Repeat("y", 20<<10)+`"]}`, HeaderAuthorization, key, HeaderFields, "a")
	rtErrorShape(t, "output over 64 KiB", r, 413, "body_too_large")
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
	if r := e.do("POST", "/proxy/"+p.ID+"/x", array(1000), HeaderAuthorization, key, HeaderFields, "a"); r.status != 200 {
		t.Errorf("1000 values = %d %s, want 200 (at the limit)", r.status, r.body)
	}
}

// TestBindFieldsProject: with the project's bind_fields on, a token moved
// from one field to another no longer decrypts; at its own field it does,
// and tokens sealed before binding was turned on still open anywhere.
func TestBindFieldsProject(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("")
	key := e.key(p.ID, keystore.KeyInput{})
	unbound := e.seal(p.ID, key, `"123-45-6789"`)
	on := true
	if _, err := e.store.UpdateProject(p.ID, keystore.ProjectInput{BindFields: &on}); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/proxy/"+p.ID, `{"ssn":"123-45-6789","note":"hi"}`, HeaderAuthorization, key, HeaderFields, "ssn")
	if r.status != 200 {
		t.Fatalf("encrypt = %d %s", r.status, r.body)
	}
	tok := jsonField(t, r.body, "ssn")
	if !strings.Contains(string(tok), "f:") {
		t.Errorf("token %s, want a bound token (v<N>f)", tok)
	}
	dec := func(body, field string) response {
		return e.do("POST", "/proxy/"+p.ID, body, HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, field)
	}
	if r := dec(`{"ssn":`+string(tok)+`}`, "ssn"); r.status != 200 || !strings.Contains(string(r.body), "123-45-6789") {
		t.Errorf("decrypt at its own field = %d %s, want the plaintext", r.status, r.body)
	}
	rtErrorShape(t, "bound token moved to note", dec(`{"note":`+string(tok)+`}`, "note"), 422, "decrypt_failed")
	if r := dec(`{"note":`+unbound+`}`, "note"); r.status != 200 {
		t.Errorf("a token sealed before binding, moved = %d %s, want 200 (old tokens keep opening)", r.status, r.body)
	}
}

// TestQanapiHeaderInTrailer: an X-Qanapi-* header sent in the trailer of a
// chunked body, or announced for it, is refused before anything is
// forwarded. fasthttp keeps trailer fields out of the headers, so the field
// it names used to go upstream in plaintext; other trailers are dropped as
// before (Trailer is hop-by-hop).
func TestQanapiHeaderInTrailer(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789"}`
	chunk := strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n"
	cases := []struct {
		name     string
		announce string // the Trailer header, if any
		trailer  string // the trailer section's fields
	}{
		{"announced and sent", "X-Qanapi-Fields", "X-Qanapi-Fields: ssn\r\n"},
		{"sent unannounced", "", "x-qanapi-fields: ssn\r\n"},
		{"announced only", "X-Checksum, X-Qanapi-Fields", ""},
		{"mode in the trailer", "X-Qanapi-Mode", "X-Qanapi-Mode: encrypt\r\n"},
	}
	for _, tc := range cases {
		lines := []string{
			rtStatusLine("POST", "/proxy/"+p.ID+"/people"),
			"Host: sdproxy.example",
			"X-Qanapi-Authorization: " + key,
			"X-Qanapi-Mode: encrypt",
			"Content-Type: application/json",
			"Transfer-Encoding: chunked",
		}
		if tc.announce != "" {
			lines = append(lines, "Trailer: "+tc.announce)
		}
		r := e.raw(append(lines, "", chunk+tc.trailer+"\r\n")...)
		rtErrorShape(t, tc.name, r, 400, "invalid_request")
		if !strings.Contains(strings.ToLower(string(r.body)), "x-qanapi-") || !strings.Contains(string(r.body), "trailer") {
			t.Errorf("%s: body %s does not name the header and the trailer", tc.name, r.body)
		}
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
	// A trailer of the app's own still goes through (and is dropped).
	r := e.raw(rtStatusLine("POST", "/proxy/"+p.ID+"/people"), "Host: sdproxy.example",
		"X-Qanapi-Authorization: "+key, "X-Qanapi-Mode: encrypt", "X-Qanapi-Fields: ssn",
		"Content-Type: application/json", "Transfer-Encoding: chunked", "Trailer: X-Checksum",
		"", chunk+"X-Checksum: abc\r\n\r\n")
	if r.status != 200 {
		t.Fatalf("app trailer: %d %s, want 200", r.status, r.body)
	}
	if got := up.last(t); !tokenRE.Match(jsonField(t, got.body, "ssn")) {
		t.Errorf("upstream body = %s, want ssn sealed", got.body)
	}
}

// TestForeignFieldSyntax: a field list in another path language's
// notation ($.ssn as VGS writes it, items[0].card, **.ssn, items.#.card,
// /ssn, gjson's ssn?, items.-1, Laravel's items.{last}) named keys nobody has, so the plaintext went upstream with
// nothing sealed. It is refused, naming the path and what to write, in
// X-Qanapi-Fields, X-Qanapi-Response-Fields and the direct API.
func TestForeignFieldSyntax(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	for list, hint := range map[string]string{
		"$.ssn":               "write ssn for $.ssn",
		"name, items[0].card": "items[0].card",
		"**.ssn":              "whole segment",
		"items.#.card":        "items.*.card",
		"/ssn":                "JSON Pointer",
		"ssn?":                "glob",
		"items.-1.card":       "end",
		"items.{last}.card":   "Laravel",
		"items.last()":        "function",
		`'ssn', 'user.email'`: "quotes",
		"{.ssn}":              "kubectl",
		"#/ssn":               "JSON Pointer",
	} {
		r := e.do("POST", "/proxy/"+p.ID+"/people", `{"ssn":"123-45-6789","items":[{"card":"4111"}]}`,
			HeaderAuthorization, key, HeaderMode, "encrypt", HeaderFields, list)
		rtErrorShape(t, list, r, 400, "invalid_fields")
		if !strings.Contains(string(r.body), hint) {
			t.Errorf("%s: body %s does not say %q", list, r.body, hint)
		}
		r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseFields, list)
		rtErrorShape(t, list+" (response)", r, 400, "invalid_fields")
		r = e.do("POST", pathDirectEncrypt, `{"data":{"ssn":"1"},"fields":["`+strings.ReplaceAll(list, ", ", `","`)+`"]}`,
			HeaderAuthorization, key)
		rtErrorShape(t, list+" (direct)", r, 400, "invalid_fields")
	}
	// Blind-index rules take the same syntax, in the header and /index.
	r := e.do("POST", "/proxy/"+p.ID+"/people", `{"ssn":"1"}`, HeaderAuthorization, key, HeaderMode, "encrypt",
		HeaderFields, "ssn", HeaderIndex, "$.ssn")
	rtErrorShape(t, "X-Qanapi-Index: $.ssn", r, 400, "invalid_index")
	r = e.do("POST", pathDirectIndex, `{"field":"items[0].card","data":"4111"}`, HeaderAuthorization, key)
	rtErrorShape(t, "/index items[0].card", r, 400, "invalid_index")
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
	// Escaped, the same characters name keys: a key with brackets.
	r = e.do("POST", "/proxy/"+p.ID+"/people", `{"user[email]":"a@example.com"}`,
		HeaderAuthorization, key, HeaderMode, "encrypt", HeaderFields, `user\[email\]`)
	if r.status != 200 {
		t.Fatalf("escaped brackets: %d %s, want 200", r.status, r.body)
	}
	if got := up.last(t); !tokenRE.Match(jsonField(t, got.body, "user[email]")) {
		t.Errorf("upstream body = %s, want user[email] sealed", got.body)
	}
}

// TestStoredRouteForeignSyntax: a route stored before foreign notations
// were refused keeps applying, its paths read as keys as they were, and a
// header that adds fields to it still parses (the merged list uses the
// canonical, escaped spellings).
func TestStoredRouteForeignSyntax(t *testing.T) {
	var warned []string
	warn := func(msg string, args ...any) { warned = append(warned, fmt.Sprint(args...)) }
	set := compileRoutes([]keystore.Route{{ID: "rt_old", Path: "/**",
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"user[email]", "ssn"}, Require: []string{"$"},
			Index: []keystore.RouteIndex{{Field: "user[email]", Normalize: "lower_trim"}}}}}, 1, warn)
	if want := []string{"routert_oldpathuser[email]", "routert_oldpath$", "routert_oldpathuser[email]"}; !slices.Equal(warned, want) {
		t.Errorf("legacy paths reported = %q, want %q", warned, want)
	}
	if len(set.routes) != 1 {
		t.Fatalf("compiled %d routes, want the stored one", len(set.routes))
	}
	ph := set.routes[0].request
	if set.routes[0].broken || ph.index.Len() != 1 || ph.index.KeyPath(0) != "user[email]" {
		t.Fatalf("the stored route with a legacy index rule: broken %v, %d index rules; want it compiled, its key path kept",
			set.routes[0].broken, ph.index.Len())
	}
	if ph.names != `user\[email\],ssn` || ph.fields.Len() != 2 {
		t.Fatalf("names = %q (%d paths), want the escaped canonical spellings", ph.names, ph.fields.Len())
	}
	if _, err := fieldcrypt.ParseFields(ph.names + ",extra"); err != nil {
		t.Errorf("the names merged with a header do not parse: %v", err)
	}
	// A stored route that does not compile still matches, broken, so that
	// its requests are refused rather than forwarded past its rules.
	warned = nil
	set = compileRoutes([]keystore.Route{{ID: "rt_bad", Path: "/people/**", Methods: []string{"POST"},
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"a..b"}}}}, 2, warn)
	rank := set.trie.Match([]byte("POST"), []byte("/people/1"))
	if rank < 0 || !set.routes[rank].broken || len(warned) != 2 || warned[1] != "routert_bad" {
		t.Errorf("a route that does not compile: rank %d, routes %+v, warnings %q; want it matched, broken, and said", rank, set.routes, warned)
	}
}

// TestResponseOverLimits: an answer with more values than one request
// may transform. Encrypting, it is refused saying so (it used to say "not
// JSON"); decrypting, it goes on as it was, its tokens unopened and
// counted in X-Qanapi-Untransformed (it used to carry no count at all).
func TestResponseOverLimits(t *testing.T) {
	e := newRTEnv(t, rtOptions{maxValues: 3})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	tok := e.seal(p.ID, key, `"secret"`)
	var answer string
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", answer)
	})
	answer = `[{"ssn":"1"},{"ssn":"2"},{"ssn":"3"},{"ssn":"4"}]`
	r := e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key,
		HeaderResponseFields, "ssn", HeaderResponseMode, "encrypt")
	rtErrorShape(t, "encrypt, 4 values", r, 502, "response_not_transformable")
	if !strings.Contains(string(r.body), "limits.max_values") || strings.Contains(string(r.body), `"1"`) {
		t.Errorf("encrypt, 4 values: %s, want the limit named and nothing of the answer", r.body)
	}
	answer = `{"items":[{"ssn":"1"}]}`
	r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key,
		HeaderResponseFields, "items.ssn", HeaderResponseMode, "encrypt")
	rtErrorShape(t, "encrypt, path through an array", r, 502, "response_not_transformable")
	if !strings.Contains(string(r.body), "items.*.card") {
		t.Errorf("encrypt, path through an array: %s, want what to write", r.body)
	}

	answer = `[{"ssn":` + tok + `},{"ssn":` + tok + `},{"ssn":` + tok + `},{"ssn":` + tok + `},{"ssn":"plain"}]`
	r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseFields, "ssn")
	if r.status != 200 || string(r.body) != answer || r.header[HeaderUntransformed] != "4" {
		t.Errorf("decrypt, 4 tokens = %d %s (untransformed %q), want the answer as it was, X-Qanapi-Untransformed: 4",
			r.status, r.body, r.header[HeaderUntransformed])
	}
	answer = `[{"ssn":` + tok + `},{"ssn":` + tok + `}]` // within the limit: opened
	r = e.do("GET", "/proxy/"+p.ID+"/people", "", HeaderAuthorization, key, HeaderResponseFields, "ssn")
	if r.status != 200 || strings.Contains(string(r.body), tok) || r.header[HeaderUntransformed] != "0" {
		t.Errorf("decrypt, 2 tokens = %d %s (untransformed %q), want both opened", r.status, r.body, r.header[HeaderUntransformed])
	}
}

// TestDottedKeyRefused: a key with dots that spells a field to encrypt
// ("profile.email" for profile.email) is 400 ambiguous_field and nothing is
// forwarded: MongoDB's $set and Elasticsearch expand it into that field,
// which would then hold plaintext. A route's fields are held to it too.
func TestDottedKeyRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	expectAmbiguous(t, e, up, "/proxy/"+p.ID+"/people", key, "profile.email,ssn", "dots", "example.com",
		`{"profile.email":"a@example.com"}`, `{"profile":{"email":"x"},"profile.email":"a@example.com"}`, `{"ssn.x":"123"}`)
	// Named as a key of its own, a dotted key is a field like any other.
	r := e.do("POST", "/proxy/"+p.ID+"/people", `{"profile.email":"a@example.com"}`, HeaderAuthorization, key,
		HeaderMode, "encrypt", HeaderFields, `profile\.email,profile.email`)
	if r.status != 200 || !tokenRE.Match(jsonField(t, up.last(t).body, "profile.email")) {
		t.Errorf("named dotted key: %d %s, upstream %s; want it sealed", r.status, r.body, up.last(t).body)
	}
}

// expectAmbiguous POSTs each body to url, encrypting fields, and checks
// that each is 400 ambiguous_field giving reason and not secret, and that
// nothing reached the upstream.
func expectAmbiguous(t *testing.T, e *rtEnv, up *rtUpstream, url, key, fields, reason, secret string, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		r := e.do("POST", url, body, HeaderAuthorization, key, HeaderMode, "encrypt", HeaderFields, fields)
		rtErrorShape(t, body, r, 400, "ambiguous_field")
		if !strings.Contains(string(r.body), reason) || strings.Contains(string(r.body), secret) {
			t.Errorf("%s: body %s, want the reason and no value", body, r.body)
		}
	}
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
}

// TestCanonicalVariantRefused: a key that is a field to encrypt in another
// Unicode normalisation ("cafe" and U+0301 for "café") is 400
// ambiguous_field and nothing is forwarded: Swift's decoders compare keys
// by canonical equivalence and would store it as the field, in plaintext.
// The response direction refuses it too (502, nothing of the answer
// passed on), and the key spelt as named is sealed.
func TestCanonicalVariantRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	decomposed := "cafe\u0301"
	up := e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `{"`+decomposed+`":"4111-1111"}`)
	})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	expectAmbiguous(t, e, up, "/proxy/"+p.ID+"/menu", key, "caf\u00e9", "normalisation", "4111",
		`{"`+decomposed+`":"4111-1111"}`, `{"cafe\u0301":"4111-1111"}`)
	r := e.do("GET", "/proxy/"+p.ID+"/menu", "", HeaderAuthorization, key, HeaderResponseMode, "encrypt", HeaderResponseFields, "caf\u00e9")
	if r.status != 502 || strings.Contains(string(r.body), "4111") {
		t.Errorf("answer with the decomposed key: %d %s, want 502 and none of it", r.status, r.body)
	}
	r = e.do("POST", "/proxy/"+p.ID+"/menu", `{"caf\u00e9":"4111-1111"}`, HeaderAuthorization, key, HeaderMode, "encrypt", HeaderFields, "caf\u00e9")
	if r.status != 200 || !tokenRE.Match(jsonField(t, up.last(t).body, "caf\u00e9")) {
		t.Errorf("composed key: %d %s, upstream %s; want it sealed", r.status, r.body, up.last(t).body)
	}
}

// TestSeparatorVariantRefused: a key that is a field to encrypt with
// other word separators ("userSsn" for "user_ssn") is 400 ambiguous_field
// and nothing is forwarded: Swift's .convertFromSnakeCase, or a Rails app
// that underscores incoming keys, would store it as the field, in
// plaintext. The response direction refuses it too, and the key spelt as
// named is sealed.
func TestSeparatorVariantRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `{"userSsn":"123-45-6789"}`)
	})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	expectAmbiguous(t, e, up, "/proxy/"+p.ID+"/people", key, "user_ssn", "word separators", "6789",
		`{"userSsn":"123-45-6789"}`, `{"user_ssn":"x","USER-SSN":"123-45-6789"}`, `{"_user ssn_":"123-45-6789"}`)
	r := e.do("GET", "/proxy/"+p.ID+"/people/1", "", HeaderAuthorization, key, HeaderResponseMode, "encrypt", HeaderResponseFields, "user_ssn")
	if r.status != 502 || strings.Contains(string(r.body), "6789") {
		t.Errorf("answer with userSsn: %d %s, want 502 and none of it", r.status, r.body)
	}
	r = e.do("POST", "/proxy/"+p.ID+"/people", `{"user_ssn":"123-45-6789","username":"ann"}`, HeaderAuthorization, key, HeaderMode, "encrypt", HeaderFields, "user_ssn")
	if r.status != 200 || !tokenRE.Match(jsonField(t, up.last(t).body, "user_ssn")) {
		t.Errorf("user_ssn as named: %d %s, upstream %s; want it sealed", r.status, r.body, up.last(t).body)
	}
}

// TestBrokenRouteRefuses: a request that a stored route matches, when the
// route does not compile, is refused 500 route_unavailable and nothing
// reaches the upstream (it used to be skipped: the request went on as if
// the route did not exist, its fields in plaintext).
func TestBrokenRouteRefuses(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	upstream, rl := "http://up.test", keystore.RateLimit{RequestsPerSecond: 0.001, Burst: 2}
	p := e.projectIn(keystore.ProjectInput{Upstream: &upstream, RateLimit: &rl})
	key := e.key(p.ID, keystore.KeyInput{})
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"POST"}, Path: "/people/**",
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn"}}}); err != nil {
		t.Fatal(err)
	}
	// What a store changed by hand, or by another version, could hold.
	rs, version := e.store.CachedRoutes([]byte(p.ID))
	broken := slices.Clone(rs)
	broken[0].Request = &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn", "a..b"}}
	e.data.routes.sets = map[string]*routeSet{p.ID: compileRoutes(broken, version, nil)}
	r := e.do("POST", "/proxy/"+p.ID+"/people/1", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key)
	rtErrorShape(t, "broken route", r, 500, "route_unavailable")
	if n := up.wireLen(); n != 0 {
		t.Errorf("the upstream received %d bytes, want none", n)
	}
	// Each refusal is logged, so it takes a token of the key's bucket
	// first: the third request in a burst of two is rate_limited.
	rtErrorShape(t, "broken route, second", e.do("POST", "/proxy/"+p.ID+"/people/2", `{}`, HeaderAuthorization, key), 500, "route_unavailable")
	rtErrorShape(t, "broken route, over the burst", e.do("POST", "/proxy/"+p.ID+"/people/3", `{}`, HeaderAuthorization, key), 429, "rate_limited")
}
