package proxy

import (
	"crypto/tls"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/testpki"
	"github.com/sdproxy/sdproxy/keystore"
)

// Projects' own TLS profiles towards upstreams and destinations: their
// upstream_ca as the only roots, their client certificate for mTLS.

// profileSink keeps the project and status of every request record.
type profileSink struct {
	mu   sync.Mutex
	recs []events.Request
}

func (s *profileSink) Acquire() *events.Request { return new(events.Request) }
func (s *profileSink) Submit(r *events.Request) {
	s.mu.Lock()
	s.recs = append(s.recs, events.Request{ProjectID: r.ProjectID, Status: r.Status})
	s.mu.Unlock()
}

func (s *profileSink) last() events.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return events.Request{}
	}
	return s.recs[len(s.recs)-1]
}

// tlsProfile is the settings of a CA (nil: none) and a client certificate
// (nil: none).
func tlsProfile(ca *testpki.CA, client *testpki.Leaf) keystore.ProjectInput {
	var in keystore.ProjectInput
	if ca != nil {
		in.UpstreamCA = &ca.CertPEM
	}
	if client != nil {
		k := keystore.PrivateKeyPEM(client.KeyPEM)
		in.UpstreamClientCert, in.UpstreamClientKey = &client.CertPEM, &k
	}
	return in
}

// profileEnv is an env whose default roots are none of the test's CAs,
// with two CAs, an https upstream secure.test (certificate of ca) that
// asks for client certificates of clientCA when mtls, and a sink.
type profileEnv struct {
	*rtEnv
	ca, other, clientCA *testpki.CA
	sink                *profileSink
}

func newProfileEnv(t *testing.T, mtls bool) *profileEnv {
	t.Helper()
	return newProfileEnvMax(t, mtls, 0)
}

// newProfileEnvMax is newProfileEnv with the upstream's highest TLS
// version (0: TLS 1.3).
func newProfileEnvMax(t *testing.T, mtls bool, maxVersion uint16) *profileEnv {
	t.Helper()
	sink := &profileSink{}
	e := &profileEnv{rtEnv: newRTEnv(t, rtOptions{events: sink}), sink: sink,
		ca: testpki.NewCA(t, "upstream CA"), other: testpki.NewCA(t, "other CA"), clientCA: testpki.NewCA(t, "client CA")}
	conf := &tls.Config{Certificates: []tls.Certificate{e.ca.Issue(t, "secure.test", "secure.test").TLS}, MaxVersion: maxVersion}
	if mtls {
		conf.ClientAuth, conf.ClientCAs = tls.RequireAndVerifyClientCert, e.clientCA.Pool()
	}
	e.tlsUpstream("secure.test:443", conf)
	return e
}

// get sends GET /proxy/{p}/x (to its upstream), or to dest with
// X-Qanapi-Destination, with a fresh key of p.
func (e *profileEnv) get(p keystore.Project, dest string) response {
	e.t.Helper()
	h := []string{HeaderAuthorization, e.key(p.ID, keystore.KeyInput{})}
	if dest != "" {
		h = append(h, HeaderDestination, dest)
	}
	return e.do("GET", "/proxy/"+p.ID+"/x", "", h...)
}

func (e *profileEnv) update(t *testing.T, id string, in keystore.ProjectInput) {
	t.Helper()
	if _, err := e.store.UpdateProject(id, in); err != nil {
		t.Fatalf("UpdateProject(%s) = %v", id, err)
	}
}

func (e *profileEnv) projectWith(upstream string, in keystore.ProjectInput, dests ...string) keystore.Project {
	e.t.Helper()
	p := e.project(upstream, dests...)
	if in != (keystore.ProjectInput{}) {
		e.update(e.t.(*testing.T), p.ID, in)
	}
	return p
}

func TestUpstreamCAOfProject(t *testing.T) {
	e := newProfileEnv(t, false)
	cases := []struct {
		name   string
		in     keystore.ProjectInput
		status int
	}{
		{"system roots (not the test CA)", tlsProfile(nil, nil), 502},
		{"upstream_ca: the upstream's CA", tlsProfile(e.ca, nil), 200},
		{"upstream_ca: another CA", tlsProfile(e.other, nil), 502},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.projectWith("https://secure.test", tc.in)
			r := e.get(p, "")
			if tc.status == 502 {
				rtErrorShape(t, "GET (upstream)", r, 502, "upstream_tls_failed")
				if ev := e.sink.last(); ev.ProjectID != p.ID || ev.Status != 502 {
					t.Errorf("last event = %+v, want project %s with status 502", ev, p.ID)
				}
			} else if r.status != 200 {
				t.Fatalf("GET (upstream) = %d %s, want 200", r.status, r.body)
			}
			// A destination is verified against the same roots.
			d := e.projectWith("", tc.in, "https://secure.test")
			r = e.get(d, "https://secure.test/x")
			if tc.status == 502 {
				rtErrorShape(t, "GET (destination)", r, 502, "upstream_tls_failed")
			} else if r.status != 200 {
				t.Fatalf("GET (destination) = %d %s, want 200", r.status, r.body)
			}
		})
	}
}

func TestUpstreamMTLS(t *testing.T) {
	e := newProfileEnv(t, true)
	good := e.clientCA.Issue(t, "sdproxy", "sdproxy.test")
	stranger := e.other.Issue(t, "stranger", "sdproxy.test")
	cases := []struct {
		name   string
		in     keystore.ProjectInput
		status int
	}{
		{"no client certificate", tlsProfile(e.ca, nil), 502},
		{"client certificate of a CA the upstream does not trust", tlsProfile(e.ca, &stranger), 502},
		{"client certificate", tlsProfile(e.ca, &good), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.projectWith("https://secure.test", tc.in)
			r := e.get(p, "")
			if tc.status == 502 {
				mtlsRefused(t, "GET over mTLS", r)
			} else if r.status != 200 {
				t.Fatalf("GET over mTLS = %d %s, want 200", r.status, r.body)
			}
		})
	}
}

// TestUpstreamMTLS12: under TLS 1.2 the upstream refuses a missing
// client certificate within the handshake, so the code is
// upstream_tls_failed.
func TestUpstreamMTLS12(t *testing.T) {
	e := newProfileEnvMax(t, true, tls.VersionTLS12)
	p := e.projectWith("https://secure.test", tlsProfile(e.ca, nil))
	rtErrorShape(t, "GET over mTLS (TLS 1.2) without a client certificate", e.get(p, ""), 502, "upstream_tls_failed")
	good := e.clientCA.Issue(t, "sdproxy", "sdproxy.test")
	e.update(t, p.ID, tlsProfile(nil, &good))
	if r := e.get(p, ""); r.status != 200 {
		t.Fatalf("GET over mTLS (TLS 1.2) with the client certificate = %d %s, want 200", r.status, r.body)
	}
}

// TestUpstreamProfileReload: changing a project's upstream_ca or client
// certificate in the store takes effect on its next request, through a
// new client (the old one is not reused); changing another setting keeps
// the client.
func TestUpstreamProfileReload(t *testing.T) {
	e := newProfileEnv(t, true)
	first := e.clientCA.Issue(t, "sdproxy", "sdproxy.test")
	p := e.projectWith("https://secure.test", tlsProfile(e.other, &first))
	rtErrorShape(t, "GET with the wrong CA", e.get(p, ""), 502, "upstream_tls_failed")

	none := ""
	clearCert := keystore.ProjectInput{UpstreamCA: &e.ca.CertPEM, UpstreamClientCert: &none, UpstreamClientKey: new(keystore.PrivateKeyPEM)}
	e.update(t, p.ID, clearCert)
	mtlsRefused(t, "GET after the CA changed, the client certificate removed", e.get(p, ""))

	e.update(t, p.ID, tlsProfile(nil, &first))
	if r := e.get(p, ""); r.status != 200 {
		t.Fatalf("GET after the client certificate was set = %d %s, want 200", r.status, r.body)
	}
	c1, _ := e.data.upstreams.project(e.store.CachedProject([]byte(p.ID)), e.clock.Now().UnixNano())

	rl := keystore.RateLimit{RequestsPerSecond: 1e5, Burst: 1 << 19}
	e.update(t, p.ID, keystore.ProjectInput{RateLimit: &rl})
	if r := e.get(p, ""); r.status != 200 {
		t.Fatalf("GET after the rate limit changed = %d %s, want 200", r.status, r.body)
	}
	if c, _ := e.data.upstreams.project(e.store.CachedProject([]byte(p.ID)), e.clock.Now().UnixNano()); c != c1 {
		t.Errorf("a change of the rate limit replaced the project's upstream client; want it kept")
	}

	second := e.other.Issue(t, "sdproxy 2", "sdproxy.test") // a CA the upstream does not trust
	e.update(t, p.ID, tlsProfile(nil, &second))
	mtlsRefused(t, "GET after the client certificate changed to an untrusted one", e.get(p, ""))
	if c, _ := e.data.upstreams.project(e.store.CachedProject([]byte(p.ID)), e.clock.Now().UnixNano()); c == c1 {
		t.Errorf("after the client certificate changed, the old client is still used")
	}
	third := e.clientCA.Issue(t, "sdproxy 3", "sdproxy.test")
	e.update(t, p.ID, tlsProfile(nil, &third))
	if r := e.get(p, ""); r.status != 200 {
		t.Fatalf("GET after a new trusted client certificate = %d %s, want 200", r.status, r.body)
	}
}

// TestUpstreamProfilesNotShared: two projects on one origin with
// different profiles never share a client: the one with the right CA
// and a client certificate gets through, the others do not, whatever
// the order.
func TestUpstreamProfilesNotShared(t *testing.T) {
	e := newProfileEnv(t, true)
	cert := e.clientCA.Issue(t, "sdproxy", "sdproxy.test")
	full := e.projectWith("https://secure.test", tlsProfile(e.ca, &cert), "https://secure.test")
	wrongCA := e.projectWith("https://secure.test", tlsProfile(e.other, nil), "https://secure.test")
	noCert := e.projectWith("https://secure.test", tlsProfile(e.ca, nil), "https://secure.test")
	plain := e.projectWith("https://secure.test", keystore.ProjectInput{}, "https://secure.test")
	for round := range 2 {
		for _, dest := range []string{"", "https://secure.test/x"} {
			if r := e.get(full, dest); r.status != 200 {
				t.Fatalf("round %d: GET (%q) of the project with CA and certificate = %d %s, want 200", round, dest, r.status, r.body)
			}
			for name, p := range map[string]keystore.Project{"wrong CA": wrongCA, "no certificate": noCert, "no profile": plain} {
				mtlsRefused(t, "GET of the project with "+name, e.get(p, dest))
			}
		}
	}
	if c, u := e.data.upstreams.size(); c != 8 || u != 4 {
		t.Errorf("upstreams kept %d clients and %d URLs, want 8 and 4 (per project, one for its upstream and one for the same origin as a destination, which dials through the destinations' checks)", c, u)
	}
}

// mtlsRefused checks a refusal by an upstream that requires a client
// certificate: 502 upstream_tls_failed, whether sdproxy refused the
// upstream's certificate or the upstream refused sdproxy's (or its
// absence), which TLS 1.3 reports only after the handshake.
func mtlsRefused(t *testing.T, what string, r response) {
	t.Helper()
	rtErrorShape(t, what, r, 502, "upstream_tls_failed")
}
