package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// jsonStore is a loopback upstream (a separate server from sdproxy's
// process): POST /posts keeps a post and answers it 201; GET /posts/{n}
// answers one, gzipped when the client accepts gzip; GET /posts lists them.
type jsonStore struct {
	mu    sync.Mutex
	posts []string
	srv   *httptest.Server
}

func newJSONStore(t *testing.T) *jsonStore {
	s := &jsonStore{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var body string
		switch {
		case r.Method == "POST":
			b, _ := io.ReadAll(r.Body)
			s.posts = append(s.posts, string(b))
			w.WriteHeader(201)
			w.Write(b)
			return
		case r.URL.Path == "/posts":
			body = "[" + strings.Join(s.posts, ",") + "]"
		default:
			body = s.posts[len(s.posts)-1]
		}
		// Compressed even though sdproxy asks for identity: it must cope.
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write([]byte(body))
		zw.Close()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// TestE2ERouteTraffic: through the built binary, a route made with the
// CLI lets an app that sends only its key store ciphertext in a real
// upstream and read plaintext back (masked, or tokens, by the key); the
// events name the route and count the values.
func TestE2ERouteTraffic(t *testing.T) {
	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	up := newJSONStore(t)

	var p struct{ ID string }
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Blog", "--upstream", up.srv.URL, "-o", "json")), &p)
	cli(t, cl, "route", "create", "--project", p.ID, "--methods", "POST,PUT,PATCH", "--path", "/posts/**", "--order", "10",
		"--request-mode", "encrypt", "--request-fields", "title,body", "--require", "title", "--response-fields", "title,body")
	cli(t, cl, "route", "create", "--project", p.ID, "--methods", "GET", "--path", "/posts/**", "--order", "20", "--response-fields", "title,body")
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))
	masked := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "--permissions", "decrypt_masked", "-q"))

	app := "http://" + env[config.EnvListen] + "/proxy/" + p.ID
	status, body := post(t, app+"/posts", `{"title":"Sensitive title","body":"Sensitive body text"}`, "X-Qanapi-Authorization", key)
	if status != 201 || !strings.Contains(string(body), "Sensitive title") {
		t.Fatalf("POST through the route = %d %s, want 201 and the post in clear", status, body)
	}
	up.mu.Lock()
	stored := strings.Join(up.posts, "")
	up.mu.Unlock()
	if strings.Contains(stored, "Sensitive") || strings.Count(stored, "qanapi:") != 2 {
		t.Fatalf("the upstream stored %s, want tokens only", stored)
	}
	get := func(path, k string) (string, http.Header) {
		req, _ := http.NewRequest("GET", app+path, nil)
		req.Header.Set("X-Qanapi-Authorization", k)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header
	}
	if got, h := get("/posts/1", key); !strings.Contains(got, `"body":"Sensitive body text"`) || h.Get("X-Qanapi-Untransformed") != "0" || h.Get("Content-Encoding") != "" {
		t.Errorf("GET (a gzip answer) = %s %v, want it decoded and decrypted", got, h)
	}
	if got, _ := get("/posts/1", masked); !strings.Contains(got, `"title":"***********itle"`) {
		t.Errorf("GET with the masked key = %s, want the title masked", got)
	}
	if got, _ := get("/posts", key); !strings.Contains(got, `[{"title":"Sensitive title"`) {
		t.Errorf("GET the list = %s, want its elements decrypted", got)
	}
	status, body = post(t, app+"/posts", `{"body":"no title"}`, "X-Qanapi-Authorization", key)
	if status != 422 || !bytes.Contains(body, []byte("field_missing")) {
		t.Errorf("POST without the required title = %d %s, want 422 field_missing", status, body)
	}

	// The events name the route and count the values of each phase.
	var evs []struct {
		Type           string   `json:"type"`
		Method         string   `json:"method"`
		RouteID        string   `json:"route_id"`
		Fields         []string `json:"fields"`
		RequestValues  int      `json:"request_values"`
		ResponseValues int      `json:"response_values"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(evs) < 5 && time.Now().Before(deadline) {
		json.Unmarshal([]byte(cli(t, cl, "events", "--project", p.ID, "--type", "request", "-o", "json")), &struct{ Items any }{&evs})
		if len(evs) < 5 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(evs) < 5 {
		t.Fatalf("request events = %+v, want 5", evs)
	}
	first := evs[len(evs)-1] // newest first: the POST is last
	if first.Method != "POST" || first.RouteID == "" || first.RequestValues != 2 || first.ResponseValues != 2 || strings.Join(first.Fields, ",") != "title,body" {
		t.Errorf("the POST's event = %+v, want the route, fields title,body and 2 values each way", first)
	}
	srv.Stop(t)
	if log := srv.Log(t); strings.Contains(log, "Sensitive") {
		t.Errorf("the serve log holds a field value:\n%s", log)
	}
}
