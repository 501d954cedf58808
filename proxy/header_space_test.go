package proxy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestRequestHeaderNameWithSpace: a request header name with a space
// inside (fasthttp keeps it) never reaches the upstream — a lenient
// parser could read "Transfer Encoding" as Transfer-Encoding — and
// "X-Qanapi Fields" is an unknown X-Qanapi header, refused, not ignored.
func TestRequestHeaderNameWithSpace(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789"}`
	r := e.raw(rtStatusLine("POST", "/proxy/"+p.ID+"/x"), "Host: sdproxy",
		"X-Qanapi-Authorization: "+key, "X-Qanapi-Fields: ssn", "Content-Type: application/json",
		"Transfer Encoding: chunked", "Content Length: 0", "Cache Control: no-cache",
		"Content-Length: "+strconv.Itoa(len(body)), "", body)
	if r.status != 200 {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	wire := string(up.wireSince(0))
	for _, banned := range []string{"Transfer Encoding", "Content Length", "Cache Control", "123-45-6789"} {
		if strings.Contains(wire, banned) {
			t.Errorf("the upstream received %q; wire:\n%s", banned, wire)
		}
	}
	at := len(up.wireSince(0))
	r = e.raw(rtStatusLine("POST", "/proxy/"+p.ID+"/x"), "Host: sdproxy",
		"X-Qanapi-Authorization: "+key, "X-Qanapi Fields: ssn", "Content-Type: application/json",
		"Content-Length: "+strconv.Itoa(len(body)), "", body)
	if r.status != 400 || !strings.Contains(string(r.body), "unknown_header") {
		t.Errorf(`"X-Qanapi Fields: ssn" = %d %s, want 400 unknown_header`, r.status, r.body)
	}
	if got := up.wireSince(at); len(got) != 0 {
		t.Errorf("the upstream received a request with a misspelt X-Qanapi header:\n%s", got)
	}
}

// TestConnectRefused: CONNECT through /proxy/{id} is 405 once the key is
// checked, and reaches no upstream (a tunnel would leave a pooled
// connection no longer speaking HTTP); without a key it is 401 as any
// other request.
func TestConnectRefused(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	up := e.upstream("up.test:80", nil)
	p := e.project("http://up.test/api")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.raw(rtStatusLine("CONNECT", "/proxy/"+p.ID+"/x"), "Host: sdproxy", "X-Qanapi-Authorization: "+key, "", "")
	if r.status != 405 || !strings.Contains(string(r.body), "method_not_allowed") {
		t.Errorf("CONNECT with a key = %d %s, want 405 method_not_allowed", r.status, r.body)
	}
	if got := up.wireSince(0); len(got) != 0 {
		t.Errorf("the upstream received:\n%s", got)
	}
	if r := e.raw(rtStatusLine("CONNECT", "/proxy/"+p.ID+"/x"), "Host: sdproxy", "", ""); r.status != 401 {
		t.Errorf("CONNECT without a key = %d %s, want 401", r.status, r.body)
	}
}
