//go:build !race

// Allocation tests run without the race detector, which makes sync.Pool
// drop items on purpose; `make test` runs them in a second pass.

package keystore

import (
	"crypto/rand"
	"testing"
)

func TestAuthenticateAllocs(t *testing.T) {
	s := openTestStore(t, "", newClock())
	p := mustProject(t, s, "a")
	k := mustKey(t, s, p.ID, KeyInput{})
	project, key := []byte(p.ID), []byte(k.Secret)
	s.Authenticate(project, key) // warm the pool
	n := testing.AllocsPerRun(1000, func() {
		if _, err := s.Authenticate(project, key); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Authenticate allocs = %v, want 0", n)
	}
}

func TestParseAPIKeyAllocs(t *testing.T) {
	_, key, _ := newAPIKey(rand.Reader)
	b := []byte(key)
	if n := testing.AllocsPerRun(100, func() { parseAPIKey(b) }); n != 0 {
		t.Errorf("parseAPIKey allocs = %v, want 0", n)
	}
}
