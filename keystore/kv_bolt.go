package keystore

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// boltKV is the embedded engine: one bbolt file, one writer at a time.
type boltKV struct{ db *bolt.DB }

// openBoltKV creates the buckets the store uses, if missing.
func openBoltKV(db *bolt.DB) (*boltKV, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range append(allBuckets[:len(allBuckets):len(allBuckets)], bucketBudgets) {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &boltKV{db: db}, nil
}

func (b *boltKV) View(fn func(kvTx) error) error {
	return b.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (b *boltKV) Update(fn func(kvTx) error) (int64, error) {
	return 0, b.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (b *boltKV) Close() error { return b.db.Close() }

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Bucket(name []byte) kvBucket { return boltBucket{t.tx.Bucket(name)} }

func (t boltTx) Revision() int64 { return 0 }

// boltBucket adds prefix iteration and deletion to a bbolt bucket.
type boltBucket struct{ *bolt.Bucket }

func (b boltBucket) ForEachPrefix(prefix []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (b boltBucket) DeletePrefix(prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
