package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// adminEvents counts a running server's admin events, per project, once
// every event recorded so far is stored: events are written off the
// request path, in order, so it first makes a marker project, waits until
// the marker's own event can be read, and deletes the marker.
type adminEvents struct {
	t     *testing.T
	env   map[string]string
	base  string
	token string
}

func newAdminEvents(t *testing.T, env map[string]string, adminAddr, dataDir string) *adminEvents {
	tok, err := os.ReadFile(adminTokenPath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	return &adminEvents{t: t, env: env, base: "http://" + adminAddr, token: strings.TrimSpace(string(tok))}
}

func (a *adminEvents) get(path string, v any) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		a.t.Fatalf("GET %s = HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
}

func (a *adminEvents) count(projectID string) int {
	var pg wire.Page[wire.Event]
	a.get("/admin/v1/projects/"+projectID+"/events?limit=1000", &pg)
	return len(pg.Items)
}

// settled returns the number of admin events of each of the server's
// projects.
func (a *adminEvents) settled() map[string]int {
	a.t.Helper()
	var marker wire.Project
	if err := json.Unmarshal([]byte(cli(a.t, a.env, "project", "create", "--name", "zz-marker", "-o", "json")), &marker); err != nil {
		a.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); a.count(marker.ID) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			a.t.Fatal("the marker project's event was not stored within 10s")
		}
	}
	cli(a.t, a.env, "project", "delete", marker.ID)
	var projects wire.Page[wire.Project]
	a.get("/admin/v1/projects?limit=1000", &projects)
	out := map[string]int{}
	for _, p := range projects.Items {
		out[p.Name+" "+p.ID] = a.count(p.ID)
	}
	return out
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestE2EApply(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	events := newAdminEvents(t, env, srv.AdminAddr, dataDir)
	blog, err := filepath.Abs(filepath.Join("..", "..", "testdata", "policy", "blog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// First apply: everything created.
	out := cli(t, env, "apply", "-f", blog)
	for _, want := range []string{`+ project "Blog": create`, "+ classification pii: create", "+ route PATCH,POST,PUT /posts/**: create",
		`+ project "Blog staging": create`, "Plan: 8 to create, 0 to update, 0 to delete, 0 unchanged.", "Applied: 8 created, 0 updated, 0 deleted."} {
		if !strings.Contains(out, want) {
			t.Errorf("first sdproxy apply -f blog.yaml =\n%s\nwant it to say %q", out, want)
		}
	}
	before := events.settled()

	// Second apply: all unchanged, no write, no event.
	out = cli(t, env, "apply", "-f", blog)
	if regexp.MustCompile(`(?m)^\s*[+~-] `).MatchString(out) || !strings.Contains(out, "Plan: 0 to create, 0 to update, 0 to delete, 8 unchanged") ||
		!strings.HasSuffix(out, "Nothing to change.\n") {
		t.Errorf("second sdproxy apply -f blog.yaml =\n%s\nwant every object unchanged and nothing done", out)
	}
	after := events.settled()
	if !sameCounts(before, after) {
		t.Errorf("admin events per project after a second apply = %v, want as before %v", after, before)
	}

	// export → apply is a no-op, in both formats.
	for _, format := range []string{"yaml", "json"} {
		exported := writeFile(t, dir, "export."+format, cli(t, env, "export", "-o", format))
		out = cli(t, env, "apply", "-f", exported, "--prune")
		if !strings.HasSuffix(out, "Nothing to change.\n") || regexp.MustCompile(`(?m)^\s*[+~-] `).MatchString(out) {
			t.Errorf("sdproxy apply --prune of its own %s export =\n%s\nwant nothing to change", format, out)
		}
	}
	if now := events.settled(); !sameCounts(before, now) {
		t.Errorf("admin events per project after export → apply = %v, want as before %v", now, before)
	}

	// Spellings the server normalises differently compare equal.
	spelled := writeFile(t, dir, "spelled.yaml", `projects:
  - name: "  Spelled  "
    upstream: HTTP://Spelled.EXAMPLE:8080/base/
    destinations: [https://P.example, "https://p.example:443", http://q.example]
    rate_limit: {requests_per_second: 5, burst: 5}
    classifications:
      - {slug: pii, name: "  PII  ", description: " d ", mask: {show_last: 2}}
    routes:
      - methods: [post, Put, POST]
        path: /a/**
        order: 3
        request: {mode: " Encrypt ", fields: [" a ", a, "b.*.c", "x\\.y"], classification: pii, require: [" a "]}
        response: {fields: [x]}
`)
	cli(t, env, "apply", "-f", spelled)
	before = events.settled()
	if out = cli(t, env, "apply", "-f", spelled); !strings.HasSuffix(out, "Nothing to change.\n") {
		t.Errorf("second sdproxy apply of a file in other spellings =\n%s\nwant nothing to change", out)
	}

	// --dry-run writes nothing; without --prune what the file leaves out is kept.
	changed := writeFile(t, dir, "changed.yaml", strings.Replace(mustRead(t, blog), "order: 20", "order: 25", 1))
	out = cli(t, env, "apply", "-f", changed, "--dry-run")
	for _, want := range []string{"~ route GET /posts/** (rt_", "order: 20 → 25", `! project "Spelled" (prj_`, "not in the file (kept; --prune deletes)", "Dry run: nothing was changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("sdproxy apply --dry-run =\n%s\nwant it to say %q", out, want)
		}
	}
	if now := events.settled(); !sameCounts(before, now) {
		t.Errorf("admin events per project after --dry-run = %v, want as before %v", now, before)
	}

	// --prune deletes the project the file does not name.
	out = cli(t, env, "apply", "-f", changed, "--prune")
	if !strings.Contains(out, `- project "Spelled" (prj_`) || !strings.Contains(out, "Applied: 0 created, 1 updated, 1 deleted.") {
		t.Errorf("sdproxy apply --prune =\n%s\nwant Spelled deleted and the route updated", out)
	}
	if list := cli(t, env, "project", "list"); strings.Contains(list, "Spelled") || !strings.Contains(list, "Blog staging") {
		t.Errorf("sdproxy project list after --prune = %q, want Spelled gone, the others kept", list)
	}

	// A file with problems names file, line and field, and changes nothing.
	bad := writeFile(t, dir, "bad.yaml", "projects:\n  - name: Blog\n    keys: [{name: k}]\n    routes:\n      - path: /x\n        request: {mode: encrypt, fields: [\"a..b\"]}\n")
	stderr := cliFails(t, env, "apply", "-f", bad)
	for _, want := range []string{bad + ":3: projects[0].keys: API keys are never part of a policy file",
		bad + `:6: projects[0].routes[0].request.fields[0]: "a..b" is not a field path`, "2 problems; nothing was applied"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("sdproxy apply -f bad.yaml stderr =\n%s\nwant %q", stderr, want)
		}
	}

	// What the server's state forbids is found before anything is written.
	refused := writeFile(t, dir, "refused.yaml", "projects:\n  - name: Blog staging\n    routes:\n      - path: /health\n        order: -1\n      - path: /new\n        request:\n          mode: encrypt\n          fields: [a]\n          classification: pii\n")
	stderr = cliFails(t, env, "apply", "-f", refused)
	if want := refused + `:10: projects[0].routes[1].request.classification: no classification "pii" in project "Blog staging"`; !strings.Contains(stderr, want) {
		t.Errorf("sdproxy apply -f refused.yaml stderr =\n%s\nwant %q", stderr, want)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
