package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// adminRaw sends head (and body) on a new connection to the admin
// listener and returns the status line of the answer. The deadline only
// keeps a broken build from hanging the test.
func adminRaw(t *testing.T, addr, head string, body []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		go c.Write(body) // the server may answer before it has read it all
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer to %q: %v", strings.SplitN(head, "\r\n", 2)[0], err)
	}
	return strings.TrimSpace(line)
}

// TestE2EAdminBodyBeforeToken: the admin listener does not read a large
// body from a caller without the token (it answers 401 after the first
// 4 KiB, before the rest is sent), reads it from one with the token, and takes a
// token given in SDPROXY_ADMIN_TOKEN with a trailing newline. On loopback
// it answers only requests for a loopback host.
func TestE2EAdminBodyBeforeToken(t *testing.T) {
	token := e2e.NewAdminToken(t)
	env := serveEnv(t, t.TempDir(), e2e.NewMasterKey(t))
	env[config.EnvAdminToken] = token + "\n"
	srv := e2e.Start(t, env)

	// Announced, and only its first 4 KiB sent: an answer proves the
	// server did not wait for the rest.
	for _, auth := range []string{"", "Authorization: Bearer wrong-token-wrong-token-wrong-token\r\n"} {
		head := "POST /admin/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + auth +
			"Content-Length: 1048576\r\n\r\n"
		if got := adminRaw(t, srv.AdminAddr, head, []byte(strings.Repeat(" ", admin.UnauthBodyBytes))); !strings.HasPrefix(got, "HTTP/1.1 401") {
			t.Errorf("1 MiB body announced without the token (%q): %q, want 401 before the rest of the body", auth, got)
		}
	}
	// A chunked body without the token: refused past 4 KiB.
	head := "POST /admin/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunk := "10000\r\n" + strings.Repeat(" ", 0x10000) + "\r\n"
	if got := adminRaw(t, srv.AdminAddr, head, []byte(chunk)); !strings.HasPrefix(got, "HTTP/1.1 401") {
		t.Errorf("chunked body without the token: %q, want 401", got)
	}
	// With the token, a large body is read and handled: 201.
	body := `{"name":"Large"}` + strings.Repeat(" ", 8<<10)
	head = "POST /admin/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if got := adminRaw(t, srv.AdminAddr, head, []byte(body)); !strings.HasPrefix(got, "HTTP/1.1 201") {
		t.Errorf("8 KiB body with the token: %q, want 201 (the token given with a trailing newline)", got)
	}
	// On loopback, a request for another host (DNS rebinding) is 421,
	// even with the token, and for /metrics, which needs none.
	for _, path := range []string{"/metrics", "/admin/v1/projects"} {
		head = "GET " + path + " HTTP/1.1\r\nHost: attacker.example:8081\r\nAuthorization: Bearer " + token + "\r\n\r\n"
		if got := adminRaw(t, srv.AdminAddr, head, nil); !strings.HasPrefix(got, "HTTP/1.1 421") {
			t.Errorf("GET %s for Host attacker.example: %q, want 421", path, got)
		}
	}
	if got := adminRaw(t, srv.AdminAddr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", nil); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("GET /metrics for Host localhost: %q, want 200", got)
	}
}

// TestAdminTokenFileTooShort: a token file in the data directory is held
// to the same length as the others.
func TestAdminTokenFileTooShort(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "admin.token"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _, err := loadAdminToken(cfg, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("loadAdminToken with a 1-character %s/admin.token = %q, %v; want an error asking for at least 32 characters", cfg.DataDir, tok, err)
	}
	env := func(k string) string {
		if k == config.EnvAdminToken {
			return " " + strings.Repeat("t", 31) + "\n" // 31 once trimmed
		}
		return ""
	}
	if _, _, err := loadAdminToken(cfg, env); err == nil {
		t.Errorf("a 31-character %s padded with spaces was taken", config.EnvAdminToken)
	}
}
