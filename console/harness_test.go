package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/e2e"
)

// The browser test's harness: a real `sdproxy serve` (internal/e2e) and a
// small client for its admin API and data listener.

// sdproxy is one running `sdproxy serve`.
type sdproxy struct {
	adminURL string // http://127.0.0.1:port of the admin listener
	dataURL  string // http://127.0.0.1:port of the data listener
	token    string // the admin token
	client   *http.Client
}

func TestMain(m *testing.M) { e2e.Main(m) }

// startSdproxy runs `sdproxy serve` with a fresh data directory, master
// key and admin token, waits for /healthz, and stops it (SIGTERM) when the
// test ends. Its log is printed when the test fails.
func startSdproxy(t *testing.T) *sdproxy {
	t.Helper()
	s := &sdproxy{token: e2e.NewAdminToken(t), client: &http.Client{Timeout: 10 * time.Second}}
	dataAddr, adminAddr := e2e.FreeAddr(t), e2e.FreeAddr(t)
	s.adminURL, s.dataURL = "http://"+adminAddr, "http://"+dataAddr
	e2e.Start(t, map[string]string{
		"SDPROXY_LISTEN":       dataAddr,
		"SDPROXY_ADMIN_LISTEN": adminAddr,
		"SDPROXY_DATA_DIR":     t.TempDir(),
		"SDPROXY_MASTER_KEY":   e2e.NewMasterKey(t),
		"SDPROXY_ADMIN_TOKEN":  s.token,
		"SDPROXY_LOG_LEVEL":    "warn",
	})
	return s
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
