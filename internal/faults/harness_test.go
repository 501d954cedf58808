//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv("FAULTS_FLOOD_ADDR"); addr != "" {
		floodProcess(addr) // this binary re-run as TestUnauthenticatedFlood's flood
		os.Exit(0)
	}
	e2e.Main(m)
}

// node is one `sdproxy serve` on a data directory, with the secrets it
// was started with, so that it can be killed and started again.
type node struct {
	*e2e.Proc
	dir, master, token, config string
	env                        map[string]string
	dataURL                    string
}

// baseConfig is the suite's config file: failed-authentication limits
// off where a test sends refused keys on purpose is left to each test.
const baseConfig = "log:\n  level: warn\n"

// newNode prepares (does not start) a serve on dir with cfg as its config
// file.
func newNode(t *testing.T, dir, cfg string) *node {
	t.Helper()
	n := &node{dir: dir, master: e2e.NewMasterKey(t), token: e2e.NewAdminToken(t)}
	// A data directory as deployed: only sdproxy's user may enter it
	// (serve warns about one open to others, and that warning is not what
	// the tests read its output for).
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	n.config = filepath.Join(t.TempDir(), "sdproxy.yaml")
	if err := os.WriteFile(n.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// start starts serve on fresh ports and waits until it is healthy.
func (n *node) start(t *testing.T) {
	t.Helper()
	data := e2e.FreeAddr(t)
	n.env = map[string]string{
		config.EnvConfig: n.config, config.EnvDataDir: n.dir, config.EnvMasterKey: n.master,
		config.EnvAdminToken: n.token, config.EnvListen: data, config.EnvAdminListen: e2e.FreeAddr(t),
	}
	n.dataURL = "http://" + data
	n.Proc = e2e.Start(t, n.env)
	n.Admin.Timeout = 30 * time.Second
}

// startNode is newNode on a fresh directory, started.
func startNode(t *testing.T, cfg string) *node {
	t.Helper()
	n := newNode(t, t.TempDir(), cfg)
	n.start(t)
	return n
}

// admin calls the admin API and returns the status and body.
func (n *node) admin(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, n.AdminURL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.Admin.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// mustAdmin is admin that fails the test unless the answer is want.
func (n *node) mustAdmin(t *testing.T, want int, method, path, body string) []byte {
	t.Helper()
	status, b, err := n.admin(method, path, body)
	if err != nil || status != want {
		t.Fatalf("%s %s = %d %s %v, want %d", method, path, status, b, err, want)
	}
	return b
}

// createProject makes a project with a rate limit no test reaches and
// room for many keys; upstream may be "".
func (n *node) createProject(t *testing.T, upstream string) string {
	t.Helper()
	body := map[string]any{"name": "faults", "rate_limit": map[string]any{"requests_per_second": 1e6, "burst": 1 << 20}, "max_active_keys": 1000}
	if upstream != "" {
		body["upstream"] = upstream
	}
	raw, _ := json.Marshal(body)
	var p struct{ ID string }
	json.Unmarshal(n.mustAdmin(t, 201, "POST", "/admin/v1/projects", string(raw)), &p)
	return p.ID
}

// apiKey is a key as the admin API answered it.
type apiKey struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Status string `json:"status"`
}

func (n *node) createKey(t *testing.T, project string) apiKey {
	t.Helper()
	var k apiKey
	json.Unmarshal(n.mustAdmin(t, 201, "POST", "/admin/v1/projects/"+project+"/keys", "{}"), &k)
	return k
}

// keys lists every key of project by id.
func (n *node) keys(t *testing.T, project string) map[string]apiKey {
	t.Helper()
	out := map[string]apiKey{}
	cursor := ""
	for {
		var page struct {
			Items      []apiKey
			NextCursor *string `json:"next_cursor"`
		}
		b := n.mustAdmin(t, 200, "GET", "/admin/v1/projects/"+project+"/keys?limit=1000&cursor="+cursor, "")
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("key list %s: %v", b, err)
		}
		for _, k := range page.Items {
			out[k.ID] = k
		}
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

// encrypt sends one direct-API encrypt with key and returns the status.
func (n *node) encrypt(c *http.Client, key string) (int, error) {
	req, _ := http.NewRequest("POST", n.dataURL+"/api-v1/v1/encrypt", strings.NewReader(`{"data":"x"}`))
	req.Header.Set("X-Qanapi-Authorization", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// metric reads one unlabelled sample from the admin /metrics.
func (n *node) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := n.Admin.Get(n.AdminURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return v
			}
		}
	}
	t.Fatalf("/metrics has no sample %s", name)
	return 0
}

// rssBytes is the resident set size of pid, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatus(t, pid, "VmRSS:")
}

// anonBytes is the anonymous part of pid's RSS (heap, stacks): its RSS
// without the pages of mapped files, such as the bbolt files' mmap.
func anonBytes(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatus(t, pid, "RssAnon:")
}

// procStatus reads one "kB" line of /proc/<pid>/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// openFiles counts the open file descriptors of pid.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/fd: %v", pid, err)
	}
	return len(ents)
}

// verifyStopped runs `sdproxy events verify` on n's data directory while
// serve is not running, and fails the test unless it passes.
func (n *node) verifyStopped(t *testing.T) string {
	t.Helper()
	stdout, stderr, code := e2e.Run(t, time.Minute, map[string]string{config.EnvDataDir: n.dir, config.EnvMasterKey: n.master}, "events", "verify")
	if code != 0 || !strings.Contains(stdout, "intact") {
		t.Fatalf("sdproxy events verify = exit %d, stdout %q, stderr %q, want an intact log", code, stdout, stderr)
	}
	return strings.TrimSpace(stdout)
}

// verifyResult is GET /admin/v1/events/verify's answer.
type verifyResult struct {
	OK      bool   `json:"ok"`
	Checked uint64 `json:"checked"`
}

// verifyOnline asks the running serve to verify its chain.
func (n *node) verifyOnline(t *testing.T) verifyResult {
	t.Helper()
	var v verifyResult
	b := n.mustAdmin(t, 200, "GET", "/admin/v1/events/verify", "")
	if err := json.Unmarshal(b, &v); err != nil || !v.OK {
		t.Fatalf("GET /admin/v1/events/verify = %s (%v), want ok", b, err)
	}
	return v
}

// noPanic fails the test if serve's log mentions a panic.
func (n *node) noPanic(t *testing.T) {
	t.Helper()
	if log := n.Log(t); strings.Contains(strings.ToLower(log), "panic") {
		t.Errorf("serve log mentions a panic:\n%s", log)
	}
}

// post sends body to url with headers and returns status and body.
func post(c *http.Client, url string, body []byte, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// errorCode is the code of an error answer's JSON.
func errorCode(b []byte) string {
	var e struct{ Error struct{ Code string } }
	json.Unmarshal(b, &e)
	return e.Error.Code
}

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p/100))]
}

// client is an HTTP client for the data listener with keep-alive.
func client(conns int) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// countEvents counts the events of project that match query (e.g.
// "type=request&key_id=qk_…"), paging through the whole list.
func (n *node) countEvents(t *testing.T, project, query string) int {
	t.Helper()
	count, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage
			NextCursor *string `json:"next_cursor"`
		}
		b := n.mustAdmin(t, 200, "GET", "/admin/v1/projects/"+project+"/events?limit=1000&"+query+"&cursor="+cursor, "")
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("event list %.200s: %v", b, err)
		}
		count += len(page.Items)
		if page.NextCursor == nil || len(page.Items) == 0 {
			return count
		}
		cursor = *page.NextCursor
	}
}

// cpuTime is the user+system CPU time pid has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/stat: %v", pid, err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ = 100
}
