// Package etcdtest starts real etcd servers for tests: Debian's
// etcd-server (/usr/bin/etcd) on free loopback ports, each member's data
// under t.TempDir(), killed when the test ends. A missing etcd fails the
// test (CI installs it); it never skips.
package etcdtest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/testport"
)

// Binary is the etcd server started; when it does not exist, "etcd" is
// looked for on PATH.
var Binary = "/usr/bin/etcd"

// startTimeout bounds how long a cluster takes to elect a leader.
const startTimeout = 20 * time.Second

// Member is one etcd server of a Cluster.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:<port>
	peerURL   string
	dir       string // data dir
	logPath   string
	args      []string
	t         testing.TB

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// Cluster is one or more etcd members that know each other.
type Cluster struct {
	Members []*Member
}

// Start starts a one-member etcd and returns its cluster.
func Start(t testing.TB) *Cluster { return StartCluster(t, 1) }

// StartCluster starts an n-member etcd cluster and waits until it has a
// leader. The members are killed when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := binary(t)
	var last error
	for try := 0; try < 3; try++ { // a free port may be taken before etcd binds it
		c, err := launch(t, bin, n)
		if err == nil {
			return c
		}
		last = err
	}
	t.Fatalf("etcdtest: %v", last)
	return nil
}

func binary(t testing.TB) string {
	if _, err := os.Stat(Binary); err == nil {
		return Binary
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	t.Fatalf("etcdtest: no etcd server at %s or on PATH: these tests need a real etcd; install it with `apt-get install etcd-server`", Binary)
	return ""
}

func launch(t testing.TB, bin string, n int) (*Cluster, error) {
	c := &Cluster{}
	var initial []string
	token := fmt.Sprintf("etcdtest-%d", time.Now().UnixNano())
	root := t.TempDir()
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), ClientURL: "http://" + testport.Addr(t), peerURL: "http://" + testport.Addr(t), t: t}
		m.dir = filepath.Join(root, m.Name)
		m.logPath = filepath.Join(root, m.Name+".log")
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.peerURL)
	}
	for _, m := range c.Members {
		m.args = []string{
			"--name", m.Name, "--data-dir", m.dir,
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", token,
			"--heartbeat-interval", "25", "--election-timeout", "250",
			"--logger", "zap", "--log-level", "warn",
		}
		if err := m.start(bin); err != nil {
			c.kill()
			return nil, err
		}
	}
	t.Cleanup(c.kill)
	if err := c.waitHealthy(startTimeout); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

func (m *Member) start(bin string) error {
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, m.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{} // etcd reads ETCD_* variables as flags; it needs none
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	m.mu.Lock()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()
	return nil
}

// Endpoints are the client URLs of every member.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

func (c *Cluster) kill() {
	for _, m := range c.Members {
		m.Stop()
	}
}

// waitHealthy waits until every running member reports a leader.
func (c *Cluster) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, m := range c.Members {
		if err := m.waitHealthy(deadline); err != nil {
			return err
		}
	}
	return nil
}

// WaitHealthy waits until the member serves and its cluster has a leader.
func (m *Member) WaitHealthy(timeout time.Duration) {
	m.t.Helper()
	if err := m.waitHealthy(time.Now().Add(timeout)); err != nil {
		m.t.Fatalf("etcdtest: %v", err)
	}
}

func (m *Member) waitHealthy(deadline time.Time) error {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(m.ClientURL + "/health")
		if err == nil {
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(body.String(), `"true"`) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s at %s not healthy in time (last: %v); its log:\n%s", m.Name, m.ClientURL, err, m.logTail())
		}
		if !m.Running() {
			return fmt.Errorf("%s exited; its log:\n%s", m.Name, m.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *Member) logTail() string {
	b, _ := os.ReadFile(m.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Running reports whether the member's process is running.
func (m *Member) Running() bool {
	m.mu.Lock()
	exited := m.exited
	m.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// Stop kills the member (as a crash would) and waits for it to exit.
func (m *Member) Stop() {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd, m.exited = nil, nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart starts a stopped member again on its ports and data, and waits
// until it is healthy (for a member of a cluster, until a quorum is up).
func (m *Member) Restart(timeout time.Duration) {
	m.t.Helper()
	if m.Running() {
		m.t.Fatalf("etcdtest: %s is running", m.Name)
	}
	if err := m.start(binary(m.t)); err != nil {
		m.t.Fatalf("etcdtest: %v", err)
	}
	m.WaitHealthy(timeout)
}
