package events

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrateBatch bounds the entries one migration transaction moves.
var migrateBatch = 20_000

// migrate moves the entries of a log written before blocks (one entry
// per value in the events bucket) into blocks, byte for byte, oldest
// first, a transaction per migrateBatch entries, and indexes them; then
// it deletes the old buckets. An interrupted move goes on at the next
// Open (until then readers merge both). It stops, leaving the rest where
// it is for Verify to name, at an entry that does not read. It leaves a
// log alone whose buckets are missing: prepare refuses that one.
func (l *Log) migrate() error {
	for {
		done := true
		err := l.db.Update(func(tx *bolt.Tx) error {
			evb, idx, fb := tx.Bucket(bucketEvents), tx.Bucket(bucketByProject), tx.Bucket(bucketFailures)
			if evb == nil || idx == nil || tx.Bucket(bucketMeta) == nil {
				return nil
			}
			if err := createBuckets(tx); err != nil {
				return err
			}
			if first, _ := tx.Bucket(bucketBlocks).Cursor().First(); first == nil {
				l.opts.Logger.Info("moving the event log's entries into blocks (once)")
			}
			b := newBuilder()
			var keys [][]byte
			damaged := false
			c := evb.Cursor()
			for k, v := c.First(); k != nil && len(keys) < migrateBatch; k, v = c.Next() {
				seq, seqOK := keySeq(k)
				en, reason := readEntry(seq, v)
				t, err := time.Parse(time.RFC3339Nano, en.ev.Time)
				if !seqOK || reason != "" || err != nil || bytes.IndexByte(v, '\n') >= 0 {
					damaged = true // the rest stays
					break
				}
				b.add(tx, en.Seq, v, en.ev.Project, en.ev.KeyID, en.ev.Type, en.ev.Status, t.UnixNano())
				if b.full() {
					if err := b.put(tx, true); err != nil {
						return err
					}
				}
				keys = append(keys, append([]byte(nil), k...))
				if err := idx.Delete(projectKey(en.ev.Project, en.Seq)); err != nil {
					return err
				}
			}
			if err := b.put(tx, true); err != nil {
				return err
			}
			for _, k := range keys {
				if err := evb.Delete(k); err != nil {
					return err
				}
				if fb != nil {
					if err := fb.Delete(k); err != nil {
						return err
					}
				}
			}
			if first, _ := evb.Cursor().First(); first != nil {
				done = damaged || len(keys) == 0
				return nil
			}
			for _, name := range [][]byte{bucketEvents, bucketByProject, bucketFailures} {
				if tx.Bucket(name) != nil {
					if err := tx.DeleteBucket(name); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}
