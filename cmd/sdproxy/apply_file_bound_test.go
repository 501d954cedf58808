package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/keystore"
)

// A policy file may name files (upstream_ca_file, upstream_client_cert_file,
// upstream_client_key_file). Each has a size limit, but readFile reads the
// whole file before it checks the limit: a file that names /dev/zero, a
// FIFO or a multi-gigabyte file makes `sdproxy apply` (even --dry-run, e.g.
// on a pull request in CI) read without bound, until it runs out of memory
// or forever. The policy file itself is read through a LimitReader.
//
// Here the named file is a FIFO that delivers more than the limit and then
// stays open: a bounded read stops after limit+1 bytes and reports the
// file as too large; an unbounded one waits for an end that never comes.
func TestPolicyNamedFileReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	policy := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(policy, []byte("projects:\n  - name: A\n    upstream_ca_file: ca.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(make([]byte, keystore.MaxUpstreamCABytes+4096)) // more than the limit
		<-release                                               // then keep the pipe open
	}()
	defer func() { letGo(); <-writerDone }()

	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		_, err := decodePolicy(policy, readTestFile(t, policy))
		done <- result{err}
	}()
	select {
	case r := <-done:
		if r.err == nil || !strings.Contains(r.err.Error(), "more than") {
			t.Errorf("decodePolicy naming a file larger than the limit = %v, want it refused as too large", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("decodePolicy naming a file larger than %d bytes (a FIFO kept open) did not return within 5s: "+
			"readFile reads the whole file before checking its size, so /dev/zero or a huge file is read without bound", keystore.MaxUpstreamCABytes)
		letGo() // let the blocked read end, so the goroutine does not leak
		<-done
	}
}

func readTestFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
