package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// End-to-end tests: the real binary, started as `sdproxy serve` on free
// loopback ports and driven only through its CLI.

var (
	e2eKeyRE   = regexp.MustCompile(`qk_[0-9a-z]{12}_[0-9A-Za-z]{38}`)
	tempPathRE = regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `[^\s:]*`)
)

func TestMain(m *testing.M) { e2e.Main(m) }

// serveEnv is the environment of a serve on dataDir with masterKey ("" for
// none) on fresh ports.
func serveEnv(t *testing.T, dataDir, masterKey string) map[string]string {
	env := map[string]string{
		config.EnvDataDir:     dataDir,
		config.EnvListen:      e2e.FreeAddr(t),
		config.EnvAdminListen: e2e.FreeAddr(t),
		config.EnvLogLevel:    "debug",
	}
	if masterKey != "" {
		env[config.EnvMasterKey] = masterKey
	}
	return env
}

// cli runs the sdproxy CLI with env and returns stdout, failing the test
// unless it exits 0.
func cli(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	stdout, stderr, code := e2e.Run(t, 30*time.Second, env, args...)
	if code != 0 {
		t.Fatalf("sdproxy %s = exit %d, stderr %q, want exit 0", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// wantMode checks the permission bits of path.
func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("os.Stat(%s) = %v, want a file", path, err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %#o, want %#o", path, got, want)
	}
}

// keyLine returns the line of a `key list` table that starts with id.
func keyLine(t *testing.T, table, id string) string {
	t.Helper()
	for line := range strings.Lines(table) {
		if strings.HasPrefix(line, id+" ") {
			return line
		}
	}
	t.Fatalf("key list table %q has no row for %s", table, id)
	return ""
}

type e2eKey struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Status string `json:"status"`
}

func TestE2EProjectsAndKeys(t *testing.T) {
	dataDir := t.TempDir()
	master := e2e.NewMasterKey(t)
	srv := e2e.Start(t, serveEnv(t, dataDir, master))
	// The CLI finds the admin token through SDPROXY_DATA_DIR; no SDPROXY_ADMIN_TOKEN.
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}

	out := cli(t, env, "project", "create", "--name", "Orders", "--output", "json")
	var p struct{ ID, Name, Environment string }
	if err := json.Unmarshal([]byte(out), &p); err != nil || !strings.HasPrefix(p.ID, "prj_") || p.Name != "Orders" || p.Environment != "development" {
		t.Fatalf("sdproxy project create --output json = %q (%v), want a development project named Orders", out, err)
	}
	out = cli(t, env, "project", "create", "--name", "Billing", "--environment", "production")
	if !strings.Contains(out, "Billing") || !strings.Contains(out, "production") || !strings.Contains(out, "prj_") {
		t.Errorf("sdproxy project create (table) = %q, want the new project's id, name and environment", out)
	}

	out = cli(t, env, "project", "list")
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, p.ID) || !strings.Contains(out, "Orders") || !strings.Contains(out, "Billing") {
		t.Errorf("sdproxy project list = %q, want a table with both projects", out)
	}
	var list []struct{ ID, Name string }
	out = cli(t, env, "project", "list", "--output", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].ID != p.ID {
		t.Errorf("sdproxy project list --output json = %q (%v), want a JSON array of 2 projects, %s first", out, err, p.ID)
	}
	// --data-dir instead of SDPROXY_DATA_DIR.
	out = cli(t, map[string]string{config.EnvAdminAddr: env[config.EnvAdminAddr]}, "project", "show", p.ID, "--data-dir", dataDir)
	if !strings.Contains(out, p.ID) || !strings.Contains(out, "Orders") {
		t.Errorf("sdproxy project show %s --data-dir = %q, want the project", p.ID, out)
	}

	out = cli(t, env, "key", "create", "--project", p.ID, "--name", "checkout")
	k1 := e2eKeyRE.FindString(out)
	if !strings.Contains(out, "shown only once") || k1 == "" {
		t.Fatalf("sdproxy key create = %q, want the key and the notice \"shown only once\"", out)
	}
	k1ID := k1[:strings.LastIndex(k1, "_")]
	out = cli(t, env, "key", "create", "--project", p.ID, "--name", "batch", "--output", "json")
	var k2 e2eKey
	if err := json.Unmarshal([]byte(out), &k2); err != nil || !e2eKeyRE.MatchString(k2.Key) || !strings.HasPrefix(k2.Key, k2.ID+"_") {
		t.Fatalf("sdproxy key create --output json = %q (%v), want JSON with \"key\"", out, err)
	}
	secrets := []string{k1, k2.Key, k1[len(k1ID)+1:], k2.Key[len(k2.ID)+1:]}

	noSecret := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s = %q, want no API key secret in it", what, out)
			}
		}
	}
	out = cli(t, env, "key", "list", "--project", p.ID)
	noSecret("sdproxy key list", out)
	if !strings.Contains(keyLine(t, out, k1ID), "active") || !strings.Contains(keyLine(t, out, k2.ID), "active") {
		t.Errorf("sdproxy key list = %q, want both keys active", out)
	}

	out = cli(t, env, "key", "revoke", "--project", p.ID, k1ID)
	noSecret("sdproxy key revoke", out)
	if !strings.Contains(out, k1ID) || !strings.Contains(out, "Revoked") {
		t.Errorf("sdproxy key revoke %s = %q, want a confirmation naming the key", k1ID, out)
	}
	out = cli(t, env, "key", "list", "--project", p.ID)
	noSecret("sdproxy key list after revoke", out)
	if line := keyLine(t, out, k1ID); !strings.Contains(line, "revoked") {
		t.Errorf("sdproxy key list row of %s = %q, want status revoked", k1ID, line)
	}
	if line := keyLine(t, out, k2.ID); !strings.Contains(line, "active") {
		t.Errorf("sdproxy key list row of %s = %q, want status active", k2.ID, line)
	}
	out = cli(t, env, "key", "list", "--project", p.ID, "--output", "json")
	noSecret("sdproxy key list --output json", out)

	wantMode(t, filepath.Join(dataDir, adminTokenFile), 0o600)
	if _, err := os.Stat(filepath.Join(dataDir, masterKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("os.Stat(master.key) with SDPROXY_MASTER_KEY set = %v, want it not to exist", err)
	}

	t.Run("second serve on the same data dir", func(t *testing.T) {
		stderr, code := refusedStart(t, serveEnv(t, dataDir, master))
		wantReason(t, stderr, code, "locked")
		resp, err := http.Get("http://" + srv.AdminAddr + "/healthz")
		if err != nil {
			t.Fatalf("first serve after a refused second one: GET /healthz = %v, want an answer", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("first serve after a refused second one: GET /healthz = %d, want 200", resp.StatusCode)
		}
	})

	srv.Stop(t)
	log := srv.Log(t)
	noSecret("serve log", log)
	if strings.Contains(log, master) {
		t.Errorf("serve log = %q, want no master key in it", log)
	}

	t.Run("data survives a restart", func(t *testing.T) {
		srv := e2e.Start(t, serveEnv(t, dataDir, master))
		env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
		var list []struct{ ID string }
		out := cli(t, env, "project", "list", "--output", "json")
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[0].ID != p.ID {
			t.Errorf("sdproxy project list --output json after restart = %q (%v), want the 2 projects", out, err)
		}
		var keys []e2eKey
		out = cli(t, env, "key", "list", "--project", p.ID, "--output", "json")
		noSecret("sdproxy key list after restart", out)
		if err := json.Unmarshal([]byte(out), &keys); err != nil {
			t.Fatalf("sdproxy key list --output json after restart = %q: %v", out, err)
		}
		status := map[string]string{}
		for _, k := range keys {
			status[k.ID] = k.Status
		}
		if len(keys) != 2 || status[k1ID] != "revoked" || status[k2.ID] != "active" {
			t.Errorf("keys after restart = %v, want %s revoked and %s active", status, k1ID, k2.ID)
		}
		srv.Stop(t)
		noSecret("serve log after restart", srv.Log(t))
	})

	t.Run("another master key is refused", func(t *testing.T) {
		stderr, code := refusedStart(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
		wantReason(t, stderr, code, "master key does not match")
		// The refusal must leave the store usable with the right key.
		e2e.Start(t, serveEnv(t, dataDir, master)).Stop(t)
	})
}

// refusedStart runs a serve that must not start and returns its stderr and
// exit code.
func refusedStart(t *testing.T, env map[string]string, args ...string) (stderr string, code int) {
	t.Helper()
	start := time.Now()
	stdout, stderr, code := e2e.Run(t, e2e.ExitDeadline, env, append([]string{"serve"}, args...)...)
	if code == 0 {
		t.Fatalf("sdproxy serve = exit 0 after %s, want a refused start\nstdout %q\nstderr %q", time.Since(start), stdout, stderr)
	}
	return stderr, code
}

// wantReason checks that a refused start ended with exit status 1 and a
// one-line reason containing want as the last line of stderr.
func wantReason(t *testing.T, stderr string, code int, want string) {
	t.Helper()
	if code != 1 {
		t.Errorf("sdproxy serve exit status = %d, want 1", code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	// Paths (test names in them) must not make the reason match.
	last := tempPathRE.ReplaceAllString(lines[len(lines)-1], "<path>")
	if !strings.HasPrefix(last, "sdproxy: ") || !strings.Contains(last, want) {
		t.Errorf("sdproxy serve stderr = %q, want it to end with one line \"sdproxy: …%s…\"", stderr, want)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("sdproxy serve stderr = %q, want a reason, not a panic", stderr)
	}
}

func TestE2EStartupFailures(t *testing.T) {
	cases := []struct {
		name string
		// setup returns the environment and extra serve arguments.
		setup func(t *testing.T) (map[string]string, []string)
		want  string
	}{
		{
			name: "data port in use",
			setup: func(t *testing.T) (map[string]string, []string) {
				env := serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
				env[config.EnvListen] = holdPort(t)
				return env, nil
			},
			want: "address already in use",
		},
		{
			name: "admin port in use",
			setup: func(t *testing.T) (map[string]string, []string) {
				env := serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
				return env, []string{"--admin-listen", holdPort(t)}
			},
			want: "address already in use",
		},
		{
			name: "malformed master key",
			setup: func(t *testing.T) (map[string]string, []string) {
				return serveEnv(t, t.TempDir(), "not-a-key"), nil
			},
			want: "malformed master key",
		},
		{
			name: "master key of 31 bytes",
			setup: func(t *testing.T) (map[string]string, []string) {
				return serveEnv(t, t.TempDir(), base64.StdEncoding.EncodeToString(make([]byte, 31))), nil
			},
			want: "want 32",
		},
		{
			name: "another master key on an existing data dir",
			setup: func(t *testing.T) (map[string]string, []string) {
				dir := t.TempDir()
				e2e.Start(t, serveEnv(t, dir, e2e.NewMasterKey(t))).Stop(t)
				return serveEnv(t, dir, e2e.NewMasterKey(t)), nil
			},
			want: "master key does not match",
		},
		{
			name: "data dir locked by a running serve",
			setup: func(t *testing.T) (map[string]string, []string) {
				dir := t.TempDir()
				key := e2e.NewMasterKey(t)
				srv := e2e.Start(t, serveEnv(t, dir, key))
				t.Cleanup(func() { srv.Stop(t) })
				return serveEnv(t, dir, key), nil
			},
			want: "locked",
		},
		{
			name: "data dir under a regular file",
			setup: func(t *testing.T) (map[string]string, []string) {
				file := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				return serveEnv(t, filepath.Join(file, "data"), e2e.NewMasterKey(t)), nil
			},
			want: "data directory",
		},
		{
			name: "data dir flag under a regular file",
			setup: func(t *testing.T) (map[string]string, []string) {
				file := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				return serveEnv(t, t.TempDir(), e2e.NewMasterKey(t)), []string{"--data-dir", filepath.Join(file, "data")}
			},
			want: "data directory",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, args := tc.setup(t)
			stderr, code := refusedStart(t, env, args...)
			wantReason(t, stderr, code, tc.want)
		})
	}
}

// holdPort listens on a loopback port until the test ends and returns it.
func holdPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestE2EGeneratedSecrets(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, ""))
	masterPath := filepath.Join(dataDir, masterKeyFile)
	tokenPath := filepath.Join(dataDir, adminTokenFile)
	wantMode(t, masterPath, 0o600)
	wantMode(t, tokenPath, 0o600)
	raw, err := os.ReadFile(masterPath)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := decodeMasterKey(raw); err != nil || len(k) != 32 {
		t.Errorf("decodeMasterKey(master.key) = %x, %v, want 32 bytes", k, err)
	}
	token, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}

	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	out := cli(t, env, "project", "create", "--name", "Dev", "--output", "json")
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.ID == "" {
		t.Fatalf("sdproxy project create --output json = %q (%v), want a project", out, err)
	}
	key := e2eKeyRE.FindString(cli(t, env, "key", "create", "--project", p.ID, "--quiet"))
	if key == "" {
		t.Fatalf("sdproxy key create --quiet printed no key")
	}
	srv.Stop(t)

	log := srv.Log(t)
	if !strings.Contains(log, "generated") || !strings.Contains(log, "development") {
		t.Errorf("serve log = %q, want a warning that a development master key was generated", log)
	}
	for _, secret := range []string{strings.TrimSpace(string(raw)), strings.TrimSpace(string(token)), key, key[strings.LastIndex(key, "_")+1:]} {
		if strings.Contains(log, secret) {
			t.Errorf("serve log = %q, want no secret (%.12s…) in it", log, secret)
		}
	}

	t.Run("restart reuses master.key", func(t *testing.T) {
		srv := e2e.Start(t, serveEnv(t, dataDir, ""))
		env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
		out := cli(t, env, "key", "list", "--project", p.ID, "--output", "json")
		var keys []e2eKey
		if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 || !strings.HasPrefix(key, keys[0].ID+"_") {
			t.Errorf("sdproxy key list after restart = %q (%v), want the one key", out, err)
		}
		again, err := os.ReadFile(masterPath)
		if err != nil || !bytes.Equal(again, raw) {
			t.Errorf("master.key after restart = %q, %v, want it unchanged", again, err)
		}
		srv.Stop(t)
		if log := srv.Log(t); strings.Contains(log, "generated") {
			t.Errorf("serve log of the restart = %q, want no new key generated", log)
		}
	})
}

// TestE2EStopWithUnusedConnections: with a connection open on the data
// listener that has not sent a request (an HTTP client's pool may hold
// one, dialled for a request another connection took), SIGTERM closes the
// admin listener at once too, rather than after the data server's wait
// for that connection, and serve still exits with status 0.
func TestE2EStopWithUnusedConnections(t *testing.T) {
	env := serveEnv(t, t.TempDir(), "")
	srv := e2e.Start(t, env)
	idle, err := net.Dial("tcp", env[config.EnvListen])
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(100 * time.Millisecond) // accepted
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	closed := false
	for deadline := time.Now().Add(2 * time.Second); !closed && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", srv.AdminAddr, time.Second)
		if err != nil {
			closed = true
		} else {
			c.Close()
		}
	}
	if !closed {
		t.Error("the admin listener still accepts connections 2 s after SIGTERM (the data server is waiting for an unused connection)")
	}
	srv.Stop(t) // exit status 0 within StopDeadline
}
