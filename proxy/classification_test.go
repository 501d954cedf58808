package proxy

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// mustClass defines classifications slugs in project, with the defaults.
func mustClass(t testing.TB, s *keystore.Store, project string, slugs ...string) {
	t.Helper()
	for _, slug := range slugs {
		if _, err := s.CreateClassification(project, keystore.ClassificationInput{Slug: slug}); err != nil {
			t.Fatalf("CreateClassification(%s, %s) = %v", project, slug, err)
		}
	}
}

// classEnv is a project with classifications pii (mask: first 2 shown,
// '#') and card (last 4 shown, '•'), whose upstream answers GET /records
// with answer, decrypted by a route: a key of each kind.
type classEnv struct {
	*rtEnv
	p            keystore.Project
	full, masked string

	mu     sync.Mutex
	answer string
}

func newClassEnv(t *testing.T) *classEnv {
	e := &classEnv{rtEnv: newRTEnv(t, rtOptions{})}
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		e.mu.Lock()
		defer e.mu.Unlock()
		return rtAnswer(200, "application/json", e.answer)
	})
	e.p = e.project("http://up.test/api")
	for _, in := range []keystore.ClassificationInput{
		{Slug: "pii", Name: "Personal data", Mask: &keystore.Mask{ShowFirst: 2, Char: "#"}},
		{Slug: "card", Mask: &keystore.Mask{ShowLast: 4, Char: "•"}},
	} {
		if _, err := e.store.CreateClassification(e.p.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	route := keystore.RouteInput{Methods: []string{"GET"}, Path: "/records/**",
		Response: &keystore.RoutePhase{Fields: []string{"name", "card", "note", "old"}}}
	if _, err := e.store.CreateRoute(e.p.ID, route); err != nil {
		t.Fatal(err)
	}
	e.full = e.key(e.p.ID, keystore.KeyInput{})
	e.masked = e.key(e.p.ID, keystore.KeyInput{Permissions: []string{keystore.PermDecryptMasked}})
	return e
}

func (e *classEnv) setAnswer(s string) {
	e.mu.Lock()
	e.answer = s
	e.mu.Unlock()
}

// get reads /records/1 with key and returns the answer's members.
func (e *classEnv) get(t *testing.T, key string) map[string]string {
	t.Helper()
	r := e.do("GET", "/proxy/"+e.p.ID+"/records/1", "", HeaderAuthorization, key)
	var m map[string]string
	if r.status != 200 || json.Unmarshal(r.body, &m) != nil {
		t.Fatalf("GET /records/1 = %d %s, want 200 and an object of strings", r.status, r.body)
	}
	return m
}

// TestUnknownClassification: encrypting with a slug the project does not
// define is 422 unknown_classification, through the proxy and the direct
// API; "none" always exists; decrypting is not checked.
func TestUnknownClassification(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("")
	other := e.project("")
	mustClass(t, e.store, p.ID, "pii")
	mustClass(t, e.store, other.ID, "phi")
	key := e.key(p.ID, keystore.KeyInput{})
	pp := "/proxy/" + p.ID
	enc := func(cls string) []string {
		return []string{HeaderAuthorization, key, HeaderFields, "ssn", HeaderClassification, cls}
	}

	rtErrorShape(t, "proxy encrypt with phi (another project's)", e.do("POST", pp, `{"ssn":"1"}`, enc("phi")...), 422, "unknown_classification")
	rtErrorShape(t, "direct encrypt with phi", e.do("POST", pathDirectEncrypt, `{"data":"1"}`, HeaderAuthorization, key, HeaderClassification, "phi"), 422, "unknown_classification")
	rtErrorShape(t, "proxy encrypt with a malformed slug", e.do("POST", pp, `{"ssn":"1"}`, enc("Not A Slug")...), 400, "invalid_classification")
	for _, cls := range []string{"pii", "none"} {
		if r := e.do("POST", pp, `{"ssn":"1"}`, enc(cls)...); r.status != 200 || !strings.Contains(string(r.body), "qanapi:") {
			t.Errorf("proxy encrypt with %s = %d %s, want 200 and a token", cls, r.status, r.body)
		}
	}
	if r := e.do("POST", pathDirectEncrypt, `{"data":"1"}`, HeaderAuthorization, key); r.status != 200 {
		t.Errorf("direct encrypt without a classification = %d %s, want 200", r.status, r.body)
	}

	// Decrypt does not look slugs up: a pii token asked for as phi is a mismatch.
	pii := e.seal(p.ID, key, `"123"`, HeaderClassification, "pii")
	rtErrorShape(t, "decrypt a pii token as phi", e.do("POST", pp, `{"ssn":`+pii+`}`, HeaderAuthorization, key, HeaderFields, "ssn", HeaderMode, "decrypt", HeaderClassification, "phi"), 403, "classification_mismatch")

	// A key limited to none encrypts untagged values, and nothing else.
	noneKey := e.key(p.ID, keystore.KeyInput{Classifications: []string{"none"}})
	if r := e.do("POST", pp, `{"ssn":"1"}`, HeaderAuthorization, noneKey, HeaderFields, "ssn"); r.status != 200 {
		t.Errorf("encrypt without a classification with a key limited to none = %d %s, want 200", r.status, r.body)
	}
	rtErrorShape(t, "encrypt pii with a key limited to none", e.do("POST", pp, `{"ssn":"1"}`, HeaderAuthorization, noneKey, HeaderFields, "ssn", HeaderClassification, "pii"), 403, "permission_denied")
}

// TestMaskedByClassification: a decrypt_masked key sees each value
// through its classification's mask, the default one for untagged tokens;
// a change of a mask applies to the next request.
func TestMaskedByClassification(t *testing.T) {
	e := newClassEnv(t)
	seal := func(value, cls string) string {
		if cls == "" {
			return e.seal(e.p.ID, e.full, value)
		}
		return e.seal(e.p.ID, e.full, value, HeaderClassification, cls)
	}
	e.setAnswer(`{"name":` + seal(`"Ada Lovelace"`, "pii") + `,"card":` + seal(`"4111 1111 1111 1234"`, "card") +
		`,"note":` + seal(`"hello world"`, "") + `,"id":"7"}`)

	want := map[string]string{"name": "Ad##########", "card": "•••••••••••••••1234", "note": "*******orld", "id": "7"}
	got := e.get(t, e.masked)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("decrypt_masked key sees %s = %q, want %q (its classification's mask)", k, got[k], v)
		}
	}
	if got := e.get(t, e.full); got["name"] != "Ada Lovelace" || got["card"] != "4111 1111 1111 1234" || got["note"] != "hello world" {
		t.Errorf("decrypt key sees %v, want plaintext", got)
	}

	if _, err := e.store.UpdateClassification(e.p.ID, "pii", keystore.ClassificationInput{Mask: &keystore.Mask{ShowLast: 3, Char: "x"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, e.masked); got["name"] != "xxxxxxxxxace" || got["card"] != want["card"] {
		t.Errorf("decrypt_masked key after pii's mask changed sees name %q, card %q, want xxxxxxxxxace and the card unchanged", got["name"], got["card"])
	}
}

// TestDeletedClassificationStillDecrypts: tokens of a slug the project no
// longer defines open for keys without a classification scope (masked by
// the default mask), while encrypting with it is refused.
func TestDeletedClassificationStillDecrypts(t *testing.T) {
	e := newClassEnv(t)
	mustClass(t, e.store, e.p.ID, "old")
	old := e.seal(e.p.ID, e.full, `"legacy data"`, HeaderClassification, "old")
	if _, err := e.store.DeleteClassification(e.p.ID, "old"); err != nil {
		t.Fatal(err)
	}
	pp := "/proxy/" + e.p.ID

	r := e.do("POST", pathDirectDecrypt, `{"data":`+old+`}`, HeaderAuthorization, e.full)
	if got := jsonField(t, r.body, "data"); r.status != 200 || string(got) != `"legacy data"` {
		t.Errorf("direct decrypt of a deleted slug's token = %d %s, want 200 \"legacy data\"", r.status, r.body)
	}
	r = e.do("POST", pp, `{"ssn":`+old+`}`, HeaderAuthorization, e.full, HeaderFields, "ssn", HeaderMode, "decrypt")
	if r.status != 200 || string(r.body) != `{"ssn":"legacy data"}` {
		t.Errorf("proxy decrypt of a deleted slug's token = %d %s, want 200 {\"ssn\":\"legacy data\"}", r.status, r.body)
	}
	e.setAnswer(`{"old":` + old + `}`)
	if got := e.get(t, e.masked); got["old"] != "*******data" {
		t.Errorf("decrypt_masked key sees a deleted slug's value as %q, want the default mask *******data", got["old"])
	}
	if got := e.get(t, e.full); got["old"] != "legacy data" {
		t.Errorf("decrypt key sees a deleted slug's value as %q, want legacy data", got["old"])
	}

	rtErrorShape(t, "encrypt with the deleted slug", e.do("POST", pp, `{"ssn":"1"}`, HeaderAuthorization, e.full, HeaderFields, "ssn", HeaderClassification, "old"), 422, "unknown_classification")
	scoped := e.key(e.p.ID, keystore.KeyInput{Classifications: []string{"pii"}})
	rtErrorShape(t, "a pii-scoped key decrypts a deleted slug's token", e.do("POST", pathDirectDecrypt, `{"data":`+old+`}`, HeaderAuthorization, scoped), 403, "permission_denied")

	// Defined again, the slug's tokens take its new mask.
	if _, err := e.store.CreateClassification(e.p.ID, keystore.ClassificationInput{Slug: "old", Mask: &keystore.Mask{ShowFirst: 6, Char: "_"}}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, e.masked); got["old"] != "legacy_____" {
		t.Errorf("decrypt_masked key sees a re-created slug's value as %q, want legacy_____", got["old"])
	}
}
