package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

func TestRouteHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"route"}},
		{[]string{"route", "--help"}, []string{"create", "list", "show", "update", "delete", "--project", "--output", "**"}},
		{[]string{"route", "create", "--help"}, []string{"--methods", "--path", "--order", "--request-mode", "--request-fields",
			"--request-classification", "--require", "--subject-field", "--response-mode", "--response-fields", "--file"}},
		{[]string{"subject", "--help"}, []string{"show", "erase", "--project"}},
		{[]string{"route", "update", "--help"}, []string{"ROUTE_ID", "as a whole", "PUT", "not kept"}},
		{[]string{"key", "create", "--help"}, []string{"decrypt_masked"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr, fakeEnv{}.get); code != 0 {
				t.Fatalf("run(%q) = %d (stderr %q), want 0", tc.args, code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("run(%q) stdout = %q, want it to mention %q", tc.args, stdout.String(), w)
				}
			}
		})
	}
}

func TestRouteCmdRefusals(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "route.json")
	os.WriteFile(file, []byte(`{"path":"/a"}`), 0o600)
	env := fakeEnv{config.EnvAdminToken: "t", config.EnvAdminAddr: "http://" + closedAddr(t)}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"without --project", []string{"route", "list"}, "project"},
		{"update without id", []string{"route", "update", "--project", "prj_x", "--path", "/a"}, "accepts 1 arg"},
		{"-f with --path", []string{"route", "create", "--project", "prj_x", "-f", file, "--path", "/b"}, "-f and --path exclude each other"},
		{"-f with --response-fields", []string{"route", "create", "--project", "prj_x", "-f", file, "--response-fields", "a"}, "--response-fields"},
		{"-f missing file", []string{"route", "create", "--project", "prj_x", "-f", filepath.Join(dir, "none.json")}, "none.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr, env.get); code != 1 {
				t.Fatalf("run(%q) = %d, want 1", tc.args, code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("run(%q) stderr = %q, want it to mention %q", tc.args, stderr.String(), tc.want)
			}
		})
	}
}

func TestReadRouteFile(t *testing.T) {
	shown := `{"id":"rt_abc","project_id":"prj_x","methods":["GET"],"path":"/a","order":3,
	  "request":null,"response":{"mode":"decrypt","fields":["t"]},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`
	got, err := readRouteFile("-", strings.NewReader(shown))
	if err != nil {
		t.Fatalf("readRouteFile(route show output) = %v", err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(got, &m)
	for _, k := range []string{"id", "project_id", "created_at", "updated_at"} {
		if _, ok := m[k]; ok {
			t.Errorf("readRouteFile(route show output) = %s, want %s dropped", got, k)
		}
	}
	for _, k := range []string{"methods", "path", "order", "request", "response"} {
		if _, ok := m[k]; !ok {
			t.Errorf("readRouteFile(route show output) = %s, want %s kept", got, k)
		}
	}
	for _, bad := range []string{"", "[]", "null", `"/a"`, `{"path":"/a"} {}`, `{"path":`, strings.Repeat(" ", maxRouteFile) + "{}"} {
		if _, err := readRouteFile("-", strings.NewReader(bad)); err == nil {
			t.Errorf("readRouteFile(%.20q…) = nil error, want one", bad)
		}
	}
}
