package admin

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/events"
)

// A sign-up as an app would POST it, and the upstream's answer.
const (
	previewSignup = `{
  "user": {
    "email": "ada.lovelace@example.com",
    "ssn": "219-09-9999",
    "phone": "+44 20 7946 0958",
    "password": "correct horse battery staple",
    "first_name": "Ada",
    "address": {"line1": "12 Analytical Row", "city": "London", "postal_code": "EC1A 1BB"},
    "tags": ["vip", "beta"]
  },
  "payment": {"card_number": "4111 1111 1111 1111", "exp_month": 12},
  "client": {"ip": "203.0.113.42", "user_agent": "Mozilla/5.0"}
}`
	previewAnswer = `{
  "user": {"id": 7, "email": "qanapi:bm9uZQ:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:$", "ssn": "219-09-9999"},
  "sessions": [{"ip": "198.51.100.7"}, {"ip": "198.51.100.8"}]
}`
	previewRoute = `{"methods": ["POST"], "path": "/users/**", "order": 10,
 "request":  {"mode": "encrypt", "fields": ["user.email", "user.ssn", "user.tags", "user.nickname"], "require": ["user.email"]},
 "response": {"mode": "decrypt", "fields": ["user.email", "user.ssn"]}}`
)

// previewValues are the values of previewSignup and previewAnswer that a
// preview must never echo.
var previewValues = []string{
	"ada.lovelace", "219-09-9999", "7946", "correct horse", "Analytical", "EC1A", "4111", "203.0.113.42",
	"198.51.100", "Mozilla", "vip", "bm9uZQ",
}

// preview posts in to the project's preview and decodes the answer,
// checking that no value of the bodies appears in it.
func (e *admEnv) preview(project, in string) wire.Preview {
	e.t.Helper()
	r := e.callOK("POST", "/admin/v1/projects/"+project+"/preview", in, 200)
	for _, v := range previewValues {
		if strings.Contains(string(r.body), v) {
			e.t.Errorf("preview answer %s holds the value %q, want paths and kinds only", r.body, v)
		}
	}
	var p wire.Preview
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		e.t.Fatalf("preview answer %s: %v", r.body, err)
	}
	return p
}

func previewHints(p wire.Preview) []string {
	var out []string
	for _, h := range p.Hints {
		out = append(out, h.Phase+" "+h.Path+" "+h.Kind)
	}
	return out
}

func TestAdminPreviewRouteFieldsAndHints(t *testing.T) {
	rec := &previewEvents{}
	e := newAdmEnvWith(t, func(o *Options) { o.Events = rec })
	p := e.project(`{"name":"Shop"}`)
	e.route(p.ID, `{"methods": ["GET"], "path": "/users/**", "order": 1, "response": {"fields": ["user.email"]}}`)
	rt := e.route(p.ID, previewRoute)
	before := len(rec.events())

	got := e.preview(p.ID, `{"method": "post", "path": "/users/new?invite=1", "body": `+previewSignup+`, "response_body": `+previewAnswer+`}`)

	if got.Route == nil || got.Route.ID != rt.ID || got.Route.Path != "/users/**" || got.Route.Order != 10 || !slices.Equal(got.Route.Methods, []string{"POST"}) {
		t.Errorf("preview route = %+v, want %s (/users/**, order 10): the GET route does not match a POST", got.Route, rt.ID)
	}
	req := got.Request
	if req.Mode != "encrypt" || !slices.Equal(req.Named, []string{"user.email", "user.ssn", "user.tags", "user.nickname"}) ||
		!slices.Equal(req.Fields, []string{"user.email", "user.ssn", "user.tags.*"}) || req.Values != 4 ||
		!slices.Equal(req.Absent, []string{"user.nickname"}) || len(req.MissingRequired) != 0 || len(req.NotTokens) != 0 {
		t.Errorf("preview request = %+v, want encrypt of user.email, user.ssn and each tag (4 values), user.nickname absent", req)
	}
	resp := got.Response
	if resp == nil || resp.Mode != "decrypt" || !slices.Equal(resp.Fields, []string{"user.email", "user.ssn"}) || resp.Values != 2 ||
		!slices.Equal(resp.NotTokens, []string{"user.ssn"}) || len(resp.Absent) != 0 || len(resp.MissingRequired) != 0 {
		t.Errorf("preview response = %+v, want decrypt of user.email and user.ssn, user.ssn not a token", resp)
	}
	want := []string{
		"request user.phone phone", "request user.password field_name:password", "request user.first_name field_name:name",
		"request user.address field_name:address", "request payment.card_number card_number", "request client.ip ip_address",
		"response sessions.*.ip ip_address",
	}
	if g := previewHints(got); !slices.Equal(g, want) {
		t.Errorf("preview hints = %q, want %q (nothing a rule transforms)", g, want)
	}
	for _, h := range got.Hints {
		if h.Reason == "" {
			t.Errorf("hint %+v has no reason", h)
		}
	}
	if n := len(rec.events()); n != before {
		t.Errorf("preview recorded %d events, want none: it changes nothing", n-before)
	}
}

func TestAdminPreviewWithoutRoute(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Bare"}`)

	// No route and no fields: nothing is transformed, every value may hint.
	got := e.preview(p.ID, `{"method": "PUT", "path": "/profile", "body": `+previewSignup+`}`)
	if got.Route != nil || got.Request.Mode != "none" || len(got.Request.Fields) != 0 || len(got.Request.Named) != 0 || got.Response != nil {
		t.Errorf("preview without route = %+v, want no route, nothing transformed, no response", got)
	}
	if g := previewHints(got); !slices.Contains(g, "request user.email email") || !slices.Contains(g, "request user.ssn us_ssn") || len(g) != 8 {
		t.Errorf("preview hints = %q, want the 8 values that look personal", g)
	}

	// fields and mode stand for X-Qanapi-Fields and X-Qanapi-Mode.
	got = e.preview(p.ID, `{"method": "PUT", "path": "/profile", "fields": ["user", "client.ip"], "body": `+previewSignup+`}`)
	if got.Request.Mode != "encrypt" || !slices.Equal(got.Request.Fields, []string{"user", "client.ip"}) || got.Request.Values != 2 {
		t.Errorf("preview with fields = %+v, want user and client.ip encrypted (2 values)", got.Request)
	}
	if g, want := previewHints(got), []string{"request payment.card_number card_number"}; !slices.Equal(g, want) {
		t.Errorf("preview hints with user covered = %q, want %q: nothing inside a covered value hints", g, want)
	}

	// Without a body: the named paths are absent; hints need a body.
	got = e.preview(p.ID, `{"method": "GET", "path": "/", "fields": ["a.b"], "mode": "Decrypt"}`)
	if got.Request.Mode != "decrypt" || !slices.Equal(got.Request.Absent, []string{"a.b"}) || len(got.Hints) != 0 {
		t.Errorf("preview without body = %+v, want decrypt, a.b absent, no hint", got)
	}
}

func TestAdminPreviewRequiredAndTokens(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Req"}`)
	e.route(p.ID, previewRoute)
	got := e.preview(p.ID, `{"method": "POST", "path": "/users", "body": {"user": {"ssn": "qanapi:bm9uZQ:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:$", "note": "hello"}}}`)
	if !slices.Equal(got.Request.MissingRequired, []string{"user.email"}) || !slices.Equal(got.Request.Absent, []string{"user.email", "user.tags", "user.nickname"}) {
		t.Errorf("preview request = %+v, want user.email missing (required) and absent", got.Request)
	}
	if len(got.Hints) != 0 {
		t.Errorf("preview hints = %+v, want none: the SSN is a token already", got.Hints)
	}
	// decrypt mode: a value that is not a token is named in not_tokens.
	e.route(p.ID, `{"path": "/read/*", "request": {"mode": "decrypt", "fields": ["a", "b"]}}`)
	got = e.preview(p.ID, `{"method": "POST", "path": "/read/1", "body": {"a": "qanapi:bm9uZQ:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:$", "b": 12}}`)
	if got.Request.Mode != "decrypt" || !slices.Equal(got.Request.NotTokens, []string{"b"}) {
		t.Errorf("preview decrypt = %+v, want b not a token", got.Request)
	}
}

// TestAdminPreviewListAnswer: a response rule applies its paths to each
// element of a top-level array, as the data plane does, whether written as
// for one object (title) or for the elements (*.body, which stays as
// written: it does not name a level deeper).
func TestAdminPreviewListAnswer(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Blog"}`)
	e.route(p.ID, `{"path": "/posts", "response": {"fields": ["title", "*.body"]}}`)
	got := e.preview(p.ID, `{"method": "GET", "path": "/posts", "response_body": [{"title": "a", "body": "b", "author_email": "ann@example.com"}, {"title": "c", "body": "d"}]}`)
	r := got.Response
	if r == nil || !slices.Equal(r.Fields, []string{"*.title", "*.body"}) || r.Values != 4 || len(r.Absent) != 0 {
		t.Errorf("preview list answer = %+v, want *.title and *.body transformed (4 values), none absent", r)
	}
	if g, want := previewHints(got), []string{"response *.author_email email"}; !slices.Equal(g, want) {
		t.Errorf("preview hints = %q, want %q", g, want)
	}
	got = e.preview(p.ID, `{"method": "GET", "path": "/posts", "response_body": {"title": "a", "body": "b"}}`)
	if r := got.Response; !slices.Equal(r.Fields, []string{"title"}) || !slices.Equal(r.Absent, []string{"*.body"}) {
		t.Errorf("preview object answer = %+v, want title transformed, *.body absent", r)
	}
}

func TestAdminPreviewErrors(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Err"}`)
	e.route(p.ID, previewRoute)
	url := "/admin/v1/projects/" + p.ID + "/preview"
	deep := strings.Repeat("[", 33) + strings.Repeat("]", 33)
	many := "[" + strings.TrimSuffix(strings.Repeat("1,", 10_000), ",") + "]"
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"no method", `{"path": "/users"}`, 400, "invalid_request"},
		{"bad method", `{"method": "PO ST", "path": "/users"}`, 400, "invalid_request"},
		{"no path", `{"method": "POST"}`, 400, "invalid_request"},
		{"relative path", `{"method": "POST", "path": "users"}`, 400, "invalid_request"},
		{"unknown member", `{"method": "POST", "path": "/users", "headers": {}}`, 400, "invalid_request"},
		{"mode contradicts the route", `{"method": "POST", "path": "/users", "mode": "decrypt"}`, 400, "route_conflict"},
		{"response mode contradicts the route", `{"method": "POST", "path": "/users", "response_mode": "encrypt"}`, 400, "route_conflict"},
		{"bad mode", `{"method": "POST", "path": "/x", "mode": "shred", "fields": ["a"]}`, 400, "invalid_mode"},
		{"response mode alone", `{"method": "POST", "path": "/x", "response_mode": "decrypt"}`, 400, "invalid_mode"},
		{"bad field", `{"method": "POST", "path": "/x", "fields": ["a..b"]}`, 400, "invalid_fields"},
		{"bad response field, no answer", `{"method": "POST", "path": "/x", "response_fields": ["a\\q"]}`, 400, "invalid_fields"},
		{"duplicate key", `{"method": "POST", "path": "/x", "body": {"a": 1, "a": 2}}`, 400, "invalid_request"},
		{"too deep", `{"method": "POST", "path": "/x", "body": ` + deep + `}`, 400, "invalid_request"},
		{"too many values", `{"method": "POST", "path": "/x", "body": ` + many + `}`, 413, "too_many_values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call("POST", url, tc.body), "POST preview "+tc.name, tc.status, tc.code)
		})
	}
	wantError(t, e.call("POST", "/admin/v1/projects/prj_nope/preview", `{"method": "GET", "path": "/"}`), "preview of an unknown project", 404, "not_found")
	if r := e.call("GET", url, ""); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET preview = %d (Allow %q), want 405 with Allow: POST", r.status, r.header.Get("Allow"))
	}
}

// previewEvents is an EventLog that keeps what it is given.
type previewEvents struct {
	mu   sync.Mutex
	list []events.Event
}

func (r *previewEvents) Record(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, e)
}

func (r *previewEvents) events() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

func (r *previewEvents) Query(events.Filter) ([]events.Event, string, error) { return nil, "", nil }

func (r *previewEvents) VerifyWith(events.VerifyOptions) (events.VerifyResult, error) {
	return events.VerifyResult{OK: true}, nil
}

// TestAdminPreviewArrays: the preview answers what the proxy does with
// arrays when encrypting: a list body has the fields applied in each
// element, a path through an array of objects is refused (field_in_array
// on the data plane), and a key that differs from a named field only in
// case is refused too.
func TestAdminPreviewArrays(t *testing.T) {
	e := newAdmEnv(t)
	p := e.project(`{"name":"Bulk"}`)
	got := e.preview(p.ID, `{"method": "POST", "path": "/bulk", "fields": ["title"], "body": [{"title": "a"}, {"title": "b"}, {"x": 1}]}`)
	if !slices.Equal(got.Request.Fields, []string{"0.title", "1.title"}) && !slices.Equal(got.Request.Fields, []string{"*.title"}) || got.Request.Values != 2 {
		t.Errorf("preview of a list body = %+v, want title in each element (2 values)", got.Request)
	}
	for name, in := range map[string]string{
		"path through an array": `{"method": "POST", "path": "/x", "fields": ["items.card"], "body": {"items": [{"card": "4111"}]}}`,
		"list body, deeper":     `{"method": "POST", "path": "/x", "fields": ["user.email"], "body": [{"user": [{"email": "a"}]}]}`,
		"case variant":          `{"method": "POST", "path": "/x", "fields": ["ssn"], "body": {"\u017fsn": "x"}}`,
	} {
		r := e.call("POST", "/admin/v1/projects/"+p.ID+"/preview", in)
		if r.status != 400 || !strings.Contains(string(r.body), "the proxy would refuse it") {
			t.Errorf("%s: preview = %d %s, want 400 saying the proxy would refuse it", name, r.status, r.body)
		}
	}
	// A route's require holds in every element of a list body.
	e.route(p.ID, `{"methods": ["POST"], "path": "/posts", "request": {"mode": "encrypt", "fields": ["title"], "require": ["title"]}}`)
	got = e.preview(p.ID, `{"method": "POST", "path": "/posts", "body": [{"title": "a"}, {"title": "b"}]}`)
	if len(got.Request.MissingRequired) != 0 || got.Request.Values != 2 {
		t.Errorf("preview of a list of posts = %+v, want title found in each (2 values), nothing missing", got.Request)
	}
	got = e.preview(p.ID, `{"method": "POST", "path": "/posts", "body": [{"title": "a"}, {"body": "b"}]}`)
	if !slices.Equal(got.Request.MissingRequired, []string{"title"}) {
		t.Errorf("preview of a list with an element lacking title = %+v, want title missing", got.Request)
	}
	// Decrypting, the proxy leaves what it does not name: no refusal.
	if r := e.call("POST", "/admin/v1/projects/"+p.ID+"/preview", `{"method": "POST", "path": "/x", "mode": "decrypt", "fields": ["items.card"], "body": {"items": [{"card": "x"}]}}`); r.status != 200 {
		t.Errorf("decrypt preview through an array = %d %s, want 200", r.status, r.body)
	}
}
