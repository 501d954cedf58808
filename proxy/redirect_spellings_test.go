package proxy

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestRedirectOtherSpellings: a Location naming the destination (or
// the upstream) with its port written with leading zeros (:080, which Go's
// net/http, curl and browsers all dial as 80), its host percent-encoded
// (d%65st.test, which browsers decode) or with a tab inside (which
// browsers strip from a URL) was left as sent: a client following the
// 307 sent its key and the fields' plaintext straight to the destination.
func TestRedirectOtherSpellings(t *testing.T) {
	for _, c := range []struct {
		loc, upstream, rest string
		ok                  bool
	}{
		{"http://up.test:080/api/x", "http://up.test/api", "/x", true},
		{"http://up.test:0000080/api/x", "http://up.test/api", "/x", true},
		{"https://up.test:0443/api/x", "http://up.test/api", "/x", true},
		{"http://up.test:08080/x", "http://up.test:8080", "/x", true},
		{"http://up.test:0/x", "http://up.test", "", false},
		{"http://%75p.test/api/x", "http://up.test/api", "/x", true},
		{"http://UP%2etest/api/x", "http://up.test/api", "/x", true},
		{"ht\ttp://up.te\tst/api/x", "http://up.test/api", "/x", true},
		{"http://ev%69l.test/api/x", "http://up.test/api", "", false},
	} {
		rest, ok := underUpstream([]byte(c.loc), c.upstream)
		if ok != c.ok || string(rest) != c.rest {
			t.Errorf("underUpstream(%q, %q) = %q, %v, want %q, %v", c.loc, c.upstream, rest, ok, c.rest, c.ok)
		}
	}

	e := newRTEnv(t, rtOptions{})
	var loc string
	e.upstream("up.test:80", nil)
	e.upstream("dest.test:80", func(int, *fasthttp.Request) []byte {
		return rtAnswer(307, "application/json", `{}`, "Location: "+loc)
	})
	p := e.project("http://up.test/api", "http://dest.test")
	key := e.key(p.ID, keystore.KeyInput{})
	for _, l := range []string{"http://dest.test:080/v2/collect", "http://d%65st.test/v2/collect", "http://dest.test\t/v2/collect", "/\t/dest.test/v2/collect"} {
		loc = l
		r := e.do("POST", "/proxy/"+p.ID+"/x", `{"ssn":"123-45-6789"}`, HeaderAuthorization, key, HeaderFields, "ssn",
			HeaderDestination, "http://dest.test/collect")
		if r.status != 307 || r.header["Location"] != "" {
			t.Errorf("307 Location %q: got %d Location %q, want it removed", l, r.status, r.header["Location"])
		}
	}
}
