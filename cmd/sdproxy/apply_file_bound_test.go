package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sdproxy/sdproxy/keystore"
)

// TestPolicyNamedFileReadIsBounded: a file that a policy file names
// (upstream_ca_file and the client certificate's files) is read at most
// its limit + 1 bytes, and only when it is a regular file: a huge file is
// refused as too large, and /dev/zero or a FIFO (which would block apply
// in open when nobody writes to it, or feed it for ever) as not a regular
// file; `sdproxy apply --dry-run` on a pull request must always return.
func TestPolicyNamedFileReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, keystore.MaxUpstreamCABytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	for _, c := range []struct{ name, want string }{
		{big, "is more than"},
		{fifo, "is not a regular file"}, // nobody writes to it: open must not block
		{"/dev/zero", "is not a regular file"},
	} {
		policy := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(policy, []byte("projects:\n  - name: A\n    upstream_ca_file: "+c.name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := decodePolicy(policy, readTestFile(t, policy))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a policy naming %s as upstream_ca_file = %v, want it refused: %q", c.name, err, c.want)
		}
	}
}

func readTestFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
