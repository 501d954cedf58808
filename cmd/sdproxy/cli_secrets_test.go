package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

// TestCLITokenNotInErrors: a token the transport refuses (a second line
// in the token file's variable) and an unreachable --admin-addr: the
// error never quotes the token.
func TestCLITokenNotInErrors(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	for _, tok := range []string{"sekrit-token-AAAA\nsecond-line-BBBB", "sekrit-token-AAAA\x7f"} {
		_, stderr, code := runCmd(t, fakeEnv{config.EnvAdminAddr: "http://" + addr, config.EnvAdminToken: tok}, "", "project", "list")
		if code == 0 || strings.Contains(stderr, "sekrit") || strings.Contains(stderr, "BBBB") {
			t.Errorf("token %q: exit %d, stderr %q", tok, code, stderr)
		}
		t.Logf("token %q -> %s", tok, stderr)
	}
}

// TestCLIAdminAddrUserinfo: credentials in --admin-addr are never sent
// (the bearer token replaces Go's basic auth), and no error prints them:
// an unreachable address and a malformed one.
func TestCLIAdminAddrUserinfo(t *testing.T) {
	var mu sync.Mutex
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		w.Write([]byte(`{"items":[],"next_cursor":null}`))
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://ops:hunter2@", 1)
	if _, stderr, code := runCmd(t, fakeEnv{config.EnvAdminAddr: withCreds, config.EnvAdminToken: "fake-token"}, "", "project", "list"); code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	mu.Lock()
	t.Logf("Authorization sent: %q (the user info ops:hunter2 is dropped)", auth)
	mu.Unlock()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	_, stderr, _ := runCmd(t, fakeEnv{config.EnvAdminAddr: "http://ops:hunter2@" + dead, config.EnvAdminToken: "fake-token"}, "", "project", "list")
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("unreachable --admin-addr with credentials: stderr %q prints the password", stderr)
	}
	_, stderr, code := runCmd(t, fakeEnv{config.EnvAdminAddr: "http://ops:hunter2@[::1", config.EnvAdminToken: "fake-token"}, "", "project", "list")
	if code == 0 || strings.Contains(stderr, "hunter2") {
		t.Errorf("malformed --admin-addr with credentials: exit %d, stderr %q prints the password", code, stderr)
	}
}
