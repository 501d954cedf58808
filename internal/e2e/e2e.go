// Package e2e is the end-to-end harness that the cmd and console tests
// share: it builds the sdproxy binary once per test process, starts
// `sdproxy serve` on free loopback ports, waits for it, stops it, and runs
// the CLI. Tests import it; nothing else does.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/testport"
)

const (
	buildDeadline = 3 * time.Minute  // go build, cold cache included
	StartDeadline = 10 * time.Second // for /healthz to answer
	ExitDeadline  = 5 * time.Second  // for a refused start
	// StopDeadline is for a SIGTERM: a graceful stop gives a connection that
	// has not sent its first request until 5 s after it was accepted,
	// counted in whole seconds (an HTTP client's pool may hold such a
	// connection, dialled for a request another connection took).
	StopDeadline = 10 * time.Second
)

var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds sdproxy once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "sdproxy-e2e-")
		if bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "sdproxy")
		ctx, cancel := context.WithTimeout(context.Background(), buildDeadline)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin.path, "github.com/sdproxy/sdproxy/cmd/sdproxy").CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatalf("building sdproxy: %v", bin.err)
	}
	return bin.path
}

// Main runs the tests of a package that uses the harness and removes the
// built binary afterwards: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// FreeAddr returns a loopback address that was free a moment ago, on a
// port that client connections do not take (see testport.Addr).
func FreeAddr(t testing.TB) string {
	t.Helper()
	return testport.Addr(t)
}

// NewMasterKey returns a fresh master key, base64 as SDPROXY_MASTER_KEY wants it.
func NewMasterKey(t testing.TB) string {
	t.Helper()
	return randomBase64(t, 32, base64.StdEncoding)
}

// NewAdminToken returns a fresh admin token.
func NewAdminToken(t testing.TB) string {
	t.Helper()
	return "adm-" + randomBase64(t, 24, base64.RawURLEncoding)
}

func randomBase64(t testing.TB, n int, enc *base64.Encoding) string {
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return enc.EncodeToString(k)
}

// Environ is the test process's environment without any SDPROXY_*
// variable, plus vars.
func Environ(vars map[string]string) []string {
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

// Proc is a running `sdproxy serve`.
type Proc struct {
	AdminAddr string // host:port of the admin listener
	// Admin is an HTTP client for the admin listener, and AdminURL its
	// base URL (https:// when started by StartTLS).
	Admin    *http.Client
	AdminURL string
	cmd      *exec.Cmd
	logPath  string
	done     chan struct{}
	waitErr  error // valid once done is closed
}

// Start starts `sdproxy serve` with env (SDPROXY_ADMIN_LISTEN must be set)
// and waits for /healthz. When the test ends a process still running gets
// SIGTERM (then SIGKILL after StopDeadline), and a failed test prints its log.
func Start(t testing.TB, env map[string]string) *Proc {
	t.Helper()
	return StartTLS(t, env, nil)
}

// StartTLS is Start for an admin listener that speaks TLS: adminTLS is the
// client side (roots, and a client certificate if one is asked for). A
// nil adminTLS means plain HTTP.
func StartTLS(t testing.TB, env map[string]string, adminTLS *tls.Config) *Proc {
	t.Helper()
	p := Launch(t, env, adminTLS)
	p.waitHealthy(t)
	return p
}

// Launch starts `sdproxy serve` as StartTLS does, without waiting for it
// to answer: for tests of what it does while starting.
func Launch(t testing.TB, env map[string]string, adminTLS *tls.Config) *Proc {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(Binary(t), "serve")
	cmd.Env = Environ(env)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p := &Proc{cmd: cmd, AdminAddr: env["SDPROXY_ADMIN_LISTEN"], logPath: logFile.Name(), done: make(chan struct{})}
	p.Admin, p.AdminURL = &http.Client{Timeout: time.Second}, "http://"+p.AdminAddr
	if adminTLS != nil {
		p.Admin.Transport = &http.Transport{TLSClientConfig: adminTLS}
		p.AdminURL = "https://" + p.AdminAddr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sdproxy serve: %v", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.Exited() {
			cmd.Process.Signal(syscall.SIGTERM)
			if !p.WaitExit(StopDeadline) {
				cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("sdproxy serve log:\n%s", p.Log(t))
		}
	})
	return p
}

func (p *Proc) waitHealthy(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(StartDeadline)
	for {
		if p.Exited() {
			t.Fatalf("sdproxy serve exited before /healthz answered: %v\nlog:\n%s", p.waitErr, p.Log(t))
		}
		resp, err := p.Admin.Get(p.AdminURL + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), `"ok"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz did not answer 200 within %s (last error %v)\nlog:\n%s", StartDeadline, err, p.Log(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitExit waits up to d for the process to end and reports whether it did.
func (p *Proc) WaitExit(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// ExitErr is how the process ended (nil: exit status 0), once Exited.
func (p *Proc) ExitErr() error {
	<-p.done
	return p.waitErr
}

// Pid is the process id, for reading /proc/<pid> (RSS, open files).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Pause stops the process with SIGSTOP and waits until every one of its
// threads is stopped: the signal is delivered to each thread as it is
// next scheduled, which on a busy machine can be after a request the
// caller sends next has been answered.
func (p *Proc) Pause(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	task := fmt.Sprintf("/proc/%d/task", p.Pid())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if allStopped(task) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped 10 s after SIGSTOP", p.Pid())
		}
	}
}

// allStopped reports whether every thread under a /proc/<pid>/task
// directory is in the stopped state (T).
func allStopped(task string) bool {
	threads, err := os.ReadDir(task)
	if err != nil || len(threads) == 0 {
		return false
	}
	for _, th := range threads {
		b, err := os.ReadFile(filepath.Join(task, th.Name(), "stat"))
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// Log is what the process printed so far.
func (p *Proc) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatalf("read serve log: %v", err)
	}
	return string(b)
}

// Stop sends SIGTERM and fails the test unless the process exits with
// status 0 within StopDeadline.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("SIGTERM: %v", err)
	}
	if !p.WaitExit(StopDeadline) {
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("sdproxy serve after SIGTERM: still running after %s, want exit 0\nlog:\n%s", StopDeadline, p.Log(t))
	}
	if p.waitErr != nil {
		t.Fatalf("sdproxy serve after SIGTERM = %v after %s, want exit status 0\nlog:\n%s", p.waitErr, time.Since(start), p.Log(t))
	}
}

// Run runs the binary with args and env (see Environ), killing it after
// limit, and returns what it printed and its exit status.
func Run(t testing.TB, limit time.Duration, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	path := Binary(t) // build first: the limit is for the run alone
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = Environ(env)
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
