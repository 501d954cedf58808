package main

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestAdminHostGuardSpellings: on loopback the guard refuses a Host whose
// port is not a number ("localhost:8081@attacker.example", which
// net.SplitHostPort reads as localhost) and an absolute-form target
// (RFC 9112 §3.2.2: its authority, not Host, names the target) for
// another host whatever Host says; loopback spellings still pass.
func TestAdminHostGuardSpellings(t *testing.T) {
	srv := e2e.Start(t, serveEnv(t, t.TempDir(), e2e.NewMasterKey(t)))
	for _, head := range []string{
		"GET /metrics HTTP/1.1\r\nHost: localhost:8081@attacker.example\r\n\r\n",
		"GET http://attacker.example/metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET http://attacker.example:8081/ui/ HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n\r\n",
	} {
		if got := adminRaw(t, srv.AdminAddr, head, nil); !strings.HasPrefix(got, "HTTP/1.1 421") {
			t.Errorf("%q: %q, want 421", head, got)
		}
	}
	// Still answered: loopback spellings, with and without absolute form.
	for _, head := range []string{
		"GET /metrics HTTP/1.1\r\nHost: localhost:8081\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: [::1]\r\n\r\n",
		"GET http://localhost:8081/metrics HTTP/1.1\r\nHost: localhost:8081\r\n\r\n",
		"GET /metrics HTTP/1.0\r\n\r\n",
	} {
		if got := adminRaw(t, srv.AdminAddr, head, nil); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Errorf("%q: %q, want 200", head, got)
		}
	}
}
