package events

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// pruneBatch bounds the deletions of one transaction.
const pruneBatch = 10_000

// Prune deletes the oldest entries beyond MaxCount or older than MaxAge and
// moves the chain's anchor past them, so Verify still passes.
func (l *Log) Prune() error {
	for {
		n, err := l.pruneOnce()
		if err != nil {
			return fmt.Errorf("events.Prune: %w", err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

func (l *Log) pruneOnce() (int, error) {
	cutoff := l.opts.Now().Add(-l.opts.MaxAge)
	deleted := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		evb, idx, meta := tx.Bucket(bucketEvents), tx.Bucket(bucketByProject), tx.Bucket(bucketMeta)
		var h head
		if v := meta.Get(metaHead); v == nil {
			return nil
		} else if err := json.Unmarshal(v, &h); err != nil {
			return err
		}
		c := evb.Cursor()
		k, v := c.First()
		if k == nil {
			return nil
		}
		count := h.Seq - binary.BigEndian.Uint64(k) + 1
		var last entry
		for ; k != nil && deleted < pruneBatch; k, v = c.First() {
			var en entry
			var ev Event
			if err := json.Unmarshal(v, &en); err != nil {
				return err
			}
			if err := json.Unmarshal(en.Event, &ev); err != nil {
				return err
			}
			if count <= l.opts.MaxCount && !ev.Time.Before(cutoff) {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
			if err := idx.Delete(projectKey(ev.ProjectID, en.Seq)); err != nil {
				return err
			}
			count--
			deleted++
			last = en
		}
		if deleted == 0 {
			return nil
		}
		a := anchor{Seq: last.Seq + 1, Prev: last.MAC}
		a.MAC = l.anchorMAC(a.Seq, a.Prev)
		b, _ := json.Marshal(a)
		return meta.Put(metaAnchor, b)
	})
	return deleted, err
}
