package keystore

import (
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Data keys: each project has AES-256 data keys, numbered from 1. The
// current version seals new values; every version at or above the
// project's minimum decryption version opens them. Data keys are stored
// only wrapped by the master key, and unwrapped once into memory.
//
// A version seals at most DataKeyRotateAfter values (default 2^30, far
// below the 2^32 limit of random 96-bit nonces). Seals are counted in
// memory against blocks reserved durably in the store, so a crash can only
// over-count; when a version's allowance is spent a new version is created.

// DataKeyInfo describes one data-key version; it never holds key material.
type DataKeyInfo struct {
	Version   uint32
	Status    string // current, active (opens only) or disabled (below the minimum)
	CreatedAt time.Time
	// Seals is how many values the version has sealed or reserved.
	Seals uint64
}

// dataKeyRecord is what is stored per version.
type dataKeyRecord struct {
	Version   uint32    `json:"version"`
	Wrapped   []byte    `json:"wrapped"` // nonce || AES-256-GCM(master-derived KEK, key) || tag
	CreatedAt time.Time `json:"created_at"`
	Reserved  uint64    `json:"reserved"`
}

// dataKeyMeta is stored once per project.
type dataKeyMeta struct {
	Current              uint32 `json:"current"`
	MinDecryptionVersion uint32 `json:"min_decryption_version"`
}

type dataKeyVersion struct {
	rec      dataKeyRecord
	aead     cipher.AEAD
	raw      []byte // the key itself: subject keys are derived from it (subjects.go)
	used     atomic.Uint64
	reserved atomic.Uint64
}

// Keyring is one project's data keys. It satisfies fieldcrypt.Keyring.
type Keyring struct {
	s       *Store
	project string

	mu         sync.Mutex // serialises this instance's reservations and rotations
	current    atomic.Pointer[dataKeyVersion]
	versions   atomic.Pointer[map[uint32]*dataKeyVersion] // copy on write
	minDecrypt atomic.Uint32

	// state orders the changes of versions, current and minDecrypt: this
	// instance's own, and, on etcd, the other instances' as the watch
	// reports them. It is held only while they change, never across I/O.
	state sync.Mutex
	// rev is the etcd revision of the current and minimum set last; 0 on
	// bbolt.
	rev int64

	// subjects caches the project's subjects (subjects_cache.go).
	subjects subjectCache
}

const defaultRotateAfter = 1 << 30

// reserveBlock is how many seals one store write reserves.
const reserveBlock = 1 << 16

func dataKeyID(project string, v uint32) string {
	return fmt.Sprintf("%s/v/%010d", project, v)
}

func dataKeyMetaID(project string) string { return project + "/meta" }

// wrapAD binds a wrapped data key to its project and version.
func wrapAD(project string, v uint32) []byte {
	ad := append([]byte("sdproxy-datakey-v1\x00"), project...)
	return binary.BigEndian.AppendUint32(append(ad, 0), v)
}

// Keyring returns the data keys of a project, loading them on first use.
func (s *Store) Keyring(projectID string) (*Keyring, error) {
	s.keyringsMu.RLock()
	k := s.keyrings[projectID]
	s.keyringsMu.RUnlock()
	if k != nil {
		return k, nil
	}
	s.keyringsMu.Lock()
	defer s.keyringsMu.Unlock()
	if k := s.keyrings[projectID]; k != nil {
		return k, nil
	}
	if s.feed != nil {
		// On etcd every keyring is loaded at start and kept up to date by
		// the watch; a project without one has no data key yet.
		if s.CachedProject([]byte(projectID)) == nil {
			return nil, fmt.Errorf("keystore.Keyring %s: %w", projectID, ErrProjectNotFound)
		}
		k = newKeyring(s, projectID)
		s.keyrings[projectID] = k
		return k, nil
	}
	k = newKeyring(s, projectID)
	err := s.kv.View(func(tx kvTx) error {
		if tx.Bucket(bucketProjects).Get([]byte(projectID)) == nil {
			return ErrProjectNotFound
		}
		return k.load(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.Keyring %s: %w", projectID, err)
	}
	s.keyrings[projectID] = k
	return k, nil
}

func newKeyring(s *Store, project string) *Keyring {
	k := &Keyring{s: s, project: project}
	k.versions.Store(&map[uint32]*dataKeyVersion{})
	return k
}

// load unwraps every stored version of the project.
func (k *Keyring) load(tx kvTx) error {
	b := tx.Bucket(bucketDataKeys)
	var meta dataKeyMeta
	if err := getJSON(b, dataKeyMetaID(k.project), &meta, nil); err != nil {
		return err
	}
	var recs []dataKeyRecord
	err := forEachPrefix(b, k.project+"/v/", func(suffix string) error {
		var rec dataKeyRecord
		if err := json.Unmarshal(b.Get([]byte(k.project+"/v/"+suffix)), &rec); err != nil {
			return err
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	return k.sync(recs, meta, 0)
}

// sync adds the versions of recs that k does not hold yet (those it
// holds keep their counts) and sets current and minimum from meta, read
// at rev.
func (k *Keyring) sync(recs []dataKeyRecord, meta dataKeyMeta, rev int64) error {
	k.state.Lock()
	defer k.state.Unlock()
	for _, rec := range recs {
		if _, err := k.addVersionLocked(rec); err != nil {
			return err
		}
	}
	k.setMetaLocked(meta, rev)
	return nil
}

// addVersionLocked returns version rec.Version, unwrapping and adding it
// when k does not hold it; all it had reserved counts as used. The caller
// holds k.state.
func (k *Keyring) addVersionLocked(rec dataKeyRecord) (*dataKeyVersion, error) {
	versions := *k.versions.Load()
	if dk := versions[rec.Version]; dk != nil {
		return dk, nil
	}
	dk, err := k.s.unwrapDataKey(k.project, rec)
	if err != nil {
		return nil, err
	}
	grown := make(map[uint32]*dataKeyVersion, len(versions)+1)
	for v, d := range versions {
		grown[v] = d
	}
	grown[rec.Version] = dk
	k.versions.Store(&grown)
	return dk, nil
}

// setMetaLocked makes meta's current version current and its minimum the
// minimum, unless k already holds what a later revision than rev stored
// (rev 0, on bbolt, always applies). The caller holds k.state.
func (k *Keyring) setMetaLocked(meta dataKeyMeta, rev int64) {
	if rev != 0 && rev < k.rev {
		return
	}
	k.rev = rev
	k.minDecrypt.Store(meta.MinDecryptionVersion)
	if cur := (*k.versions.Load())[meta.Current]; cur != nil {
		k.current.Store(cur)
	}
}

func (s *Store) unwrapDataKey(project string, rec dataKeyRecord) (*dataKeyVersion, error) {
	raw, err := open(s.kek, rec.Wrapped, wrapAD(project, rec.Version))
	if err != nil {
		return nil, fmt.Errorf("data key %s v%d: %w", project, rec.Version, ErrWrongMasterKey)
	}
	dk := &dataKeyVersion{rec: rec, aead: newGCM(raw), raw: raw}
	// Whatever was reserved before a restart counts as used.
	dk.used.Store(rec.Reserved)
	dk.reserved.Store(rec.Reserved)
	return dk, nil
}

// SealKey returns the current version for sealing n more values, counting
// them; it creates or rotates the version when its allowance is spent.
func (k *Keyring) SealKey(n int) (uint32, cipher.AEAD, error) {
	if n < 0 {
		return 0, nil, invalid("n", "must not be negative")
	}
	for {
		cur := k.current.Load()
		if cur != nil {
			u := cur.used.Load()
			if u+uint64(n) <= cur.reserved.Load() {
				if cur.used.CompareAndSwap(u, u+uint64(n)) {
					return cur.rec.Version, cur.aead, nil
				}
				continue
			}
		}
		if err := k.reserve(cur, uint64(n)); err != nil {
			return 0, nil, fmt.Errorf("keystore.SealKey %s: %w", k.project, err)
		}
	}
}

// OpenKey returns the AEAD of version v, unless v is unknown or below the
// project's minimum decryption version.
func (k *Keyring) OpenKey(v uint32) (cipher.AEAD, error) {
	if v < k.minDecrypt.Load() {
		return nil, ErrNotFound
	}
	dk := (*k.versions.Load())[v]
	if dk == nil {
		return nil, ErrNotFound
	}
	return dk.aead, nil
}

// DataKeys lists a project's data-key versions, oldest first.
func (s *Store) DataKeys(projectID string) ([]DataKeyInfo, error) {
	k, err := s.Keyring(projectID)
	if err != nil {
		return nil, err
	}
	var out []DataKeyInfo
	for _, dk := range *k.versions.Load() {
		out = append(out, k.info(dk))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func (k *Keyring) info(dk *dataKeyVersion) DataKeyInfo {
	status := "active"
	switch {
	case dk == k.current.Load():
		status = "current"
	case dk.rec.Version < k.minDecrypt.Load():
		status = "disabled"
	}
	return DataKeyInfo{Version: dk.rec.Version, Status: status, CreatedAt: dk.rec.CreatedAt, Seals: dk.used.Load()}
}

// verifyDataKeys unwraps every stored data key, so a master key that does
// not match is found at start-up rather than on the first request. On
// etcd, once the store's check value has opened, a record that does not
// is one damaged (or written by another version), which must not stop
// every instance from starting: the cache leaves its project out
// (feed.load) and Ready reports it.
func (s *Store) verifyDataKeys() error {
	if _, etcd := s.kv.(*etcdKV); etcd && s.masterChecked {
		return nil
	}
	return s.kv.View(func(tx kvTx) error {
		b := tx.Bucket(bucketDataKeys)
		return b.ForEach(func(key, v []byte) error {
			if strings.HasSuffix(string(key), "/meta") {
				return nil
			}
			var rec dataKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			project, _, _ := strings.Cut(string(key), "/")
			_, err := s.unwrapDataKey(project, rec)
			return err
		})
	})
}
