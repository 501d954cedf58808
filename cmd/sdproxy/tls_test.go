package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// tlsServer is serve running in the test with TLS on both listeners.
type tlsServer struct {
	srv                 *server
	ca                  *testCA
	dataCert, dataKey   string
	dataAddr, adminAddr string
	log                 *lockedBuffer
}

// startTLSServer runs serve with certificates from a test CA; set may
// change the config first. Files are polled every 20ms.
func startTLSServer(t *testing.T, set func(*config.Config, *testCA)) *tlsServer {
	t.Helper()
	ca := newTestCA(t)
	dir := t.TempDir()
	ts := &tlsServer{ca: ca, dataCert: filepath.Join(dir, "data.crt"), dataKey: filepath.Join(dir, "data.key"), log: &lockedBuffer{}}
	ca.Issue(t, "data v1", ts.dataCert, ts.dataKey)
	adminCert, adminKey := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	ca.Issue(t, "admin", adminCert, adminKey)
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.TLS = config.TLS{CertFile: ts.dataCert, KeyFile: ts.dataKey}
	cfg.AdminTLS = config.AdminTLS{CertFile: adminCert, KeyFile: adminKey}
	if set != nil {
		set(&cfg, ca)
	}
	env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
	srv, err := newServer(context.Background(), cfg, env.get, io.Discard, ts.log)
	if err != nil {
		t.Fatalf("newServer = %v", err)
	}
	srv.certPoll = 20 * time.Millisecond
	ts.srv, ts.dataAddr, ts.adminAddr = srv, srv.dataLn.Addr().String(), srv.adminLn.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return ts
}

// peerCN dials addr and returns the leaf's common name.
func peerCN(t *testing.T, addr string, conf *tls.Config) (string, error) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// roundTrip sends one keep-alive GET on c and returns the status.
func roundTrip(t *testing.T, c *tls.Conn, r *bufio.Reader, path string) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
		t.Fatalf("write on the kept-alive connection: %v", err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read on the kept-alive connection: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDataListenerTLSVersions(t *testing.T) {
	ts := startTLSServer(t, nil)
	roots := ts.ca.Pool()
	cases := []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"TLS 1.1 refused", tls.VersionTLS10, tls.VersionTLS11, false},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, true},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", ts.dataAddr, &tls.Config{RootCAs: roots, MinVersion: tc.min, MaxVersion: tc.max})
			if (err == nil) != tc.ok {
				t.Fatalf("tls.Dial(max %x) = %v, want ok %v", tc.max, err, tc.ok)
			}
			if err != nil {
				return
			}
			defer c.Close()
			st := c.ConnectionState()
			if st.Version == tls.VersionTLS12 && !strings.Contains(tls.CipherSuiteName(st.CipherSuite), "ECDHE") {
				t.Errorf("TLS 1.2 cipher suite = %s, want ECDHE with AEAD", tls.CipherSuiteName(st.CipherSuite))
			}
			if code := roundTrip(t, c, bufio.NewReader(c), "/proxy/prj_x"); code != 401 {
				t.Errorf("GET /proxy/prj_x over TLS = %d, want 401", code)
			}
		})
	}
	// A non-AEAD TLS 1.2 suite is not offered.
	_, err := tls.Dial("tcp", ts.dataAddr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}})
	if err == nil {
		t.Error("tls.Dial with only ECDHE-ECDSA-AES128-CBC-SHA succeeded, want a refused handshake")
	}
}

// TestCertificateReloadOnFileChange renews the data certificate in place:
// new handshakes get it within the poll interval, a connection opened
// before keeps working, and a broken file keeps the last good one.
func TestCertificateReloadOnFileChange(t *testing.T) {
	ts := startTLSServer(t, nil)
	conf := &tls.Config{RootCAs: ts.ca.Pool()}
	old, err := tls.Dial("tcp", ts.dataAddr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	roundTrip(t, old, oldR, "/proxy/prj_x")

	ts.ca.Issue(t, "data v2", ts.dataCert, ts.dataKey)
	waitCN(t, ts.dataAddr, conf, "data v2")
	if code := roundTrip(t, old, oldR, "/proxy/prj_x"); code != 401 {
		t.Errorf("the connection opened before the reload answered %d, want 401", code)
	}
	if !strings.Contains(ts.log.String(), "TLS certificate reloaded") {
		t.Errorf("log = %q, want a line about the reload", ts.log.String())
	}

	if err := os.WriteFile(ts.dataCert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, ts.log, "TLS certificate reload failed: still serving the previous certificate")
	if cn, err := peerCN(t, ts.dataAddr, conf); err != nil || cn != "data v2" {
		t.Errorf("after a broken certificate file: CN %q, %v, want data v2 still served", cn, err)
	}
}

// TestCertificateReloadOnSignal drives watchCerts by its hup channel with
// polling out of the way (serve feeds SIGHUP into it; the real signal is
// tested on the binary in TestTLSEndToEnd).
func TestCertificateReloadOnSignal(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	ca.Issue(t, "v1", certFile, keyFile)
	r, err := newCertReloader("data", certFile, keyFile, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watchCerts(ctx, time.Hour, hup, r); close(done) }()
	defer func() { cancel(); <-done }()
	ca.Issue(t, "v2", certFile, keyFile)
	if cn := r.cur.Load().Leaf.Subject.CommonName; cn != "v1" {
		t.Fatalf("before the signal: CN %q, want v1", cn)
	}
	hup <- syscall.SIGHUP
	hup <- syscall.SIGHUP // taken once the first reload is done
	if cn := r.cur.Load().Leaf.Subject.CommonName; cn != "v2" {
		t.Errorf("after the signal: CN %q, want v2", cn)
	}
}

func TestAdminClientCertificates(t *testing.T) {
	var clientCA *testCA
	ts := startTLSServer(t, func(c *config.Config, ca *testCA) {
		clientCA = newTestCA(t)
		c.AdminTLS.ClientCAFile = clientCA.File
	})
	dir := t.TempDir()
	good := clientCA.Issue(t, "operator", filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key"))
	stranger := newTestCA(t).Issue(t, "stranger", filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key"))
	cases := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no client certificate", nil, false},
		{"certificate of another CA", []tls.Certificate{stranger}, false},
		{"certificate of the client CA", []tls.Certificate{good}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: ts.ca.Pool(), Certificates: tc.certs}}}
			resp, err := hc.Get("https://" + ts.adminAddr + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
			if ok := err == nil && resp.StatusCode == 200; ok != tc.ok {
				t.Errorf("GET /readyz = %v (%v), want ok %v", resp, err, tc.ok)
			}
		})
	}
}

func TestTLSStartupErrors(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	c1, k1 := filepath.Join(dir, "1.crt"), filepath.Join(dir, "1.key")
	c2, k2 := filepath.Join(dir, "2.crt"), filepath.Join(dir, "2.key")
	ca.Issue(t, "one", c1, k1)
	ca.Issue(t, "two", c2, k2)
	cases := []struct {
		name string
		set  func(*config.Config)
		want string
	}{
		{"key of another certificate", func(c *config.Config) { c.TLS = config.TLS{CertFile: c1, KeyFile: k2} }, "data TLS certificate: " + c1},
		{"missing file", func(c *config.Config) { c.AdminTLS = config.AdminTLS{CertFile: c1 + ".gone", KeyFile: k1} }, "admin TLS certificate"},
		{"client CA not PEM", func(c *config.Config) { c.AdminTLS = config.AdminTLS{CertFile: c1, KeyFile: k1, ClientCAFile: k1} }, "admin TLS client CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
			tc.set(&cfg)
			env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
			srv, err := newServer(context.Background(), cfg, env.get, io.Discard, &lockedBuffer{})
			if err == nil {
				srv.Run(canceled())
				t.Fatal("newServer = nil, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("newServer = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func waitCN(t *testing.T, addr string, conf *tls.Config, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cn, err := peerCN(t, addr, conf)
		if err == nil && cn == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("new handshakes got %q (%v) 5s after the renewal, want %q", cn, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitLog(t *testing.T, log *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log = %q, want %q within 5s", log.String(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdminClientCAReload: a new admin_tls.client_ca_file is read with
// the certificate (here on file change; SIGHUP takes the same path), so a
// client CA can be replaced without a restart, and a broken file keeps
// the CAs read before.
func TestAdminClientCAReload(t *testing.T) {
	ts, oldCA, newCA, oldClient, newClient := clientCASwap(t)
	ready := func(cert tls.Certificate) bool { return adminReady(ts, cert) }
	if !ready(oldClient) || ready(newClient) {
		t.Fatalf("before the change: old CA's client %v, new CA's %v, want only the old one accepted", ready(oldClient), ready(newClient))
	}
	pem, err := os.ReadFile(newCA.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldCA.File, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, ts.log, "client_ca_file="+oldCA.File)
	if ready(oldClient) || !ready(newClient) {
		t.Errorf("after the change: old CA's client %v, new CA's %v, want only the new one accepted", ready(oldClient), ready(newClient))
	}
	if err := os.WriteFile(oldCA.File, []byte("not a certificate, and a bit longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog(t, ts.log, "admin TLS client CA")
	if !ready(newClient) {
		t.Errorf("after a broken client CA file: the CA read before no longer accepted")
	}
}

// TestLooseTLSKeyFileWarns: a private key others can read starts, with
// one warning naming the file.
func TestLooseTLSKeyFileWarns(t *testing.T) {
	ca, dir := newTestCA(t), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	ca.Issue(t, "v1", certFile, keyFile)
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o640, true}, {0o644, true}} {
		if err := os.Chmod(keyFile, tc.mode); err != nil {
			t.Fatal(err)
		}
		var log lockedBuffer
		if _, err := newCertReloader("data", certFile, keyFile, "", slog.New(slog.NewTextHandler(&log, nil))); err != nil {
			t.Fatalf("newCertReloader with a %04o key = %v, want it to start", tc.mode, err)
		}
		if got := strings.Contains(log.String(), "TLS private key file is readable by group or others") && strings.Contains(log.String(), keyFile); got != tc.warn {
			t.Errorf("key file %04o: log %q, want a warning %v", tc.mode, log.String(), tc.warn)
		}
	}
}
