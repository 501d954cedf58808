package events

import (
	"bytes"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// The sink is a copy of the log for a SIEM, written by a goroutine of its
// own. A sink that stops taking lines (a pipe to a log shipper that hangs,
// a FIFO nobody reads, a stalled network mount) must not stop the writer:
// the events recorded meanwhile would be dropped from the log itself once
// the queue filled, an admin change's as well as a request's, the metrics
// counted on write would stop, and Close would wait for ever. Lines wait
// for the sink, in order, up to maxSinkHeld bytes; a batch that would
// hold more is not copied to the sink, counted (SinkDropped) and logged
// at most once a second. The log keeps every event either way.

// maxSinkHeld bounds the bytes of lines waiting for the sink: some 40,000
// request events.
const maxSinkHeld = 16 << 20

// maxSinkBatches bounds the batches waiting for the sink (each at most
// BatchSize events, or one checkpoint).
const maxSinkBatches = 1024

// sinkCloseWait is how long Close waits for the sink to take the lines
// still waiting.
const sinkCloseWait = 10 * time.Second

// sinkQueue hands the writer's lines to the goroutine writing the sink.
type sinkQueue struct {
	w       io.Writer
	log     *slog.Logger
	ch      chan []byte
	free    chan []byte // written buffers, for the writer to reuse
	held    atomic.Int64
	dropped atomic.Uint64 // lines
	lastLog atomic.Int64
	done    chan struct{}
}

func newSinkQueue(w io.Writer, log *slog.Logger) *sinkQueue {
	s := &sinkQueue{w: w, log: log, ch: make(chan []byte, maxSinkBatches), free: make(chan []byte, 4), done: make(chan struct{})}
	go s.run()
	return s
}

// put queues a copy of lines for the sink, or drops them when the sink
// is this far behind. Only the writer (and Open, before it) calls it.
func (s *sinkQueue) put(lines []byte, now time.Time) {
	n := int64(len(lines))
	if s.held.Load()+n <= maxSinkHeld {
		var b []byte
		select {
		case b = <-s.free:
		default:
		}
		b = append(b[:0], lines...)
		s.held.Add(n)
		select {
		case s.ch <- b:
			return
		default:
			s.held.Add(-n)
		}
	}
	total := s.dropped.Add(uint64(bytes.Count(lines, []byte{'\n'})))
	if last := s.lastLog.Load(); now.UnixNano()-last > int64(time.Second) && s.lastLog.CompareAndSwap(last, now.UnixNano()) {
		s.log.Error("event sink is not taking lines: lines dropped from the sink (the event log keeps them)", "sink_dropped_total", total)
	}
}

func (s *sinkQueue) run() {
	defer close(s.done)
	torn := false // a failed write left part of a line
	for b := range s.ch {
		var err error
		if torn {
			// End the part left, so that the next line is one of its
			// own rather than glued to it (and lost with it).
			_, err = s.w.Write([]byte{'\n'})
			torn = err != nil
		}
		if err == nil {
			var n int
			n, err = s.w.Write(b)
			torn = err != nil && n > 0 && b[n-1] != '\n'
		}
		if err != nil {
			s.log.Error("event sink write failed", "err", err)
		}
		s.held.Add(-int64(len(b)))
		if cap(b) <= 4<<20 {
			select {
			case s.free <- b[:0]:
			default:
			}
		}
	}
}

// close lets the sink take the lines still waiting, for at most wait.
func (s *sinkQueue) close(wait time.Duration) {
	close(s.ch)
	select {
	case <-s.done:
	case <-time.After(wait):
		s.log.Error("event sink did not take the last lines: closing without them (the event log keeps them)", "bytes", s.held.Load(), "waited", wait)
	}
}
