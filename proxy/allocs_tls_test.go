//go:build !race

package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/internal/testpki"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestAllocsProxyUpstreamTLSProfile pins pass-through in a project with
// its own TLS profile (upstream_ca and a client certificate): its pool is
// found by project id and the settings' pointer, and its tls.Config was
// built once, so the profile costs nothing per request. Over plain http
// that is zero allocations. Over https crypto/tls itself allocates (one
// small reader per record read, on the client's side and on the
// in-memory upstream's), so mTLS with the profile is pinned to the same
// count as TLS through the default pool.
func TestAllocsProxyUpstreamTLSProfile(t *testing.T) {
	ca := testpki.NewCA(t, "upstream CA")
	client := ca.Issue(t, "sdproxy", "sdproxy.test")
	server := ca.Issue(t, "bench-tls.test", "bench-tls.test").TLS
	k := keystore.PrivateKeyPEM(client.KeyPEM)
	profile := keystore.ProjectInput{UpstreamCA: &ca.CertPEM, UpstreamClientCert: &client.CertPEM, UpstreamClientKey: &k}

	// Plain http with a profile: nothing at all.
	if got := allocsThrough(t, "http://bench.test/api", nil, nil, profile); got > 0 {
		t.Errorf("Data.Handler(pass-through, project with a TLS profile, http upstream) allocs = %v, want 0", got)
	}
	// TLS through the default pool (the roots as UpstreamOptions.RootCAs).
	base := allocsThrough(t, "https://bench-tls.test/api", &tls.Config{Certificates: []tls.Certificate{server}}, ca.Pool(), keystore.ProjectInput{})
	mtls := allocsThrough(t, "https://bench-tls.test/api", &tls.Config{Certificates: []tls.Certificate{server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}, nil, profile)
	t.Logf("pass-through over TLS: %v allocs through the default pool, %v with the project's profile over mTLS", base, mtls)
	if mtls > base || base > 2 {
		t.Errorf("Data.Handler(pass-through over mTLS, project's profile) allocs = %v, over TLS through the default pool %v; want the profile to add none, and at most crypto/tls's 2", mtls, base)
	}
}

// allocsThrough measures pass-through to upstream (served over TLS with
// conf when not nil, with roots as UpstreamOptions.RootCAs) in a project
// with the settings of profile.
func allocsThrough(t *testing.T, upstream string, conf *tls.Config, roots *x509.CertPool, profile keystore.ProjectInput) float64 {
	t.Helper()
	e := newRTEnv(t, rtOptions{realClock: true, upstreamRoots: roots})
	e.benchUpstream("bench.test:80", nil, false)
	if conf != nil {
		e.benchTLSUpstream("bench-tls.test:443", conf)
	}
	p := e.project(upstream)
	key := e.key(p.ID, keystore.KeyInput{})
	if _, err := e.store.UpdateProject(p.ID, profile); err != nil {
		t.Fatal(err)
	}
	r := &rtRig{data: e.data}
	if err := r.tmpl.Read(bufio.NewReader(strings.NewReader(rtRawRequest(rtBenchCases[0], p.ID, key)))); err != nil {
		t.Fatal(err)
	}
	r.ctx.Init(&r.tmpl, rtClientAddr, nil)
	for range 20 {
		r.check(t)
	}
	ok := true
	got := testing.AllocsPerRun(1000, func() { ok = r.serve() && ok })
	if !ok {
		t.Fatalf("Data.Handler = %d %s, want 200", r.ctx.Response.StatusCode(), r.ctx.Response.Body())
	}
	return got
}

// benchTLSUpstream is benchUpstream over TLS with conf.
func (e *rtEnv) benchTLSUpstream(addr string, conf *tls.Config) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBodyString("{}")
		},
		NoDefaultServerHeader: true, NoDefaultDate: true, Logger: rtQuiet{},
	}
	go srv.Serve(tls.NewListener(ln, conf))
	e.t.Cleanup(func() {
		srv.Shutdown()
		ln.Close()
	})
	e.mu.Lock()
	e.dialers[addr] = ln.Dial
	e.mu.Unlock()
}
