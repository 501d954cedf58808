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

// run is the writer: it batches queued events into transactions until
// Close, then drains the queue. It also runs retention and emits
// checkpoints.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]item, 0, l.opts.BatchSize)
	prune := time.NewTicker(l.opts.PruneEvery)
	defer prune.Stop()
	var checkpoint <-chan time.Time
	if l.opts.CheckpointEvery > 0 {
		t := time.NewTicker(l.opts.CheckpointEvery)
		defer t.Stop()
		checkpoint = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case it := <-l.queue:
			batch = append(batch, it)
			if len(batch) == 1 {
				timer.Reset(l.opts.BatchDelay)
			}
			if len(batch) >= l.opts.BatchSize {
				batch = l.flush(batch)
			}
		case <-timer.C:
			batch = l.flush(batch)
		case <-prune.C:
			batch = l.flush(batch)
			if err := l.Prune(); err != nil {
				l.opts.Logger.Error("event log retention", "err", err)
			}
		case <-checkpoint:
			batch = l.flush(batch)
			l.emitCheckpoint()
		case <-l.stop:
			l.drain(batch)
			return
		}
	}
}

// drain writes batch and everything still queued, then the last
// checkpoint.
func (l *Log) drain(batch []item) {
	for {
		select {
		case it := <-l.queue:
			batch = append(batch, it)
			if len(batch) >= l.opts.BatchSize {
				batch = l.flush(batch)
			}
		default:
			l.flush(batch)
			if l.opts.CheckpointEvery > 0 {
				l.emitCheckpoint()
			}
			return
		}
	}
}

// flush writes batch in one transaction and returns it emptied.
func (l *Log) flush(batch []item) []item {
	if len(batch) == 0 {
		return batch
	}
	lines, err := l.write(batch)
	if err != nil {
		l.dropped.Add(uint64(len(batch)))
		l.opts.Logger.Error("event log write failed: events dropped", "events", len(batch), "err", err)
	} else {
		l.written.Add(uint64(len(batch)))
		l.toSink(lines)
	}
	for i, it := range batch {
		if it.req != nil {
			if err == nil && l.opts.OnWrite != nil {
				l.opts.OnWrite(it.req)
			}
			l.release(it.req)
		}
		batch[i] = item{}
	}
	return batch[:0]
}

// write appends events to the chain in one transaction and returns their
// JSON lines.
func (l *Log) write(batch []item) ([][]byte, error) {
	var lines [][]byte
	err := l.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		h, err := l.loadHead(meta)
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		if lines, err = l.appendEntries(tx, &h, batch, lines[:0]); err != nil {
			return err
		}
		return l.putHead(meta, h)
	})
	return lines, err
}

// appendEntries appends batch to the chain after h, advances h (the
// caller stores it) and returns the events' JSON lines appended to lines.
// Only the writer and Open, before the writer starts, call it.
func (l *Log) appendEntries(tx *bolt.Tx, h *head, batch []item, lines [][]byte) ([][]byte, error) {
	prev, err := hex.DecodeString(h.MAC)
	if err != nil {
		return nil, fmt.Errorf("head mac: %w", err)
	}
	evb, idx, fb := tx.Bucket(bucketEvents), tx.Bucket(bucketByProject), tx.Bucket(bucketFailures)
	// The buckets only grow at their end (per project for the index):
	// full pages halve what each commit writes.
	evb.FillPercent, idx.FillPercent, fb.FillPercent = 1.0, 0.9, 1.0
	for _, it := range batch {
		h.Seq++
		id := "evt_" + strconv.FormatUint(h.Seq, 10)
		project, failure := "", false
		if it.req != nil {
			project, failure = it.req.ProjectID, isFailure(TypeRequest, it.req.Status)
			l.evbuf = appendRequest(l.evbuf[:0], id, it.req)
		} else {
			it.ev.ID, project, failure = id, it.ev.ProjectID, isFailure(it.ev.Type, it.ev.Status)
			l.evbuf = appendEvent(l.evbuf[:0], it.ev)
		}
		mac := chainMAC(l.wmac, prev, h.Seq, l.evbuf)
		rec, event := encodeEntry(h.Seq, prev, mac, l.evbuf)
		if err := evb.Put(seqKey(h.Seq), rec); err != nil {
			return nil, err
		}
		if err := idx.Put(projectKey(project, h.Seq), nil); err != nil {
			return nil, err
		}
		if failure {
			if err := fb.Put(seqKey(h.Seq), nil); err != nil {
				return nil, err
			}
			h.Failures++
		}
		h.Live++
		prev = mac
		lines = append(lines, event)
	}
	h.MAC = hex.EncodeToString(prev)
	return lines, nil
}

// isFailure reports whether an event is a failure for retention: a
// request that did not authenticate (401) or a summary of such requests.
func isFailure(typ string, status int) bool {
	return typ == TypeAuthFailed || (typ == TypeRequest && status == 401)
}

// encodeEntry returns an entry's stored bytes, exactly as json.Marshal of
// entry writes them (Verify checks that), and the event part of them. The
// bytes are a fresh slice: bbolt keeps values until the commit.
func encodeEntry(seq uint64, prev, mac, event []byte) (rec, ev []byte) {
	rec = make([]byte, 0, 64+4*sha256.Size+len(event))
	rec = append(rec, `{"seq":`...)
	rec = strconv.AppendUint(rec, seq, 10)
	rec = append(rec, `,"prev":"`...)
	rec = hex.AppendEncode(rec, prev)
	rec = append(rec, `","mac":"`...)
	rec = hex.AppendEncode(rec, mac)
	rec = append(rec, `","event":`...)
	start := len(rec)
	rec = append(rec, event...)
	return append(rec, '}'), rec[start:len(rec):len(rec)]
}

// mac is the chain link of one entry (for readers; the writer keeps its
// own hash in wmac).
func (l *Log) mac(prev []byte, seq uint64, event []byte) []byte {
	return chainMAC(hmac.New(sha256.New, l.keys.chain), prev, seq, event)
}

// chainMAC is HMAC(key, prev || seq as 8 bytes BE || event) with m, a
// keyed HMAC that it resets.
func chainMAC(m hash.Hash, prev []byte, seq uint64, event []byte) []byte {
	m.Reset()
	m.Write(prev)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	m.Write(s[:])
	m.Write(event)
	return m.Sum(nil)
}

// toSink writes the batch's events as JSON lines in one write.
func (l *Log) toSink(lines [][]byte) {
	if l.opts.Sink == nil {
		return
	}
	buf := l.sinkbuf[:0]
	for _, line := range lines {
		buf = append(append(buf, line...), '\n')
	}
	l.sinkbuf = buf
	if _, err := l.opts.Sink.Write(buf); err != nil {
		l.opts.Logger.Error("event sink write failed", "err", err)
	}
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func projectKey(project string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(project), 0), seq)
}
