package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2EAdminTokenFailuresLimited: through the binary, the admin
// listener answers 401 to 30 wrong tokens from one address and 429 to the
// 31st (limits.auth_failures' default burst), the right token included
// while locked out; /metrics counts the failures, and the stop writes
// their auth.failed summary, naming the admin listener, to the sink.
func TestE2EAdminTokenFailuresLimited(t *testing.T) {
	dir := t.TempDir()
	token := e2e.NewAdminToken(t)
	env := serveEnv(t, dir, e2e.NewMasterKey(t))
	env[config.EnvAdminToken] = token
	sink := filepath.Join(dir, "events.jsonl")
	env[config.EnvEventsSink] = sink
	srv := e2e.Start(t, env)

	get := func(auth string) string {
		return adminRaw(t, srv.AdminAddr, "GET /admin/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+auth+"\r\n\r\n", nil)
	}
	wrong := strings.Repeat("w", len(token))
	for i := range 30 {
		if got := get(wrong); !strings.HasPrefix(got, "HTTP/1.1 401") {
			t.Fatalf("wrong token %d: %q, want 401", i+1, got)
		}
	}
	if got := get(wrong); !strings.HasPrefix(got, "HTTP/1.1 429") {
		t.Fatalf("wrong token 31: %q, want 429", got)
	}
	if got := get(token); !strings.HasPrefix(got, "HTTP/1.1 429") {
		t.Errorf("the right token from the locked-out address: %q, want 429", got)
	}
	resp, err := srv.Admin.Get(srv.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "sdproxy_admin_auth_failures_total 31\n") {
		t.Errorf("/metrics does not count 31 failed attempts at the admin token:\n%s", metrics)
	}
	srv.Stop(t)
	lines, err := os.ReadFile(sink)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, l := range strings.Split(string(lines), "\n") {
		if strings.Contains(l, `"type":"auth.failed"`) && strings.Contains(l, `"listener":"admin"`) && strings.Contains(l, `"count":"31"`) {
			found = true
		}
		if strings.Contains(l, wrong) || strings.Contains(l, token) {
			t.Errorf("a sink line holds a token: %s", l)
		}
	}
	if !found {
		t.Errorf("no auth.failed summary of 31 failures on the admin listener in the sink:\n%s", lines)
	}
}
