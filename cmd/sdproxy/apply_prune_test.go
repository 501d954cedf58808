package main

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// TestPruneRefusesProjectsWithActiveKeys: `sdproxy export --project A >
// a.yaml; sdproxy apply -f a.yaml --prune` must not delete another project
// whose API keys are in use: deleting a project deletes its data keys, so
// every token it sealed would become unreadable. apply refuses and names
// the keys, as it refuses to prune a classification that active keys name.
func TestPruneRefusesProjectsWithActiveKeys(t *testing.T) {
	f := newFakeAdmin(t)
	f.seed(wire.ProjectInput{Name: ptr("A")}, nil)
	b := f.seed(wire.ProjectInput{Name: ptr("B")}, nil)
	f.keys[b] = []wire.Key{{ID: "qk_bbbbbbbbbbbb", Status: "active"}}

	exported := applyOK(t, f, "", "export", "--project", "A")
	file := writeFile(t, t.TempDir(), "a.yaml", exported)
	_, stderr, code := runCmd(t, f.env(), "", "apply", "-f", file, "--prune")
	for _, w := range f.writes {
		if strings.HasPrefix(w, "DELETE /admin/v1/projects/"+b) {
			t.Errorf("sdproxy apply --prune of a one-project export sent %q: project B, whose key qk_bbbbbbbbbbbb is active, "+
				"was deleted with its data keys; want it refused as for a classification that active keys name", w)
		}
	}
	if code == 0 || !strings.Contains(stderr, "qk_bbbbbbbbbbbb") {
		t.Errorf("sdproxy apply --prune = exit %d, stderr %q; want exit 1 naming B's active key", code, stderr)
	}
}
