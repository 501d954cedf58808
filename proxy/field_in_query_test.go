package proxy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestFieldInQueryRefused: with ssn named, the body's ssn is sealed, but
// ?ssn=… would go upstream as sent, and Rails (params), Laravel
// ($request->input), Spring (@RequestParam) and PHP ($_REQUEST) read it as
// the ssn field, in plaintext (the only one they see when the body leaves
// ssn out): 400 field_in_query, nothing sent, in its spellings.
func TestFieldInQueryRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, c := range []struct{ fields, query string }{
		{"ssn", "ssn=123-45-6789"},
		{"ssn", "SSN=123-45-6789"},
		{"ssn", "ssn%5B%5D=123-45-6789"},
		{"user.ssn", "user%5Bssn%5D=123-45-6789"},
		{"user_ssn", "user.ssn=123-45-6789"},
	} {
		n := len(up.requests())
		r := e.do("POST", "/proxy/"+p.ID+"/x?"+c.query, `{"name":"bob"}`, HeaderAuthorization, key, HeaderFields, c.fields)
		if len(up.requests()) > n {
			got := up.last(t)
			q, _ := url.ParseQuery(got.uri[strings.IndexByte(got.uri, '?')+1:])
			t.Errorf("fields %q: %d, upstream got %s (query %v): the named field in plaintext in the query", c.fields, r.status, got.uri, q)
		} else if r.status != 400 || r.code() != "field_in_query" {
			t.Errorf("fields %q, query %q: %d %s, want 400 field_in_query", c.fields, c.query, r.status, r.body)
		}
	}
	// Other parameters pass.
	if r := e.do("POST", "/proxy/"+p.ID+"/x?page=2&ssnx=1", `{"ssn":"1"}`, HeaderAuthorization, key, HeaderFields, "ssn"); r.status != 200 {
		t.Errorf("?page=2&ssnx=1: %d %s, want 200", r.status, r.body)
	}
}
