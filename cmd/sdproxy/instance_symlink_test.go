package main

import (
	"os"
	"path/filepath"
	"testing"
)

// master.key and admin.token are created with O_CREATE|O_EXCL, so a
// symlink planted in the data directory is never followed. instance.id is
// written with os.WriteFile (O_CREATE|O_TRUNC), after a ReadFile that
// reports a dangling symlink as "does not exist": a symlink planted as
// <data-dir>/instance.id makes serve create the file it points to,
// anywhere the serving user may write (as root: anywhere).
func TestInstanceIDDoesNotFollowPlantedSymlink(t *testing.T) {
	dataDir := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "created-through-the-link")
	if err := os.Symlink(elsewhere, filepath.Join(dataDir, instanceIDFile)); err != nil {
		t.Skipf("symlink: %v", err)
	}
	id, err := loadInstanceID(dataDir)
	if _, statErr := os.Lstat(elsewhere); statErr == nil {
		t.Errorf("loadInstanceID with %s a dangling symlink = (%q, %v): it created %s through the link, want it refused", instanceIDFile, id, err, elsewhere)
	}
	if err == nil {
		t.Errorf("loadInstanceID with %s a dangling symlink = %q, nil; want an error", instanceIDFile, id)
	}
}
