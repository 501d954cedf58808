package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/internal/testpki"
)

// TestE2EUpstreamMTLS: the real binary forwards to an https upstream of a
// private CA that requires a client certificate, with the project's
// upstream_ca and client certificate set through the CLI; without the
// certificate the upstream refuses (502 upstream_tls_failed); the key
// never shows in the log or the CLI's output.
func TestE2EUpstreamMTLS(t *testing.T) {
	ca := testpki.NewCA(t, "e2e upstream CA")
	clientCA := testpki.NewCA(t, "e2e client CA")
	client := clientCA.Issue(t, "sdproxy e2e", "sdproxy.test")
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Client-CN", r.TLS.PeerCertificates[0].Subject.CommonName)
		w.Write(b)
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "upstream", "127.0.0.1").TLS},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool(), MinVersion: tls.VersionTLS12}
	up.StartTLS()
	t.Cleanup(up.Close)

	dir := t.TempDir()
	files := map[string]string{"ca.pem": ca.CertPEM, "client.pem": client.CertPEM, "client.key": client.KeyPEM}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	data := "http://" + env[config.EnvListen]

	var p struct{ ID string }
	out := cli(t, cl, "project", "create", "--name", "mtls", "--upstream", up.URL, "-o", "json",
		"--upstream-ca", filepath.Join(dir, "ca.pem"))
	json.Unmarshal([]byte(out), &p)
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))

	status, body := post(t, data+"/proxy/"+p.ID+"/echo", `{"a":1}`, "X-Qanapi-Authorization", key)
	if status != 502 || !strings.Contains(string(body), `"upstream_tls_failed"`) {
		t.Fatalf("proxy to the mTLS upstream without a client certificate = %d %s, want 502 upstream_tls_failed", status, body)
	}

	out = cli(t, cl, "project", "update", p.ID, "--upstream-client-cert", filepath.Join(dir, "client.pem"),
		"--upstream-client-key", filepath.Join(dir, "client.key"))
	if !strings.Contains(out, "set (never shown)") {
		t.Errorf("project update printed %s, want the key shown as set", out)
	}
	req, _ := http.NewRequest("POST", data+"/proxy/"+p.ID+"/echo", strings.NewReader(`{"a":1}`))
	req.Header.Set("X-Qanapi-Authorization", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Client-CN") != "sdproxy e2e" || string(b) != `{"a":1}` {
		t.Fatalf("proxy to the mTLS upstream with the client certificate = %d %s (client %q), want 200 from the upstream with the certificate",
			resp.StatusCode, b, resp.Header.Get("X-Client-CN"))
	}

	log := srv.Log(t) + out
	for _, line := range strings.Split(strings.TrimSpace(client.KeyPEM), "\n")[1:] {
		if len(line) > 16 && strings.Contains(log, line[:16]) {
			t.Fatalf("the client key shows in the log or the CLI's output:\n%s", log)
		}
	}
	srv.Stop(t)
}
