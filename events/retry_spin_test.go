package events

import (
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestFailedWritesNotRetriedPerEvent: while the disk is full, the writer
// retries the queued events at its flushes (every BatchDelay), not at
// every event submitted: once BatchSize events stay queued each Submit
// would otherwise wake it for another transaction bound to fail, and a
// copy of the whole queue (up to QueueSize events), for each request.
func TestFailedWritesNotRetriedPerEvent(t *testing.T) {
	var attempts atomic.Int64
	writeFault = func() error {
		attempts.Add(1)
		return syscall.ENOSPC
	}
	defer func() { writeFault = nil }()
	l := openLog(t, t.TempDir(), Options{CheckpointEvery: -1, BatchDelay: time.Hour, BatchSize: 8,
		Logger: slog.New(slog.DiscardHandler)})
	const n = 400
	at := time.Unix(1e9, 0)
	for i := range n {
		submit(l, "prj_a", "qk_a", i, at)
		time.Sleep(50 * time.Microsecond) // give the writer the time to act on a kick
	}
	if got := attempts.Load(); got > 20 {
		t.Errorf("%d transactions tried for %d events submitted while the disk is full and no flush was due: the writer retries at every event", got, n)
	}
	if d := l.Dropped(); d != 0 {
		t.Errorf("dropped %d events, want 0 (they fit in the queue)", d)
	}
	l.Close()
}
