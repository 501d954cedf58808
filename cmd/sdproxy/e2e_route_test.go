package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// cliFails runs the CLI, wants exit 1 and returns stderr.
func cliFails(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	stdout, stderr, code := e2e.Run(t, 30*time.Second, env, args...)
	if code != 1 {
		t.Fatalf("sdproxy %s = exit %d, stdout %q, want exit 1", strings.Join(args, " "), code, stdout)
	}
	return stderr
}

// cliStdin runs the CLI with stdin and returns stdout, failing the test
// unless it exits 0.
func cliStdin(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2e.Binary(t), args...)
	cmd.Env = e2e.Environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("sdproxy %s with stdin %q = %v, stderr %q, want exit 0", strings.Join(args, " "), stdin, err, errb.String())
	}
	return out.String()
}

// decodeRoute decodes `route … --output json`.
func decodeRoute(t *testing.T, what, out string) wire.Route {
	t.Helper()
	var r wire.Route
	if err := json.Unmarshal([]byte(out), &r); err != nil || !strings.HasPrefix(r.ID, "rt_") {
		t.Fatalf("%s = %q (%v), want a route as JSON", what, out, err)
	}
	return r
}

// tableRows returns the data rows of a table (header dropped), each split
// into its columns.
func tableRows(out string) [][]string {
	var rows [][]string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i > 0 {
			rows = append(rows, strings.Fields(line))
		}
	}
	return rows
}

func TestE2ERoutes(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "project", "create", "--name", "Blog", "-o", "json")), &p); err != nil {
		t.Fatal(err)
	}
	proj := []string{"--project", p.ID}
	route := func(args ...string) []string { return append(append([]string{"route"}, args...), proj...) }
	cli(t, env, "classification", "create", "--slug", "pii", "--project", p.ID) // a route names only defined slugs

	// create with flags
	out := cli(t, env, route("create", "--methods", "post,PUT", "--path", "/posts/**", "--order", "10",
		"--request-mode", "encrypt", "--request-fields", "title,body", "--request-classification", "pii", "--require", "title",
		"--response-fields", "title,body,*.title,*.body", "-o", "json")...)
	posts := decodeRoute(t, "sdproxy route create (flags)", out)
	if !slices.Equal(posts.Methods, []string{"POST", "PUT"}) || posts.Path != "/posts/**" || posts.Order != 10 || posts.ProjectID != p.ID ||
		posts.Request == nil || posts.Request.Mode != "encrypt" || !slices.Equal(posts.Request.Fields, []string{"title", "body"}) ||
		posts.Request.Classification != "pii" || !slices.Equal(posts.Request.Require, []string{"title"}) ||
		posts.Response == nil || posts.Response.Mode != "decrypt" || len(posts.Response.Fields) != 4 {
		t.Errorf("sdproxy route create (flags) = %s, want the route the flags describe", out)
	}

	// create from a file: the output of show -o json, edited, is accepted
	file := filepath.Join(t.TempDir(), "route.json")
	body := `{"id": "rt_ignored00000", "project_id": "prj_other", "created_at": "2020-01-01T00:00:00Z",
	  "path": "/comments/*", "order": 5, "response": {"fields": ["text"]}}`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	comments := decodeRoute(t, "sdproxy route create -f FILE", cli(t, env, route("create", "-f", file, "-o", "json")...))
	if comments.ID == "rt_ignored00000" || comments.ProjectID != p.ID || comments.Path != "/comments/*" || comments.Request != nil ||
		comments.Response == nil || comments.Response.Mode != "decrypt" || len(comments.Methods) != 0 {
		t.Errorf("sdproxy route create -f FILE = %+v, want the file's route in %s, a new id", comments, p.ID)
	}

	// create from standard input, with a field name that would be a terminal escape
	stdinOut := cliStdin(t, env, `{"path": "/x", "order": 20, "response": {"fields": ["a\u001b\\[2Jb"]}}`, route("create", "-f", "-", "-o", "json")...)
	escaped := decodeRoute(t, "sdproxy route create -f -", stdinOut)

	// list: evaluation order, table and JSON
	out = cli(t, env, route("list")...)
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "RESPONSE") {
		t.Errorf("sdproxy route list = %q, want a table with ID … RESPONSE columns", out)
	}
	rows := tableRows(out)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[0])
	}
	if want := []string{comments.ID, posts.ID, escaped.ID}; !slices.Equal(ids, want) {
		t.Errorf("sdproxy route list ids = %v, want %v (by order)", ids, want)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `a\x1b\[2Jb`) {
		t.Errorf("sdproxy route list = %q, want the control character in a field name escaped", out)
	}
	if len(rows) > 1 && !slices.Equal(rows[1][:4], []string{posts.ID, "10", "POST,PUT", "/posts/**"}) {
		t.Errorf("sdproxy route list row of %s = %q, want id, order, methods, path first", posts.ID, rows[1])
	}
	var list []wire.Route
	if err := json.Unmarshal([]byte(cli(t, env, route("list", "-o", "json")...)), &list); err != nil || len(list) != 3 || list[0].ID != comments.ID {
		t.Errorf("sdproxy route list -o json = %+v (%v), want the 3 routes, %s first", list, err, comments.ID)
	}

	// show
	out = cli(t, env, route("show", posts.ID)...)
	for _, want := range []string{posts.ID, "/posts/**", "encrypt title,body class=pii require=title", "decrypt title,body,*.title,*.body"} {
		if !strings.Contains(out, want) {
			t.Errorf("sdproxy route show %s = %q, want it to show %q", posts.ID, out, want)
		}
	}

	// update replaces the whole route
	out = cli(t, env, route("update", posts.ID, "--path", "/articles/**", "--response-fields", "title", "-o", "json")...)
	up := decodeRoute(t, "sdproxy route update", out)
	if up.ID != posts.ID || up.Path != "/articles/**" || up.Request != nil || len(up.Methods) != 0 || up.Order != 0 ||
		!up.CreatedAt.Equal(posts.CreatedAt) || up.Response == nil || !slices.Equal(up.Response.Fields, []string{"title"}) {
		t.Errorf("sdproxy route update %s = %s, want the route replaced by the flags alone", posts.ID, out)
	}
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil { // show/update output, fed back
		t.Fatal(err)
	}
	if again := decodeRoute(t, "sdproxy route update -f", cli(t, env, route("update", posts.ID, "-f", file, "-o", "json")...)); again.Path != "/articles/**" {
		t.Errorf("sdproxy route update %s -f (its own JSON) = %+v, want it unchanged", posts.ID, again)
	}

	// refusals name the field
	for _, tc := range []struct {
		args []string
		want string
	}{
		{route("create", "--path", "posts"), "path:"},
		{route("create", "--path", "/a", "--request-fields", "title"), "request.mode"},
		{route("create", "--path", "/a", "--response-fields", "a..b"), "response.fields[0]"},
		{route("create", "-f", file, "--path", "/a"), "exclude"},
		{route("update", "rt_000000000000", "--path", "/a"), "not_found"},
	} {
		if stderr := cliFails(t, env, tc.args...); !strings.Contains(stderr, tc.want) {
			t.Errorf("sdproxy %s stderr = %q, want it to mention %q", strings.Join(tc.args, " "), stderr, tc.want)
		}
	}

	// delete
	out = cli(t, env, route("delete", posts.ID)...)
	if !strings.Contains(out, "Deleted route "+posts.ID) {
		t.Errorf("sdproxy route delete = %q, want a confirmation", out)
	}
	if stderr := cliFails(t, env, route("show", posts.ID)...); !strings.Contains(stderr, "not_found") {
		t.Errorf("sdproxy route show of a deleted route stderr = %q, want not_found", stderr)
	}

	// the admin changes are in the event log (written off the request
	// path, so the last one may take a moment)
	var count map[string]int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var evs wire.Page[wire.Event]
		out = cli(t, env, "events", "--project", p.ID, "--type", "route.", "-o", "json")
		if err := json.Unmarshal([]byte(out), &evs); err != nil {
			t.Fatalf("sdproxy events --type route. = %q: %v", out, err)
		}
		count = map[string]int{}
		for _, e := range evs.Items {
			count[e.Type]++
			if e.Details["route_id"] == "" || e.Details["path"] == "" {
				t.Errorf("event %+v, want details route_id and path", e)
			}
		}
		if count["route.deleted"] == 1 || time.Now().After(deadline) {
			break
		}
	}
	if count["route.created"] != 3 || count["route.updated"] != 2 || count["route.deleted"] != 1 {
		t.Errorf("route events = %v, want 3 created, 2 updated, 1 deleted", count)
	}

	// a key may carry decrypt_masked
	out = cli(t, env, "key", "create", "--project", p.ID, "--permissions", "decrypt_masked", "-o", "json")
	var k wire.Key
	if err := json.Unmarshal([]byte(out), &k); err != nil || !slices.Equal(k.Permissions, []string{"decrypt_masked"}) {
		t.Errorf("sdproxy key create --permissions decrypt_masked = %q (%v), want permissions [decrypt_masked]", out, err)
	}
}
