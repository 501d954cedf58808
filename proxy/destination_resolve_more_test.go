package proxy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestDestinationMetadataSpellings: the dial guard refused 169.254/16
// and fe80::/10 but let through other ways a name's DNS reaches the same
// places: AWS's IPv6 metadata endpoint fd00:ec2::254 (a unique-local
// address on Nitro instances) and Alibaba Cloud's 100.100.100.200;
// 169.254.169.254 or 127.0.0.1 behind the NAT64 well-known prefix
// (64:ff9b::/96, translated to IPv4 by the network's gateway) or as an
// IPv4-compatible IPv6 address (::a9fe:a9fe); and 0.0.0.0/8, "this
// network", which Linux dials as the local host.
func TestDestinationMetadataSpellings(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	e.upstream("up.test:80", nil)
	cases := map[string]string{
		"imds6.test":   "fd00:ec2::254",
		"alibaba.test": "100.100.100.200",
		"nat64m.test":  "64:ff9b::a9fe:a9fe",
		"nat64l.test":  "64:ff9b::7f00:1",
		"compat.test":  "::a9fe:a9fe",
		"zero8.test":   "0.1.2.3",
	}
	dests := []string{"http://up.test"}
	var ups []*rtUpstream
	for h, ip := range cases {
		e.mu.Lock()
		e.names[h] = []netip.Addr{netip.MustParseAddr(ip)}
		e.mu.Unlock()
		ups = append(ups, e.upstream(h+":80", nil))
		dests = append(dests, "http://"+h)
	}
	// A private address stays allowed.
	e.mu.Lock()
	e.names["internal.test"] = []netip.Addr{netip.MustParseAddr("fd12:3456::1")}
	e.mu.Unlock()
	internal := e.upstream("internal.test:80", nil)
	dests = append(dests, "http://internal.test")
	p := e.project(dests[0], dests[1:]...)
	key := e.key(p.ID, keystore.KeyInput{})
	body := `{"ssn":"123-45-6789"}`
	for h, ip := range cases {
		r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", HeaderDestination, "http://"+h+"/latest/meta-data")
		if r.status != 403 || !strings.Contains(string(r.body), "destination_not_allowed") {
			t.Errorf("%s resolving to %s = %d %s, want 403 destination_not_allowed", h, ip, r.status, r.body)
		}
	}
	for i, u := range ups {
		if n := u.wireLen(); n != 0 {
			t.Errorf("refused destination %d received %d bytes", i, n)
		}
	}
	if r := e.do("POST", "/proxy/"+p.ID+"/x", body, HeaderAuthorization, key, HeaderFields, "ssn", HeaderDestination, "http://internal.test/in"); r.status != 200 || internal.last(t).uri != "/in" {
		t.Errorf("internal.test (fd12:3456::1) = %d %s, want 200: private addresses are allowed", r.status, r.body)
	}
}
