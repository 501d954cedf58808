package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2EIPv6Upstream: a project's upstream and an allowed destination
// at IPv6 addresses ([::1]) are reached, with the named field sealed on
// the way (the upstream dialer was IPv4-only before, and answered 502).
func TestE2EIPv6Upstream(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	up := newUpstreamRecorderOn(t, ln)
	destLn, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	dest := newUpstreamRecorderOn(t, destLn)

	dataDir := t.TempDir()
	env := serveEnv(t, dataDir, e2e.NewMasterKey(t))
	srv := e2e.Start(t, env)
	cl := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct {
		ID       string
		Upstream string
	}
	json.Unmarshal([]byte(cli(t, cl, "project", "create", "--name", "Six", "--upstream", up.srv.URL, "--destination", dest.srv.URL, "-o", "json")), &p)
	if !strings.Contains(p.Upstream, "[::1]") {
		t.Fatalf("project upstream = %q, want the IPv6 URL %s", p.Upstream, up.srv.URL)
	}
	key := strings.TrimSpace(cli(t, cl, "key", "create", "--project", p.ID, "-q"))
	data := "http://" + env[config.EnvListen]
	secret := "ipv6-secret-5150"
	status, body := post(t, data+"/proxy/"+p.ID+"/orders", `{"address":"`+secret+`"}`, "X-Qanapi-Authorization", key, "X-Qanapi-Fields", "address")
	if status != 201 || !bytes.Contains(up.all(), []byte("POST /orders")) || bytes.Contains(up.all(), []byte(secret)) {
		t.Errorf("through an IPv6 upstream = %d %s; it saw %q; want 201, the request and no plaintext", status, body, up.all())
	}
	status, body = post(t, data+"/proxy/"+p.ID+"/in", `{"address":"`+secret+`"}`, "X-Qanapi-Authorization", key, "X-Qanapi-Fields", "address",
		"X-Qanapi-Destination", dest.srv.URL+"/in")
	if status != 201 || !bytes.Contains(dest.all(), []byte("POST /in")) || bytes.Contains(dest.all(), []byte(secret)) {
		t.Errorf("to an IPv6 destination = %d %s; it saw %q; want 201, the request and no plaintext", status, body, dest.all())
	}
}
