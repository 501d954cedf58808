package keystore

import (
	"bytes"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sdproxy/sdproxy/internal/testclock"
)

var testMaster = bytes.Repeat([]byte{7}, 32)

// clock is the settable clock the tests inject.
type clock = testclock.Clock

func newClock() *clock { return testclock.At(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// openTestStore opens a store under dir (a fresh t.TempDir() when empty)
// and, on cleanup, closes it and checks the bbolt file's consistency.
func openTestStore(t testing.TB, dir string, c *clock) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(dir, Options{MasterKey: testMaster, Now: c.Now})
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		checkConsistency(t, s.Path())
	})
	return s
}

func checkConsistency(t testing.TB, path string) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Errorf("reopen %s: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
	if err != nil {
		t.Errorf("bbolt consistency check: %v", err)
	}
}

func mustProject(t testing.TB, s *Store, name string) Project {
	t.Helper()
	p, err := s.CreateProject(ProjectInput{Name: &name})
	if err != nil {
		t.Fatalf("CreateProject(%q) = %v", name, err)
	}
	return p
}

func mustKey(t testing.TB, s *Store, project string, in KeyInput) NewKey {
	t.Helper()
	k, err := s.CreateKey(project, in)
	if err != nil {
		t.Fatalf("CreateKey(%s) = %v", project, err)
	}
	return k
}

// mustClass defines classifications slugs in project, with the defaults.
func mustClass(t testing.TB, s *Store, project string, slugs ...string) {
	t.Helper()
	for _, slug := range slugs {
		if _, err := s.CreateClassification(project, ClassificationInput{Slug: slug}); err != nil {
			t.Fatalf("CreateClassification(%s, %s) = %v", project, slug, err)
		}
	}
}
