package events

import (
	"bytes"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestQueryChecksTheProject: an index value copied under another
// project's name (an edited file, or an indexing bug) does not make that
// project's query list the first project's events.
func TestQueryChecksTheProject(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1})
	defer l.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		submit(l, "prj_a", "qk_a", i, now)
	}
	waitWritten(t, l, 3)
	tamper(t, l, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProjectIdx)
		k, v := b.Cursor().First()
		if !bytes.HasPrefix(k, []byte("prj_a\x00")) {
			t.Fatalf("first project index key %q, want prj_a's", k)
		}
		nk := append([]byte("prj_b\x00"), bytes.TrimPrefix(k, []byte("prj_a\x00"))...)
		return b.Put(nk, append([]byte(nil), v...))
	})
	page, _, err := l.Query(Filter{ProjectID: "prj_b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page {
		t.Errorf("Query(prj_b) listed %s of project %s", e.ID, e.ProjectID)
	}
	if page, _, _ := l.Query(Filter{ProjectID: "prj_a"}); len(page) != 3 {
		t.Errorf("Query(prj_a) = %d events, want 3", len(page))
	}
}

// TestPruneDuringClose: Prune called while Close drains runs after the
// writer has ended, not beside it (the race detector finds the overlap).
func TestPruneDuringClose(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := 0; round < 10; round++ {
		l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: time.Hour, BatchSize: 100})
		for i := 0; i < 2000; i++ {
			submit(l, "prj_a", "qk_a", i, now)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); l.Close() }()
		for closed := false; !closed; {
			l.mu.Lock()
			closed = l.closed
			l.mu.Unlock()
		}
		l.Prune() // an error (the database closed under it) is fine; a race is not
		wg.Wait()
	}
}
