package events

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// prepare readies the file for writing in Open's transaction, after
// migrate; the lines of entries it writes go to sinkbuf. It creates a new
// log (buckets and a signed head at seq 0), takes over a log written
// before heads were signed (see upgrade), and refuses a damaged one: it
// never signs a head it cannot trust, so damage stays for Verify to name.
func (l *Log) prepare(tx *bolt.Tx) error {
	l.sinkbuf = l.sinkbuf[:0]
	meta := tx.Bucket(bucketMeta)
	if meta == nil && tx.Bucket(bucketBlocks) == nil && tx.Bucket(bucketEvents) == nil &&
		tx.Bucket(bucketProjectIdx) == nil && tx.Bucket(bucketByProject) == nil {
		if err := createBuckets(tx); err != nil {
			return err
		}
		return l.putHead(tx.Bucket(bucketMeta), head{MAC: genesis})
	}
	if b := missingBucket(tx); b != "" {
		return fmt.Errorf("%w: bucket %s is missing", ErrDamaged, b)
	}
	if err := createBuckets(tx); err != nil {
		return err
	}
	h, err := l.loadHead(meta)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errHeadUnsigned):
		return l.upgrade(tx, h)
	case errors.Is(err, errNoHead) && isEmptyLog(tx) && meta.Get(metaAnchor) == nil:
		return l.markUpgrade(tx, head{MAC: genesis}, "missing")
	}
	return fmt.Errorf("%w: %w", ErrDamaged, err)
}

// createBuckets creates the buckets of a log in blocks that tx lacks.
func createBuckets(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketBlocks, bucketProjectIdx, bucketKeyIdx, bucketAdminIdx,
		bucketBlockKeys, bucketFailBlocks, bucketMeta, bucketPruned} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// missingBucket names a bucket that every log has and tx lacks, or "":
// blocks, the project index and meta; for a log written before blocks
// whose entries are not all moved, its events and by_project buckets.
func missingBucket(tx *bolt.Tx) string {
	must := [][]byte{bucketBlocks, bucketProjectIdx, bucketMeta}
	if tx.Bucket(bucketEvents) != nil || tx.Bucket(bucketByProject) != nil {
		must = [][]byte{bucketEvents, bucketByProject, bucketMeta}
	}
	for _, b := range must {
		if tx.Bucket(b) == nil {
			return string(b)
		}
	}
	return ""
}

// isEmptyLog reports whether tx holds no entry and no run of pruned ones.
func isEmptyLog(tx *bolt.Tx) bool {
	_, _, _, _, ok := newEntryIter(tx).next()
	if pb := tx.Bucket(bucketPruned); pb != nil {
		if k, _ := pb.Cursor().First(); k != nil {
			return false
		}
	}
	return !ok
}

// upgrade takes over a log whose head is not signed. That is only
// believable of a log written by an sdproxy before signed heads: its
// chain starts at "" (or at an old anchor) and holds no TypeLogUpgraded
// entry, and the head names its last entry. upgrade counts the entries
// and failures (one pass over the log, once), writes a TypeLogUpgraded
// entry and signs the head.
func (l *Log) upgrade(tx *bolt.Tx, old head) error {
	a, signed, ok := l.chainStart(tx)
	if !ok || signed {
		return fmt.Errorf("%w: the head record lost its signature", ErrDamaged)
	}
	h := head{Seq: a.Seq - 1, MAC: a.Prev}
	it := newEntryIter(tx)
	for seq, v, _, _, ok := it.next(); ok; seq, v, _, _, ok = it.next() {
		en, reason := readEntry(seq, v)
		switch {
		case reason != "":
			return fmt.Errorf("%w: %s: %s", ErrDamaged, en.id, reason)
		case en.ev.Type == TypeLogUpgraded:
			return fmt.Errorf("%w: the head record lost its signature", ErrDamaged)
		case en.failure():
			h.Failures++
		}
		h.Seq, h.MAC = en.Seq, en.MAC
		h.Live++
	}
	if h.Seq != old.Seq || h.MAC != old.MAC {
		return fmt.Errorf("%w: the head record does not name the last entry", ErrDamaged)
	}
	return l.markUpgrade(tx, h, "unsigned")
}

// markUpgrade appends a TypeLogUpgraded entry after h and stores the
// signed head.
func (l *Log) markUpgrade(tx *bolt.Tx, h head, was string) error {
	e := &Event{Type: TypeLogUpgraded, Time: l.opts.Now().UTC(), Actor: "sdproxy", Details: map[string]string{"head": was}}
	if err := l.appendEntries(tx, &h, []item{{ev: e}}); err != nil {
		return err
	}
	return l.putHead(tx.Bucket(bucketMeta), h)
}
