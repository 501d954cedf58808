package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestE2EExportRefusesRoutesOfOnePathAndMethods: the routes API takes two
// routes of a project with the same path and methods (the later one by
// order never matches), but a policy file matches routes by path and
// methods, and apply refuses a file that declares one twice. So export
// refuses such a project and names both routes, as it refuses two projects
// of one name, rather than write a file that apply then refuses.
func TestE2EExportRefusesRoutesOfOnePathAndMethods(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	cli(t, env, "project", "create", "--name", "dup")
	var r1, r2 wire.Route
	json.Unmarshal([]byte(cli(t, env, "route", "create", "--project", "dup", "--path", "/c", "--order", "1", "--response-fields", "a", "-o", "json")), &r1)
	// The server takes a second route of the same path and methods.
	json.Unmarshal([]byte(cli(t, env, "route", "create", "--project", "dup", "--path", "/c", "--order", "2", "--response-fields", "b", "-o", "json")), &r2)
	if r1.ID == "" || r2.ID == "" {
		t.Fatalf("route create printed no ids: %q, %q", r1.ID, r2.ID)
	}

	_, errOut, code := e2e.Run(t, 30*time.Second, env, "export")
	if code == 0 || !strings.Contains(errOut, r1.ID) || !strings.Contains(errOut, r2.ID) {
		t.Errorf("sdproxy export = exit %d, stderr %q; want it refused, naming both routes (%s, %s)", code, errOut, r1.ID, r2.ID)
	}
}
