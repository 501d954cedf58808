package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/e2e"
)

// TestDataDirMode: a data directory every user may write in is refused
// (anyone could put their own key store or event log in its place); one
// open to group or others is served with a warning; 0700 is silent.
func TestDataDirMode(t *testing.T) {
	for _, tc := range []struct {
		mode       os.FileMode
		refuse     bool
		warnSubstr string
	}{
		{0o700, false, ""},
		{0o750, false, "chmod 700"},
		{0o755, false, "chmod 700"},
		{0o777, true, ""},
		{os.ModeSticky | 0o777, true, ""},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tc.mode); err != nil {
			t.Fatal(err)
		}
		var log lockedBuffer
		err := checkDataDirMode(dir, slog.New(slog.NewTextHandler(&log, nil)))
		if tc.refuse != (err != nil) {
			t.Errorf("mode %04o: err = %v, want refused %v", tc.mode, err, tc.refuse)
		}
		if err != nil && (!strings.Contains(err.Error(), "writable by every user") || !strings.Contains(err.Error(), dir)) {
			t.Errorf("mode %04o: error %q does not say why or name the directory", tc.mode, err)
		}
		if got := log.String(); (tc.warnSubstr == "") != (got == "") || !strings.Contains(got, tc.warnSubstr) {
			t.Errorf("mode %04o: log %q, want a warning containing %q (none when empty)", tc.mode, got, tc.warnSubstr)
		}
	}
}

// TestServeRefusesWorldWritableDataDir: through the binary, serve on a
// world-writable data directory exits 1 at once, naming it, and creates
// nothing in it.
func TestServeRefusesWorldWritableDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	env := serveEnv(t, dir, e2e.NewMasterKey(t))
	_, stderr, code := e2e.Run(t, time.Minute, env, "serve")
	if code != 1 || !strings.Contains(stderr, "writable by every user") || !strings.Contains(stderr, dir) {
		t.Errorf("serve on a 0777 data directory = exit %d, stderr %q; want 1 and an error naming it", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve refused the directory yet created %d files in it", len(entries))
	}
}
