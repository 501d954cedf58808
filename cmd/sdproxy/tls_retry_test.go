//go:build unix

package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCertificateReloadRetriesAfterFailure: a renewal tool writes the new
// key with permissions serve's user cannot read (root's 0600, say); the
// reload fails and the previous certificate is served, as it should.
// Then the operator fixes the permissions (chmod or chown), which changes
// neither the size nor the modification time that the poll compares: the
// new pair must still be picked up without a SIGHUP, not the previous
// certificate served until it expires.
func TestCertificateReloadRetriesAfterFailure(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads any file: run this test as nobody.
		runAsNobody(t, "TestCertificateReloadRetriesAfterFailure")
		return
	}
	ca, dir := newTestCA(t), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	ca.Issue(t, "v1", certFile, keyFile)
	var log lockedBuffer
	r, err := newCertReloader("data", certFile, keyFile, "", slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watchCerts(ctx, 10*time.Millisecond, nil, r); close(done) }()
	defer func() { cancel(); <-done }()

	ca.Issue(t, "v2", certFile, keyFile)
	if err := os.Chmod(keyFile, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), "TLS certificate reload failed"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reload of an unreadable key was not logged as failed")
		}
	}
	time.Sleep(100 * time.Millisecond) // more polls, each a retry that fails the same way
	if cn := r.cur.Load().Leaf.Subject.CommonName; cn != "v1" {
		t.Fatalf("with the new key unreadable: CN %q, want v1 still served", cn)
	}
	if n := strings.Count(log.String(), "TLS certificate reload failed"); n != 1 {
		t.Errorf("%d polls with the key unreadable logged %d failures, want 1:\n%s", 10, n, log.String())
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for r.cur.Load().Leaf.Subject.CommonName != "v2" {
		if time.Now().After(deadline) {
			t.Fatalf("2s after the key file was made readable: CN %q, want v2 (the poll never read the files again)", r.cur.Load().Leaf.Subject.CommonName)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runAsNobody runs the test named name again in a copy of the test binary
// as uid and gid 65534, and fails if it fails.
func runAsNobody(t *testing.T, name string) {
	t.Helper()
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "zz-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR=/tmp", "HOME=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("as nobody:\n%s", out)
}
