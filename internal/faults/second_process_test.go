//go:build faults

package faults

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestSecondProcessOnDataDir: a second serve on a data directory in use
// exits within 1 s, status 1, with one line saying why; the first one
// goes on serving.
func TestSecondProcessOnDataDir(t *testing.T) {
	n := startNode(t, baseConfig)
	env := maps.Clone(n.env)
	env[config.EnvListen], env[config.EnvAdminListen] = e2e.FreeAddr(t), e2e.FreeAddr(t)
	e2e.Binary(t)
	start := time.Now()
	stdout, stderr, code := e2e.Run(t, 10*time.Second, env, "serve")
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(stderr+stdout), "\n")
	t.Logf("second serve on the same data dir: exit %d after %s: %q", code, took.Round(time.Millisecond), stderr+stdout)
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "lock") {
		t.Errorf("second serve = exit %d, output %q, want exit 1 and one line saying the data directory is locked", code, stderr+stdout)
	}
	if took > time.Second {
		t.Errorf("second serve exited after %s, want within 1s", took)
	}
	if st, _, err := n.admin("GET", "/readyz", ""); err != nil || st != 200 {
		t.Errorf("first serve after the second was refused: GET /readyz = %d %v, want 200", st, err)
	}
}
