package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

// TestAdminTokenNotSentOnRedirect: the admin API never redirects. An
// answer that does (something else listening at --admin-addr, a proxy in
// front) must not make the CLI send its admin token, and the request's
// body, to another service: Go's client keeps Authorization on a redirect
// to the same host name, whatever the port or scheme.
func TestAdminTokenNotSentOnRedirect(t *testing.T) {
	var mu sync.Mutex
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"items": [], "next_cursor": null}`))
	}))
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	env := fakeEnv{config.EnvAdminAddr: front.URL, config.EnvAdminToken: "sdpa_secret-admin-token"}
	runCmd(t, env, "", "export")
	runCmd(t, env, "", "apply", "-f", "-")
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		t.Errorf("the CLI followed the admin API's redirect to another port and sent %q there", g)
	}
}
