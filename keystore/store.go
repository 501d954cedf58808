package keystore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sdproxy/sdproxy/internal/safefile"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the bbolt file inside the data directory.
const FileName = "sdproxy.db"

var (
	bucketMeta        = []byte("meta")
	bucketProjects    = []byte("projects")
	bucketKeys        = []byte("keys")
	bucketProjectKeys = []byte("project_keys")
	bucketDataKeys    = []byte("datakeys")
	bucketRoutes      = []byte("routes") // "<project id>/<route id>" → route record
	// "<project id>/<slug>" → classification record
	bucketClassifications = []byte("classifications")
	allBuckets            = [][]byte{bucketMeta, bucketProjects, bucketKeys, bucketProjectKeys, bucketDataKeys, bucketRoutes, bucketClassifications, bucketSubjects}
)

// Options configure Open. The zero value of every field is usable.
type Options struct {
	// MasterKey is the 32-byte key-encryption key. Required.
	MasterKey []byte
	// LockTimeout is how long Open waits for another process to release
	// the data directory. Zero means 1s.
	LockTimeout time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and secrets. Nil means crypto/rand.
	Rand io.Reader
	// DefaultRateLimit applies to projects created without one.
	// Zero means 100 requests/s with a burst of 200.
	DefaultRateLimit RateLimit
	// DefaultMaxActiveKeys applies to projects created without a cap.
	// Zero means 10.
	DefaultMaxActiveKeys int
	// DataKeyRotateAfter is how many values one data-key version seals
	// before a new version is made current. Zero means 2^30; at most 2^32.
	DataKeyRotateAfter uint64
}

// Store is the key store, on bbolt (Open) or etcd (OpenEtcd). It is safe
// for concurrent use.
type Store struct {
	kv kvStore
	// db is the bbolt file; nil on etcd.
	db   *bolt.DB
	path string
	// feed keeps the cache in step with etcd; nil on bbolt, where every
	// write goes through this process and updates the cache itself.
	feed *feed
	// maxWrites bounds the records one transaction writes, where the
	// engine bounds them (etcd's --max-txn-ops, less room for its version
	// keys); 0 means no bound (bbolt).
	maxWrites int
	opts      Options
	hashKey   []byte // keyed hash of API-key secrets, derived from the master key
	// masterChecked: the store's check value opened under the master key
	// (it existed before this open), so a data key that does not open is
	// a damaged record, not a wrong master key.
	masterChecked bool
	kek           []byte // wraps data keys, derived from the master key
	// clientKeyKEK seals projects' upstream client keys, derived from the
	// master key.
	clientKeyKEK []byte

	// writeMu orders the cache after the file: it is held across every
	// write transaction of a project, key, route or classification record and the cache update
	// that follows its commit (see update). bbolt runs one writer at a
	// time anyway; readers never take it. On etcd it keeps this
	// instance's writes from conflicting with each other; the watch
	// orders the cache.
	writeMu  sync.Mutex
	cache    authCache
	hmacPool sync.Pool

	keyringsMu sync.RWMutex
	keyrings   map[string]*Keyring

	closeOnce sync.Once

	// afterCommit, when set (by tests only), runs after a write of a
	// project or key record commits and before the cache learns of it.
	afterCommit func()
	// onReserve, when set (by tests only), is told of every block
	// [from, to) of a data-key version's seal counter that this instance
	// takes from the stored counter.
	onReserve func(project string, version uint32, from, to uint64)
}

func (s *Store) noteReserved(project string, version uint32, from, to uint64) {
	if s.onReserve != nil {
		s.onReserve(project, version, from, to)
	}
}

// Open opens (creating if needed) the store in dir. It fails with
// ErrLocked when another process holds dir, and ErrWrongMasterKey when
// opts.MasterKey is not the key the store was created with.
func Open(dir string, opts Options) (*Store, error) {
	if len(opts.MasterKey) != 32 {
		return nil, ErrBadMasterKey
	}
	opts = withDefaults(opts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keystore.Open: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: opts.LockTimeout, OpenFile: safefile.OpenNoFollowCreate})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("keystore.Open %s: %w", dir, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("keystore.Open: %w", err)
	}
	kv, err := openBoltKV(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("keystore.Open: %w", err)
	}
	s := &Store{kv: kv, db: db, path: db.Path(), opts: opts}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadCache(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func withDefaults(o Options) Options {
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.DefaultRateLimit == (RateLimit{}) {
		o.DefaultRateLimit = RateLimit{RequestsPerSecond: 100, Burst: 200}
	}
	if o.DataKeyRotateAfter == 0 {
		o.DataKeyRotateAfter = defaultRotateAfter
	}
	o.DataKeyRotateAfter = min(o.DataKeyRotateAfter, 1<<32)
	if o.DefaultMaxActiveKeys == 0 {
		o.DefaultMaxActiveKeys = 10
	}
	return o
}

// init checks the master key, defines the classifications that keys and
// routes of an older store name, and unwraps every data key, so that a
// master key that does not match is found at start-up.
func (s *Store) init() error {
	s.hashKey = derive(s.opts.MasterKey, "sdproxy api-key hash v1")
	s.kek = derive(s.opts.MasterKey, "sdproxy data-key wrap v1")
	s.clientKeyKEK = derive(s.opts.MasterKey, clientKeyPurpose)
	s.keyrings = map[string]*Keyring{}
	_, err := s.kv.Update(func(tx kvTx) error {
		if err := s.checkMasterKey(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		return migrateClassifications(tx, s.now())
	})
	if err != nil {
		return fmt.Errorf("keystore.Open: %w", err)
	}
	if err := s.verifyDataKeys(); err != nil {
		return fmt.Errorf("keystore.Open: %w", err)
	}
	return nil
}

// Close flushes "last used" times, gives back the decrypt budget this
// instance reserved and did not spend, stops following etcd and closes the
// engine. No request may spend a budget once Close has begun. It is safe
// to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		flushed := errors.Join(s.FlushLastUsed(), s.FlushSubjectCounts())
		givenBack := s.giveBackBudgets()
		if s.feed != nil {
			s.feed.stop()
		}
		err = errors.Join(flushed, givenBack, s.kv.Close())
	})
	return err
}

// Path is the bbolt file's path; "" on etcd.
func (s *Store) Path() string { return s.path }

// Ready reports whether the store is open and usable. On etcd it is an
// error wrapping ErrStoreUnavailable while etcd cannot be reached or the
// cache lags behind it by more than a few contact intervals.
func (s *Store) Ready() error {
	if s.feed != nil {
		return s.feed.ready()
	}
	return s.kv.View(func(kvTx) error { return nil })
}

func (s *Store) now() time.Time { return s.opts.Now().UTC() }
