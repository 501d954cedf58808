package main

import (
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/admin/wire"
)

// TestPruneRechecksKeysBeforeDeletingAProject: the plan found project Old
// without active keys, but a key was created for it while apply ran (here:
// during the writes of the file's first project). --prune must not then
// delete Old with its data keys, which would make every value the new
// key sealed unreadable.
func TestPruneRechecksKeysBeforeDeletingAProject(t *testing.T) {
	f := newFakeAdmin(t)
	f.seed(wire.ProjectInput{Name: ptr("A")}, nil)
	old := f.seed(wire.ProjectInput{Name: ptr("Old")}, nil)
	file := writeFile(t, t.TempDir(), "a.yaml", "projects: [{name: A, upstream: http://a.example}]\n")
	f.refuse = func(method, path string, body []byte) string {
		if method == "PATCH" && len(f.keys[old]) == 0 {
			f.keys[old] = []wire.Key{{ID: "qk_createdlate1", Status: "active"}}
		}
		return ""
	}
	_, stderr, code := runCmd(t, f.env(), "", "apply", "-f", file, "--prune")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.writes {
		if strings.HasPrefix(w, "DELETE /admin/v1/projects/"+old) {
			t.Errorf("sdproxy apply --prune sent %q: project Old, whose key qk_createdlate1 became active after the plan, was deleted with its data keys", w)
		}
	}
	if code == 0 || !strings.Contains(stderr, "qk_createdlate1") {
		t.Errorf("sdproxy apply --prune = exit %d, stderr %q; want exit 1 naming Old's new active key", code, stderr)
	}
}
