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

// TestE2EEventsProjectArgument: sdproxy events takes a project's name as
// the other commands do; a name nobody has fails; an id no project has
// (a mistyped one, or a deleted project's) lists what the log holds for
// it and says on stderr that no project has it.
func TestE2EEventsProjectArgument(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "project", "create", "--name", "Orders", "-o", "json")), &p); err != nil {
		t.Fatal(err)
	}

	var page struct{ Items []wire.Event }
	out := cli(t, env, "events", "--project", "Orders", "--type", "project.", "-o", "json")
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Items) != 1 || page.Items[0].Type != "project.created" ||
		page.Items[0].ProjectID != p.ID {
		t.Errorf("sdproxy events --project Orders = %q (%v), want the project.created event of %s", out, err, p.ID)
	}
	if stderr := cliFails(t, env, "events", "--project", "Ordres"); !strings.Contains(stderr, `--project "Ordres": no project has this id or name`) {
		t.Errorf("sdproxy events --project Ordres stderr = %q, want no such project", stderr)
	}

	const unknown = "prj_0000000000zz"
	stdout, stderr, code := e2e.Run(t, 30*time.Second, env, "events", "--project", unknown)
	if code != 0 || !strings.Contains(stdout, "TIME") || !strings.Contains(stderr, "no project has the id "+unknown+" now") {
		t.Errorf("sdproxy events --project %s = exit %d, stdout %q, stderr %q; want the empty table and a note", unknown, code, stdout, stderr)
	}
	// A deleted project's events stay listed, with the same note.
	cli(t, env, "project", "delete", p.ID)
	stdout, stderr, code = e2e.Run(t, 30*time.Second, env, "events", "--project", p.ID, "--type", "project.")
	if code != 0 || !strings.Contains(stdout, "project.deleted") || strings.Contains(stderr, "note:") {
		t.Errorf("sdproxy events --project <deleted> = exit %d, stdout %q, stderr %q; want its events, no note", code, stdout, stderr)
	}
}
