package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser test's harness: a real `sdproxy serve` on free loopback
// ports, and a small client for its admin API and data listener.

const (
	buildDeadline = 3 * time.Minute  // go build, cold cache included
	startDeadline = 10 * time.Second // for /healthz to answer
	stopDeadline  = 10 * time.Second // for SIGTERM
)

// sdproxy is one running `sdproxy serve`.
type sdproxy struct {
	adminURL string // http://127.0.0.1:port of the admin listener
	dataURL  string // http://127.0.0.1:port of the data listener
	token    string // the admin token
	client   *http.Client
}

// buildSdproxy builds the sdproxy binary into a temporary directory.
func buildSdproxy(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building sdproxy: the go command is not on PATH: %v", err)
	}
	path := filepath.Join(t.TempDir(), "sdproxy")
	ctx, cancel := context.WithTimeout(context.Background(), buildDeadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", path, "github.com/sdproxy/sdproxy/cmd/sdproxy").CombinedOutput()
	if err != nil {
		t.Fatalf("go build github.com/sdproxy/sdproxy/cmd/sdproxy: %v\n%s", err, out)
	}
	return path
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects the process output for the failure message.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSdproxy runs `sdproxy serve` with a fresh data directory, master
// key and admin token, waits for /healthz, and stops it (SIGTERM) when the
// test ends. Its log is printed when the test fails.
func startSdproxy(t *testing.T, bin string) *sdproxy {
	t.Helper()
	master := make([]byte, 32)
	tok := make([]byte, 24)
	rand.Read(master)
	rand.Read(tok)
	s := &sdproxy{
		token:  "adm-" + base64.RawURLEncoding.EncodeToString(tok),
		client: &http.Client{Timeout: 10 * time.Second},
	}
	dataAddr, adminAddr := freeAddr(t), freeAddr(t)
	s.adminURL, s.dataURL = "http://"+adminAddr, "http://"+dataAddr

	cmd := exec.Command(bin, "serve")
	cmd.Env = append(environWithout("SDPROXY_"),
		"SDPROXY_LISTEN="+dataAddr,
		"SDPROXY_ADMIN_LISTEN="+adminAddr,
		"SDPROXY_DATA_DIR="+t.TempDir(),
		"SDPROXY_MASTER_KEY="+base64.StdEncoding.EncodeToString(master),
		"SDPROXY_ADMIN_TOKEN="+s.token,
		"SDPROXY_LOG_LEVEL=warn",
	)
	logs := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sdproxy serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopDeadline):
			cmd.Process.Kill()
			<-done
			t.Errorf("sdproxy serve did not stop within %v of SIGTERM", stopDeadline)
		}
		if t.Failed() {
			t.Logf("sdproxy serve output:\n%s", logs)
		}
	})

	deadline := time.Now().Add(startDeadline)
	for {
		select {
		case err := <-done:
			t.Fatalf("sdproxy serve exited at start: %v\n%s", err, logs)
		default:
		}
		resp, err := s.client.Get(s.adminURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sdproxy serve: /healthz did not answer 200 within %v (last error: %v)\n%s", startDeadline, err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// environWithout is the environment minus the variables named prefix*.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// admin calls the admin API and decodes the answer into out (when not
// nil). It returns the status; a transport error fails the test.
func (s *sdproxy) admin(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.adminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// proxyEncrypt sends {"title","body"} through the data listener's proxy
// for project with key, asking to encrypt both fields. It returns the
// status and the body.
func (s *sdproxy) proxyEncrypt(t *testing.T, project, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.dataURL+"/proxy/"+project,
		strings.NewReader(`{"title": "Sensitive title", "body": "Sensitive body text"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Qanapi-Authorization", key)
	req.Header.Set("X-Qanapi-Fields", "title,body")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST /proxy/%s: %v", project, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// eventsPage is the answer of GET …/events.
type eventsPage struct {
	Items []struct {
		Type  string  `json:"type"`
		KeyID *string `json:"key_id"`
	} `json:"items"`
}

// waitRequestEvent waits until the admin API lists a "request" event of
// keyID. It returns "" when it does, else why not.
func (s *sdproxy) waitRequestEvent(t *testing.T, project, keyID string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var page eventsPage
		path := "/admin/v1/projects/" + project + "/events?type=request&key_id=" + keyID
		status := s.admin(t, "GET", path, nil, &page)
		if status != 200 {
			return fmt.Sprintf("GET %s answered %d, want 200: the events endpoint is not served yet", path, status)
		}
		for _, e := range page.Items {
			if e.Type == "request" && e.KeyID != nil && *e.KeyID == keyID {
				return ""
			}
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("GET %s answered 200 but listed no request event of %s within %v: "+
				"is the event log wired into `sdproxy serve` and recording data-plane requests?", path, keyID, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
