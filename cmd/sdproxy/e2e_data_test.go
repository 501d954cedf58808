package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// upstreamRecorder is a loopback upstream that keeps every request body.
type upstreamRecorder struct {
	mu     sync.Mutex
	bodies [][]byte
	srv    *httptest.Server
}

func newUpstreamRecorder(t *testing.T) *upstreamRecorder {
	return newUpstreamRecorderOn(t, nil)
}

// newUpstreamRecorderOn is newUpstreamRecorder serving on ln (nil: a
// new listener on 127.0.0.1).
func newUpstreamRecorderOn(t *testing.T, ln net.Listener) *upstreamRecorder {
	u := &upstreamRecorder{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"), b...))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write(b)
	}))
	if ln != nil {
		u.srv.Listener.Close()
		u.srv.Listener = ln
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreamRecorder) all() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return bytes.Join(u.bodies, []byte("\n"))
}

// post sends a JSON body with headers (name, value pairs) and returns status and body.
func post(t *testing.T, url, body string, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// dataE2E is a running serve with a project whose upstream records what
// it gets, a key of it, and a CLI environment for both APIs.
type dataE2E struct {
	env, cl   map[string]string
	srv       *e2e.Proc
	up        *upstreamRecorder
	project   struct{ ID string }
	key, data string // data: the data listener's base URL
}

// startDataE2E starts serve and creates the project name with its key;
// cl holds the admin address and data dir, SDPROXY_API_KEY and
// SDPROXY_DATA_ADDR.
func startDataE2E(t *testing.T, name string) dataE2E {
	t.Helper()
	dataDir := t.TempDir()
	x := dataE2E{env: serveEnv(t, dataDir, e2e.NewMasterKey(t))}
	x.srv = e2e.Start(t, x.env)
	x.up = newUpstreamRecorder(t)
	x.cl = map[string]string{config.EnvAdminAddr: "http://" + x.srv.AdminAddr, config.EnvDataDir: dataDir}
	json.Unmarshal([]byte(cli(t, x.cl, "project", "create", "--name", name, "--upstream", x.up.srv.URL, "-o", "json")), &x.project)
	x.key = strings.TrimSpace(cli(t, x.cl, "key", "create", "--project", x.project.ID, "-q"))
	x.data = "http://" + x.env[config.EnvListen]
	x.cl["SDPROXY_API_KEY"], x.cl["SDPROXY_DATA_ADDR"] = x.key, x.data
	return x
}

func TestE2EDataPlane(t *testing.T) {
	x := startDataE2E(t, "Shop")
	env, srv, up, cl, p, key, data := x.env, x.srv, x.up, x.cl, x.project, x.key, x.data

	// The CLI's direct API round trip.
	token := strings.TrimSpace(cli(t, cl, "encrypt", "--text", "card 4111-1111"))
	if !strings.HasPrefix(token, `"qanapi:`) {
		t.Fatalf("sdproxy encrypt --text = %s, want a token", token)
	}
	if got := strings.TrimSpace(cli(t, cl, "decrypt", token)); got != `"card 4111-1111"` {
		t.Errorf("sdproxy decrypt = %s, want the plaintext back", got)
	}

	// Through the proxy to the upstream: only ciphertext arrives.
	secret := "s3cret-address-9876"
	status, body := post(t, data+"/proxy/"+p.ID+"/orders?x=1", `{"address":"`+secret+`","qty":2}`,
		"X-Qanapi-Authorization", key, "X-Qanapi-Fields", "address")
	if status != 201 || bytes.Contains(up.all(), []byte(secret)) || !bytes.Contains(up.all(), []byte("POST /orders?x=1")) {
		t.Fatalf("proxy to upstream = %d %s; upstream saw %q; want 201 and no plaintext", status, body, up.all())
	}
	status, plain := post(t, data+"/proxy/"+p.ID, string(body),
		"X-Qanapi-Authorization", key, "X-Qanapi-Mode", "DECRYPT", "X-Qanapi-Fields", "address")
	if status != 200 || !bytes.Contains(plain, []byte(secret)) {
		t.Errorf("decrypt through the bare proxy path = %d %s, want the address back", status, plain)
	}

	// Revoked through the CLI: the very next request is refused.
	cli(t, cl, "key", "revoke", "--project", p.ID, key[:strings.LastIndexByte(key, '_')])
	if status, _ := post(t, data+"/proxy/"+p.ID, `{}`, "X-Qanapi-Authorization", key); status != 401 {
		t.Errorf("request after revoke = %d, want 401", status)
	}
	// A request fasthttp cannot parse: its error message must not quote it.
	conn, err := net.Dial("tcp", env[config.EnvListen])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /proxy/%s HTTP/1.1\r\nHost: x\r\nX-Qanapi-Authorization: %s\r\nX-Bad: \x01%s\r\n\r\n", p.ID, key, secret)
	io.ReadAll(conn)
	conn.Close()
	srv.Stop(t)
	if strings.Contains(srv.Log(t), secret) || strings.Contains(srv.Log(t), key) {
		t.Errorf("the serve log holds a field value or the API key:\n%s", srv.Log(t))
	}
}

func TestE2EEventsSurviveRestart(t *testing.T) {
	dataDir := t.TempDir()
	master := e2e.NewMasterKey(t)
	env := serveEnv(t, dataDir, master)
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir, config.EnvMasterKey: master}
	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Audit", "--rps", "100000", "--burst", "100000", "-o", "json")), &p)
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))
	url := "http://" + env[config.EnvListen] + "/proxy/" + p.ID
	const n, workers = 10000, 8
	value := "field-value-never-logged"
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/workers; i++ {
				req, _ := http.NewRequest("POST", url, strings.NewReader(`{"v":"`+value+`"}`))
				req.Header.Set("X-Qanapi-Authorization", key)
				req.Header.Set("X-Qanapi-Fields", "v")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Sprint("status ", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("request failed: %s", e)
	}
	// Request metrics come from the event writer, a batch behind.
	want := fmt.Sprintf(`sdproxy_requests_total{mode="encrypt",project=%q,status="200"} %d`, p.ID, n)
	deadline := time.Now().Add(10 * time.Second)
	for metrics := ""; !strings.Contains(metrics, want); metrics = httpGet(t, "http://"+srv.AdminAddr+"/metrics") {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Stop(t)

	srv = e2e.Start(t, env)
	cl[config.EnvAdminAddr] = "http://" + srv.AdminAddr
	count, cursor := 0, ""
	for {
		path := "http://" + srv.AdminAddr + "/admin/v1/projects/" + p.ID + "/events?type=request&limit=1000"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var page struct {
			Items []struct {
				Fields []string `json:"fields"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		json.Unmarshal(adminGet(t, path, dataDir), &page)
		for _, it := range page.Items {
			if len(it.Fields) != 1 || it.Fields[0] != "v" {
				t.Fatalf("event fields = %q, want [v]", it.Fields)
			}
		}
		count += len(page.Items)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if count != n {
		t.Errorf("request events after stop and restart = %d, want %d", count, n)
	}
	srv.Stop(t)
	out := cli(t, cl, "events", "verify", "--data-dir", dataDir)
	if !strings.Contains(out, "intact") {
		t.Errorf("sdproxy events verify = %q, want intact", out)
	}
	for _, f := range []string{"events.db", "sdproxy.db"} {
		b, _ := os.ReadFile(filepath.Join(dataDir, f))
		if bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds a field value or the API key", f)
		}
	}
	if strings.Contains(srv.Log(t), value) || strings.Contains(srv.Log(t), key) {
		t.Errorf("the serve log holds a field value or the API key")
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func adminGet(t *testing.T, url, dataDir string) []byte {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	return b
}

var (
	demoKeyRE     = regexp.MustCompile(`export KEY=(qk_\S+)`)
	demoProjectRE = regexp.MustCompile(`Project\s+(prj_[0-9a-z]+)`)
	demoDirRE     = regexp.MustCompile(`--data-dir (\S+)`)
	demoAppRE     = regexp.MustCompile(`export APP=http://(\S+?)/proxy/`)
	demoStoreRE   = regexp.MustCompile(`curl -s http://([0-9.:]+)/posts/1`)
)

// TestE2EDemo runs `sdproxy demo` and the steps it prints. Its listeners
// take ports the kernel picks as they bind (port 0), read back from what
// it prints: no other test can take them in between.
func TestE2EDemo(t *testing.T) {
	const anyPort = "127.0.0.1:0"
	cmd := exec.Command(e2e.Binary(t), "demo", "--listen", anyPort, "--admin-listen", anyPort, "--store-listen", anyPort)
	cmd.Env = e2e.Environ(nil)
	var stderr lockedBuffer // what it says when it cannot start
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var text strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "--data-dir") {
		text.WriteString(sc.Text() + "\n")
	}
	text.WriteString(sc.Text())
	go io.Copy(io.Discard, out)
	printed := text.String()
	km, pm, dm := demoKeyRE.FindStringSubmatch(printed), demoProjectRE.FindStringSubmatch(printed), demoDirRE.FindStringSubmatch(printed)
	am, sm := demoAppRE.FindStringSubmatch(printed), demoStoreRE.FindStringSubmatch(printed)
	if km == nil || pm == nil || dm == nil || am == nil || sm == nil {
		t.Fatalf("sdproxy demo printed %q, want a key, a project, its data dir and the proxy's and store's addresses; stderr:\n%s", printed, stderr.String())
	}
	data, store := am[1], sm[1]
	key, project := km[1], pm[1]
	mm, em := regexp.MustCompile(`MASKED=(qk_\S+)`).FindStringSubmatch(printed), regexp.MustCompile(`ENCONLY=(qk_\S+)`).FindStringSubmatch(printed)
	if mm == nil || em == nil {
		t.Fatalf("sdproxy demo printed %q, want the masked and encrypt-only keys", printed)
	}
	app := "http://" + data + "/proxy/" + project
	post1 := `{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}`
	// 1. The app writes with its key only; the route encrypts.
	status, created := post(t, app+"/posts", post1, "X-Qanapi-Authorization", key)
	if status != 201 || !bytes.Contains(created, []byte(`"title":"Sensitive title"`)) {
		t.Errorf("demo step 1 (write through, key only) = %d %s, want 201 and the post back in clear", status, created)
	}
	// 2. The store holds only ciphertext.
	stored := httpGet(t, "http://"+store+"/posts/1")
	if strings.Contains(stored, "Sensitive") || strings.Count(stored, "qanapi:") != 2 {
		t.Errorf("demo step 2: the store holds %q, want title and body as tokens", stored)
	}
	get := func(path, k string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", app+path, nil)
		req.Header.Set("X-Qanapi-Authorization", k)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, b)
		}
		return string(b)
	}
	// 3.-4. The same read: plaintext, masked, tokens, by the key.
	if got := get("/posts/1", key); !strings.Contains(got, `"title":"Sensitive title"`) {
		t.Errorf("demo step 3 (full key) = %s, want plaintext", got)
	}
	if got := get("/posts/1", mm[1]); !strings.Contains(got, `"title":"***********itle"`) {
		t.Errorf("demo step 4 (masked key) = %s, want the title masked", got)
	}
	if got := get("/posts/1", em[1]); strings.Contains(got, "Sensitive") || strings.Count(got, "qanapi:") != 2 {
		t.Errorf("demo step 4 (encrypt-only key) = %s, want the tokens", got)
	}
	// 5. A list read decrypts every element.
	post(t, app+"/posts", `{"title": "Second", "body": "Two"}`, "X-Qanapi-Authorization", key)
	if got := get("/posts", key); !strings.Contains(got, "Sensitive body text") || !strings.Contains(got, `"body":"Two"`) || strings.Contains(got, "qanapi:") {
		t.Errorf("demo step 5 (list) = %s, want every element decrypted", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sdproxy demo after SIGTERM = %v, want exit 0", err)
		}
	case <-time.After(e2e.StopDeadline):
		t.Fatalf("sdproxy demo still running %s after SIGTERM", e2e.StopDeadline)
	}
	if _, err := os.Stat(dm[1]); !os.IsNotExist(err) {
		t.Errorf("demo data dir %s still exists after exit (%v), want it removed", dm[1], err)
	}
}

// TestE2EDeletedProjectLeavesNoMetrics: once a project is deleted, the
// next scrape of /metrics has none of its series, while another
// project's stay.
func TestE2EDeletedProjectLeavesNoMetrics(t *testing.T) {
	x := startDataE2E(t, "Gone")
	var other struct{ ID string }
	json.Unmarshal([]byte(cli(t, x.cl, "project", "create", "--name", "Stays", "--upstream", x.up.srv.URL, "-o", "json")), &other)
	otherKey := strings.TrimSpace(cli(t, x.cl, "key", "create", "--project", other.ID, "-q"))
	for _, c := range []struct{ project, key string }{{x.project.ID, x.key}, {other.ID, otherKey}} {
		if status, body := post(t, x.data+"/proxy/"+c.project+"/posts", `{"v":"x"}`, "X-Qanapi-Authorization", c.key, "X-Qanapi-Fields", "v"); status/100 != 2 {
			t.Fatalf("request to %s = %d %s", c.project, status, body)
		}
	}
	gone := fmt.Sprintf(`project=%q`, x.project.ID)
	stays := fmt.Sprintf(`sdproxy_requests_total{mode="encrypt",project=%q,status=`, other.ID)
	metricsURL := "http://" + x.srv.AdminAddr + "/metrics"
	deadline := time.Now().Add(10 * time.Second) // request metrics come from the event writer, a batch behind
	for m := ""; !strings.Contains(m, gone) || !strings.Contains(m, stays); m = httpGet(t, metricsURL) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks the two projects' requests:\n%s", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cli(t, x.cl, "project", "delete", x.project.ID)
	m := httpGet(t, metricsURL)
	if strings.Contains(m, gone) {
		t.Errorf("/metrics still has series of the deleted project %s", x.project.ID)
	}
	if !strings.Contains(m, stays) {
		t.Errorf("/metrics lost the other project's series: want %q", stays)
	}
	x.srv.Stop(t)
}
