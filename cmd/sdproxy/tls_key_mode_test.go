//go:build unix

package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLooseKeyFileWarnedWhileServing: a TLS key file that becomes
// readable by group or others while serve runs (a chmod, which changes
// neither its size nor its time; or a renewal that writes it 0644) is
// warned about at the next poll, not only at start; one made private
// again is not.
func TestLooseKeyFileWarnedWhileServing(t *testing.T) {
	const warning = "TLS private key file is readable by group or others"
	ca, dir := newTestCA(t), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	ca.Issue(t, "v1", certFile, keyFile)
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	r, err := newCertReloader("data", certFile, keyFile, "", slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), warning) {
		t.Fatalf("a 0600 key file was warned about:\n%s", log.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watchCerts(ctx, 10*time.Millisecond, nil, r); close(done) }()
	defer func() { cancel(); <-done }()

	waitLog := func(what string, n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); strings.Count(log.String(), what) < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q (%d times) in the log:\n%s", what, n, log.String())
			}
		}
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLog(warning, 1)
	if !strings.Contains(log.String(), "mode=0644") {
		t.Errorf("the warning does not name the mode:\n%s", log.String())
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLog("TLS certificate reloaded", 2) // the chmod back is read too
	if n := strings.Count(log.String(), warning); n != 1 {
		t.Errorf("%d warnings, want 1 (none for the key made private again):\n%s", n, log.String())
	}
}
