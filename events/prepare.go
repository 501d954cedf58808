package events

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// prepare readies the file for writing in Open's transaction and returns
// the JSON lines of entries it wrote, for the sink. It creates a new log
// (buckets and a signed head at seq 0), takes over a log written before
// heads were signed (see upgrade), and refuses a damaged one: it never
// signs a head it cannot trust, so damage stays for Verify to name.
func (l *Log) prepare(tx *bolt.Tx) ([][]byte, error) {
	evb, idx, meta := tx.Bucket(bucketEvents), tx.Bucket(bucketByProject), tx.Bucket(bucketMeta)
	if evb == nil && idx == nil && meta == nil {
		if err := createBuckets(tx); err != nil {
			return nil, err
		}
		return nil, l.putHead(tx.Bucket(bucketMeta), head{MAC: genesis})
	}
	if b := missingBucket(tx); b != "" {
		return nil, fmt.Errorf("%w: bucket %s is missing", ErrDamaged, b)
	}
	if err := createBuckets(tx); err != nil { // pruned and failures, new since signed heads
		return nil, err
	}
	h, err := l.loadHead(meta)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, errHeadUnsigned):
		return l.upgrade(tx, h)
	case errors.Is(err, errNoHead) && isEmpty(evb) && isEmpty(tx.Bucket(bucketPruned)) && meta.Get(metaAnchor) == nil:
		return l.markUpgrade(tx, head{MAC: genesis}, "missing")
	}
	return nil, fmt.Errorf("%w: %w", ErrDamaged, err)
}

func createBuckets(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketEvents, bucketByProject, bucketMeta, bucketPruned, bucketFailures} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// missingBucket names a bucket that every log has and tx lacks, or "".
func missingBucket(tx *bolt.Tx) string {
	for _, b := range [][]byte{bucketEvents, bucketByProject, bucketMeta} {
		if tx.Bucket(b) == nil {
			return string(b)
		}
	}
	return ""
}

func isEmpty(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}

// upgrade takes over a log whose head is not signed. That is only
// believable of a log written by an sdproxy before signed heads: its
// chain starts at "" (or at an old anchor) and holds no TypeLogUpgraded
// entry, and the head names its last entry. upgrade counts the entries
// and failures (one pass over the log, once), indexes the failures,
// writes a TypeLogUpgraded entry and signs the head.
func (l *Log) upgrade(tx *bolt.Tx, old head) ([][]byte, error) {
	a, signed, ok := l.chainStart(tx)
	if !ok || signed {
		return nil, fmt.Errorf("%w: the head record lost its signature", ErrDamaged)
	}
	h := head{Seq: a.Seq - 1, MAC: a.Prev}
	fb := tx.Bucket(bucketFailures)
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		en, reason := readEntry(k, v)
		switch {
		case reason != "":
			return nil, fmt.Errorf("%w: %s: %s", ErrDamaged, en.id, reason)
		case en.ev.Type == TypeLogUpgraded:
			return nil, fmt.Errorf("%w: the head record lost its signature", ErrDamaged)
		case en.failure():
			if err := fb.Put(seqKey(en.Seq), nil); err != nil {
				return nil, err
			}
			h.Failures++
		}
		h.Seq, h.MAC = en.Seq, en.MAC
		h.Live++
	}
	if h.Seq != old.Seq || h.MAC != old.MAC {
		return nil, fmt.Errorf("%w: the head record does not name the last entry", ErrDamaged)
	}
	return l.markUpgrade(tx, h, "unsigned")
}

// markUpgrade appends a TypeLogUpgraded entry after h and stores the
// signed head.
func (l *Log) markUpgrade(tx *bolt.Tx, h head, was string) ([][]byte, error) {
	e := &Event{Type: TypeLogUpgraded, Time: l.opts.Now().UTC(), Actor: "sdproxy", Details: map[string]string{"head": was}}
	lines, err := l.appendEntries(tx, &h, []item{{ev: e}}, nil)
	if err != nil {
		return nil, err
	}
	return lines, l.putHead(tx.Bucket(bucketMeta), h)
}
