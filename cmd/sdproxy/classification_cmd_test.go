package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

func TestClassificationHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"classification"}},
		{[]string{"classification", "--help"}, []string{"create", "list", "show", "update", "delete", "--project", "--output", "none", "decrypt_masked"}},
		{[]string{"classification", "create", "--help"}, []string{"--slug", "--name", "--description", "--mask-show-first", "--mask-show-last", "--mask-char"}},
		{[]string{"classification", "update", "--help"}, []string{"SLUG", "keep their current values", "--mask-char"}},
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

// TestClassificationCmdRefusals: refusals made before any call.
func TestClassificationCmdRefusals(t *testing.T) {
	env := fakeEnv{config.EnvAdminToken: "t", config.EnvAdminAddr: "http://" + closedAddr(t)}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"without --project", []string{"classification", "list"}, "project"},
		{"create without --slug", []string{"classification", "create", "--project", "prj_x"}, "--slug is required"},
		{"create with an argument", []string{"classification", "create", "pii", "--project", "prj_x"}, "unknown command"},
		{"show without slug", []string{"classification", "show", "--project", "prj_x"}, "slug"},
		{"show two slugs", []string{"classification", "show", "pii", "--slug", "card", "--project", "prj_x"}, "differ"},
		{"update without slug", []string{"classification", "update", "--project", "prj_x", "--name", "x"}, "slug"},
		{"delete two args", []string{"classification", "delete", "a", "b", "--project", "prj_x"}, "at most 1 arg"},
		{"bad output", []string{"classification", "list", "--project", "prj_x", "-o", "yaml"}, "--output"},
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
