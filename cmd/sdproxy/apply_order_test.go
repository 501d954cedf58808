package main

import (
	"fmt"
	"github.com/sdproxy/sdproxy/keystore"
	"slices"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// encrypts reports whether a route of project id matching method and path
// exactly (the test's routes have no wildcards) encrypts field.
func (f *fakeAdmin) encrypts(id, method, path, field string) bool {
	for _, rt := range f.sortedRoutes(id) {
		if rt.Path != path || (len(rt.Methods) > 0 && !slices.Contains(rt.Methods, method)) {
			continue
		}
		return rt.Request != nil && rt.Request.Mode == "encrypt" && slices.Contains(rt.Request.Fields, field)
	}
	return false
}

// TestApplyPruneNeverDropsEncryptionMidway: a route whose methods change
// is, with --prune, the old route deleted and a new one created. At no
// point between apply's writes may POST /orders go without its encrypt
// rule, or requests in between forward plaintext.
func TestApplyPruneNeverDropsEncryptionMidway(t *testing.T) {
	f := newFakeAdmin(t)
	id := f.seed(wire.ProjectInput{Name: ptr("Shop")}, nil,
		wire.RouteInput{Methods: []string{"POST"}, Path: "/orders", Request: &wire.RuleInput{Mode: "encrypt", Fields: []string{"card"}}})
	file := writeFile(t, t.TempDir(), "p.yaml", `projects:
  - name: Shop
    routes:
      - methods: [POST, PUT]
        path: /orders
        request: {mode: encrypt, fields: [card]}
`)
	var gaps []string
	f.refuse = func(method, path string, body []byte) string {
		// Called before each write, with the state the earlier writes left.
		if !f.encrypts(id, "POST", "/orders", "card") {
			gaps = append(gaps, "before "+method+" "+path)
		}
		return ""
	}
	applyOK(t, f, "", "apply", "-f", file, "--prune")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.encrypts(id, "POST", "/orders", "card") {
		gaps = append(gaps, "after the apply")
	}
	if len(gaps) > 0 {
		t.Errorf("apply --prune left POST /orders without its encrypt rule %v (writes %q): requests in between forward card in plaintext", gaps, f.writes)
	}
}

// TestApplyPruneAtTheRouteCap: with the project at the cap, the deletes
// that make room for the creates still go first.
func TestApplyPruneAtTheRouteCap(t *testing.T) {
	f := newFakeAdmin(t)
	var routes []wire.RouteInput
	for i := range keystore.MaxRoutes {
		routes = append(routes, wire.RouteInput{Path: fmt.Sprintf("/r%d", i)})
	}
	id := f.seed(wire.ProjectInput{Name: ptr("Big")}, nil, routes...)
	var b strings.Builder
	b.WriteString("projects:\n  - name: Big\n    routes:\n")
	for i := range keystore.MaxRoutes - 2 {
		fmt.Fprintf(&b, "      - {path: /r%d}\n", i)
	}
	b.WriteString("      - {path: /new1}\n      - {path: /new2}\n")
	file := writeFile(t, t.TempDir(), "p.yaml", b.String())
	f.refuse = func(method, path string, body []byte) string {
		if method == "POST" && strings.HasSuffix(path, "/routes") && len(f.routes[id]) >= keystore.MaxRoutes {
			return "the project already has 1000 routes"
		}
		return ""
	}
	applyOK(t, f, "", "apply", "-f", file, "--prune")
	if n := len(f.routes[id]); n != keystore.MaxRoutes {
		t.Errorf("routes after apply = %d, want %d", n, keystore.MaxRoutes)
	}
}
