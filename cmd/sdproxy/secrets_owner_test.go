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

// TestRootToolReadsServiceUsersMasterKey: the offline tools (events
// verify, store copy) read <data-dir>/master.key through
// loadMasterKeyNoCreate, which checks the file's mode but not its owner:
// root runs them on the data directory of the user serve runs as (the
// image's 65532). serve itself refuses such a file (the test above).
func TestRootToolReadsServiceUsersMasterKey(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, masterKeyFile)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65532, 65532); err != nil {
		t.Skipf("chown: %v", err)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	_, _, err := loadMasterKeyNoCreate(cfg, fakeEnv{}.get)
	if err != nil {
		msg := err.Error()
		t.Errorf("loadMasterKeyNoCreate (events verify, store copy) as root on a data dir of uid 65532 = %q; want the key read", msg)
		if strings.Contains(msg, "chown 0") {
			t.Errorf("and the advice %q would make serve (uid 65532) refuse the file", "chown 0")
		}
	}
}
