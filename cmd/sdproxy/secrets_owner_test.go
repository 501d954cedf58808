package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdproxy/sdproxy/config"
)

// docs/operations.md ("Secret files") and docs/deployment.md: a secret
// file "must have mode 0600 or 0400 and be owned by the user sdproxy runs
// as … anything else is refused". readSecretFile checks the mode only. For
// a non-root sdproxy a file of another owner fails to open anyway, but
// sdproxy running as root (allowed outside the image) accepts a 0600
// master key or admin token file that another user owns, and so may
// rewrite whenever they like.
func TestSecretFileOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file another owner")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil { // nobody
		t.Skipf("chown: %v", err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	_, _, err := loadMasterKey(cfg, fakeEnv{config.EnvMasterKeyFile: path}.get)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("loadMasterKey(file of mode 0600 owned by uid 65534, sdproxy as uid 0) = %v; want it refused as the docs say (owned by the user sdproxy runs as)", err)
	}
}
