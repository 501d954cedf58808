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

// head is the last written entry.
type head struct {
	Seq uint64 `json:"seq"`
	MAC string `json:"mac"`
}

// run is the writer: it batches queued events into transactions until
// Close, then drains the queue.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]item, 0, l.opts.BatchSize)
	prune := time.NewTicker(l.opts.PruneEvery)
	defer prune.Stop()
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
		case <-l.stop:
			for {
				select {
				case it := <-l.queue:
					batch = append(batch, it)
					if len(batch) >= l.opts.BatchSize {
						batch = l.flush(batch)
					}
				default:
					l.flush(batch)
					return
				}
			}
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
		lines = lines[:0]
		meta := tx.Bucket(bucketMeta)
		var h head
		if v := meta.Get(metaHead); v != nil {
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("head: %w", err)
			}
		}
		prev, err := hex.DecodeString(h.MAC)
		if err != nil {
			return fmt.Errorf("head mac: %w", err)
		}
		evb, idx := tx.Bucket(bucketEvents), tx.Bucket(bucketByProject)
		// Both buckets only grow at their end (per project for the index):
		// full pages halve what each commit writes.
		evb.FillPercent, idx.FillPercent = 1.0, 0.9
		for _, it := range batch {
			h.Seq++
			id := "evt_" + strconv.FormatUint(h.Seq, 10)
			project := ""
			if it.req != nil {
				project = it.req.ProjectID
				l.evbuf = appendRequest(l.evbuf[:0], id, it.req)
			} else {
				it.ev.ID, project = id, it.ev.ProjectID
				l.evbuf = appendEvent(l.evbuf[:0], it.ev)
			}
			mac := chainMAC(l.wmac, prev, h.Seq, l.evbuf)
			rec, event := encodeEntry(h.Seq, prev, mac, l.evbuf)
			if err := evb.Put(seqKey(h.Seq), rec); err != nil {
				return err
			}
			if err := idx.Put(projectKey(project, h.Seq), nil); err != nil {
				return err
			}
			prev = mac
			lines = append(lines, event)
		}
		h.MAC = hex.EncodeToString(prev)
		hb, _ := json.Marshal(h)
		return meta.Put(metaHead, hb)
	})
	return lines, err
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
	return chainMAC(hmac.New(sha256.New, l.key), prev, seq, event)
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
