package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// entry is what is stored per event: the event's exact JSON bytes and the
// chain links. mac = HMAC(key, prev || seq as 8 bytes BE || event).
type entry struct {
	Seq   uint64          `json:"seq"`
	Prev  string          `json:"prev"` // hex of the previous entry's mac
	MAC   string          `json:"mac"`
	Event json.RawMessage `json:"event"`
}

// writerHook, when a benchmark sets it (before Open), is called by the
// writer goroutine as it starts, and the func it returns as it ends: the
// benchmark locks the goroutine to its thread and reads the thread's CPU
// time, the writer's own cost.
var writerHook func() func()

// writeFault, when a test sets it (before Open), is called in each of the
// writer's transactions: an error it returns fails the transaction, as a
// full disk does.
var writeFault func() error

// run is the writer: every BatchDelay, and as soon as BatchSize events
// wait, it writes what is queued in transactions of up to BatchSize
// events, until Close; then it writes what is left. It also runs
// retention and emits checkpoints. It does not wake for each event: a
// goroutine woken 20,000 times a second costs more than writing.
func (l *Log) run() {
	defer close(l.done)
	if writerHook != nil {
		defer writerHook()()
	}
	var batch []item
	prune := time.NewTicker(l.opts.PruneEvery)
	defer prune.Stop()
	var checkpoint <-chan time.Time
	if l.opts.CheckpointEvery > 0 {
		t := time.NewTicker(l.opts.CheckpointEvery)
		defer t.Stop()
		checkpoint = t.C
	}
	tick := time.NewTicker(l.opts.BatchDelay)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			batch = l.drain(batch)
		case <-l.kick:
			if !l.retrying {
				batch = l.drain(batch)
			}
		case <-prune.C:
			batch = l.drain(batch)
			if err := l.prune(); err != nil {
				l.opts.Logger.Error("event log retention", "err", err)
			}
		case reply := <-l.pruneReq:
			batch = l.drain(batch)
			reply <- l.prune()
		case <-checkpoint:
			batch = l.drain(batch)
			l.emitCheckpoint()
		case <-l.stop:
			l.drain(batch)
			l.dropUnwritten()
			if l.opts.CheckpointEvery > 0 {
				l.emitCheckpoint()
			}
			return
		}
	}
}

// drain writes everything queued, BatchSize events a transaction, and
// returns batch emptied. It swaps the queue for batch (empty) so that
// requests queue while it writes. When a transaction fails (a full
// disk), its events and those after it go back to the front of the
// queue, to be written at the next flush: a full disk that is freed
// loses nothing that fit in the queue.
//
// While transactions fail (retrying), a kick does not drain: the events
// queued since stay for the next BatchDelay, rather than each Submit
// past BatchSize waking the writer for another transaction bound to
// fail, and another copy of the whole queue.
func (l *Log) drain(batch []item) []item {
	l.mu.Lock()
	batch, l.queue = l.queue, batch[:0]
	l.mu.Unlock()
	for rest := batch; len(rest) > 0; {
		n := min(len(rest), l.opts.BatchSize)
		if err := l.flush(rest[:n]); err != nil {
			l.retrying = true
			l.requeue(rest, err)
			clear(batch)
			return batch[:0]
		}
		rest = rest[n:]
	}
	l.retrying = false
	return batch[:0]
}

// flush writes batch in one transaction and, when it is stored, releases
// its records and empties it.
func (l *Log) flush(batch []item) error {
	if len(batch) == 0 {
		return nil
	}
	lines, err := l.write(batch)
	if err != nil {
		return err
	}
	l.written.Add(uint64(len(batch)))
	l.toSink(lines)
	l.releaseAll(batch, l.opts.OnWrite)
	clear(batch)
	return nil
}

// requeue puts events whose transaction failed back at the front of the
// queue, before those queued meanwhile. What no longer fits in QueueSize
// (the newest) is dropped and counted. The failure is logged at most
// once a second: the writer tries again at every flush.
func (l *Log) requeue(failed []item, err error) {
	l.mu.Lock()
	q := make([]item, 0, len(failed)+len(l.queue))
	q = append(append(q, failed...), l.queue...)
	var over []item
	if len(q) > l.opts.QueueSize {
		q, over = q[:l.opts.QueueSize:l.opts.QueueSize], q[l.opts.QueueSize:]
	}
	l.queue = q
	l.mu.Unlock()
	if len(over) > 0 {
		l.dropped.Add(uint64(len(over)))
		l.releaseAll(over, nil)
	}
	now := l.opts.Now().UnixNano()
	if last := l.lastWriteLog.Load(); now-last > int64(time.Second) && l.lastWriteLog.CompareAndSwap(last, now) {
		l.opts.Logger.Error("event log write failed: events kept in the queue, to be written when it succeeds",
			"events_queued", len(q), "dropped_total", l.dropped.Load(), "err", err)
	}
}

// dropUnwritten counts and logs the events a last failed flush left in
// the queue as the log closes: nothing will write them.
func (l *Log) dropUnwritten() {
	l.mu.Lock()
	left := l.queue
	l.queue = nil
	l.mu.Unlock()
	if len(left) == 0 {
		return
	}
	l.dropped.Add(uint64(len(left)))
	l.releaseAll(left, nil)
	l.opts.Logger.Error("event log closed with events it could not write: dropped", "events", len(left), "dropped_total", l.dropped.Load())
}

// write appends events to the chain in one transaction and returns the
// sink's lines of them (when there is a sink).
func (l *Log) write(batch []item) ([]byte, error) {
	l.sinkbuf = l.sinkbuf[:0]
	err := l.db.Update(func(tx *bolt.Tx) error {
		if writeFault != nil {
			if err := writeFault(); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		h, err := l.loadHead(meta)
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		if err := l.appendEntries(tx, &h, batch); err != nil {
			return err
		}
		return l.putHead(meta, h)
	})
	if err != nil {
		l.blk.reset()
	} else {
		l.blk.committed()
	}
	return l.sinkbuf, err
}

// appendEntries appends batch to the chain after h in the open block
// (closing full ones), stores the block and its index values, and
// advances h (the caller stores it). The events' JSON lines go to
// sinkbuf when there is a sink. Only the writer and Open, before the
// writer starts, call it.
func (l *Log) appendEntries(tx *bolt.Tx, h *head, batch []item) error {
	prev, err := hex.DecodeString(h.MAC)
	if err != nil {
		return fmt.Errorf("head mac: %w", err)
	}
	if l.blk.id != 0 && (l.blk.id+uint64(l.blk.n) != h.Seq+1 || !l.blk.bin) {
		// Not where the chain goes on (Open wrote before the writer),
		// or of JSON lines: stored already, and new entries go into a
		// binary block.
		l.blk.close()
	}
	sink := l.opts.Sink != nil
	for _, it := range batch {
		h.Seq++
		var project, keyID, typ string
		var status int
		var t int64
		r, e := it.req, it.ev
		if r != nil {
			project, keyID, typ, status, t = r.ProjectID, r.KeyID, TypeRequest, r.Status, r.Time.UnixNano()
		} else {
			e.ID = string(appendID(l.idbuf[:0], h.Seq))
			if e.InstanceID == "" {
				e.InstanceID = l.opts.InstanceID
			}
			project, typ, status, t = e.ProjectID, e.Type, e.Status, e.Time.UnixNano()
			if e.KeyID != nil {
				keyID = *e.KeyID
			}
		}
		var line []byte
		if r != nil && recordable(r) {
			// The common case, encoded in place: the entry and its
			// record go straight into the block, copied nowhere else.
			lenAt := l.blk.beginBin(h.Seq)
			var at int
			l.blk.buf, at = beginBinEntry(l.blk.buf, h.Seq, prev, l.opts.longMACs)
			l.blk.buf = appendRecord(l.blk.buf, l.opts.InstanceID, r)
			l.blk.buf = endBinEntry(l.wmac, l.blk.buf, at)
			line = l.blk.endBin(lenAt)
			if sink {
				// A record has no id (its seq is the entry's): the
				// JSON is only for the sink.
				l.idbuf = appendID(l.idbuf[:0], h.Seq)
				l.sinkbuf = append(appendRequest(l.sinkbuf, l.idbuf, l.opts.InstanceID, r), '\n')
			}
		} else {
			if r != nil {
				l.idbuf = appendID(l.idbuf[:0], h.Seq)
				l.evbuf = appendRequest(l.evbuf[:0], l.idbuf, l.opts.InstanceID, r)
			} else {
				l.evbuf = appendEvent(l.evbuf[:0], e)
			}
			if sink {
				l.sinkbuf = append(append(l.sinkbuf, l.evbuf...), '\n')
			}
			l.linebuf = appendBinEntry(l.wmac, l.linebuf[:0], h.Seq, prev, l.evbuf, l.opts.longMACs)
			line = l.linebuf
			l.blk.addLine(h.Seq, line)
		}
		l.blk.index(tx, h.Seq, project, keyID, typ, status, t)
		if isFailure(typ, status) {
			h.Failures++
		}
		h.Live++
		prev = append(prev[:0], binEntryMAC(line)...)
		if l.blk.full() {
			if err := l.blk.put(tx, true); err != nil {
				return err
			}
		}
	}
	h.MAC = hex.EncodeToString(prev)
	return l.blk.put(tx, false)
}

// appendID appends the id of entry seq, evt_<seq>.
func appendID(b []byte, seq uint64) []byte { return strconv.AppendUint(append(b, "evt_"...), seq, 10) }

// isFailure reports whether an event is a failure for retention: a
// request that did not authenticate (401) or a summary of such requests.
func isFailure(typ string, status int) bool {
	return typ == TypeAuthFailed || (typ == TypeRequest && status == 401)
}

// appendEntry appends an entry's stored bytes, exactly as json.Marshal
// of entry writes them (Verify checks that).
func appendEntry(b []byte, seq uint64, prev, mac, event []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, prev)
	b = append(b, `","mac":"`...)
	b = hex.AppendEncode(b, mac)
	b = append(b, `","event":`...)
	b = append(b, event...)
	return append(b, '}')
}

// mac is the chain link of one entry (for readers; the writer keeps its
// own hash in wmac).
func (l *Log) mac(prev []byte, seq uint64, event []byte) []byte {
	return chainMAC(hmac.New(sha256.New, l.keys.chain), prev, seq, event, nil)
}

// chainMAC returns HMAC(key, prev || seq as 8 bytes BE || event) in
// dst's array (when its capacity allows) with m, a keyed HMAC that it
// resets.
func chainMAC(m hash.Hash, prev []byte, seq uint64, event, dst []byte) []byte {
	m.Reset()
	m.Write(prev)
	m.Write(binary.BigEndian.AppendUint64(dst[:0], seq)) // dst as scratch: an array would escape
	m.Write(event)
	return m.Sum(dst[:0])
}

// toSink queues a batch's JSON lines for the sink, written in one write
// by the sink's goroutine (sink.go), so that a sink that stops taking
// them never holds up the writer.
func (l *Log) toSink(lines []byte) {
	if l.sink == nil || len(lines) == 0 {
		return
	}
	l.sink.put(lines, l.opts.Now())
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// keySeq reads a key made by seqKey; ok is false for a key of another
// length, which only someone editing the file puts there.
func keySeq(k []byte) (seq uint64, ok bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// runSeq is the seq of a pruned run's key, 0 when it does not read: such
// a run is walked first, and fails its check (readRun).
func runSeq(k []byte) uint64 {
	seq, _ := keySeq(k)
	return seq
}

func projectKey(project string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(project), 0), seq)
}
