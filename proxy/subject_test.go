package proxy

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

var (
	subjectTokenRE = regexp.MustCompile(`qanapi:[A-Za-z0-9_-]+:v[0-9]+f?s[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+:\$`)
	subjectRefRE   = regexp.MustCompile(`:v[0-9]+f?s([A-Za-z0-9_-]{22}):`)
)

// TestSubjectErase: values sealed with X-Qanapi-Subject (proxy and direct
// API) open until the subject is erased; then every copy of every token of
// that subject is 422 subject_erased (proxy, direct API, response phase),
// sealing for it is refused, and other subjects' and ordinary tokens
// still open. The subject id is in no token.
func TestSubjectErase(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	pp := "/proxy/" + p.ID
	seal := func(subject, body string) string {
		t.Helper()
		h := []string{HeaderAuthorization, key, HeaderFields, "ssn"}
		if subject != "" {
			h = append(h, HeaderSubject, subject)
		}
		r := e.do("POST", pp, body, h...)
		if r.status != 200 {
			t.Fatalf("seal for %q = %d %s", subject, r.status, r.body)
		}
		return string(r.body)
	}
	ann1, ann2 := seal("user-ann-42", `{"ssn":"111"}`), seal("user-ann-42", `{"ssn":["222","333"]}`)
	bob, plain := seal("user-bob-43", `{"ssn":"444"}`), seal("", `{"ssn":"555"}`)
	d := e.do("POST", pathDirectEncrypt, `{"data":"666"}`, HeaderAuthorization, key, HeaderSubject, "user-ann-42")
	if d.status != 200 {
		t.Fatalf("direct encrypt for a subject = %d %s", d.status, d.body)
	}
	annDirect := string(jsonField(t, d.body, "data"))
	for _, s := range []string{ann1, ann2, bob, annDirect} {
		if !subjectTokenRE.MatchString(s) || strings.Contains(s, "user-") {
			t.Fatalf("sealed %s: want subject tokens without the id", s)
		}
	}
	if subjectTokenRE.MatchString(plain) {
		t.Fatalf("sealed without a subject %s: want an ordinary token", plain)
	}
	open := func(body string) response {
		return e.do("POST", pp, body, HeaderAuthorization, key, HeaderMode, "decrypt", HeaderFields, "ssn")
	}
	if r := open(ann2); r.status != 200 || string(r.body) != `{"ssn":["222","333"]}` {
		t.Fatalf("decrypt before erasure = %d %s", r.status, r.body)
	}
	if _, erased, err := e.store.EraseSubject(p.ID, []byte("user-ann-42")); err != nil || !erased {
		t.Fatalf("EraseSubject = %v, %v", erased, err)
	}
	for _, body := range []string{ann1, ann2, ann1 + "\n"} { // every copy
		rtErrorShape(t, "decrypt after erasure", open(body), 422, "subject_erased")
	}
	rtErrorShape(t, "direct decrypt after erasure",
		e.do("POST", pathDirectDecrypt, `{"data":`+annDirect+`}`, HeaderAuthorization, key), 422, "subject_erased")
	rtErrorShape(t, "seal after erasure",
		e.do("POST", pp, `{"ssn":"777"}`, HeaderAuthorization, key, HeaderFields, "ssn", HeaderSubject, "user-ann-42"), 422, "subject_erased")
	rtErrorShape(t, "direct seal after erasure",
		e.do("POST", pathDirectEncrypt, `{"data":"1"}`, HeaderAuthorization, key, HeaderSubject, "user-ann-42"), 422, "subject_erased")
	for _, body := range []string{bob, plain} {
		if r := open(body); r.status != 200 {
			t.Errorf("decrypt %s after another subject's erasure = %d %s, want 200", body, r.status, r.body)
		}
	}
	// Response phase: an answer holding an erased subject's token.
	e.upstream("up.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", `[`+bob+`,`+ann1+`]`)
	})
	rtErrorShape(t, "response phase after erasure",
		e.do("GET", pp+"/people", "", HeaderAuthorization, key, HeaderResponseFields, "ssn"), 422, "subject_erased")
	// Tampering: bob's reference replaced by carol's (a live subject).
	carol := seal("user-carol-44", `{"ssn":"888"}`)
	refOf := func(s string) string { return subjectRefRE.FindStringSubmatch(s)[1] }
	forged := strings.Replace(bob, refOf(bob), refOf(carol), 1)
	rtErrorShape(t, "bob's token with carol's reference", open(forged), 422, "decrypt_failed")
}

// TestSubjectInvalid: an empty or overlong subject is 400 invalid_subject.
func TestSubjectInvalid(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	for _, s := range []string{"", strings.Repeat("x", 257)} {
		r := e.do("POST", "/proxy/"+p.ID, `{"a":1}`, HeaderAuthorization, key, HeaderFields, "a", HeaderSubject, s)
		if r.status != 400 || r.code() != "invalid_subject" {
			t.Errorf("subject of %d bytes = %d %s, want 400 invalid_subject", len(s), r.status, r.body)
		}
	}
}

// TestSubjectRouteField: a route's subject_field takes the subject from
// the body (left in clear unless named); a missing or non-string field is
// 400 naming it; a header naming another subject is route_conflict.
func TestSubjectRouteField(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	if _, err := e.store.CreateRoute(p.ID, keystore.RouteInput{Path: "/users/**",
		Request: &keystore.RoutePhase{Mode: "encrypt", Fields: []string{"user.email"}, SubjectField: "user.id"}}); err != nil {
		t.Fatal(err)
	}
	up := e.upstream("up.test:80", rtOK)
	pp := "/proxy/" + p.ID + "/users"
	r := e.do("POST", pp, `{"user":{"id":"u-77","email":"a@b.c"}}`, HeaderAuthorization, key)
	if r.status != 200 {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	sent := string(up.last(t).body)
	if !strings.Contains(sent, `"id":"u-77"`) || !subjectTokenRE.MatchString(sent) || strings.Contains(sent, "a@b.c") {
		t.Fatalf("upstream got %s, want the email sealed for the subject, the id in clear", sent)
	}
	kr, _ := e.store.Keyring(p.ID)
	ref, _ := kr.SubjectRef([]byte("u-77"))
	if !strings.Contains(sent, "s"+base64.RawURLEncoding.EncodeToString(ref[:])+":") {
		t.Errorf("upstream got %s, want the reference of u-77", sent)
	}
	for body, want := range map[string]string{
		`{"user":{"email":"a@b.c"}}`:         "user.id",
		`{"user":{"id":42,"email":"a@b.c"}}`: "user.id",
		`{"user":{"id":"","email":"a@b.c"}}`: "user.id",
	} {
		r := e.do("POST", pp, body, HeaderAuthorization, key)
		if r.status != 400 || r.code() != "invalid_subject" || !strings.Contains(string(r.body), want) {
			t.Errorf("POST %s = %d %s, want 400 invalid_subject naming %s", body, r.status, r.body, want)
		}
	}
	rtErrorShape(t, "header naming another subject",
		e.do("POST", pp, `{"user":{"id":"u-77","email":"x"}}`, HeaderAuthorization, key, HeaderSubject, "u-78"), 400, "route_conflict")
	if r := e.do("POST", pp, `{"user":{"id":"u-77","email":"x"}}`, HeaderAuthorization, key, HeaderSubject, "u-77"); r.status != 200 {
		t.Errorf("header naming the same subject = %d %s, want 200", r.status, r.body)
	}
	if _, _, err := e.store.EraseSubject(p.ID, []byte("u-77")); err != nil {
		t.Fatal(err)
	}
	rtErrorShape(t, "route seal for an erased subject",
		e.do("POST", pp, `{"user":{"id":"u-77","email":"x"}}`, HeaderAuthorization, key), 422, "subject_erased")
}

// TestSubjectDirectBody: the direct API takes "subject" from the body.
func TestSubjectDirectBody(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("POST", pathDirectEncrypt, `{"data":{"email":"a@b.c"},"fields":["email"],"subject":"u-9"}`, HeaderAuthorization, key)
	kr, _ := e.store.Keyring(p.ID)
	ref, _ := kr.SubjectRef([]byte("u-9"))
	if r.status != 200 || !strings.Contains(string(r.body), "s"+base64.RawURLEncoding.EncodeToString(ref[:])+":") {
		t.Fatalf("direct encrypt with subject = %d %s, want a token of u-9", r.status, r.body)
	}
	for _, body := range []string{`{"data":1,"subject":7}`, `{"data":1,"subject":""}`} {
		if r := e.do("POST", pathDirectEncrypt, body, HeaderAuthorization, key); r.status != 400 || r.code() != "invalid_subject" {
			t.Errorf("direct encrypt %s = %d %s, want 400 invalid_subject", body, r.status, r.body)
		}
	}
	if r := e.do("POST", pathDirectEncrypt, `{"data":1,"subject":"a"}`, HeaderAuthorization, key, HeaderSubject, "b"); r.status != 400 {
		t.Errorf("direct encrypt with two subjects = %d %s, want 400", r.status, r.body)
	}
}

// TestSubjectIgnoredOnDecrypt: a subject on a request that seals nothing
// has no effect (no reference computed, none in its event).
func TestSubjectIgnoredOnDecrypt(t *testing.T) {
	e := newDPEnv(t)
	p := e.project(keystore.ProjectInput{})
	key := e.key(p.ID, keystore.KeyInput{})
	enc := e.do("POST", "/proxy/"+p.ID, `{"a":1}`, HeaderAuthorization, key, HeaderFields, "a")
	r := e.do("POST", "/proxy/"+p.ID, string(enc.body), HeaderAuthorization, key, HeaderFields, "a", HeaderMode, "decrypt", HeaderSubject, "")
	if r.status != 200 || string(r.body) != `{"a":1}` {
		t.Errorf("decrypt with an (empty) subject = %d %s, want 200 {\"a\":1}", r.status, r.body)
	}
}
