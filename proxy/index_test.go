package proxy

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/keystore"
)

// indexOf asks the direct API for the index of data (raw JSON) in field.
func (e *dpEnv) indexOf(key, field, norm, data string) string {
	e.t.Helper()
	body := `{"field":` + quoteJSON(field) + `,"data":` + data
	if norm != "" {
		body += `,"normalize":` + quoteJSON(norm)
	}
	r := e.do("POST", pathDirectIndex, body+"}", HeaderAuthorization, key)
	if r.status != 200 {
		e.t.Fatalf("POST %s %s = %d %s", pathDirectIndex, body, r.status, r.body)
	}
	var out struct{ Data *string }
	if err := json.Unmarshal(r.body, &out); err != nil || out.Data == nil {
		e.t.Fatalf("POST %s = %s, want {\"data\": \"<index>\"}", pathDirectIndex, r.body)
	}
	return *out.Data
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// objectOf decodes a JSON object answer.
func objectOf(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return m
}

func TestIndexHeader(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	want := e.indexOf(key, "email", "lower_trim", `"ann@example.com"`)
	for _, v := range []string{`"Ann@Example.com"`, `" ANN@EXAMPLE.COM "`} {
		if got := e.indexOf(key, "email", "lower_trim", v); got != want {
			t.Errorf("index of %s = %s, want %s", v, got, want)
		}
	}
	r := e.do("POST", "/proxy/"+p.ID, `{"email":" Ann@Example.com","email_bidx":"stale","n":1}`,
		HeaderAuthorization, key, HeaderFields, "email", HeaderIndex, "email:lower_trim")
	if r.status != 200 {
		t.Fatalf("encrypt with index = %d %s", r.status, r.body)
	}
	m := objectOf(t, r.body)
	if got := m["email_bidx"]; got != want || len(m) != 3 || !strings.HasPrefix(m["email"].(string), "qanapi:") {
		t.Errorf("encrypt with index = %s, want email sealed and email_bidx %s", r.body, want)
	}
	if !strings.Contains(string(r.body), `,"email_bidx":"`+want+`","n":1}`) {
		t.Errorf("encrypt with index = %s, want the index right after email, the old one gone", r.body)
	}

	// Another project: another index for the same value and field.
	q := e.project(keystore.ProjectInput{})
	qkey := e.key(q.ID, keystore.KeyInput{})
	if got := e.indexOf(qkey, "email", "lower_trim", `"ann@example.com"`); got == want {
		t.Errorf("index in another project = %s, the same", got)
	}
	// A data-key rotation changes nothing.
	if _, err := e.store.RotateDataKey(p.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.indexOf(key, "email", "lower_trim", `"ann@example.com"`); got != want {
		t.Errorf("index after a data-key rotation = %s, want %s", got, want)
	}
}

// TestIndexNestedSpelling: a field that names a key with dots is sealed
// where it is nested too, and its index written there, the same index as
// the dotted key's: one search finds the value under either spelling.
func TestIndexNestedSpelling(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	want := e.indexOf(key, `profile\.email`, "lower", `"ann@example.com"`)
	for body, at := range map[string]func(m map[string]any) map[string]any{
		`{"profile.email":"Ann@Example.com"}`: func(m map[string]any) map[string]any { return m },
		`{"profile":{"email":"Ann@Example.com","Email_Bidx":"planted"}}`: func(m map[string]any) map[string]any {
			o, _ := m["profile"].(map[string]any)
			return o
		},
	} {
		r := e.do("POST", "/proxy/"+p.ID, body, HeaderAuthorization, key, HeaderFields, `profile\.email`, HeaderIndex, `profile\.email:lower`)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		o := at(objectOf(t, r.body))
		sealed, _ := o["email"].(string)
		if o == nil || len(o) != 2 || strings.Contains(string(r.body), "Ann@") || strings.Contains(string(r.body), "planted") {
			t.Errorf("%s: answer %s, want the email sealed and one index beside it", body, r.body)
		}
		if _, literal := o["profile.email"]; literal {
			sealed = o["profile.email"].(string)
			if o["profile.email_bidx"] != want {
				t.Errorf("%s: answer %s, want profile.email_bidx %s", body, r.body, want)
			}
		} else if o["email_bidx"] != want {
			t.Errorf("%s: answer %s, want email_bidx %s inside profile", body, r.body, want)
		}
		if !strings.HasPrefix(sealed, "qanapi:") {
			t.Errorf("%s: answer %s, want the email sealed", body, r.body)
		}
	}
}

// TestIndexedFieldAbsent: a body without the indexed field still has its
// other fields sealed (they once went through in clear: with no indexed
// value, nothing was sealed at all), through a route and a header.
func TestIndexedFieldAbsent(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("POST", "/proxy/"+p.ID, `{"ssn":"123-45-6789","n":1}`, HeaderAuthorization, key,
		HeaderFields, "ssn,email", HeaderIndex, "email:lower_trim")
	m := objectOf(t, r.body)
	if s, _ := m["ssn"].(string); r.status != 200 || !strings.HasPrefix(s, "qanapi:") || strings.Contains(string(r.body), "123-45") {
		t.Errorf("encrypt with an index and no indexed value = %d %s, want ssn sealed", r.status, r.body)
	}
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Methods: []string{"PATCH"}, Path: "/people/*",
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"ssn", "email"},
			Index: []keystore.RouteIndex{{Field: "email", Normalize: "lower_trim"}}}}); err != nil {
		t.Fatal(err)
	}
	r = e.do("PATCH", "/proxy/"+p.ID+"/people/7", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key)
	m = objectOf(t, r.body)
	if s, _ := m["ssn"].(string); r.status != 200 || !strings.HasPrefix(s, "qanapi:") {
		t.Errorf("routed PATCH without the indexed field = %d %s, want ssn sealed", r.status, r.body)
	}
}

func TestIndexRefusals(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	dkey := e.key(p.ID, keystore.KeyInput{Permissions: []string{"decrypt"}})
	tests := []struct {
		name, body string
		headers    []string
		status     int
		code, says string
	}{
		{"bad normalization", `{"email":"secret"}`, []string{HeaderFields, "email", HeaderIndex, "email:lowr"}, 400, "invalid_index", "lowr"},
		{"index without the field encrypted", `{"email":"secret"}`, []string{HeaderFields, "name", HeaderIndex, "email"}, 400, "invalid_index", "email"},
		{"index without fields", `{"email":"secret"}`, []string{HeaderIndex, "email"}, 400, "invalid_index", "encrypt"},
		{"decrypt mode", `{"email":"secret"}`, []string{HeaderFields, "email", HeaderMode, "decrypt", HeaderIndex, "email"}, 400, "invalid_index", "encrypt"},
		{"object", `{"email":{"a":"secret"}}`, []string{HeaderFields, "email", HeaderIndex, "email"}, 422, "index_not_scalar", "email"},
		{"array", `{"u":{"email":["secret"]}}`, []string{HeaderFields, "u.email", HeaderIndex, "u.email"}, 422, "index_not_scalar", "u.email"},
		{"inside an outer value", `{"u":{"email":"secret"}}`, []string{HeaderFields, "u,u.email", HeaderIndex, "u.email"}, 422, "index_not_encrypted", "u.email"},
		// A field to encrypt where the index is written would lose its
		// value to the index: refused, whatever the body holds.
		{"a field where the index goes", `{"ssn":"secret","ssn_bidx":"secret"}`, []string{HeaderFields, "ssn,ssn_bidx", HeaderIndex, "ssn"}, 400, "invalid_index", "ssn_bidx"},
		{"a field the index's other spelling", `{"ssn":"secret"}`, []string{HeaderFields, "ssn,ssnBidx", HeaderIndex, "ssn"}, 400, "invalid_index", "ssnBidx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/proxy/"+p.ID, tt.body, append([]string{HeaderAuthorization, key}, tt.headers...)...)
			rtErrorShape(t, tt.name, r, tt.status, tt.code)
			if !strings.Contains(string(r.body), tt.says) || strings.Contains(string(r.body), "secret") {
				t.Errorf("%s = %s, want a message naming %s, never the value", tt.name, r.body, tt.says)
			}
		})
	}
	for name, c := range map[string]struct {
		body, key string
		status    int
		code      string
	}{
		"no field":       {`{"data":"x"}`, key, 400, "invalid_request"},
		"object data":    {`{"field":"email","data":{"a":"secret"}}`, key, 422, "index_not_scalar"},
		"bad normalize":  {`{"field":"email","data":"secret","normalize":"upper"}`, key, 400, "invalid_index"},
		"bad bytes":      {`{"field":"email","data":"secret","bytes":2}`, key, 400, "invalid_index"},
		"wildcard last":  {`{"field":"items.*","data":"secret"}`, key, 400, "invalid_index"},
		"decrypt-only":   {`{"field":"email","data":"secret"}`, dkey, 403, "permission_denied"},
		"not JSON":       {`{"field":"email",`, key, 400, "invalid_json"},
		"bytes not int":  {`{"field":"email","data":"secret","bytes":8.5}`, key, 400, "invalid_request"},
		"normalize type": {`{"field":"email","data":"secret","normalize":1}`, key, 400, "invalid_request"},
	} {
		t.Run("direct/"+name, func(t *testing.T) {
			r := e.do("POST", pathDirectIndex, c.body, HeaderAuthorization, c.key)
			rtErrorShape(t, name, r, c.status, c.code)
			if strings.Contains(string(r.body), "secret") {
				t.Errorf("%s = %s: the value is echoed", name, r.body)
			}
		})
	}
	r := e.do("POST", pathDirectIndex, `{"field":"email","data":null}`, HeaderAuthorization, key)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"data":null}` {
		t.Errorf("index of null = %d %s, want {\"data\":null}", r.status, r.body)
	}
	r = e.do("POST", pathDirectIndex, `{"field":"email","data":"x","bytes":8}`, HeaderAuthorization, key)
	if m := objectOf(t, r.body); r.status != 200 || len(m["data"].(string)) != 11 {
		t.Errorf("8-byte index = %d %s, want 11 characters", r.status, r.body)
	}
}

func TestIndexRoute(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	_, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/users/**", Request: &keystore.RoutePhase{
		Mode: "encrypt", Fields: []string{"items.*.email", "phone"},
		Index: []keystore.RouteIndex{{Field: "items.*.email", Normalize: "lower"}, {Field: "phone", Normalize: "digits", Name: "phone_idx", Bytes: 8}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/proxy/"+p.ID+"/users", `{"items":[{"email":"A@x"},{"email":"b@x","email_bidx":"old"}],"phone":"+1 555 0100"}`,
		HeaderAuthorization, key)
	if r.status != 200 {
		t.Fatalf("routed encrypt = %d %s", r.status, r.body)
	}
	var got struct {
		Items []map[string]string
		Phone string
		Idx   string `json:"phone_idx"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	a, b := e.indexOf(key, "items.*.email", "lower", `"a@x"`), e.indexOf(key, "items.*.email", "lower", `"B@X"`)
	phone := e.indexOf(key, "phone", "digits", `"15550100"`)
	if len(got.Items) != 2 || got.Items[0]["email_bidx"] != a || got.Items[1]["email_bidx"] != b || !strings.HasPrefix(got.Phone, "qanapi:") {
		t.Errorf("routed encrypt = %s, want each element's email indexed (%s, %s)", r.body, a, b)
	}
	if len(got.Idx) != 11 || !strings.HasPrefix(phone, got.Idx[:10]) { // 10 characters: 60 bits
		t.Errorf("phone_idx = %q, want the first 8 bytes of %s", got.Idx, phone)
	}
	// The header may add an index, not change the route's.
	r = e.do("POST", "/proxy/"+p.ID+"/users", `{"phone":"1","name":"n"}`, HeaderAuthorization, key,
		HeaderFields, "name", HeaderIndex, "name")
	if m := objectOf(t, r.body); r.status != 200 || m["name_bidx"] == nil || m["phone_idx"] == nil {
		t.Errorf("route + header index = %d %s, want both indexes", r.status, r.body)
	}
	r = e.do("POST", "/proxy/"+p.ID+"/users", `{"phone":"1"}`, HeaderAuthorization, key, HeaderIndex, "phone:exact")
	rtErrorShape(t, "header changing the route's index", r, 400, "route_conflict")
	// Nor encrypt, by header, a field where the route writes an index.
	r = e.do("POST", "/proxy/"+p.ID+"/users", `{"phone":"1","phone_idx":"mine"}`, HeaderAuthorization, key, HeaderFields, "phone_idx")
	rtErrorShape(t, "header field where the route's index goes", r, 400, "invalid_index")
	if !strings.Contains(string(r.body), "phone_idx") {
		t.Errorf("header field where the route's index goes = %s, want it named", r.body)
	}
}

func TestIndexDirectEncrypt(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	want := e.indexOf(key, "user.email", "lower", `"Ann@x"`)
	r := e.do("POST", "/api-v1/v1/encrypt", `{"data":{"user":{"email":"ANN@x"}},"fields":["user.email"]}`,
		HeaderAuthorization, key, HeaderIndex, "user.email:lower")
	if r.status != 200 || !strings.Contains(string(r.body), `"email_bidx":"`+want+`"`) {
		t.Errorf("direct encrypt with index = %d %s, want email_bidx %s", r.status, r.body, want)
	}
	r = e.do("POST", "/api-v1/v1/encrypt", `{"data":{"email":"a","email_bidx":"b"},"fields":["email","email_bidx"]}`,
		HeaderAuthorization, key, HeaderIndex, "email")
	rtErrorShape(t, "direct encrypt of a field where the index goes", r, 400, "invalid_index")
	r = e.do("POST", "/api-v1/v1/encrypt", `{"data":"x"}`, HeaderAuthorization, key, HeaderIndex, "email")
	rtErrorShape(t, "direct encrypt of a scalar with an index", r, 400, "invalid_index")
	r = e.do("POST", "/api-v1/v1/decrypt", `{"data":"x"}`, HeaderAuthorization, key, HeaderIndex, "email")
	rtErrorShape(t, "direct decrypt with an index", r, 400, "invalid_index")
}

// indexSink keeps what the index tests check of request records.
type indexSink struct {
	mu     sync.Mutex
	recs   []events.Request
	fields []int
}

func (s *indexSink) Acquire() *events.Request { return new(events.Request) }
func (s *indexSink) Submit(r *events.Request) {
	s.mu.Lock()
	s.recs = append(s.recs, events.Request{Mode: r.Mode, Status: r.Status, RequestValues: r.RequestValues, KeyID: r.KeyID})
	s.fields = append(s.fields, r.FieldCount())
	s.mu.Unlock()
}

// TestIndexEvent: a direct index call is recorded like the other direct
// API calls: encrypt mode, one field, one value.
func TestIndexEvent(t *testing.T) {
	sink := &indexSink{}
	e := newRTEnv(t, rtOptions{events: sink})
	p := e.project("")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("POST", pathDirectIndex, `{"field":"email","data":"ann@example.com"}`, HeaderAuthorization, key)
	if r.status != 200 {
		t.Fatalf("POST /index = %d %s", r.status, r.body)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.recs) != 1 || sink.recs[0].Mode != "encrypt" || sink.recs[0].Status != 200 || sink.recs[0].RequestValues != 1 || sink.fields[0] != 1 {
		t.Errorf("event of POST /index = %+v with %v fields, want one encrypt event, 200, one value, one field", sink.recs, sink.fields)
	}
}
