package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"

	"github.com/sdproxy/sdproxy/config"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// TestUndoKeepsAnotherClientsLaterChange: apply changes route /a, then a
// later write of the project is refused and apply undoes its changes. If
// another client changed /a in between (here: it made the route encrypt
// one more field), the undo must not put the route back over that change,
// silently dropping the other client's encryption.
func TestUndoKeepsAnotherClientsLaterChange(t *testing.T) {
	f := newFakeAdmin(t)
	id := f.seed(wire.ProjectInput{Name: ptr("Shop")}, nil,
		wire.RouteInput{Path: "/a", Request: &wire.RuleInput{Mode: "encrypt", Fields: []string{"x"}}})
	file := writeFile(t, t.TempDir(), "p.yaml", `projects:
  - name: Shop
    routes:
      - path: /a
        request: {mode: encrypt, fields: [x, y]}
      - path: /refused
`)
	f.refuse = func(method, path string, body []byte) string {
		if method == "POST" && bytes.Contains(body, []byte(`"/refused"`)) {
			// Another client, after apply's change of /a.
			f.routes[id][0].Request.Fields = []string{"x", "y", "card"}
			return "not today"
		}
		return ""
	}
	_, stderr, code := runCmd(t, f.env(), "", "apply", "-f", file)
	if code != 1 {
		t.Fatalf("apply with a refused write = exit %d, want 1", code)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := f.routes[id][0].Request.Fields; !slices.Contains(got, "card") {
		t.Errorf("route /a after the rollback encrypts %q: the undo put it back over another client's later change, which encrypted card too (stderr %q)", got, stderr)
	}
	if !strings.Contains(stderr, "could not undo") {
		t.Errorf("stderr = %q, want it to say the change of /a was not undone", stderr)
	}
}

// TestUndoOnTheRealAdminAPI: the check before an undo compares what the
// real admin API gives back (index rules filled in, classifications) with
// what this run wrote, so a rollback with no other client undoes all.
func TestUndoOnTheRealAdminAPI(t *testing.T) {
	env, _ := startRealAdmin(t)
	target, _ := url.Parse(env[config.EnvAdminAddr])
	rp := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/routes") {
			b, _ := io.ReadAll(r.Body)
			if bytes.Contains(b, []byte(`"/refused"`)) {
				fakeError(w, 409, "conflict", "not today")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		}
		rp.ServeHTTP(w, r)
	}))
	defer front.Close()
	env = fakeEnv{config.EnvAdminToken: env[config.EnvAdminToken], config.EnvAdminAddr: front.URL}
	dir := t.TempDir()
	first := writeFile(t, dir, "1.yaml", `projects:
  - name: Shop
    classifications: [{slug: pii, name: PII}]
    routes:
      - {methods: [POST], path: /a, request: {mode: encrypt, fields: [email], classification: pii, index: [{field: email}]}}
      - {path: /b, request: {mode: encrypt, fields: [x]}}
`)
	if out, errOut, code := runCLI(env, "apply", "-f", first); code != 0 {
		t.Fatalf("apply = %d\n%s\n%s", code, out, errOut)
	}
	before, _, _ := runCLI(env, "export")
	second := writeFile(t, dir, "2.yaml", `projects:
  - name: Shop
    classifications: [{slug: pii, name: Personal, mask: {show_last: 2}}, {slug: new}]
    routes:
      - {methods: [POST], path: /a, request: {mode: encrypt, fields: [email, name], classification: pii, index: [{field: email, normalize: lower_trim}, {field: name, bytes: 8}], subject_field: id}}
      - {path: /c, request: {mode: encrypt, fields: [y], index: [{field: y}]}}
      - {path: /refused}
`)
	_, stderr, code := runCLI(env, "apply", "-f", second, "--prune")
	if code != 1 || strings.Contains(stderr, "could not undo") || !strings.Contains(stderr, "undid the") {
		t.Errorf("apply with a refused write = %d, stderr %q; want every change undone", code, stderr)
	}
	if after, _, _ := runCLI(env, "export"); after != before {
		t.Errorf("after the rollback export =\n%s\nwant\n%s", after, before)
	}
}
