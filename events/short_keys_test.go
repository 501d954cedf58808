package events

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestShortKeysDoNotPanic: keys shorter than a seq (8 bytes) in the
// blocks, pruned or legacy events buckets, which only someone editing
// the file puts there, made Verify, queries and retention panic
// (binary.BigEndian.Uint64 of the key): `sdproxy events verify` crashed
// instead of reporting the log broken, and serve's retention crashed it.
// A run's key is walked (and fails its check); a block's or a legacy
// entry's is passed over by every reader, as queries do.
func TestShortKeysDoNotPanic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broken bool // a key no reader passes over; the others are ignored by every reader
		edit   func(tx *bolt.Tx) error
	}{
		{"block", false, func(tx *bolt.Tx) error {
			return putBlock(tx.Bucket(bucketBlocks), []byte{0xff}, append([]byte(nil), tx.Bucket(bucketBlocks).Bucket(seqKey(1)).Get(blockLines)...))
		}},
		{"pruned", true, func(tx *bolt.Tx) error { return tx.Bucket(bucketPruned).Put([]byte{0xff}, []byte(`{}`)) }},
		{"legacy", false, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(bucketEvents)
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketByProject); err != nil {
				return err
			}
			return b.Put([]byte{0xff}, []byte(`{}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := zzLog(t, 5)
			defer l.Close()
			tamper(t, l, tc.edit)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("Verify panics: %v", p)
					}
				}()
				if res, err := l.Verify(); err != nil || res.OK == tc.broken {
					t.Errorf("Verify = %+v, %v; want broken %v", res, err, tc.broken)
				}
				if _, _, err := l.Query(Filter{ProjectID: "prj_a"}); err != nil {
					t.Errorf("Query = %v", err)
				}
			}()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("Prune panics: %v", p)
					}
				}()
				l.Prune()
			}()
		})
	}
}
