package main

import (
	"bufio"
	"crypto/tls"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// tlsE2E is a serve with TLS on both listeners and client certificates
// on the admin listener, with the files the CLI needs.
type tlsE2E struct {
	proc                *e2e.Proc
	ca                  *testCA
	env                 map[string]string // serve's environment
	cli                 map[string]string // the CLI's, over mTLS
	dataCert, dataKey   string
	clientCert, clientK string
}

func startTLSE2E(t *testing.T) *tlsE2E {
	t.Helper()
	ca, dir := newTestCA(t), t.TempDir()
	x := &tlsE2E{ca: ca, dataCert: filepath.Join(dir, "data.crt"), dataKey: filepath.Join(dir, "data.key"),
		clientCert: filepath.Join(dir, "client.crt"), clientK: filepath.Join(dir, "client.key")}
	ca.Issue(t, "data v1", x.dataCert, x.dataKey)
	adminCert, adminKey := filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key")
	ca.Issue(t, "admin", adminCert, adminKey)
	client := ca.Issue(t, "operator", x.clientCert, x.clientK)
	token := e2e.NewAdminToken(t)
	x.env = serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
	for k, v := range map[string]string{
		config.EnvAdminToken:  token,
		config.EnvTLSCertFile: x.dataCert, config.EnvTLSKeyFile: x.dataKey,
		config.EnvAdminTLSCertFile: adminCert, config.EnvAdminTLSKeyFile: adminKey,
		config.EnvAdminTLSClientCAFile: ca.File,
	} {
		x.env[k] = v
	}
	x.proc = e2e.StartTLS(t, x.env, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client}})
	x.cli = map[string]string{
		config.EnvAdminAddr: x.proc.AdminURL, config.EnvAdminToken: token,
		config.EnvAdminCAFile: ca.File, config.EnvAdminClientCertFile: x.clientCert, config.EnvAdminClientKeyFile: x.clientK,
	}
	return x
}

func TestE2ECLIOverTLS(t *testing.T) {
	x := startTLSE2E(t)
	out := cli(t, x.cli, "project", "create", "--name", "Secure")
	if !strings.Contains(out, "Secure") {
		t.Errorf("sdproxy project create over mTLS = %q, want the new project", out)
	}
	noCert := map[string]string{config.EnvAdminAddr: x.cli[config.EnvAdminAddr], config.EnvAdminToken: x.cli[config.EnvAdminToken], config.EnvAdminCAFile: x.ca.File}
	if _, stderr, code := e2e.Run(t, 30*time.Second, noCert, "project", "list"); code != 1 || !strings.Contains(stderr, "cannot reach the admin API") {
		t.Errorf("sdproxy project list without a client certificate = exit %d, %q, want exit 1 and a refusal", code, stderr)
	}
	untrusted := map[string]string{config.EnvAdminAddr: x.cli[config.EnvAdminAddr], config.EnvAdminToken: x.cli[config.EnvAdminToken]}
	if _, stderr, code := e2e.Run(t, 30*time.Second, untrusted, "project", "list"); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("sdproxy project list without SDPROXY_ADMIN_CA_FILE = exit %d, %q, want exit 1 naming the certificate", code, stderr)
	}
}

// TestE2ECertificateReloadOnSIGHUP renews the data certificate and sends
// SIGHUP: new handshakes get the new certificate, a connection opened
// before keeps working.
func TestE2ECertificateReloadOnSIGHUP(t *testing.T) {
	x := startTLSE2E(t)
	conf := &tls.Config{RootCAs: x.ca.Pool()}
	addr := x.env[config.EnvListen]
	old, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	roundTrip(t, old, oldR, "/proxy/prj_x")

	x.ca.Issue(t, "data v2", x.dataCert, x.dataKey)
	if err := x.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitCN(t, addr, conf, "data v2")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(x.proc.Log(t), "reason=SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("log has no reload for SIGHUP within 5s:\n%s", x.proc.Log(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := roundTrip(t, old, oldR, "/proxy/prj_x"); code != 401 {
		t.Errorf("the connection opened before SIGHUP answered %d, want 401", code)
	}
	x.proc.Stop(t)
}
