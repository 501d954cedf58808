package events

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckSink is a sink whose consumer stopped reading (a pipe to a log
// shipper that hangs, a FIFO, an unreachable network mount): every Write
// blocks until release.
type stuckSink struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func newStuckSink() *stuckSink {
	return &stuckSink{entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *stuckSink) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return len(p), nil
}

// TestStuckSinkDoesNotStallTheLog: the sink is a copy for a SIEM; a sink
// that stops taking lines must not stop the event log itself. Events
// recorded after the sink stalled (here an admin event: a key revoked)
// are still written to the log within a flush interval or so, and Close
// returns.
func TestStuckSinkDoesNotStallTheLog(t *testing.T) {
	sink := newStuckSink()
	defer close(sink.release)
	l := openLog(t, t.TempDir(), Options{Sink: sink, CheckpointEvery: -1, BatchDelay: 5 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), sinkCloseWait: 50 * time.Millisecond})
	submit(l, "prj_a", "qk_a", 1, time.Unix(1e9, 0))
	select {
	case <-sink.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the sink was never written")
	}
	kid := "qk_a"
	l.Record(Event{Type: TypeKeyRevoked, Time: time.Unix(1e9, 0), ProjectID: "prj_a", KeyID: &kid, Actor: "admin"})
	deadline := time.Now().Add(3 * time.Second)
	for l.Written() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("with the sink stuck: %d events written, want the key.revoked event written too (queued %d)", l.Written(), l.QueueDepth())
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return with the sink stuck")
	}
}

// TestStuckSinkQueueIsBounded: lines waiting for a stuck sink are held up
// to a bound, in batches and in bytes; past it they are counted as
// dropped from the sink and logged, not held.
func TestStuckSinkQueueIsBounded(t *testing.T) {
	sink := newStuckSink()
	defer close(sink.release)
	var log syncBuffer
	s := newSinkQueue(sink, slog.New(slog.NewTextHandler(&log, nil)))
	line := []byte(`{"id":"evt_1","type":"request"}` + "\n")
	for range maxSinkBatches + 10 {
		s.put(line, time.Now())
	}
	if got := s.dropped.Load(); got < 9 {
		t.Errorf("after %d batches to a stuck sink: %d lines dropped, want at least 9", maxSinkBatches+10, got)
	}
	big := make([]byte, maxSinkHeld)
	big[len(big)-1] = '\n'
	before := s.dropped.Load()
	s.put(big, time.Now())
	if s.dropped.Load() != before+1 || s.held.Load() > maxSinkHeld {
		t.Errorf("a batch past %d bytes: dropped %d → %d, held %d; want it dropped", maxSinkHeld, before, s.dropped.Load(), s.held.Load())
	}
	if !strings.Contains(strings.Join(log.lines(), "\n"), "sink_dropped_total=") {
		t.Errorf("log = %q, want a line counting the dropped lines", log.lines())
	}
}
