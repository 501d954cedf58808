package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// A sign-up body and an upstream answer, with values the preview must
// never print.
const (
	e2ePreviewBody = `{"user": {"email": "grace@example.com", "phone": "+1 415 555 2671", "password": "hunter2-is-weak",
  "ssn": "219-09-9999", "tags": ["a", "b"]}, "card": "4242 4242 4242 4242"}`
	e2ePreviewAnswer = `[{"user": {"email": "grace@example.com"}, "last_ip": "203.0.113.9"}]`
)

var e2ePreviewValues = []string{"grace@", "415 555", "hunter2", "219-09", "4242", "203.0.113"}

func TestE2EPreview(t *testing.T) {
	dataDir := t.TempDir()
	srv := e2e.Start(t, serveEnv(t, dataDir, e2e.NewMasterKey(t)))
	env := map[string]string{config.EnvAdminAddr: "http://" + srv.AdminAddr, config.EnvDataDir: dataDir}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, env, "project", "create", "--name", "Signup", "-o", "json")), &p); err != nil {
		t.Fatal(err)
	}
	rt := decodeRoute(t, "sdproxy route create", cli(t, env, "route", "create", "--project", p.ID, "--methods", "POST", "--path", "/users/**",
		"--order", "5", "--request-mode", "encrypt", "--request-fields", "user.email,user.ssn,user.tags,user.nickname", "--require", "user.email",
		"--response-fields", "user.email", "-o", "json"))
	dir := t.TempDir()
	body, answer := filepath.Join(dir, "body.json"), filepath.Join(dir, "answer.json")
	for f, s := range map[string]string{body: e2ePreviewBody, answer: e2ePreviewAnswer} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"preview", "--project", p.ID, "--method", "POST", "--path", "/users/new", "-d", "@" + body, "--response", "@" + answer}

	out := cli(t, env, args...)
	for _, want := range []string{
		rt.ID, "/users/**",
		"request   encrypt  user.email", "user.tags.*", "transformed", "user.nickname", "absent",
		"response  decrypt  *.user.email",
		"Values transformed: request 4, response 1.",
		"request   user.phone     phone", "field_name:password", "card_number", "response  *.last_ip      ip_address",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sdproxy preview = %q, want it to show %q", out, want)
		}
	}
	noValues(t, "sdproxy preview", out)

	var got wire.Preview
	jsonOut := cli(t, env, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(jsonOut), &got); err != nil {
		t.Fatalf("sdproxy preview -o json = %q: %v", jsonOut, err)
	}
	noValues(t, "sdproxy preview -o json", jsonOut)
	if got.Route == nil || got.Route.ID != rt.ID || !slices.Equal(got.Request.Fields, []string{"user.email", "user.ssn", "user.tags.*"}) ||
		got.Response == nil || !slices.Equal(got.Response.Fields, []string{"*.user.email"}) || len(got.Hints) != 4 {
		t.Errorf("sdproxy preview -o json = %s, want route %s, 3 request paths, *.user.email in the answer, 4 hints", jsonOut, rt.ID)
	}

	// Body on standard input, no route for the path: nothing transformed.
	out = cliStdin(t, env, e2ePreviewBody, "preview", "--project", "Signup", "--path", "/other", "-d", "@-") // by name
	if !strings.Contains(out, "No route matches POST /other.") || !strings.Contains(out, "nothing transformed") || !strings.Contains(out, "us_ssn") {
		t.Errorf("sdproxy preview of an unmatched path = %q, want no route, nothing transformed, the SSN hinted", out)
	}
	noValues(t, "sdproxy preview -d @-", out)

	// A contradicting mode is the proxy's route_conflict.
	if stderr := cliFails(t, env, "preview", "--project", p.ID, "--path", "/users/1", "--mode", "decrypt", "-d", "{}"); !strings.Contains(stderr, "route_conflict") {
		t.Errorf("sdproxy preview --mode decrypt stderr = %q, want route_conflict", stderr)
	}
	if stderr := cliFails(t, env, "preview", "--project", p.ID, "--path", "/users/1", "-d", "{not json"); !strings.Contains(stderr, "not valid JSON") {
		t.Errorf("sdproxy preview -d '{not json' stderr = %q, want it refused before calling the server", stderr)
	}
}

func noValues(t *testing.T, what, out string) {
	t.Helper()
	for _, v := range e2ePreviewValues {
		if strings.Contains(out, v) {
			t.Errorf("%s = %q, shows the value %q: want paths and kinds only", what, out, v)
		}
	}
}
