package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdproxy/sdproxy/config"
	"github.com/sdproxy/sdproxy/events"
	"github.com/sdproxy/sdproxy/internal/e2e"
	"github.com/sdproxy/sdproxy/keystore"
)

// TestDataFilesNotCreatedThroughPlantedSymlink: like instance.id
// (TestInstanceIDDoesNotFollowPlantedSymlink), the store and the event
// log are never created through a symlink planted in the data directory
// that points where nothing is yet: serve would create, as its user (as
// root: anywhere), the file the link names. It refuses to start instead.
// A symlink to an existing file (a log moved to another disk) is opened.
func TestDataFilesNotCreatedThroughPlantedSymlink(t *testing.T) {
	for _, name := range []string{events.FileName, keystore.FileName} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
			elsewhere := filepath.Join(t.TempDir(), "created-through-the-link")
			if err := os.Symlink(elsewhere, filepath.Join(cfg.DataDir, name)); err != nil {
				t.Skipf("symlink: %v", err)
			}
			env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
			srv, err := newServer(context.Background(), cfg, env.get, io.Discard, io.Discard)
			if err == nil {
				srv.Run(canceled())
			}
			if _, statErr := os.Lstat(elsewhere); statErr == nil {
				t.Errorf("serve with %s a dangling symlink (start: %v) created %s through the link, want it refused", name, err, elsewhere)
			}
			if err == nil {
				t.Errorf("serve with %s a dangling symlink started, want an error", name)
			}
		})
	}
}

// TestDataFileSymlinkToExistingFileOpens: a data file that is a symlink to
// an existing file is opened through it, and keeps working across
// restarts.
func TestDataFileSymlinkToExistingFileOpens(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.AdminListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	env := fakeEnv{config.EnvMasterKey: e2e.NewMasterKey(t), config.EnvAdminToken: e2e.NewAdminToken(t)}
	start := func() {
		t.Helper()
		srv, err := newServer(context.Background(), cfg, env.get, io.Discard, io.Discard)
		if err != nil {
			t.Fatalf("newServer = %v", err)
		}
		if err := srv.Run(canceled()); err != nil {
			t.Fatalf("Run = %v", err)
		}
	}
	start()
	other := t.TempDir()
	for _, name := range []string{events.FileName, keystore.FileName} {
		moved := filepath.Join(other, name)
		if err := os.Rename(filepath.Join(cfg.DataDir, name), moved); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(moved, filepath.Join(cfg.DataDir, name)); err != nil {
			t.Skipf("symlink: %v", err)
		}
	}
	start()
}
