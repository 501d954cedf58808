package events

import (
	"encoding/json"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullDiskSink writes part of its first write and fails it with ENOSPC,
// as a file on a disk that fills up does; later writes go through (space
// was freed).
type fullDiskSink struct {
	syncBuffer
	failed bool
}

func (s *fullDiskSink) Write(p []byte) (int, error) {
	if !s.failed {
		s.failed = true
		n, _ := s.syncBuffer.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return s.syncBuffer.Write(p)
}

// TestSinkLineAfterTornWrite: a sink write that fails part-way leaves
// half a line; the lines written after it must still be lines of their
// own, not glued to that half (which would lose the next event, or the
// next checkpoint, for whoever reads the sink).
func TestSinkLineAfterTornWrite(t *testing.T) {
	sink := &fullDiskSink{}
	l := openLog(t, t.TempDir(), Options{Sink: sink, CheckpointEvery: -1, BatchDelay: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	submit(l, "prj_a", "qk_a", 1, time.Unix(1e9, 0))
	waitWritten(t, l, 1)
	submit(l, "prj_a", "qk_a", 2, time.Unix(1e9, 0))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := sink.lines()
	last := lines[len(lines)-1]
	var e Event
	if err := json.Unmarshal([]byte(last), &e); err != nil || e.ID != "evt_2" {
		t.Errorf("sink after a torn write:\n%s\nlast line: %+v, %v; want evt_2 on a line of its own", strings.Join(lines, "\n"), e, err)
	}
}
