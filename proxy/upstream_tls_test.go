package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sdproxy/sdproxy/keystore"
)

// tlsUpstreamCert is a CA made in the test and a certificate it signed
// for host.
func tlsUpstreamCert(t *testing.T, host string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "upstream CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{host},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsUpstream serves 200 {"ok":true} over TLS with conf, reached by
// dialling addr.
func (e *rtEnv) tlsUpstream(addr string, conf *tls.Config) {
	ln := fasthttputil.NewInmemoryListener()
	e.mu.Lock()
	e.dialers[addr] = ln.Dial
	e.mu.Unlock()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"ok":true}`)
	}, Logger: rtQuiet{}}
	go srv.Serve(tls.NewListener(ln, conf))
	e.t.Cleanup(func() { srv.Shutdown() })
}

func TestUpstreamTLS(t *testing.T) {
	roots, cert := tlsUpstreamCert(t, "secure.test")
	_, otherCert := tlsUpstreamCert(t, "secure.test")
	cases := []struct {
		name   string
		roots  *x509.CertPool // of sdproxy; nil: the system's
		server *tls.Config
		status int
		code   string
	}{
		{"trusted CA", roots, &tls.Config{Certificates: []tls.Certificate{cert}}, 200, ""},
		{"unknown CA (system roots)", nil, &tls.Config{Certificates: []tls.Certificate{cert}}, 502, "upstream_tls_failed"},
		{"certificate of another CA", roots, &tls.Config{Certificates: []tls.Certificate{otherCert}}, 502, "upstream_tls_failed"},
		{"TLS 1.1 only", roots, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS11}, 502, "upstream_tls_failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRTEnv(t, rtOptions{upstreamRoots: tc.roots})
			e.tlsUpstream("secure.test:443", tc.server)
			p := e.project("https://secure.test")
			r := e.do("GET", "/proxy/"+p.ID+"/x", "", HeaderAuthorization, e.key(p.ID, keystore.KeyInput{}))
			if tc.code != "" {
				rtErrorShape(t, tc.name, r, tc.status, tc.code)
			} else if r.status != tc.status {
				t.Errorf("GET over TLS = %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
}
