package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2ESecretsInitAndTokenFile is the compose stack's start, without
// Docker: secrets-init makes the shared files, serve and the CLI read them
// through SDPROXY_MASTER_KEY_FILE and SDPROXY_ADMIN_TOKEN_FILE, and
// --project takes the project's name.
func TestE2ESecretsInitAndTokenFile(t *testing.T) {
	secrets := filepath.Join(t.TempDir(), "secrets")
	out := cli(t, nil, "secrets-init", secrets)
	for _, name := range []string{masterKeyFile, adminTokenFile} {
		path := filepath.Join(secrets, name)
		wantMode(t, path, 0o600)
		if !strings.Contains(out, "created "+path) {
			t.Errorf("sdproxy secrets-init = %q, want it to say it created %s", out, path)
		}
	}
	token, err := os.ReadFile(filepath.Join(secrets, adminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(secrets, masterKeyFile))
	if strings.Contains(out, strings.TrimSpace(string(token))) || strings.Contains(out, strings.TrimSpace(string(key))) {
		t.Errorf("sdproxy secrets-init printed a secret: %q", out)
	}
	// Again: nothing changes.
	out = cli(t, nil, "secrets-init", secrets)
	if again, _ := os.ReadFile(filepath.Join(secrets, adminTokenFile)); string(again) != string(token) || !strings.Contains(out, "kept") {
		t.Errorf("sdproxy secrets-init a second time = %q, want both files kept as they were", out)
	}

	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, "")
	env[config.EnvMasterKeyFile] = filepath.Join(secrets, masterKeyFile)
	env[config.EnvAdminTokenFile] = filepath.Join(secrets, adminTokenFile)
	srv := e2e.Start(t, env)
	if _, err := os.Stat(adminTokenPath(dataDir)); err == nil {
		t.Errorf("serve with SDPROXY_ADMIN_TOKEN_FILE generated %s too", adminTokenPath(dataDir))
	}
	if _, err := os.Stat(masterKeyPath(dataDir)); err == nil {
		t.Errorf("serve with SDPROXY_MASTER_KEY_FILE generated %s too", masterKeyPath(dataDir))
	}

	// The CLI, with no data dir, reads the same token file.
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvAdminTokenFile: env[config.EnvAdminTokenFile], config.EnvDataDir: t.TempDir()}
	cli(t, cl, "project", "create", "--name", "Blog")
	out = cli(t, cl, "key", "create", "--project", "Blog", "--name", "by-name", "-o", "json")
	var k struct {
		ProjectID string `json:"project_id"`
		Key       string `json:"key"`
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.ProjectID, "prj_") || k.Key == "" {
		t.Fatalf("sdproxy key create --project Blog = %q (%v), want a key of the project named Blog", out, err)
	}
	if out := cli(t, cl, "key", "list", "--project", k.ProjectID); !strings.Contains(out, "by-name") {
		t.Errorf("sdproxy key list --project %s = %q, want the key made with --project Blog", k.ProjectID, out)
	}

	// Names that match no project, or two, are refused with one clear line.
	cli(t, cl, "project", "create", "--name", "Twin")
	cli(t, cl, "project", "create", "--name", "Twin")
	for _, tc := range []struct{ ref, want string }{
		{"Nothing", `--project "Nothing": no project has this id or name`},
		{"Twin", `--project "Twin": 2 projects have this name`},
	} {
		_, stderr, code := e2e.Run(t, 30*time.Second, cl, "key", "list", "--project", tc.ref)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sdproxy key list --project %s = exit %d, stderr %q, want a refusal containing %q", tc.ref, code, stderr, tc.want)
		}
	}

	// A token file that others may read is refused by the CLI as by serve.
	loose := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(loose, token, 0o644); err != nil {
		t.Fatal(err)
	}
	cl[config.EnvAdminTokenFile] = loose
	if _, stderr, code := e2e.Run(t, 30*time.Second, cl, "project", "list"); code == 0 || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("sdproxy project list with a 0644 token file = exit %d, stderr %q, want a refusal", code, stderr)
	}
}

// TestE2ESecretsInitRefusesLooseFile: an existing secret that others can
// read is not silently kept.
func TestE2ESecretsInitRefusesLooseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, masterKeyFile), []byte(e2e.NewMasterKey(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := e2e.Run(t, 30*time.Second, nil, "secrets-init", dir)
	if code == 0 || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("sdproxy secrets-init over a 0644 master.key = exit %d, stderr %q, want a refusal", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, adminTokenFile)); err == nil {
		t.Errorf("sdproxy secrets-init refused but still created %s", adminTokenFile)
	}
}

// TestE2EDemoStore runs the demo store on its own, as compose does.
func TestE2EDemoStore(t *testing.T) {
	addr := e2e.FreeAddr(t)
	cmd := exec.Command(e2e.Binary(t), "demo-store", "--listen", addr)
	cmd.Env = e2e.Environ(nil)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() }) // an error once it has exited
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "demo store listening on "+addr) {
		t.Fatalf("sdproxy demo-store printed %q, want the address it listens on", line)
	}
	resp, err := http.Post("http://"+addr+"/posts", "application/json", strings.NewReader(`{"title": "t"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /posts = %d, want 201", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/posts/1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"title"`) {
		t.Errorf("GET /posts/1 = %d %q, want the post", resp.StatusCode, b)
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sdproxy demo-store after SIGINT: %v, want exit 0", err)
		}
	case <-time.After(e2e.StopDeadline):
		t.Errorf("sdproxy demo-store still running %s after SIGINT", e2e.StopDeadline)
	}
}
