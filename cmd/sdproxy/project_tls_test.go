package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/testpki"
	"github.com/sdproxy/sdproxy/keystore"
)

// startRealAdmin serves the admin API over a real store on a loopback
// port and returns the CLI's environment for it.
func startRealAdmin(t *testing.T) (fakeEnv, *keystore.Store) {
	t.Helper()
	store, err := keystore.Open(t.TempDir(), keystore.Options{MasterKey: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := admin.New(admin.Options{Store: store, Token: "sdpa_cli-test-token"})
	srv := &fasthttp.Server{Handler: a.Handler, ErrorHandler: a.ServerErrorHandler, MaxRequestBodySize: 1 << 20}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Shutdown()
		<-served
		store.Close()
	})
	return fakeEnv{config.EnvAdminToken: "sdpa_cli-test-token", config.EnvAdminAddr: "http://" + ln.Addr().String()}, store
}

// runCLI runs the CLI with args and returns its stdout, stderr and code.
func runCLI(env fakeEnv, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, env.get)
	return stdout.String(), stderr.String(), code
}

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// noKeyIn fails when out holds any line of the PEM key.
func noKeyIn(t *testing.T, what, out string, keys ...testpki.Leaf) {
	t.Helper()
	for _, k := range keys {
		for _, line := range strings.Split(strings.TrimSpace(k.KeyPEM), "\n")[1:] {
			if len(line) > 16 && strings.Contains(out, line[:16]) {
				t.Fatalf("%s printed the client key: %s", what, out)
			}
		}
	}
}

func TestProjectCmdUpstreamTLS(t *testing.T) {
	env, store := startRealAdmin(t)
	ca := testpki.NewCA(t, "upstream CA")
	leaf := ca.Issue(t, "sdproxy client", "client.test")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ca.pem": ca.CertPEM, "client.pem": leaf.CertPEM, "client.key": leaf.KeyPEM})
	f := func(name string) string { return filepath.Join(dir, name) }

	out, errOut, code := runCLI(env, "project", "create", "--name", "mtls", "--upstream", "https://up.example",
		"--upstream-ca", f("ca.pem"), "--upstream-client-cert", f("client.pem"), "--upstream-client-key", f("client.key"))
	if code != 0 {
		t.Fatalf("project create = %d %s", code, errOut)
	}
	noKeyIn(t, "project create", out+errOut, leaf)
	for _, want := range []string{"upstream_ca", "CN=upstream CA (sha256:", "CN=sdproxy client", "set (never shown)"} {
		if !strings.Contains(out, want) {
			t.Errorf("project create printed %s, want it to mention %q", out, want)
		}
	}
	ps, _ := store.Projects()
	if len(ps) != 1 || ps[0].UpstreamCA != ca.CertPEM || ps[0].UpstreamClientCert != leaf.CertPEM || !ps[0].HasUpstreamClientKey() {
		t.Fatalf("stored projects = %+v, want one with the CA, the certificate and a key", ps)
	}
	id := ps[0].ID

	out, errOut, code = runCLI(env, "project", "show", id, "--output", "json")
	noKeyIn(t, "project show -o json", out+errOut, leaf)
	var p wire.Project
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || p.UpstreamCA != ca.CertPEM || !p.UpstreamClientKeySet {
		t.Fatalf("project show -o json = %d %s %v, want the CA and upstream_client_key_set", code, out, err)
	}

	if _, errOut, code = runCLI(env, "project", "update", id, "--upstream-client-cert", f("client.pem")); code == 0 || !strings.Contains(errOut, "go together") {
		t.Errorf("project update with the certificate alone = %d %s, want it refused", code, errOut)
	}
	other := ca.Issue(t, "other", "client.test")
	writeFiles(t, dir, map[string]string{"other.key": other.KeyPEM})
	_, errOut, code = runCLI(env, "project", "update", id, "--upstream-client-cert", f("client.pem"), "--upstream-client-key", f("other.key"))
	if code == 0 || !strings.Contains(errOut, "upstream_client_key") {
		t.Errorf("project update with a key of another certificate = %d %s, want it refused naming upstream_client_key", code, errOut)
	}
	noKeyIn(t, "project update (refused)", errOut, leaf, other)

	out, errOut, code = runCLI(env, "project", "update", id, "--upstream-ca", "", "--upstream-client-cert", "", "--upstream-client-key", "", "-o", "json")
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || p.UpstreamCA != "" || p.UpstreamClientCert != "" || p.UpstreamClientKeySet {
		t.Fatalf("project update (clear) = %d %s %s, want nothing left", code, out, errOut)
	}
}

func TestApplyUpstreamTLS(t *testing.T) {
	env, store := startRealAdmin(t)
	ca := testpki.NewCA(t, "upstream CA")
	first := ca.Issue(t, "client 1", "client.test")
	second := ca.Issue(t, "client 2", "client.test")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ca.pem": ca.CertPEM, "client.pem": first.CertPEM, "client.key": first.KeyPEM,
		"policy.yaml": `version: 1
projects:
  - name: mtls
    upstream: https://up.example
    upstream_ca_file: ca.pem
    upstream_client_cert_file: client.pem
    upstream_client_key_file: client.key
`})
	policy := filepath.Join(dir, "policy.yaml")
	apply := func(what string, wantCode int, extra ...string) string {
		t.Helper()
		out, errOut, code := runCLI(env, append([]string{"apply", "-f", policy}, extra...)...)
		if code != wantCode {
			t.Fatalf("%s: apply = %d %s %s, want %d", what, code, out, errOut, wantCode)
		}
		noKeyIn(t, what, out+errOut, first, second)
		return out + errOut
	}
	if out := apply("first apply", 0); !strings.Contains(out, "upstream_client_key") || !strings.Contains(out, "client.key, never shown") {
		t.Errorf("first apply printed %s, want the key named by its file only", out)
	}
	ps, _ := store.Projects()
	if len(ps) != 1 || ps[0].UpstreamCA != ca.CertPEM || ps[0].UpstreamClientCert != first.CertPEM || !ps[0].HasUpstreamClientKey() {
		t.Fatalf("after apply, projects = %+v, want the CA, the certificate and a key", ps)
	}
	if out := apply("second apply", 0); !strings.Contains(out, "Nothing to change.") {
		t.Errorf("second apply printed %s, want nothing to change", out)
	}

	// export → apply changes nothing, though the export has no key.
	exported, errOut, code := runCLI(env, "export")
	if code != 0 || !strings.Contains(exported, "upstream_client_cert:") || !strings.Contains(exported, "upstream_ca:") || strings.Contains(exported, "key") && strings.Contains(exported, "PRIVATE") {
		t.Fatalf("export = %d %s %s, want the CA and the certificate and no key", code, exported, errOut)
	}
	writeFiles(t, dir, map[string]string{"exported.yaml": exported})
	if out, errOut, code := runCLI(env, "apply", "-f", filepath.Join(dir, "exported.yaml")); code != 0 || !strings.Contains(out, "Nothing to change.") {
		t.Errorf("apply of the export = %d %s %s, want nothing to change", code, out, errOut)
	}

	// A new certificate without its key is refused before anything is sent.
	writeFiles(t, dir, map[string]string{"client.pem": second.CertPEM, "policy.yaml": strings.Replace(
		mustRead(t, policy), "    upstream_client_key_file: client.key\n", "", 1)})
	if out := apply("new certificate without key", 1); !strings.Contains(out, "upstream_client_key_file") {
		t.Errorf("apply of a new certificate without key printed %s, want it to ask for upstream_client_key_file", out)
	}
	// With its key: an update of the pair, picked up by the store.
	writeFiles(t, dir, map[string]string{"client.key": second.KeyPEM, "policy.yaml": mustRead(t, policy) + "    upstream_client_key_file: client.key\n"})
	if out := apply("new certificate", 0); !strings.Contains(out, "CN=client 2") {
		t.Errorf("apply of a new certificate printed %s, want the new certificate named", out)
	}
	if p, _ := store.Project(ps[0].ID); p.UpstreamClientCert != second.CertPEM {
		t.Errorf("after the new certificate, the stored one is %q, want the second", p.UpstreamClientCert)
	}
	// A key that is not the certificate's is refused at its line.
	writeFiles(t, dir, map[string]string{"client.key": first.KeyPEM})
	if out := apply("mismatched key", 1); !strings.Contains(out, "policy.yaml:7: projects[0].upstream_client_key_file") {
		t.Errorf("apply with a key of another certificate printed %s, want the key file's line", out)
	}
}
