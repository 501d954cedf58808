package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// consoleCurl is the console's "Try it with curl" encrypt example for url,
// built as proxytab.js's curlExample builds it (the test checks the asset
// still holds each line).
func consoleCurl(url string, location bool) []string {
	first := "curl " + "'" + url + "' \\"
	if location {
		first = "curl --location " + "'" + url + "' \\"
	}
	return []string{
		first,
		`  --header "X-Qanapi-Authorization: $KEY" \`,
		`  --header 'X-Qanapi-Mode: encrypt' \`,
		`  --header 'X-Qanapi-Fields: title,body' \`,
		`  --header 'Content-Type: application/json' \`,
		`  --data '{"title": "Sensitive title", "body": "Sensitive body text"}' \`,
		`  --output encrypted.json`,
	}
}

// TestConsoleCurlExampleFollowsNoRedirect: the Data Proxy tab's
// copy-paste curl example must not run curl with --location. The bare
// /proxy/{id} it calls is the transform-only call, which never redirects,
// so --location would buy nothing; but curl sends headers given with
// --header to every host a redirect leads to, and a 307/308 makes it send
// the body again. Whatever answers at the base URL the tab shows (by default
// http://<this page's host>:8080, which on an operator's laptop behind an
// SSH tunnel may be any local dev server, auth proxy or ingress) and
// redirects to another host hands that host the API key
// (X-Qanapi-Authorization) and the plaintext of the fields to encrypt.
func TestConsoleCurlExampleFollowsNoRedirect(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}

	// The asset the console runs: is the example still built this way?
	resp, err := http.Get("http://" + srv.AdminAddr + "/ui/js/proxytab.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	location := strings.Contains(string(js), `'curl --location`) || strings.Contains(string(js), `'curl -L`)
	for _, frag := range []string{`--header "X-Qanapi-Authorization: $KEY"`, `--header 'X-Qanapi-Mode: `, `--output encrypted.json`} {
		if !strings.Contains(string(js), frag) {
			t.Fatalf("proxytab.js no longer holds %q: update this test", frag)
		}
	}

	var mu sync.Mutex
	var gotKey, gotBody string
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotKey, gotBody = r.Header.Get("X-Qanapi-Authorization"), string(b)
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer thief.Close()
	// What answers at the base URL: something that redirects elsewhere
	// (here with 307, as an http->https or login redirect may).
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, thief.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer front.Close()

	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Shop", "-o", "json")), &p)
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))

	run := func(base string) []byte {
		dir := t.TempDir()
		cmd := exec.Command("sh", "-c", strings.Join(consoleCurl(base+"/proxy/"+p.ID, location), "\n"))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KEY="+key)
		cmd.WaitDelay = 10 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the console's curl example: %v %s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "encrypted.json"))
		return b
	}
	// Against the data listener itself the bare project path never
	// redirects: the example works without --location.
	if got := run("http://" + env[config.EnvListen]); !strings.Contains(string(got), "qanapi:") {
		t.Fatalf("the example against the data listener saved %q, want tokens", got)
	}
	run(front.URL)
	mu.Lock()
	defer mu.Unlock()
	if gotKey != "" || strings.Contains(gotBody, "Sensitive") {
		t.Errorf("the console's curl example (--location: %v), run against a base URL that redirects to another host, "+
			"sent that host the API key (the one exported: %v) and the plaintext body %q: the example must not follow redirects",
			location, gotKey == key, gotBody)
	}
}
