package proxy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/keystore"
)

// resolveTo makes host resolve to ip in e.
func resolveTo(e *rtEnv, host, ip string) {
	e.mu.Lock()
	e.names[host] = []netip.Addr{netip.MustParseAddr(ip)}
	e.mu.Unlock()
}

// TestDestinationCloudMetadataIPv6: IPv6 results of a destination name
// are dialled (sdproxy dials both families), so the guard refuses the
// cloud credential endpoints at unique-local IPv6 addresses, beside AWS's
// IMDS at fd00:ec2::254: GCP's metadata server fd20:ce::254 (IPv6 and
// dual-stack VMs), AWS EKS Pod Identity Agent fd00:ec2::23 (pod IAM
// credentials on IPv6 clusters; its IPv4 169.254.170.23 is link-local)
// and Scaleway's fd00:42::42 (IPv4 169.254.42.42). Were they dialled, the
// caller's own headers (Metadata-Flavor: Google) would be forwarded and
// the credentials handed back: a full-read request forgery.
func TestDestinationCloudMetadataIPv6(t *testing.T) {
	e := newRTEnv(t, rtOptions{})
	e.upstream("up.test:80", nil)
	cases := map[string]string{
		"gcp6.test":      "fd20:ce::254",
		"ekspod6.test":   "fd00:ec2::23",
		"scaleway6.test": "fd00:42::42",
	}
	token := `{"access_token":"ya29.STOLEN","token_type":"Bearer"}`
	meta := func(_ int, req *fasthttp.Request) []byte {
		return rtAnswer(200, "application/json", token)
	}
	dests := []string{}
	ups := map[string]*rtUpstream{}
	for h, ip := range cases {
		resolveTo(e, h, ip)
		ups[h] = e.upstream(h+":80", meta)
		dests = append(dests, "http://"+h)
	}
	p := e.project("http://up.test", dests...)
	key := e.key(p.ID, keystore.KeyInput{})
	for h, ip := range cases {
		r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key, "Metadata-Flavor", "Google",
			HeaderDestination, "http://"+h+"/computeMetadata/v1/instance/service-accounts/default/token")
		if r.status != 403 || r.code() != "destination_not_allowed" {
			detail := ""
			if n := len(ups[h].requests()); n > 0 {
				detail = " (metadata endpoint received the request, Metadata-Flavor=" + ups[h].last(t).header.Get("Metadata-Flavor") + ")"
			}
			t.Errorf("%s resolving to %s = %d %s%s; want 403 destination_not_allowed, nothing dialled", h, ip, r.status, r.body, detail)
		}
	}
	for _, d := range e.dialed() {
		for _, ip := range cases {
			if strings.Contains(d, ip) {
				t.Errorf("dialled %s", d)
			}
		}
	}
}

// TestDestinationEmbeddedIPv4Forms: IPv6 forms that carry a refused IPv4
// address, which a translating network (SIIT, a local NAT64, a 6to4
// relay) delivers to it, are refused as that address, beside
// 64:ff9b::/96 and ::/96: the IPv4-translated form ::ffff:0:a.b.c.d (RFC
// 2765/6145), the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215, the
// IPv4 in the last 32 bits in its usual /96 use) and 6to4 2002:AABB:CCDD::/48
// (RFC 3056).
func TestDestinationEmbeddedIPv4Forms(t *testing.T) {
	for _, s := range []string{
		"::ffff:0:a9fe:a9fe",   // IPv4-translated 169.254.169.254
		"::ffff:0:7f00:1",      // IPv4-translated 127.0.0.1
		"64:ff9b:1::a9fe:a9fe", // local-use NAT64, 169.254.169.254
		"64:ff9b:1::7f00:1",    // local-use NAT64, 127.0.0.1
		"64:ff9b:1::6464:64c8", // local-use NAT64, 100.100.100.200
		"2002:a9fe:a9fe::1",    // 6to4 of 169.254.169.254
		"2002:7f00:1::1",       // 6to4 of 127.0.0.1
	} {
		if !refusedDestinationIP(netip.MustParseAddr(s)) {
			t.Errorf("refusedDestinationIP(%s) = false, want true", s)
		}
	}
	// Through the route, one of them.
	e := newRTEnv(t, rtOptions{})
	e.upstream("up.test:80", nil)
	resolveTo(e, "nat64local.test", "64:ff9b:1::a9fe:a9fe")
	u := e.upstream("nat64local.test:80", nil)
	p := e.project("http://up.test", "http://nat64local.test")
	key := e.key(p.ID, keystore.KeyInput{})
	r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, key, HeaderDestination, "http://nat64local.test/latest/meta-data")
	if r.status != 403 || u.wireLen() != 0 {
		t.Errorf("nat64local.test (64:ff9b:1::a9fe:a9fe) = %d %s, upstream got %d bytes; want 403 and nothing sent", r.status, r.body, u.wireLen())
	}
	// Still allowed: ordinary public and private IPv6, public IPv4 behind
	// the translators.
	for _, s := range []string{"2001:db8::1", "fd12:3456::1", "64:ff9b:1::808:808", "::ffff:0:808:808", "2002:808:808::1", "2606:4700::1111"} {
		if refusedDestinationIP(netip.MustParseAddr(s)) {
			t.Errorf("refusedDestinationIP(%s) = true, want false", s)
		}
	}
}

// TestDestinationRefusedSpellings: other spellings of loopback,
// link-local, unspecified, multicast and metadata addresses (mapped,
// compatible, zoned, NAT64, written long) are refused too.
func TestDestinationRefusedSpellings(t *testing.T) {
	for _, s := range []string{"::ffff:127.0.0.1", "0:0:0:0:0:0:0:1", "::ffff:7f00:1", "fd00:ec2:0::254", "fd00:0ec2:0000:0000:0000:0000:0000:0254",
		"fe80::1%eth0", "::ffff:169.254.169.254%x", "64:ff9b::a9fe:a9fe", "64:ff9b::6464:64c8", "::7f00:1", "::", "::ffff:0.0.0.0",
		"ff02::1", "ff01::1", "::ffff:100.100.100.200", "::0.0.0.1", "127.255.255.254", "::ffff:a9fe:1",
		"168.63.129.16", "::ffff:168.63.129.16", "192.0.0.192", "64:ff9b::c000:c0"} {
		if !refusedDestinationIP(netip.MustParseAddr(s)) {
			t.Errorf("%s not refused", s)
		}
	}
}
