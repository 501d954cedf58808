package main

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
)

// adminReady reports whether GET /readyz on the admin listener answers 200
// with cert as the client certificate.
func adminReady(ts *tlsServer, cert tls.Certificate) bool {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ts.ca.Pool(), Certificates: []tls.Certificate{cert}}}}
	resp, err := hc.Get("https://" + ts.adminAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// clientCASwap starts a TLS server whose admin listener trusts the client
// CA oldCA, and issues a client certificate of it and of newCA, a CA the
// tests put in its place.
func clientCASwap(t *testing.T) (ts *tlsServer, oldCA, newCA *testCA, oldClient, newClient tls.Certificate) {
	ts = startTLSServer(t, func(c *config.Config, ca *testCA) {
		oldCA = newTestCA(t)
		c.AdminTLS.ClientCAFile = oldCA.File
	})
	dir := t.TempDir()
	newCA = newTestCA(t)
	oldClient = oldCA.Issue(t, "old operator", filepath.Join(dir, "o.crt"), filepath.Join(dir, "o.key"))
	newClient = newCA.Issue(t, "new operator", filepath.Join(dir, "n.crt"), filepath.Join(dir, "n.key"))
	return ts, oldCA, newCA, oldClient, newClient
}

// TestClientCAReloadNotHeldUpByCertificate: the operator replaces the
// admin client CA file to stop trusting a CA (a client certificate of it
// leaked) while the admin certificate's files happen to be broken (a key
// that does not match, mid-renewal or by mistake). The new CAs must take
// effect: a failed certificate must not keep the CA that was removed
// trusted.
func TestClientCAReloadNotHeldUpByCertificate(t *testing.T) {
	ts, oldCA, newCA, oldClient, newClient := clientCASwap(t)
	dir := t.TempDir()
	if !adminReady(ts, oldClient) || adminReady(ts, newClient) {
		t.Fatal("before the change: want only the old CA's client accepted")
	}
	// The admin key file now holds another certificate's key.
	ts.ca.Issue(t, "other", filepath.Join(dir, "x.crt"), filepath.Join(dir, "x.key"))
	otherKey, err := os.ReadFile(filepath.Join(dir, "x.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ts.srv.cfg.AdminTLS.KeyFile, otherKey, 0o600); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(newCA.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldCA.File, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, ts.log, "TLS certificate reload failed")
	waitLog(t, ts.log, "TLS client CAs reloaded")
	if adminReady(ts, oldClient) {
		t.Errorf("the removed CA's client is still accepted after the client CA file was replaced (the admin key file being broken)")
	}
	if !adminReady(ts, newClient) {
		t.Errorf("the new CA's client is refused after the client CA file was replaced (the admin key file being broken)")
	}
}

// TestCertificateRenewalNotHeldUpByClientCA: a renewed admin certificate
// is served even when the client CA file is broken at that moment: an
// unrelated CA file must not keep an expiring certificate served.
func TestCertificateRenewalNotHeldUpByClientCA(t *testing.T) {
	ts := startTLSServer(t, func(c *config.Config, ca *testCA) {
		c.AdminTLS.ClientCAFile = newTestCA(t).File
	})
	if err := os.WriteFile(ts.srv.cfg.AdminTLS.ClientCAFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.ca.Issue(t, "admin v2", ts.srv.cfg.AdminTLS.CertFile, ts.srv.cfg.AdminTLS.KeyFile)
	waitLog(t, ts.log, "admin TLS client CA")
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := tls.Dial("tcp", ts.adminAddr, &tls.Config{RootCAs: ts.ca.Pool()})
		if err == nil {
			cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName
			c.Close()
			if cn == "admin v2" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("with the client CA file broken, the renewed admin certificate is not served: CN %q, want admin v2", cn)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("dial: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
