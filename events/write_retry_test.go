package events

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestFailedWritesAreRetried: while every transaction fails (a full disk),
// the events submitted and recorded meanwhile — an admin event such as a
// key revoked among them — stay queued, none dropped; once writes succeed
// again every one of them is stored, in the order it came, and the chain
// verifies. The metrics' OnWrite sees each request once, after it is
// stored.
func TestFailedWritesAreRetried(t *testing.T) {
	var failing atomic.Bool
	var failures atomic.Int64
	writeFault = func() error {
		if failing.Load() {
			failures.Add(1)
			return syscall.ENOSPC
		}
		return nil
	}
	defer func() { writeFault = nil }()
	var observed atomic.Int64
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: 2 * time.Millisecond, BatchSize: 8,
		Logger: slog.New(slog.DiscardHandler), OnWrite: func(*Request) { observed.Add(1) }})
	at := time.Unix(1e9, 0)
	submit(l, "prj_a", "qk_a", 0, at)
	waitFor(t, "the first event written", func() bool { return l.Written() == 1 })

	failing.Store(true)
	const n = 50
	for i := 1; i <= n; i++ {
		submit(l, "prj_a", "qk_a", i, at.Add(time.Duration(i)*time.Second))
	}
	kid := "qk_a"
	l.Record(Event{Type: TypeKeyRevoked, Time: at.Add(time.Hour), ProjectID: "prj_a", KeyID: &kid, Actor: "admin"})
	waitFor(t, "writes failing a few times", func() bool { return failures.Load() >= 5 })
	if l.Written() != 1 || l.Dropped() != 0 || observed.Load() != 1 {
		t.Fatalf("while writes fail: written %d, dropped %d, observed %d; want 1, 0, 1 (the rest kept queued)", l.Written(), l.Dropped(), observed.Load())
	}

	failing.Store(false)
	waitFor(t, "every event written once writes succeed", func() bool { return l.Written() == n+2 })
	if l.Dropped() != 0 || observed.Load() != n+1 {
		t.Errorf("after the retry: dropped %d, observed %d requests; want 0 and %d", l.Dropped(), observed.Load(), n+1)
	}
	page, _, err := l.Query(Filter{ProjectID: "prj_a", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != n+2 || page[0].Type != TypeKeyRevoked {
		t.Fatalf("events listed = %d, newest %q; want %d, the key.revoked newest", len(page), page[0].Type, n+2)
	}
	for i, e := range page[1:] { // newest first: request n, n-1, … 0
		if want := at.Add(time.Duration(n-i) * time.Second); !e.Time.Equal(want) {
			t.Fatalf("request event %d of the page at %s, want %s: out of order", i+1, e.Time, want)
		}
	}
	if res, err := l.Verify(); err != nil || !res.OK {
		t.Errorf("Verify after the retried writes = %+v, %v", res, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedWritesAtCloseAreCounted: events that still cannot be written
// when the log closes are counted as dropped, not silently forgotten.
func TestFailedWritesAtCloseAreCounted(t *testing.T) {
	writeFault = func() error { return errors.New("disk gone") }
	defer func() { writeFault = nil }()
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	for i := range 5 {
		submit(l, "prj_a", "qk_a", i, time.Unix(1e9, 0))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Dropped() != 5 || l.Written() != 0 {
		t.Errorf("closed with every write failing: dropped %d, written %d; want 5 and 0", l.Dropped(), l.Written())
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not after 10s", what)
		}
	}
}
