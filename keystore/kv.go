package keystore

// kvStore is the storage engine under the store: named buckets of keys and
// values, read and written in transactions shaped like bbolt's, so that
// the store's code reads the same on every engine. bbolt (kv_bolt.go) and
// etcd (kv_etcd.go) implement it.
type kvStore interface {
	// View runs fn in a read-only transaction.
	View(fn func(kvTx) error) error
	// Update runs fn in a read-write transaction and commits what it wrote
	// when fn returns nil. It returns the revision the transaction is
	// known at: the commit's, or, when nothing was written, the one it
	// read at; always 0 on engines without revisions (bbolt). An engine
	// may run fn more than once (etcd, on a conflict), so fn must not
	// have effects outside the transaction other than setting its
	// results.
	Update(fn func(kvTx) error) (int64, error)
	// Close releases the engine. Transactions must have ended.
	Close() error
}

// kvTx is one transaction.
type kvTx interface {
	// Bucket returns the named bucket (one of allBuckets).
	Bucket(name []byte) kvBucket
	// Revision is the revision the transaction reads at; 0 on engines
	// without revisions.
	Revision() int64
}

// kvBucket is one bucket within a transaction. Slices it returns or
// passes to callbacks are valid only for the life of the transaction
// (bbolt's memory-mapped pages); copy what is kept.
type kvBucket interface {
	// Get returns the value of key, or nil when there is none. A key
	// stored with an empty value gives an empty, non-nil slice.
	Get(key []byte) []byte
	// Put stores value under key.
	Put(key, value []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(key []byte) error
	// ForEach calls fn for every key of the bucket, in key order. fn must
	// not write to the bucket.
	ForEach(fn func(k, v []byte) error) error
	// ForEachPrefix calls fn for every key that starts with prefix, in key
	// order. fn must not write to the bucket.
	ForEachPrefix(prefix []byte, fn func(k, v []byte) error) error
	// DeletePrefix removes every key that starts with prefix.
	DeletePrefix(prefix []byte) error
}
