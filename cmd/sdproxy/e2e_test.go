package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
)

// End-to-end tests: the real binary, started as `sdproxy serve` on free
// loopback ports and driven only through its CLI.

const (
	startDeadline = 10 * time.Second // for /healthz to answer
	exitDeadline  = 5 * time.Second  // for a refused start or a SIGTERM
)

var (
	e2eKeyRE   = regexp.MustCompile(`qk_[0-9a-z]{12}_[0-9A-Za-z]{38}`)
	tempPathRE = regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `[^\s:]*`)
)

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// binary builds sdproxy once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "sdproxy-e2e-")
		if bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "sdproxy")
		out, err := exec.Command("go", "build", "-o", bin.path, ".").CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatalf("building sdproxy: %v", bin.err)
	}
	return bin.path
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newMasterKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// environ is the test's environment without any SDPROXY_* variable, plus vars.
func environ(vars map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SDPROXY_") {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// serveProc is a running `sdproxy serve`.
type serveProc struct {
	cmd       *exec.Cmd
	adminAddr string
	logPath   string
	done      chan struct{}
	waitErr   error // valid once done is closed
}

// serveEnv is the environment of a serve on dataDir with masterKey ("" for
// none) on fresh ports.
func serveEnv(t *testing.T, dataDir, masterKey string) map[string]string {
	env := map[string]string{
		config.EnvDataDir:     dataDir,
		config.EnvListen:      freeAddr(t),
		config.EnvAdminListen: freeAddr(t),
		config.EnvLogLevel:    "debug",
	}
	if masterKey != "" {
		env[config.EnvMasterKey] = masterKey
	}
	return env
}

// startServe starts `sdproxy serve` with env and waits for /healthz.
func startServe(t *testing.T, env map[string]string) *serveProc {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = environ(env)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p := &serveProc{cmd: cmd, adminAddr: env[config.EnvAdminListen], logPath: logFile.Name(), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sdproxy serve: %v", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startDeadline)
	for {
		select {
		case <-p.done:
			t.Fatalf("sdproxy serve exited before /healthz answered: %v\nlog:\n%s", p.waitErr, p.log(t))
		default:
		}
		resp, err := client.Get("http://" + p.adminAddr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), `"ok"`) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz did not answer 200 within %s (last error %v)\nlog:\n%s", startDeadline, err, p.log(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *serveProc) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatalf("read serve log: %v", err)
	}
	return string(b)
}

// stop sends SIGTERM and checks for exit status 0 within exitDeadline.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(exitDeadline):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("sdproxy serve after SIGTERM: still running after %s, want exit 0\nlog:\n%s", exitDeadline, p.log(t))
	}
	if p.waitErr != nil {
		t.Fatalf("sdproxy serve after SIGTERM = %v after %s, want exit status 0\nlog:\n%s", p.waitErr, time.Since(start), p.log(t))
	}
}

// cli runs the sdproxy CLI against p with env (plus the admin address) and
// returns stdout, failing the test unless it exits 0.
func cli(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	stdout, stderr, code := runBinary(t, 30*time.Second, env, args...)
	if code != 0 {
		t.Fatalf("sdproxy %s = exit %d, stderr %q, want exit 0", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// runBinary runs the binary with args and env, killing it after limit.
func runBinary(t *testing.T, limit time.Duration, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	path := binary(t) // build first: the limit is for the run alone
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = environ(env)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sdproxy %s: still running after %s\nstdout %q\nstderr %q", strings.Join(args, " "), limit, out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("sdproxy %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
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
	master := newMasterKey(t)
	srv := startServe(t, serveEnv(t, dataDir, master))
	// The CLI finds the admin token through SDPROXY_DATA_DIR; no SDPROXY_ADMIN_TOKEN.
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.adminAddr, config.EnvDataDir: dataDir}

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
		resp, err := http.Get("http://" + srv.adminAddr + "/healthz")
		if err != nil {
			t.Fatalf("first serve after a refused second one: GET /healthz = %v, want an answer", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("first serve after a refused second one: GET /healthz = %d, want 200", resp.StatusCode)
		}
	})

	srv.stop(t)
	log := srv.log(t)
	noSecret("serve log", log)
	if strings.Contains(log, master) {
		t.Errorf("serve log = %q, want no master key in it", log)
	}

	t.Run("data survives a restart", func(t *testing.T) {
		srv := startServe(t, serveEnv(t, dataDir, master))
		env := map[string]string{config.EnvAdminAddr: "http://" + srv.adminAddr, config.EnvDataDir: dataDir}
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
		srv.stop(t)
		noSecret("serve log after restart", srv.log(t))
	})

	t.Run("another master key is refused", func(t *testing.T) {
		stderr, code := refusedStart(t, serveEnv(t, dataDir, newMasterKey(t)))
		wantReason(t, stderr, code, "master key does not match")
		// The refusal must leave the store usable with the right key.
		startServe(t, serveEnv(t, dataDir, master)).stop(t)
	})
}

// refusedStart runs a serve that must not start and returns its stderr and
// exit code.
func refusedStart(t *testing.T, env map[string]string, args ...string) (stderr string, code int) {
	t.Helper()
	start := time.Now()
	stdout, stderr, code := runBinary(t, exitDeadline, env, append([]string{"serve"}, args...)...)
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
				env := serveEnv(t, t.TempDir(), newMasterKey(t))
				env[config.EnvListen] = holdPort(t)
				return env, nil
			},
			want: "address already in use",
		},
		{
			name: "admin port in use",
			setup: func(t *testing.T) (map[string]string, []string) {
				env := serveEnv(t, t.TempDir(), newMasterKey(t))
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
				startServe(t, serveEnv(t, dir, newMasterKey(t))).stop(t)
				return serveEnv(t, dir, newMasterKey(t)), nil
			},
			want: "master key does not match",
		},
		{
			name: "data dir locked by a running serve",
			setup: func(t *testing.T) (map[string]string, []string) {
				dir := t.TempDir()
				key := newMasterKey(t)
				srv := startServe(t, serveEnv(t, dir, key))
				t.Cleanup(func() { srv.stop(t) })
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
				return serveEnv(t, filepath.Join(file, "data"), newMasterKey(t)), nil
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
				return serveEnv(t, t.TempDir(), newMasterKey(t)), []string{"--data-dir", filepath.Join(file, "data")}
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
	srv := startServe(t, serveEnv(t, dataDir, ""))
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

	env := map[string]string{config.EnvAdminAddr: "http://" + srv.adminAddr, config.EnvDataDir: dataDir}
	out := cli(t, env, "project", "create", "--name", "Dev", "--output", "json")
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.ID == "" {
		t.Fatalf("sdproxy project create --output json = %q (%v), want a project", out, err)
	}
	key := e2eKeyRE.FindString(cli(t, env, "key", "create", "--project", p.ID, "--quiet"))
	if key == "" {
		t.Fatalf("sdproxy key create --quiet printed no key")
	}
	srv.stop(t)

	log := srv.log(t)
	if !strings.Contains(log, "generated") || !strings.Contains(log, "development") {
		t.Errorf("serve log = %q, want a warning that a development master key was generated", log)
	}
	for _, secret := range []string{strings.TrimSpace(string(raw)), strings.TrimSpace(string(token)), key, key[strings.LastIndex(key, "_")+1:]} {
		if strings.Contains(log, secret) {
			t.Errorf("serve log = %q, want no secret (%.12s…) in it", log, secret)
		}
	}

	t.Run("restart reuses master.key", func(t *testing.T) {
		srv := startServe(t, serveEnv(t, dataDir, ""))
		env := map[string]string{config.EnvAdminAddr: "http://" + srv.adminAddr, config.EnvDataDir: dataDir}
		out := cli(t, env, "key", "list", "--project", p.ID, "--output", "json")
		var keys []e2eKey
		if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 || !strings.HasPrefix(key, keys[0].ID+"_") {
			t.Errorf("sdproxy key list after restart = %q (%v), want the one key", out, err)
		}
		again, err := os.ReadFile(masterPath)
		if err != nil || !bytes.Equal(again, raw) {
			t.Errorf("master.key after restart = %q, %v, want it unchanged", again, err)
		}
		srv.stop(t)
		if log := srv.log(t); strings.Contains(log, "generated") {
			t.Errorf("serve log of the restart = %q, want no new key generated", log)
		}
	})
}
