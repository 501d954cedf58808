package proxy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestDestinationResolvedAddresses: an allowed destination named by a
// host name is dialled only at addresses its name resolves to that are
// not loopback, link-local (cloud metadata), unspecified or multicast —
// whatever the name's DNS says (a domain taken over, or rebinding) — and
// refused 403 destination_not_allowed, with nothing sent, when it
// resolves to nothing else. A destination the allow-list names by
// address, or as localhost, is dialled as listed.
func TestDestinationResolvedAddresses(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	e.upstream("up.test:80", nil)
	set := func(host string, ips ...string) {
		var list []netip.Addr
		for _, ip := range ips {
			list = append(list, netip.MustParseAddr(ip))
		}
		e.mu.Lock()
		e.names[host] = list
		e.mu.Unlock()
	}
	set("meta.test", "169.254.169.254")
	set("loop.test", "127.0.0.1", "::1")
	set("mapped.test", "::ffff:169.254.169.254")
	set("zero.test", "0.0.0.0")
	set("link6.test", "fe80::1")
	set("multi.test", "224.0.0.1")
	set("mixed.test", "127.0.0.1", "198.51.100.20")
	mixed := e.upstream("mixed.test:80", nil)
	literal := e.upstream("127.0.0.1:9", nil)
	local := e.upstream("localhost:9", nil)
	var refusedUps []*rtUpstream
	for _, h := range []string{"meta.test", "loop.test", "mapped.test", "zero.test", "link6.test", "multi.test"} {
		refusedUps = append(refusedUps, e.upstream(h+":80", nil))
	}
	p := e.project("http://up.test", "http://meta.test", "http://loop.test", "http://mapped.test", "http://zero.test",
		"http://link6.test", "http://multi.test", "http://mixed.test", "http://127.0.0.1:9", "http://localhost:9")
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789"}`
	for _, h := range []string{"meta.test", "loop.test", "mapped.test", "zero.test", "link6.test", "multi.test"} {
		r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", HeaderDestination, "http://"+h+"/latest/meta-data")
		rtErrorShape(t, h, r, 403, "destination_not_allowed")
		if !strings.Contains(string(r.body), "resolves") {
			t.Errorf("%s: message %s does not say the name resolves to refused addresses", h, r.body)
		}
	}
	for i, u := range refusedUps {
		if n := u.wireLen(); n != 0 {
			t.Errorf("refused destination %d received %d bytes", i, n)
		}
	}
	for _, d := range e.dialed() {
		for _, bad := range []string{"169.254", "127.0.0.1:80", "[::1]", "0.0.0.0", "fe80", "224.0.0.1", "meta.test", "loop.test"} {
			if strings.Contains(d, bad) {
				t.Errorf("dialled %s", d)
			}
		}
	}
	// A name with an allowed address among refused ones: that one.
	if r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", HeaderDestination, "http://mixed.test/in"); r.status != 200 || mixed.last(t).uri != "/in" {
		t.Errorf("mixed.test = %d %s, want 200 through its public address", r.status, r.body)
	}
	if strings.Contains(string(mixed.wireSince(0)), "123-45-6789") {
		t.Error("the destination received the named field in plaintext")
	}
	// Listed by address, or as localhost: dialled as listed.
	for dest, u := range map[string]*rtUpstream{"http://127.0.0.1:9/a": literal, "http://localhost:9/a": local} {
		if r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", HeaderDestination, dest); r.status != 200 || u.last(t).uri != "/a" {
			t.Errorf("%s = %d %s, want 200: the allow-list names it", dest, r.status, r.body)
		}
	}
	// The project's own upstream is the admin's choice, not a caller's:
	// it is not resolved here.
	set("up.test", "127.0.0.1")
	if r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn"); r.status != 200 {
		t.Errorf("the project's upstream = %d %s, want 200", r.status, r.body)
	}
}
